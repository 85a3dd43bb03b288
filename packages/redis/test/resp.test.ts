import { describe, expect, it } from '@jest/globals';
import { ReplyParser } from '../src/reply-parser.js';
import { CommandEncoder, ErrorReply, ProtocolError } from '../src/resp.js';

/** Parses `wire` fed in the given pieces; returns every reply. */
function parse(pieces: Buffer[], buffers = false): unknown[] {
  const replies: unknown[] = [];
  const parser = new ReplyParser(
    (r) => replies.push(r),
    () => buffers,
  );
  for (const p of pieces) parser.feed(p);
  expect(parser.idle).toBe(true);
  return replies;
}

/** `wire` cut into pieces of `size` bytes. */
function chunks(wire: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < wire.length; at += size) out.push(wire.subarray(at, at + size));
  return out;
}

/**
 * Bytes the Buffer operations a parser can use (indexOf, toString, copy, concat, from, subarray
 * copies) went over while `run` ran: a count of work that does not depend on the machine's speed
 * or load, measured from outside the parser.
 */
function bytesTouched(run: () => void): number {
  const proto = Buffer.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved = { indexOf: proto.indexOf!, toString: proto.toString!, copy: proto.copy! };
  const concat = Buffer.concat;
  const from = Buffer.from;
  let touched = 0;
  proto.indexOf = function (this: Buffer, ...a: unknown[]) {
    const start = typeof a[1] === 'number' ? a[1] : 0;
    const at = saved.indexOf.apply(this, a) as number;
    touched += (at < 0 ? this.length : at + 1) - start;
    return at;
  };
  proto.toString = function (this: Buffer, ...a: unknown[]) {
    const start = typeof a[1] === 'number' ? a[1] : 0;
    const end = typeof a[2] === 'number' ? a[2] : this.length;
    touched += end - start;
    return (saved.toString as (...x: unknown[]) => string).apply(this, a);
  };
  proto.copy = function (this: Buffer, ...a: unknown[]) {
    const n = saved.copy.apply(this, a) as number;
    touched += n;
    return n;
  };
  Buffer.concat = ((list: readonly Uint8Array[], length?: number) => {
    const out = concat(list, length);
    touched += out.length;
    return out;
  }) as typeof Buffer.concat;
  Buffer.from = ((...a: unknown[]) => {
    const out = (from as (...x: unknown[]) => Buffer)(...a);
    touched += out.length;
    return out;
  }) as typeof Buffer.from;
  try {
    run();
  } finally {
    proto.indexOf = saved.indexOf;
    proto.toString = saved.toString;
    proto.copy = saved.copy;
    Buffer.concat = concat;
    Buffer.from = from;
  }
  return touched;
}

/** Every way of cutting `wire` in two, plus one byte at a time. */
function cuts(wire: Buffer): Buffer[][] {
  const out: Buffer[][] = [[wire]];
  for (let i = 1; i < wire.length; i++) out.push([wire.subarray(0, i), wire.subarray(i)]);
  out.push(Array.from({ length: wire.length }, (_, i) => wire.subarray(i, i + 1)));
  return out;
}

const wire = Buffer.from(
  [
    '+OK\r\n',
    '+PONG\r\n',
    ':42\r\n',
    ':-7\r\n',
    '$5\r\nhello\r\n',
    '$0\r\n\r\n',
    '$-1\r\n',
    '*-1\r\n',
    '*0\r\n',
    '$4\r\na\r\nb\r\n',
    '*3\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n-WRONGTYPE inner\r\n',
    '-ERR unknown command\r\n',
    `$${Buffer.byteLength('ünï€😀')}\r\nünï€😀\r\n`,
  ].join(''),
);
const expected = [
  'OK',
  'PONG',
  42,
  -7,
  'hello',
  '',
  null,
  null,
  [],
  'a\r\nb',
  [1, ['x', null], new ErrorReply('WRONGTYPE inner')],
  new ErrorReply('ERR unknown command'),
  'ünï€😀',
];

