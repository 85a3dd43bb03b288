/**
 * RESP2 on the wire: an encoder that appends commands to one pending write, and a reply parser
 * that copes with replies split across any number of socket reads.
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

const INCOMPLETE: unique symbol = Symbol('incomplete');

/** Parses "123" / "-1" between `from` and `to`; Redis only sends well-formed integers here. */
function parseInteger(buf: Buffer, from: number, to: number): number {
  let i = from;
  let negative = false;
  if (buf[i] === 45) {
    negative = true;
    i++;
  }
  let n = 0;
  for (; i < to; i++) {
    const digit = buf[i]! - 48;
    if (digit < 0 || digit > 9) throw new ProtocolError('malformed integer in reply');
    n = n * 10 + digit;
  }
  return negative ? -n : n;
}

/**
 * Turns the byte stream into replies: simple strings and bulk strings become strings (UTF-8),
 * integers numbers, nil null, arrays arrays, and error replies {@link ErrorReply} values.
 * A reply cut off by the end of a read is parsed again once enough bytes arrived: for a large
 * bulk string the parser waits for its whole length instead of re-parsing every chunk.
 */
export class ReplyParser {
  /** Unparsed bytes, waiting for more. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes needed before parsing again is worth it. */
  #need = 0;
  /** Read position while parsing. */
  #pos = 0;
  /** On INCOMPLETE: the position in the buffer the reply needs to reach. */
  #wanted = 0;

  constructor(private readonly onReply: (reply: unknown) => void) {}

  /** Bytes held while waiting for the rest of a reply. */
  get buffered(): number {
    return this.#pendingBytes;
  }

  reset(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#need = 0;
  }

  /** Feeds one read; calls `onReply` for each complete reply. Throws ProtocolError. */
  feed(chunk: Buffer): void {
    let buf: Buffer;
    if (this.#pendingBytes === 0) {
      buf = chunk;
    } else {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes < this.#need) return;
      buf = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    const length = buf.length;
    let pos = 0;
    while (pos < length) {
      this.#pos = pos;
      const reply = this.#parse(buf);
      if (reply === INCOMPLETE) break;
      pos = this.#pos;
      this.onReply(reply);
    }
    if (pos < length) {
      const rest = pos === 0 ? buf : buf.subarray(pos);
      this.#pending = [rest];
      this.#pendingBytes = rest.length;
      this.#need = Math.max(this.#wanted - pos, rest.length + 1);
    }
  }

  #parse(buf: Buffer): unknown {
    const start = this.#pos;
    const end = buf.indexOf(13, start + 1);
    if (end < 0 || end + 1 >= buf.length) {
      this.#wanted = buf.length + 1;
      return INCOMPLETE;
    }
    switch (buf[start]) {
      case 43: // +simple string
        this.#pos = end + 2;
        return end - start === 3 && buf[start + 1] === 79 && buf[start + 2] === 75
          ? 'OK'
          : buf.toString('utf8', start + 1, end);
      case 36: {
        // $bulk string
        const len = parseInteger(buf, start + 1, end);
        if (len < 0) {
          this.#pos = end + 2;
          return null;
        }
        const from = end + 2;
        const to = from + len;
        if (to + 2 > buf.length) {
          this.#wanted = to + 2;
          return INCOMPLETE;
        }
        this.#pos = to + 2;
        return buf.toString('utf8', from, to);
      }
      case 58: // :integer
        this.#pos = end + 2;
        return parseInteger(buf, start + 1, end);
      case 42: {
        // *array
        const n = parseInteger(buf, start + 1, end);
        this.#pos = end + 2;
        if (n < 0) return null;
        const items = new Array<unknown>(n);
        for (let i = 0; i < n; i++) {
          if (this.#pos >= buf.length) {
            this.#wanted = buf.length + 1;
            return INCOMPLETE;
          }
          const item = this.#parse(buf);
          if (item === INCOMPLETE) return INCOMPLETE;
          items[i] = item;
        }
        return items;
      }
      case 45: // -error
        this.#pos = end + 2;
        return new ErrorReply(buf.toString('utf8', start + 1, end));
      default:
        throw new ProtocolError(`unexpected reply type byte ${buf[start]}`);
    }
  }
}
