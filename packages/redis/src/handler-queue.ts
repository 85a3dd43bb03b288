import type { ReplyHandler } from './connection.js';

/** FIFO of handlers waiting for replies, in the order their commands were written. */
export class HandlerQueue {
  #items: ReplyHandler[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(handler: ReplyHandler): void {
    this.#items.push(handler);
  }

  peek(): ReplyHandler | undefined {
    return this.#items[this.#head];
  }

  shift(): ReplyHandler | undefined {
    const items = this.#items;
    if (this.#head >= items.length) return undefined;
    const handler = items[this.#head];
    items[this.#head++] = undefined as unknown as ReplyHandler;
    if (this.#head === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    return handler;
  }

  drain(): ReplyHandler[] {
    const rest = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return rest;
  }
}
