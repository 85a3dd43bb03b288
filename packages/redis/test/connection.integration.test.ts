// The standalone shared connection (src/connection.ts, our own RESP2 pipeline) against real
// redis-server processes, plus small local TCP servers that misbehave on purpose.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getFreePort, type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import { FLUSH_BYTES, FLUSH_COMMANDS, MAX_UNSENT_BYTES } from '../src/connection.js';
import { createRedisClient, type RedisClient } from '../src/index.js';

let server: RedisServer;
let client: RedisClient;

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient({ url: server.url, commandTimeoutMs: 5000 });
  await client.ready();
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

describe('ordering and encoding', () => {
  it('keeps call order when a burst is written in several early batches', async () => {
    expect(FLUSH_COMMANDS).toBeLessThan(1000);
    const big = 'b'.repeat(FLUSH_BYTES + 10);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) {
      calls.push(client.command(['INCR', 'order:counter']));
      // Large values force byte-triggered flushes in between.
      if (i % 100 === 0) calls.push(client.command(['SET', 'order:big', big]));
    }
    const replies = await Promise.all(calls);
    const counts = replies.filter((r) => typeof r === 'number');
    expect(counts).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(replies.filter((r) => r === 'OK')).toHaveLength(10);
  });

  it('round-trips Buffers with CR/LF bytes, multi-byte text, numbers and an 8 MiB value', async () => {
    const binary = Buffer.from([0, 13, 10, 36, 42, 255, 13, 10]);
    await client.command(['SET', 'enc:bin', binary]);
    expect(await client.command(['STRLEN', 'enc:bin'])).toBe(binary.length);
    expect(await client.command(['GETRANGE', 'enc:bin', 1, 2])).toBe('\r\n');
    const text = 'ünï€😀\r\n$5';
    await client.command(['SET', 'enc:ü€', text]);
    expect(await client.command(['GET', 'enc:ü€'])).toBe(text);
    await client.command(['SET', 'enc:num', 12.5]);
    expect(await client.command(['GET', 'enc:num'])).toBe('12.5');
    const large = 'x'.repeat(8 * 1024 * 1024);
    await client.command(['SET', 'enc:large', large]);
    expect(await client.command(['GET', 'enc:large'])).toBe(large);
  });

  it('takes the database and the client name from the options', async () => {
    const own = createRedisClient({ url: `${server.url}/3`, clientName: 'voelgoed-test' });
    try {
      await own.command(['SET', 'in-db-3', '1']);
      expect(await own.command(['CLIENT', 'GETNAME'])).toBe('voelgoed-test');
      expect(String(await own.command(['CLIENT', 'INFO']))).toContain(' db=3 ');
      expect(await client.command(['EXISTS', 'in-db-3'])).toBe(0);
    } finally {
      await own.close();
    }
  });
});