describe('ReplyParser', () => {
  it('parses every reply type, whichever way the bytes are cut across reads', () => {
    for (const pieces of cuts(wire)) {
      const replies = parse(pieces);
      expect(replies).toEqual(expected);
      expect(replies[11]).toBeInstanceOf(ErrorReply);
      expect((replies[10] as unknown[])[2]).toBeInstanceOf(ErrorReply);
    }
  });

  it('puts a large bulk string together from many small reads', () => {
    const value = 'v'.repeat(3 * 1024 * 1024);
    const big = Buffer.from(`$${value.length}\r\n${value}\r\n:1\r\n`);
    const pieces: Buffer[] = [];
    for (let i = 0; i < big.length; i += 1000) pieces.push(big.subarray(i, i + 1000));
    const replies = parse(pieces);
    expect(replies).toHaveLength(2);
    expect(replies[0]).toBe(value);
    expect(replies[1]).toBe(1);
  });

  it('reads bulk strings as Buffers for a reply that asks for them, byte-exact, whatever the cuts', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const invalid = Buffer.from([
      0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xff, 0xfe,
    ]);
    const wire = Buffer.concat([
      Buffer.from(`$${all.length}\r\n`),
      all,
      Buffer.from(`\r\n*3\r\n$${invalid.length}\r\n`),
      invalid,
      Buffer.from('\r\n+OK\r\n$-1\r\n:5\r\n'),
    ]);
    for (const pieces of cuts(wire)) {
      const replies = parse(pieces, true);
      expect(replies).toEqual([all, [invalid, 'OK', null], 5]);
      expect(Buffer.isBuffer(replies[0])).toBe(true);
    }
    // The same bytes as strings lose what is not UTF-8: why Buffers exist.
    expect(parse([wire])[0]).not.toEqual(all.toString('latin1'));
  });

  it('asks at the start of each reply whether to read it as Buffers', () => {
    const wanted = [true, false, true];
    const replies: unknown[] = [];
    const parser = new ReplyParser(
      (r) => replies.push(r),
      () => wanted[replies.length]!,
    );
    for (const piece of chunks(Buffer.from('$1\r\na\r\n*1\r\n$1\r\nb\r\n*1\r\n$1\r\nc\r\n'), 3))
      parser.feed(piece);
    expect(replies).toEqual([Buffer.from('a'), ['b'], [Buffer.from('c')]]);
  });

  it('costs the same work for a 200,000-element reply fed in 64 KiB reads as fed whole (never re-parses)', () => {
    const items = Array.from({ length: 200_000 }, (_, i) => `item:${String(i).padStart(6, '0')}`);
    const wire = Buffer.from(`*${items.length}\r\n${items.map((t) => `$${t.length}\r\n${t}\r\n`).join('')}`);
    let fromWhole: unknown[] = [];
    let fromCut: unknown[] = [];
    const whole = bytesTouched(() => {
      fromWhole = parse([wire]);
    });
    const pieces = chunks(wire, 64 * 1024);
    const cut = bytesTouched(() => {
      fromCut = parse(pieces);
    });
    expect(fromWhole).toEqual([items]);
    expect(fromCut).toEqual([items]);
    // Whole, each header byte is scanned and each body byte decoded once (the probe sees that
    // work); cut, only the lines that straddle a read are copied once more. A parser that
    // started again at each read did 64x the work here.
    expect(whole).toBeGreaterThan(wire.length / 2);
    expect(cut).toBeLessThan(2 * whole);
  });

  it('assembles an 8 MiB bulk string read in 64 KiB pieces with one copy of each byte', () => {
    const value = Buffer.alloc(8 * 1024 * 1024, 0xab);
    const wire = Buffer.concat([Buffer.from(`$${value.length}\r\n`), value, Buffer.from('\r\n')]);
    let reply: unknown;
    const touched = bytesTouched(() => {
      reply = parse(chunks(wire, 64 * 1024), true)[0];
    });
    expect(Buffer.isBuffer(reply) && reply.equals(value)).toBe(true);
    expect(touched).toBeLessThan(2 * wire.length);
  });

  it("rejects a bulk length past Redis's 512 MiB limit instead of allocating it", () => {
    expect(() => new ReplyParser(() => {}).feed(Buffer.from('$99999999999\r\n'))).toThrow(ProtocolError);
  });

  it('rejects bytes that are not RESP2 with a ProtocolError', () => {
    const parser = new ReplyParser(() => {});
    expect(() => parser.feed(Buffer.from('HTTP/1.1 400 Bad Request\r\n'))).toThrow(ProtocolError);
    expect(() => new ReplyParser(() => {}).feed(Buffer.from(':12x\r\n'))).toThrow(ProtocolError);
  });
});

