/**
 * RESP2 replies out of a byte stream, resumable: the parser keeps its place between socket
 * reads (the arrays being filled, a header line cut in two, a bulk string being assembled) and
 * never looks at a byte twice. A reply costs time linear in its size however the network cuts
 * it, and no read does more work than its own bytes.
 */
import { ErrorReply, ProtocolError } from './resp.js';

/** An array reply being filled. */
interface Frame {
  items: unknown[];
  filled: number;
}

/** A bulk string longer than what has arrived so far. */
interface PartialBulk {
  bytes: Buffer;
  filled: number;
  asBuffer: boolean;
}

/** Redis's own ceiling (proto-max-bulk-len); a longer length is not a reply from Redis. */
const MAX_BULK_BYTES = 512 * 1024 * 1024;
const CR = 13;
const LF = 10;

/** Parses "123" / "-1" between `from` and `to`. */
function parseInteger(buf: Buffer, from: number, to: number): number {
  let i = from;
  let negative = false;
  if (buf[i] === 45) {
    negative = true;
    i++;
  }
  if (i >= to) throw new ProtocolError('malformed integer in reply');
  let n = 0;
  for (; i < to; i++) {
    // biome-ignore lint/style/noNonNullAssertion: i < to <= buf.length (hot loop: no extra check)
    const digit = buf[i]! - 48;
    if (digit < 0 || digit > 9) throw new ProtocolError('malformed integer in reply');
    n = n * 10 + digit;
  }
  return negative ? -n : n;
}

/**
 * Turns the byte stream into replies: simple strings become strings, bulk strings strings
 * (UTF-8) or, for a reply whose reader asked for them, Buffers; integers numbers, nil null,
 * arrays arrays, and error replies {@link ErrorReply} values.
 */
export class ReplyParser {
  /** Arrays being filled, innermost last. */
  #stack: Frame[] = [];
  /** A header line cut off by the end of a read (its bytes so far). */
  #line: Buffer | undefined;
  #bulk: PartialBulk | undefined;
  /** CR LF bytes still to skip after a bulk string that ended with its read. */
  #skip = 0;
  /** Whether the reply being parsed reads bulk strings as Buffers. */
  #asBuffer = false;
  readonly #onReply: (reply: unknown) => void;
  readonly #wantsBuffers: () => boolean;

  /**
   * @param onReply gets each complete reply, in order.
   * @param wantsBuffers asked as each reply begins: read its bulk strings as Buffers?
   */
  constructor(onReply: (reply: unknown) => void, wantsBuffers: () => boolean = () => false) {
    this.#onReply = onReply;
    this.#wantsBuffers = wantsBuffers;
  }

  /** True between replies: nothing held, no reply half-read. */
  get idle(): boolean {
    return (
      this.#stack.length === 0 && this.#line === undefined && this.#bulk === undefined && this.#skip === 0
    );
  }

  /** Drops any half-read reply (the connection it came from is gone). */
  reset(): void {
    this.#stack = [];
    this.#line = undefined;
    this.#bulk = undefined;
    this.#skip = 0;
  }

  /** Feeds one read; calls `onReply` for each complete reply. Throws ProtocolError. */
  feed(chunk: Buffer): void {
    let pos = 0;
    const length = chunk.length;
    if (this.#skip > 0) {
      pos = this.#skipTerminator(chunk, 0);
      if (pos < 0) return;
    }
    const bulk = this.#bulk;
    if (bulk !== undefined) {
      pos = this.#continueBulk(bulk, chunk, pos);
      if (pos < 0) return;
    }
    const line = this.#line;
    if (line !== undefined) {
      pos = this.#continueLine(line, chunk, pos);
      if (pos < 0) return;
    }
    while (pos < length) {
      // Header lines are a few bytes long: a scan here costs less than a native indexOf call.
      let end = pos + 1;
      while (end < length && chunk[end] !== CR) end++;
      if (end + 1 >= length) {
        // The header line goes on in the next read: keep its bytes (a copy: lines are short).
        this.#line = Buffer.from(chunk.subarray(pos));
        return;
      }
      pos = this.#header(chunk, pos, end);
    }
  }

  /** Skips what is left of a bulk string's CR LF; returns the next position or -1. */
  #skipTerminator(chunk: Buffer, pos: number): number {
    const n = Math.min(this.#skip, chunk.length - pos);
    this.#skip -= n;
    return this.#skip > 0 ? -1 : pos + n;
  }

