import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import { createRedisClient, type RedisClientOptions } from '../src/index.js';

let server: RedisServer;
let plain: RedisServer;

beforeAll(async () => {
  server = await startRedis({ args: ['--requirepass', 'failures-secret'] });
  plain = await startRedis();
});

afterAll(async () => {
  await stopAll();
});

/**
 * A proxy to `port` that passes the client's bytes through and cuts both connections once
 * `limit` bytes of replies have come back: commands the server ran lose their replies.
 */
async function cuttingProxy(port: number, limit: number) {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    const upstream = net.connect({ host: '127.0.0.1', port });
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    let passed = 0;
    socket.pipe(upstream);
    upstream.on('data', (data: Buffer) => {
      if (passed + data.length >= limit) {
        socket.write(data.subarray(0, Math.max(0, limit - passed)));
        socket.destroy();
        upstream.destroy();
        return;
      }
      passed += data.length;
      socket.write(data);
    });
    socket.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

/** Rejects (with a plain Error) when `promise` has not settled within `ms`: a hang detector. */
function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A client whose connection goes through a proxy that cuts after `limit` bytes of replies (no quick reconnect). */
async function throughCuttingProxy(limit: number) {
  const proxy = await cuttingProxy(plain.port, limit);
  const client = createRedisClient({
    port: proxy.port,
    commandTimeoutMs: 10_000,
    reconnect: { minDelayMs: 5_000 },
  });
  return { proxy, client };
}

describe('a connection cut after the server ran commands', () => {
  it('never reports an INCR the server ran as retryable: each one comes back maybeExecuted', async () => {
    const { proxy, client } = await throughCuttingProxy(3000);
    try {
      await client.ready();
      const total = 5000;
      const outcomes = await Promise.all(
        Array.from({ length: total }, () =>
          client.command(['INCR', 'cut:counter']).then(
            () => ({ ok: true as const }),
            (error: { code: string; retryable: boolean; maybeExecuted?: boolean }) => ({
              ok: false as const,
              error,
            }),
          ),
        ),
      );
      const ran = Number(await plain.call(['GET', 'cut:counter']));
      const ok = outcomes.filter((o) => o.ok).length;
      const errors = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
      const maybe = errors.filter((e) => e.maybeExecuted === true);
      const retryable = errors.filter((e) => e.retryable);
      // The cut happened mid-run: some replies arrived, some commands ran without one.
      expect(ok).toBeGreaterThan(0);
      expect(ran).toBeGreaterThan(ok);
      for (const e of errors) expect(e.code).toBe('CONNECTION');
      // Every INCR that ran and got no reply is among those reported maybeExecuted...
      expect(ok + maybe.length).toBeGreaterThanOrEqual(ran);
      // ...and no error a caller would retry belongs to a command that may have run.
      for (const e of retryable) expect(e.maybeExecuted).toBe(false);
      for (const e of maybe) expect(e.retryable).toBe(false);
    } finally {
      await client.close({ timeoutMs: 500 });
      await proxy.close();
    }
  });

  it('leaves a read-only command retryable even when it may have reached the server', async () => {
    const { proxy, client } = await throughCuttingProxy(200);
    try {
      await client.ready();
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, () => client.command(['GET', 'cut:counter']).catch((e: unknown) => e)),
      );
      const lost = outcomes.filter(
        (o): o is { code: string; maybeExecuted: boolean; retryable: boolean } =>
          typeof o === 'object' && o !== null && 'code' in o,
      );
      expect(lost.length).toBeGreaterThan(0);
      for (const e of lost) expect(e).toMatchObject({ code: 'CONNECTION', retryable: true });
      expect(lost.some((e) => e.maybeExecuted)).toBe(true);
    } finally {
      await client.close({ timeoutMs: 500 });
      await proxy.close();
    }
  });
});