/** A small seeded generator (mulberry32): the same replies and cuts on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('ReplyParser on generated replies', () => {
  it('parses 2,000 random replies (nested arrays, text with CR/LF and multi-byte characters) fed in random cuts', () => {
    const next = random(20261125);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const text = () =>
      Array.from({ length: Math.floor(next() * 40) }, () =>
        pick(['a', 'Z', '0', ' ', '\r', '\n', 'ü', '€', '😀', '$', '*', ':']),
      ).join('');
    // Returns [wire, expected value].
    const reply = (depth: number): [string, unknown] => {
      switch (Math.floor(next() * (depth < 3 ? 7 : 6))) {
        case 0:
          return ['+OK\r\n', 'OK'];
        case 1: {
          const n = Math.floor((next() - 0.5) * 2 ** 40);
          return [`:${n}\r\n`, n];
        }
        case 2: {
          const t = text();
          return [`$${Buffer.byteLength(t)}\r\n${t}\r\n`, t];
        }
        case 3:
          return ['$-1\r\n', null];
        case 4: {
          const t = text().replace(/[\r\n]/g, '');
          return [`-ERR ${t}\r\n`, new ErrorReply(`ERR ${t}`)];
        }
        case 5: {
          const t = text().replace(/[\r\n]/g, '');
          return [`+${t}\r\n`, t];
        }
        default: {
          const items = Array.from({ length: Math.floor(next() * 5) }, () => reply(depth + 1));
          return [`*${items.length}\r\n${items.map((i) => i[0]).join('')}`, items.map((i) => i[1])];
        }
      }
    };
    const generated = Array.from({ length: 2000 }, () => reply(0));
    const wire = Buffer.from(generated.map((g) => g[0]).join(''));
    const pieces: Buffer[] = [];
    for (let at = 0; at < wire.length; ) {
      const size = 1 + Math.floor(next() * (next() < 0.5 ? 8 : 600));
      pieces.push(wire.subarray(at, at + size));
      at += size;
    }
    expect(parse(pieces)).toEqual(generated.map((g) => g[1]));
  });
});

describe('CommandEncoder', () => {
  it('encodes strings by their UTF-8 length, numbers as text and Buffers as they are', () => {
    const encoder = new CommandEncoder();
    encoder.append(['SET', 'k€', 12]);
    expect(encoder.take()).toBe('*3\r\n$3\r\nSET\r\n$4\r\nk€\r\n$2\r\n12\r\n');
    const binary = Buffer.from([0, 13, 10, 255]);
    encoder.append(['SET', binary, 'x']);
    encoder.append(['GET', 'k']);
    const chunks = encoder.take() as (string | Buffer)[];
    expect(Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)))).toEqual(
      Buffer.concat([
        Buffer.from('*3\r\n$3\r\nSET\r\n$4\r\n'),
        binary,
        Buffer.from('\r\n$1\r\nx\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'),
      ]),
    );
    expect(encoder.empty).toBe(true);
  });

  it('writes a long command as strings of at most about 64 KB each, the same bytes as one string', () => {
    // A rope of more than ~128 KB is a large object to V8: flattening it costs far more than the copy.
    const plain = (args: (string | number)[]) =>
      `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`;
    const json = JSON.stringify({ name: 'ünïcode €', list: Array.from({ length: 300 }, (_, i) => i) });
    const many: (string | number)[] = ['EVALSHA', 'abc', 0];
    for (let i = 0; i < 200; i++) many.push(`job-${i}`, json, i);
    const huge = `${'x'.repeat(200_000)}€`;
    for (const args of [many, ['SET', 'k', huge, 'PX', 10], ['SET', 'k', 'small']]) {
      const encoder = new CommandEncoder();
      encoder.append(args);
      encoder.append(['GET', 'k']);
      const taken = encoder.take();
      const parts = typeof taken === 'string' ? [taken] : taken;
      for (const p of parts) {
        if (typeof p === 'string' && p !== huge) expect(p.length).toBeLessThan(64 * 1024);
      }
      const wire = Buffer.concat(parts.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
      expect(wire.equals(Buffer.from(plain(args) + plain(['GET', 'k'])))).toBe(true);
      expect(encoder.empty).toBe(true);
    }
  });
});
