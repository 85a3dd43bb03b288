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

/**
 * The values written (each a fresh 1 MiB Buffer), tracked weakly: after a full collection, those
 * still alive are held by something. Counted by object, not by `arrayBuffers` memory, which V8
 * releases on a background thread after the collection (it lagged by 57 MiB on a loaded machine).
 */
class Values {
  readonly #refs: WeakRef<Buffer>[] = [];

  next(i: number): Buffer {
    const value = Buffer.alloc(MiB, i);
    this.#refs.push(new WeakRef(value));
    return value;
  }

  async aliveAfterGc(): Promise<number> {
    await collectGarbage();
    return this.#refs.filter((r) => r.deref() !== undefined).length;
  }
}

/** One SET of `value`: by command, pipeline or transaction (their own deadline entries), by turn. */
function write(i: number, value: Buffer): Promise<unknown> {
  const set = ['SET', 'mem:k', value];
  if (i % 3 === 0) return client.command(set);
  return i % 3 === 1 ? client.pipeline([set, ['PING']]) : client.transaction([set, ['PING']]);
}

// Keeps the server busy for `ms` (a Lua loop on TIME): a command that stays in flight meanwhile.
const BUSY = `local s = redis.call('TIME') local t0 = s[1] * 1000000 + s[2]
repeat local t = redis.call('TIME') until t[1] * 1000000 + t[2] - t0 > tonumber(ARGV[1]) * 1000
return 1`;

it('keeps no settled command’s arguments alive (120 SETs of 1 MiB, a command still in flight)', async () => {
  const values = new Values();
  for (let i = 0; i < 120; i++) {
    // A second command in flight beside each write, as under any steady load.
    await Promise.all([write(i, values.next(i)), client.command(['PING'])]);
  }
  // Counted while a command is in flight, so the sweeper cannot simply start over empty.
  const busy = client.command(['EVAL', BUSY, '0', 1000]);
  await new Promise((resolve) => setTimeout(resolve, 50)); // a sweep or more passes meanwhile
  const alive = await values.aliveAfterGc();
  expect(await busy).toBe(1);
  console.log(`[redis] 1 MiB values still referenced after 120 SETs and a full GC: ${alive}`);
  // About 120 before the fix (the sweeper kept up to 1,024 settled commands).
  expect(alive).toBeLessThanOrEqual(2);
}, 60_000);

it('lets go of them too behind a blocking command still waiting ahead of them (BLPOP on a connection of its own)', async () => {
  const values = new Values();
  // Tracked first, with the same timeout: the sweeper cannot pass it while it waits.
  const blocked = client.withConnection((c) => c.command(['BLPOP', 'mem:never', 3]));
  for (let i = 0; i < 90; i++) await write(i, values.next(i));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const alive = await values.aliveAfterGc();
  console.log(`[redis] 1 MiB values still referenced after 90 SETs behind a BLPOP and a full GC: ${alive}`);
  expect(alive).toBeLessThanOrEqual(2);
  expect(await blocked).toBeNull();
}, 60_000);
