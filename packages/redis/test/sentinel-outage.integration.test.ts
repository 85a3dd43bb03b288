import { afterEach, describe, expect, it } from '@jest/globals';
import { type RedisSentinelGroup, startRedis, startRedisSentinel, stopAll, until } from '@voelgoed/testkit';
import { createRedisClient, type RedisClient } from '../src/index.js';

// No offline queue on Sentinel either (README, "Failures"). node-redis's Sentinel client holds a
// command while its master connection is down, until it has found a master again, and sends a
// command again when its connection closed while the client was not ready. The first applied
// writes the caller had been told failed: an INCR, a transaction and a pipeline that timed out
// with the master gone all ran on the promoted replica seconds later. Each case starts its own
// group: the master is killed.
let group: RedisSentinelGroup;
let client: RedisClient;

async function start(): Promise<void> {
  // down-after 3 s (not 1 s): the cases below send while there is no master, and a loaded
  // machine's stalls between the kill and the send must not outlast that window.
  group = await startRedisSentinel({ downAfterMs: 3000 });
  client = createRedisClient({
    sentinel: { name: group.masterName, sentinels: group.sentinelAddresses },
    // Seconds: the calls on it that must succeed (the setup, the reads after the failover) do
    // on a loaded machine; the calls about the outage carry deadlines of their own.
    commandTimeoutMs: 10_000,
    reconnect: { minDelayMs: 50, maxDelayMs: 200 },
  });
  await client.ready();
  await client.command(['SET', 'counter', '10']);
  // Until the replica has it (it is read back after the failover): WAIT 1 2000 can give up after
  // 2 s on a descheduled replica, and its reply raced the kit client's own 2 s limit.
  await group.master.call(['WAIT', '1', '0'], 60_000);
}

afterEach(async () => {
  await client?.close();
  await stopAll();
});

/** Waits for the new master, then for a write through the client; resolves with the counter. */
async function counterAfterFailover(previousPort: number): Promise<string> {
  await group.waitForFailover(previousPort);
  await until(
    () =>
      client.command(['SET', 'after', '1'], { timeoutMs: 1000 }).then(
        () => true,
        () => false,
      ),
    { timeoutMs: 30_000 },
  );
  // On the same master connection as the write before, so after anything node-redis still held.
  return String(await client.command(['GET', 'counter']));
}

/**
 * Resolves once `on` refuses a PING without sending it: its master connection is known to be down
 * (a PING sent into a connection not yet seen closed fails too, but as maybe executed).
 */
async function masterGone(on: RedisClient = client): Promise<void> {
  await until(
    () =>
      on.command(['PING'], { timeoutMs: 200 }).then(
        () => false,
        (e: unknown) =>
          (e as { code?: string; maybeExecuted?: boolean }).code === 'CONNECTION' &&
          (e as { maybeExecuted?: boolean }).maybeExecuted === false,
      ),
    { timeoutMs: 10_000 },
  );
}

describe('Sentinel with its master killed', () => {
  it('refuses at once on a client that has written nothing yet (ready, then the master killed)', async () => {
    await start();
    const idle = createRedisClient({
      sentinel: { name: group.masterName, sentinels: group.sentinelAddresses },
      commandTimeoutMs: 5000,
    });
    try {
      await idle.ready();
      const port = group.master.port;
      await group.master.kill();
      // Once `client` is refused, the closed connections have been seen (the kernel reported
      // both at the kill); `idle` sends its first command now. It used to be held until a master
      // was found again, and ran on the new master.
      await masterGone(client);
      const incr = await idle.command(['INCR', 'counter']).catch((e: unknown) => e);
      expect(incr).toMatchObject({ code: 'CONNECTION', retryable: true, maybeExecuted: false });
      expect(await counterAfterFailover(port)).toBe('10');
    } finally {
      await idle.close();
    }
  }, 90_000);

  it('refuses a command at once while there is no master (not sent: retryable), and never sends it later', async () => {
    await start();
    const port = group.master.port;
    await group.master.kill();
    await masterGone();
    const incr = await client.command(['INCR', 'counter'], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(incr).toMatchObject({ code: 'CONNECTION', retryable: true, maybeExecuted: false });
    const transaction = await client
      .transaction([['INCR', 'counter']], { timeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(transaction).toMatchObject({ code: 'CONNECTION', retryable: true, maybeExecuted: false });
    const [piped] = await client.pipeline([['INCR', 'counter']], { timeoutMs: 300 });
    expect(piped).toMatchObject({ ok: false, error: { code: 'CONNECTION', maybeExecuted: false } });
    expect(await counterAfterFailover(port)).toBe('10');
  }, 90_000);

  it('does not send again a write whose master died before replying (maybeExecuted, not retryable)', async () => {
    await start();
    const port = group.master.port;
    // Stopped, the master takes the INCR into its socket buffer but never runs it; killed, it
    // closes the connection without a reply. The caller cannot know whether it ran, and the
    // client must not send it to the promoted replica (where it would run a second time had the
    // old master run it and replicated it before dying).
    group.master.pause();
    const incr = client.command(['INCR', 'counter'], { timeoutMs: 30_000 }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await group.master.kill();
    expect(await incr).toMatchObject({ code: 'CONNECTION', retryable: false, maybeExecuted: true });
    expect(await counterAfterFailover(port)).toBe('10');
  }, 90_000);
});

describe('Sentinel with the first listed sentinel down or not a sentinel', () => {
  it('connects through the next one: ready() and a first command succeed', async () => {
    group = await startRedisSentinel();
    const dead = await startRedis();
    const deadPort = dead.port;
    await dead.kill();
    const plain = await startRedis();
    for (const first of [
      { host: '127.0.0.1', port: deadPort },
      { host: '127.0.0.1', port: plain.port },
    ]) {
      const sentinels = [first, ...group.sentinelAddresses];
      const waiting = createRedisClient({ sentinel: { name: group.masterName, sentinels } });
      try {
        expect(await waiting.command(['SET', 'first-command', '1'])).toBe('OK');
      } finally {
        await waiting.close();
      }
      const ready = createRedisClient({ sentinel: { name: group.masterName, sentinels } });
      try {
        await ready.ready();
        expect(await ready.command(['GET', 'first-command'])).toBe('1');
      } finally {
        await ready.close();
      }
    }
  }, 90_000);
});

describe('Sentinel when no listed sentinel can tell the master', () => {
  it('ready() rejects once every sentinel failed (dead ports, a wrong master name), not at connectTimeoutMs', async () => {
    group = await startRedisSentinel();
    const dead = await startRedis();
    const deadPort = dead.port;
    await dead.kill();
    // connectTimeoutMs far past the bound: only the failed attempt can reject. node-redis itself
    // gives up after 16 rounds a second apart; the client must not wait for that.
    const cases = [
      { name: group.masterName, sentinels: [{ host: '127.0.0.1', port: deadPort }] },
      { name: 'no-such-master', sentinels: group.sentinelAddresses },
    ];
    for (const sentinel of cases) {
      const c = createRedisClient({ sentinel, connectTimeoutMs: 120_000 });
      try {
        const bound = new Promise<string>((resolve) =>
          setTimeout(() => resolve('still waiting'), 10_000).unref(),
        );
        const outcome = await Promise.race([
          c.ready().then(
            () => 'ready',
            (e: unknown) => e,
          ),
          bound,
        ]);
        expect(outcome).toMatchObject({ code: 'CONNECTION' });
      } finally {
        await c.close();
      }
    }
  }, 30_000);
});