describe('commands that would change the shared connection for everyone', () => {
  it('are refused with INVALID_ARGUMENT (command, pipeline, transaction), and the connection goes on', async () => {
    const refused: unknown[][] = [
      ['SUBSCRIBE', 'news'],
      ['psubscribe', 'n*'],
      ['MONITOR'],
      ['QUIT'],
      ['HELLO', 3],
      ['SELECT', 2],
      ['Auth', 'someone', 'pw-not-echoed'],
      ['CLIENT', 'REPLY', 'OFF'],
      ['RESET'],
    ];
    for (const args of refused) {
      const error = await client.command(args as string[]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((error as Error).message).toContain('cannot run on the shared connection');
      expect((error as Error).message).not.toContain('pw-not-echoed');
    }
    await expect(client.pipeline([['PING'], ['SELECT', 1]])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(client.transaction([['SELECT', 1], ['PING']])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    // Nothing was sent: the connection still answers in step, on database 0.
    expect(await client.command(['CLIENT', 'GETNAME'])).toBeNull();
    expect(String(await client.command(['CLIENT', 'INFO']))).toContain(' db=0 ');
    expect(await client.command(['ECHO', 'still in step'])).toBe('still in step');
  });

  it('are allowed on a connection of its own (withConnection)', async () => {
    const reply = await client.withConnection((c) => c.command(['CLIENT', 'REPLY', 'ON']));
    expect(reply).toBe('OK');
  });
});

describe('transaction() on the shared connection', () => {
  it('reports a command the server refused to queue (nothing ran)', async () => {
    await client.command(['DEL', 'tx:a']);
    const error = await client
      .transaction([['SET', 'tx:a', '1'], ['NOSUCHCOMMAND']])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REDIS_REPLY', reply: 'EXECABORT' });
    expect((error as Error).message).toContain('transaction command 1');
    expect(await client.command(['EXISTS', 'tx:a'])).toBe(0);
  });

  it('reports a command that failed while running (the others ran)', async () => {
    const error = await client
      .transaction([
        ['SET', 'tx:b', 'text'],
        ['INCR', 'tx:b'],
        ['SET', 'tx:c', 'after'],
      ])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REDIS_REPLY', reply: 'ERR' });
    expect((error as Error).message).toContain('transaction command 1');
    expect(await client.command(['GET', 'tx:c'])).toBe('after');
  });

  it('is not interleaved with commands sent in the same tick', async () => {
    await client.command(['DEL', 'tx:list']);
    const before = client.command(['RPUSH', 'tx:list', 'before']);
    const tx = client.transaction([
      ['RPUSH', 'tx:list', 'tx1'],
      ['RPUSH', 'tx:list', 'tx2'],
    ]);
    const after = client.command(['RPUSH', 'tx:list', 'after']);
    await Promise.all([before, tx, after]);
    expect(await client.command(['LRANGE', 'tx:list', 0, -1])).toEqual(['before', 'tx1', 'tx2', 'after']);
  });
});

describe('close()', () => {
  it('waits for every command in flight, then refuses new ones', async () => {
    const own = createRedisClient({ url: server.url });
    await own.ready();
    const calls = Array.from({ length: 500 }, (_, i) => own.command(['ECHO', String(i)]));
    await own.close();
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 500 }, (_, i) => String(i)));
    expect(own.state).toBe('closed');
    await expect(own.command(['PING'])).rejects.toMatchObject({ code: 'CONNECTION' });
  });
});

