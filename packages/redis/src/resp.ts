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
 * Text past which the encoder starts a new chunk, in UTF-16 code units. A string of more than
 * about 128 KB is a large object to V8: writing a rope of that size flattens it into fresh
 * pages first (about 1 ns a byte, 20 times the cost of the copy itself; a 50-job enqueue of
 * 4 KB payloads spent more time there than in encoding), so a long command goes out as several
 * strings, gathered by one `writev`.
 */
const CHUNK_CHARS = 32 * 1024;

/**
 * Collects encoded commands until they are written. Strings and numbers are appended to one
 * string (one `socket.write` for a whole batch) of at most about {@link CHUNK_CHARS}; past it,
 * and for a string argument longer than that, a chunk of its own starts. A Buffer argument
 * closes the current string and is kept as its own chunk, so binary values are never copied or
 * re-encoded.
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
        if (a.length < CHUNK_CHARS) {
          s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
          if (s.length > CHUNK_CHARS) s = this.#cut(s);
        } else {
          // Already one flat string: written as it is, never copied into a larger one.
          s = this.#apart(s, Buffer.byteLength(a), a);
        }
      } else if (typeof a === 'number') {
        const t = String(a);
        s += `$${t.length}\r\n${t}\r\n`;
      } else {
        s = this.#apart(s, a.length, a);
      }
    }
    this.#text += s;
    this.size += s.length;
  }

  /** Ends the current chunk with `s` (the command so far); returns the new, empty `s`. */
  #cut(s: string): string {
    this.#chunks.push(this.#text + s);
    this.#text = '';
    this.size += s.length;
    return '';
  }

  /**
   * Ends the current chunk with `s` and the header of `arg` (`bytes` long), which becomes a chunk
   * of its own; returns the new `s` (the argument's closing CRLF).
   */
  #apart(s: string, bytes: number, arg: string | Buffer): string {
    this.#chunks.push(`${this.#text}${s}$${bytes}\r\n`, arg);
    this.#text = '';
    this.size += arg.length;
    return '\r\n';
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