  /** Copies the next part of the long bulk string `bulk` (the one held); returns the position after it, or -1. */
  #continueBulk(bulk: PartialBulk, chunk: Buffer, pos: number): number {
    const n = chunk.copy(
      bulk.bytes,
      bulk.filled,
      pos,
      Math.min(chunk.length, pos + bulk.bytes.length - bulk.filled),
    );
    bulk.filled += n;
    if (bulk.filled < bulk.bytes.length) return -1;
    this.#bulk = undefined;
    this.#skip = 2;
    const next = this.#skipTerminator(chunk, pos + n);
    // The value is emitted before the CR LF is seen: its length already said where it ends.
    this.#value(bulk.asBuffer ? bulk.bytes : bulk.bytes.toString('utf8'));
    return next;
  }

  /** Completes the header line cut across reads (`held`, its bytes so far); returns the position after it, or -1. */
  #continueLine(held: Buffer, chunk: Buffer, pos: number): number {
    // The line's CR may be the last byte held, or in this read.
    const lf = held[held.length - 1] === CR ? (chunk[pos] === LF ? pos : -2) : chunk.indexOf(LF, pos);
    if (lf === -2) throw new ProtocolError('a reply line ends in CR without LF');
    if (lf < 0) {
      this.#line = Buffer.concat([held, chunk.subarray(pos)]);
      return -1;
    }
    const line = Buffer.concat([held, chunk.subarray(pos, lf + 1)]);
    this.#line = undefined;
    if (line[line.length - 2] !== CR) throw new ProtocolError('a reply line ends in LF without CR');
    // The header is parsed from its own small buffer; a bulk body it announces is in `chunk`.
    return this.#header(line, 0, line.length - 2, chunk, lf + 1);
  }

  /**
   * Parses the header line `buf[start..end)` (end is its CR) and what it holds; a bulk string's
   * body is read from `body` at `bodyAt` (the same buffer, except for a line cut across reads).
   * Returns the position in `body` after what was consumed.
   */
  #header(buf: Buffer, start: number, end: number, body: Buffer = buf, bodyAt = end + 2): number {
    if (buf[end + 1] !== LF) throw new ProtocolError('a reply line ends in CR without LF');
    if (this.#stack.length === 0) this.#asBuffer = this.#wantsBuffers();
    let next = bodyAt;
    switch (buf[start]) {
      case 36: {
        // $bulk string
        const len = parseInteger(buf, start + 1, end);
        if (len < 0) {
          this.#value(null);
          break;
        }
        if (len > MAX_BULK_BYTES)
          throw new ProtocolError(`a bulk string of ${len} bytes is past the 512 MiB limit`);
        const to = bodyAt + len;
        if (to + 2 <= body.length) {
          next = to + 2;
          this.#value(
            this.#asBuffer ? Buffer.from(body.subarray(bodyAt, to)) : body.toString('utf8', bodyAt, to),
          );
          break;
        }
        // The body goes on in later reads: assembled once, in a buffer of its final size.
        const bulk: PartialBulk = { bytes: Buffer.allocUnsafe(len), filled: 0, asBuffer: this.#asBuffer };
        this.#bulk = bulk;
        next = this.#continueBulk(bulk, body, bodyAt);
        if (next < 0) next = body.length;
        break;
      }
      case 43: // +simple string
        this.#value(
          end - start === 3 && buf[start + 1] === 79 && buf[start + 2] === 75
            ? 'OK'
            : buf.toString('utf8', start + 1, end),
        );
        break;
      case 58: // :integer
        this.#value(parseInteger(buf, start + 1, end));
        break;
      case 42: {
        // *array
        const n = parseInteger(buf, start + 1, end);
        if (n < 0) this.#value(null);
        else if (n === 0) this.#value([]);
        else this.#stack.push({ items: new Array<unknown>(n), filled: 0 });
        break;
      }
      case 45: // -error
        this.#value(new ErrorReply(buf.toString('utf8', start + 1, end)));
        break;
      default:
        throw new ProtocolError(`unexpected reply type byte ${buf[start]}`);
    }
    return next;
  }

  /** A complete value: into the array being filled, or out as a reply. */
  #value(value: unknown): void {
    const stack = this.#stack;
    let v = value;
    while (stack.length > 0) {
      // biome-ignore lint/style/noNonNullAssertion: stack.length > 0 (hot loop: no extra check)
      const frame = stack[stack.length - 1]!;
      frame.items[frame.filled++] = v;
      if (frame.filled < frame.items.length) return;
      stack.pop();
      v = frame.items;
    }
    this.#onReply(v);
  }
}
