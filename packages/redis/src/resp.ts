/**
 * RESP2 on the wire: an encoder that appends commands to one pending write, and the error
 * types of the wire. Replies are parsed by `reply-parser.ts`.
 */
import type { RedisArgument } from './commands.js';

/** An error reply from the server (`-ERR …`, `-WRONGTYPE …`). */
export class ErrorReply extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ErrorReply';
  }
}

/** The server sent something that is not RESP2; the connection cannot be trusted after it. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * Collects encoded commands until they are written. Strings and numbers are appended to one
 * string (one `socket.write` for a whole batch); a Buffer argument closes the current string
 * and is kept as its own chunk, so binary values are never copied or re-encoded.
 */
export class CommandEncoder {
  #text = '';
  #chunks: (string | Buffer)[] = [];
  /** Characters and Buffer bytes appended since the last `take()`: a cheap size measure. */
  size = 0;

  append(args: readonly RedisArgument[]): void {
    let s = `*${args.length}\r\n`;
    for (let i = 0; i < args.length; i++) {
      // biome-ignore lint/style/noNonNullAssertion: i < args.length (per-command path: no extra check)
      const a = args[i]!;
      if (typeof a === 'string') {
        s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
      } else if (typeof a === 'number') {
        const t = String(a);
        s += `$${t.length}\r\n${t}\r\n`;
      } else {
        this.#chunks.push(`${this.#text}${s}$${a.length}\r\n`, a);
        this.#text = '';
        this.size += a.length;
        s = '\r\n';
      }
    }
    this.#text += s;
    this.size += s.length;
  }

  get empty(): boolean {
    return this.size === 0;
  }

  /** Hands over what was appended: one string, or a list of strings and Buffers. */
  take(): string | (string | Buffer)[] {
    const text = this.#text;
    this.#text = '';
    this.size = 0;
    if (this.#chunks.length === 0) return text;
    const chunks = this.#chunks;
    this.#chunks = [];
    if (text !== '') chunks.push(text);
    return chunks;
  }
}