/** A TCP server on a free port that answers every read with `respond(data, socket)`. */
async function misbehavingServer(respond: (data: Buffer, socket: net.Socket) => void) {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (data) => respond(data, socket));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  return {
    port,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('protocol faults', () => {
  it('a reply that is not RESP fails the commands in flight with CONNECTION, and the client reconnects', async () => {
    const fake = await misbehavingServer((_data, socket) => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const own = createRedisClient({ port: fake.port, commandTimeoutMs: 2000, reconnect: { minDelayMs: 10 } });
    try {
      await own.ready();
      const error = await own.command(['PING']).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONNECTION' });
      await eventually(() => fake.connections >= 2, 'the client reconnected');
    } finally {
      await own.close({ timeoutMs: 500 });
      await fake.close();
    }
  });

  it('a reply nobody asked for drops the connection (replies would no longer match) and the client reconnects', async () => {
    const fake = await misbehavingServer((_data, socket) => socket.write('+OK\r\n+EXTRA\r\n'));
    const own = createRedisClient({ port: fake.port, commandTimeoutMs: 2000, reconnect: { minDelayMs: 10 } });
    try {
      await own.ready();
      expect(await own.command(['SET', 'k', 'v'])).toBe('OK');
      await eventually(() => fake.connections >= 2, 'the client reconnected');
      expect(own.state).not.toBe('closed');
    } finally {
      await own.close({ timeoutMs: 500 });
      await fake.close();
    }
  });

  it('a connection on which nothing comes back is replaced once a command times out on it (half-open)', async () => {
    // Accepts, reads, never answers: like a peer behind a dropped NAT entry.
    const fake = await misbehavingServer(() => {});
    const own = createRedisClient({ port: fake.port, commandTimeoutMs: 1000, reconnect: { minDelayMs: 10 } });
    try {
      await own.ready();
      const error = await own.command(['GET', 'k']).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TIMEOUT', maybeExecuted: true });
      await eventually(() => fake.connections >= 2, 'the client replaced the connection');
      expect((await own.health()).lastError).toContain('presumed dead');
    } finally {
      await own.close({ timeoutMs: 500 });
      await fake.close();
    }
  });

  it('a short deadline alone does not drop the shared connection', async () => {
    const fake = await misbehavingServer(() => {});
    const own = createRedisClient({ port: fake.port, commandTimeoutMs: 1000 });
    try {
      await own.ready();
      const error = await own.command(['GET', 'k'], { timeoutMs: 50 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TIMEOUT' });
      await new Promise((r) => setTimeout(r, 200));
      expect(fake.connections).toBe(1);
      expect(own.state).toBe('ready');
    } finally {
      await own.close({ timeoutMs: 500 });
      await fake.close();
    }
  });

  it('a connection closed halfway through a reply fails the command with CONNECTION, not a hang', async () => {
    const fake = await misbehavingServer((_data, socket) => {
      socket.write('$100\r\nonly part of it');
      socket.destroy();
    });
    const own = createRedisClient({ port: fake.port, commandTimeoutMs: 5000, reconnect: { minDelayMs: 10 } });
    try {
      await own.ready();
      const started = performance.now();
      const error = await own.command(['GET', 'k']).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONNECTION', retryable: true });
      // Failed by the close, not by the 5 s deadline.
      expect((error as Error).message).not.toContain('timed out');
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await own.close({ timeoutMs: 500 });
      await fake.close();
    }
  });
});

/** Forwards to `port`, except that its first connection gets `first` instead. */
async function firstConnectionMisbehaves(port: number, first: (data: Buffer, socket: net.Socket) => void) {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (connections === 1) {
      socket.on('data', (data) => first(data, socket));
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

describe('connect attempts', () => {
  let secured: RedisServer;
  beforeAll(async () => {
    secured = await startRedis({ args: ['--requirepass', 'handshake-secret'] });
  });
  afterAll(async () => {
    await secured?.stop();
  });

  async function connectsAfter(first: (data: Buffer, socket: net.Socket) => void) {
    const proxy = await firstConnectionMisbehaves(secured.port, first);
    const own = createRedisClient({
      port: proxy.port,
      password: 'handshake-secret',
      // Not shorter: the second attempt must connect within it, and a loaded machine's event-loop
      // stalls (0.5 s and more in full runs, several in one handshake) would time it out too and
      // make a third connection. The first test waits this long once, for the unanswered AUTH.
      connectTimeoutMs: 5000,
      commandTimeoutMs: 5000,
      reconnect: { minDelayMs: 10, maxDelayMs: 20 },
    });
    try {
      // ready() reports the failed first attempt (it never hangs); the client keeps trying,
      // and a later ready() resolves once an attempt succeeds.
      const first = await own.ready().catch((e: unknown) => e);
      expect(first).toMatchObject({ code: 'CONNECTION', retryable: true });
      let ready = false;
      for (let i = 0; i < 20 && !ready; i++)
        ready = await own.ready().then(
          () => true,
          () => false,
        );
      expect(ready).toBe(true);
      expect(await own.command(['SET', 'handshake:k', 'v'])).toBe('OK');
      expect(await own.command(['GET', 'handshake:k'])).toBe('v');
      // The failed attempt was retried once, not twice; nothing else is pending.
      await new Promise((r) => setTimeout(r, 100));
      expect(proxy.connections).toBe(2);
      expect(own.state).toBe('ready');
    } finally {
      await own.close({ timeoutMs: 500 });
      await proxy.close();
    }
  }

  it('an attempt whose AUTH is never answered times out, and the next attempt gets its own replies', async () => {
    await connectsAfter(() => {});
  });

  it('a greeting that is not RESP during the handshake fails that attempt only, and the next one connects', async () => {
    await connectsAfter((_data, socket) => socket.write('SSH-2.0-OpenSSH_9.2\r\n'));
  });
});

describe('a server that stops reading', () => {
  it('refuses commands with CONNECTION once the unsent bytes pass the bound, instead of growing without end', async () => {
    const own = await startRedis();
    const stuck = createRedisClient({ url: own.url, commandTimeoutMs: 2000 });
    await stuck.ready();
    const value = 'v'.repeat(1024 * 1024);
    own.pause();
    try {
      const outcomes = await Promise.all(
        Array.from({ length: Math.ceil((MAX_UNSENT_BYTES * 2) / value.length) }, () =>
          stuck.command(['SET', 'k', value]).catch((e: unknown) => e),
        ),
      );
      const codes = outcomes.map((o) => (o as { code?: string }).code);
      // The first ones were written and time out; the rest were refused at once.
      expect(codes).toContain('TIMEOUT');
      const refused = outcomes.filter((o) => String((o as Error).message).includes('not reading'));
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) expect(r).toMatchObject({ code: 'CONNECTION', retryable: true });
    } finally {
      own.resume();
    }
    // Once the server reads again and the backlog drains, commands go through.
    let reply: unknown;
    for (let i = 0; i < 100 && reply !== 'PONG'; i++) {
      reply = await stuck.command(['PING']).catch(() => undefined);
      if (reply !== 'PONG') await new Promise((r) => setTimeout(r, 50));
    }
    expect(reply).toBe('PONG');
    await stuck.close();
    await own.stop();
  });

  it('admits a transaction whole: never a MULTI without its EXEC, whether it fits or is refused', async () => {
    const own = await startRedis();
    const stuck = createRedisClient({ url: own.url, commandTimeoutMs: 20_000 });
    await stuck.ready();
    const value = 'v'.repeat(1024 * 1024);
    const sets = Math.ceil((MAX_UNSENT_BYTES * 1.25) / value.length);
    own.pause();
    let refused: unknown;
    let fits: Promise<unknown>;
    try {
      // Passes the bound while it is being written: admitted at its start, so written whole.
      fits = stuck.transaction(Array.from({ length: sets }, (_, i) => ['SET', `tx:big:${i}`, value]));
      fits.catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
      // Arrives with the bound already passed: refused whole.
      refused = await stuck.transaction([['SET', 'tx:refused', '1']]).catch((e: unknown) => e);
    } finally {
      own.resume();
    }
    expect(refused).toMatchObject({ code: 'CONNECTION', retryable: true });
    expect(await fits).toHaveLength(sets);
    // The connection is not left inside a MULTI: a plain command gets its own reply, not QUEUED.
    expect(await stuck.command(['GET', 'tx:refused'])).toBeNull();
    expect(await stuck.command(['STRLEN', `tx:big:${sets - 1}`])).toBe(value.length);
    await stuck.close();
    await own.stop();
  });
});

describe('TLS', () => {
  let dir: string;
  let tlsServer: RedisServer;
  let tlsPort: number;
  let cert: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'voelgoed-redis-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          path.join(dir, 'key.pem'),
          '-out',
          path.join(dir, 'cert.pem'),
        ],
        { stdio: 'pipe' },
      );
    } catch (error) {
      throw new Error(
        `the TLS tests need the openssl command to make a certificate (apt-get install -y openssl): ${String(error)}`,
      );
    }
    cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    tlsPort = await getFreePort();
    tlsServer = await startRedis({
      args: [
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        path.join(dir, 'cert.pem'),
        '--tls-key-file',
        path.join(dir, 'key.pem'),
        '--tls-ca-cert-file',
        path.join(dir, 'cert.pem'),
        '--tls-auth-clients',
        'no',
        '--requirepass',
        'tls-secret',
      ],
    });
  });

  afterAll(async () => {
    await tlsServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects over rediss:// with AUTH and the CA from the options', async () => {
    const own = createRedisClient({ url: `rediss://:tls-secret@127.0.0.1:${tlsPort}`, tls: { ca: cert } });
    try {
      expect(await own.command(['PING'])).toBe('PONG');
      const info = String(await own.command(['INFO', 'stats']));
      expect(info).toMatch(/total_connections_received/);
    } finally {
      await own.close();
    }
  });

  it('a certificate it does not trust fails with CONNECTION instead of hanging', async () => {
    const own = createRedisClient({
      url: `rediss://:tls-secret@127.0.0.1:${tlsPort}`,
      // Far deadlines: the refused certificate must be what fails the PING (CONNECTION), not a
      // TLS handshake that a loaded machine slowed past the connect deadline (TIMEOUT).
      connectTimeoutMs: 15_000,
      commandTimeoutMs: 20_000,
    });
    try {
      const error = await own.command(['PING']).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONNECTION' });
    } finally {
      await own.close({ timeoutMs: 500 });
    }
  });
});
