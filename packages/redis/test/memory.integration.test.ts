import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import { createRedisClient, type RedisClient } from '../src/index.js';
import { collectGarbage } from './support/gc.js';

// The client's bookkeeping of settled commands must not keep their arguments alive. It used to:
// the deadline sweeper let go of passed entries only once 1,024 had gathered (while commands were
// in flight at every sweep), so writing 1 MiB values kept up to a gigabyte of them alive.

const MiB = 1024 * 1024;

let server: RedisServer;
let client: RedisClient;

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient({ url: server.url, commandTimeoutMs: 20_000 });
  await client.ready();
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

/** Buffer memory after a full collection, MiB. */
async function buffersAfterGc(): Promise<number> {
  await collectGarbage();
  return process.memoryUsage().arrayBuffers / MiB;
}

// Keeps the server busy for `ms` (a Lua loop on TIME): a command that stays in flight meanwhile.
const BUSY = `local s = redis.call('TIME') local t0 = s[1] * 1000000 + s[2]
repeat local t = redis.call('TIME') until t[1] * 1000000 + t[2] - t0 > tonumber(ARGV[1]) * 1000
return 1`;

it('keeps no settled command’s arguments alive (120 SETs of 1 MiB, a command still in flight)', async () => {
  const before = await buffersAfterGc();
  for (let i = 0; i < 120; i++) {
    // A fresh 1 MiB value each time, with a second command in flight beside it; every third
    // through a pipeline and every third through a transaction (their own deadline entries).
    const set = ['SET', 'mem:k', Buffer.alloc(MiB, i)];
    const write =
      i % 3 === 0
        ? client.command(set)
        : i % 3 === 1
          ? client.pipeline([set, ['PING']])
          : client.transaction([set, ['PING']]);
    await Promise.all([write, client.command(['PING'])]);
  }
  // Measured while a command is in flight, so the sweeper cannot simply start over empty.
  const busy = client.command(['EVAL', BUSY, '0', 300]);
  await new Promise((resolve) => setTimeout(resolve, 50)); // a sweep or more passes meanwhile
  const after = await buffersAfterGc();
  expect(await busy).toBe(1);
  console.log(
    `[redis] Buffer memory after 120 SETs of 1 MiB: ${(after - before).toFixed(1)} MiB more than before`,
  );
  // The last value may still be referenced (the socket's last write); 120 MiB before the fix.
  expect(after - before).toBeLessThan(16);
}, 60_000);

it('lets go of them too behind a blocking command still waiting ahead of them (BLPOP on a connection of its own)', async () => {
  const before = await buffersAfterGc();
  // Tracked first, with the same timeout: the sweeper cannot pass it while it waits.
  const blocked = client.withConnection((c) => c.command(['BLPOP', 'mem:never', 3]));
  for (let i = 0; i < 90; i++) {
    const set = ['SET', 'mem:k', Buffer.alloc(MiB, i)];
    await (i % 3 === 0
      ? client.command(set)
      : i % 3 === 1
        ? client.pipeline([set, ['PING']])
        : client.transaction([set, ['PING']]));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  const after = await buffersAfterGc();
  console.log(
    `[redis] Buffer memory after 90 SETs of 1 MiB behind a BLPOP: ${(after - before).toFixed(1)} MiB more`,
  );
  expect(after - before).toBeLessThan(16);
  expect(await blocked).toBeNull();
}, 60_000);