describe('ready() when the first connection fails', () => {
  it('rejects with CONNECTION for a closed port, by connectTimeoutMs (well before the 5 s default)', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = createRedisClient({ port, connectTimeoutMs: 1000, reconnect: { minDelayMs: 50 } });
    try {
      // 3 s: past the 1 s deadline by more than a loaded machine's stalls, short of the 5 s default.
      const error = await settlesWithin(client.ready(), 3000).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONNECTION', retryable: true });
      // It keeps trying, as documented, and says so.
      expect(client.state).toBe('connecting');
    } finally {
      await client.close();
    }
  });

  it('rejects with CONNECTION by connectTimeoutMs for a server that accepts and never answers', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const client = createRedisClient({ port, password: 'x', connectTimeoutMs: 300 });
    try {
      // 3 s: past the 300 ms deadline by more than a loaded machine's stalls, short of the 5 s default.
      const error = await settlesWithin(client.ready(), 3000).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONNECTION' });
    } finally {
      await client.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('rejects with AUTH (not retryable) for a wrong password, and for none where one is required', async () => {
    for (const options of [
      { password: 'wrong-secret-Zq1' },
      { username: 'nobody', password: 'failures-secret' },
    ]) {
      // The server's refusal must come within the connect deadline: seconds, for a loaded machine
      // (a TIMEOUT'd handshake would be CONNECTION, not AUTH). The guard only turns a hang into a failure.
      const client = createRedisClient({ port: server.port, connectTimeoutMs: 10_000, ...options });
      try {
        const error = await settlesWithin(client.ready(), 20_000).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'AUTH', retryable: false });
        expect(String((error as Error).message)).not.toContain('wrong-secret-Zq1');
        expect(String((error as Error).message)).not.toContain('failures-secret');
      } finally {
        await client.close();
      }
    }
    // No password at all: the server says NOAUTH to the first command.
    const client = createRedisClient({ port: server.port });
    try {
      await client.ready();
      await expect(client.command(['GET', 'k'])).rejects.toMatchObject({ code: 'AUTH', retryable: false });
    } finally {
      await client.close();
    }
  });
});

describe('ready() when the server refuses the settings', () => {
  it('a password for a server that has none: AUTH, not retryable, the password not shown', async () => {
    // Seconds: the server's refusal, not the deadline, must end the attempt on a loaded machine.
    const client = createRedisClient({
      port: plain.port,
      password: 'unneeded-Pw42',
      connectTimeoutMs: 10_000,
    });
    try {
      const error = await settlesWithin(client.ready(), 20_000).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'AUTH', retryable: false });
      expect(String((error as Error).message)).not.toContain('unneeded-Pw42');
    } finally {
      await client.close();
    }
  });

  it('a database the server does not have: CONNECTION, not retryable (every attempt would fail the same way)', async () => {
    // Seconds: the server's refusal, not the deadline, must end the attempt on a loaded machine.
    const client = createRedisClient({ port: plain.port, db: 999, connectTimeoutMs: 10_000 });
    try {
      const error = await settlesWithin(client.ready(), 20_000).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONNECTION', retryable: false });
      expect(String((error as Error).message)).toContain('DB index');
    } finally {
      await client.close();
    }
  });
});

describe('createRedisClient arguments', () => {
  it.each([
    ['null', null],
    ['a number', 5],
    ['an array', ['redis://127.0.0.1']],
    ['a function', () => 'redis://127.0.0.1'],
  ])('refuses %s with INVALID_ARGUMENT instead of connecting to 127.0.0.1:6379', (_what, input) => {
    expect(() => createRedisClient(input as unknown as RedisClientOptions)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it.each([
    ['an empty URL', { url: '' }],
    ['a host that is not a string', { host: 5 }],
    ['a password that is not a string', { password: 12345 }],
    ['tls that is neither boolean nor options', { tls: 'yes' }],
    ['cluster that is not an object', { cluster: 'a,b' }],
    ['sentinel that is not an object', { sentinel: 'mymaster' }],
  ])('refuses %s with INVALID_ARGUMENT', (_what, options) => {
    expect(() => createRedisClient(options as unknown as RedisClientOptions)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it.each([
    ["node-redis's socket", { socket: { host: '10.9.9.9', port: 6380 } }, 'socket'],
    ["node-redis's database", { host: '127.0.0.1', database: 2 }, 'database'],
    ["ioredis' keyPrefix", { keyPrefix: 'app:' }, 'keyPrefix'],
    [
      'a misspelt field in cluster',
      { cluster: { nodes: ['127.0.0.1:7000'], useReplicas: true } },
      'useReplicas',
    ],
    [
      'a misspelt field in sentinel',
      { sentinel: { name: 'm', sentinels: [{ host: 'h', port: 1 }], pass: 'x' } },
      'pass',
    ],
    ['a misspelt field in reconnect', { reconnect: { maxDelay: 100 } }, 'maxDelay'],
  ])(
    'refuses %s with INVALID_ARGUMENT naming it, instead of dropping it and connecting elsewhere',
    (_what, options, field) => {
      let error: unknown;
      try {
        createRedisClient(options as unknown as RedisClientOptions);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((error as Error).message).toContain(`unknown field "${field}"`);
    },
  );

  it('takes a field left undefined as not given', async () => {
    const client = createRedisClient({
      host: '127.0.0.1',
      port: 1,
      database: undefined,
    } as RedisClientOptions);
    await client.close();
  });

  it('refuses a malformed %-escape in the URL password with INVALID_ARGUMENT that does not show it', () => {
    let error: unknown;
    try {
      createRedisClient('redis://user:pa%zzss-Secret77@127.0.0.1:6390');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(String((error as Error).message)).toContain('%-escape');
    expect(String((error as Error).message)).not.toContain('Secret77');
    expect(JSON.stringify(error)).not.toContain('Secret77');
  });
});
