import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from '@redis/client';
import { generateClientId as nodeRedisClientId } from '@redis/client/dist/lib/client/identity.js';
import { sanitizeArgs as nodeRedisSanitizeArgs } from '@redis/client/dist/lib/client/tracing.js';
import * as commandsModule from '@redis/client/dist/lib/commands/index.js';
import {
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
  stopAll,
  waitFor,
} from '@voelgoed/testkit';
import { createRedisClient } from '../src/index.js';
import { generateClientId, sanitizeArgs } from '../src/node-redis-tracing.js';

// node-redis 6's diagnostics channels, published by our own standalone connection: compared
// event by event with what a plain node-redis client publishes for the same calls.

const PASSWORD = 'nrc-pw-Vb73-do-not-leak';
const WRONG_PASSWORD = 'nrc-wrong-Hd19-do-not-leak';
const TRACED = ['command', 'batch', 'connect'] as const;
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;
const POINTS = {
  ready: 'node-redis:connection:ready',
  closed: 'node-redis:connection:closed',
  error: 'node-redis:error',
} as const;

type Context = Record<string, unknown>;
interface Recorded {
  channel: string;
  event: string;
  /** The context object itself (tracePromise adds `result` or `error` to it as it goes). */
  context: Context;
  /** Its fields at the time of this event. */
  snapshot: Context;
}

/** Subscribes to every node-redis channel and records what is published, per client. */
class Recorder {
  readonly events: Recorded[] = [];
  readonly #off: (() => void)[] = [];

  start(): this {
    for (const name of TRACED) {
      const channel = tracingChannel<unknown, Context>(`node-redis:${name}`);
      const handlers = Object.fromEntries(
        EVENTS.map((event) => [event, (context: Context) => this.#push(name, event, context)]),
      ) as Record<(typeof EVENTS)[number], (context: Context) => void>;
      channel.subscribe(handlers);
      this.#off.push(() => channel.unsubscribe(handlers));
    }
    for (const [name, channel] of Object.entries(POINTS)) {
      const onMessage = (message: unknown) => this.#push(name, 'publish', message as Context);
      subscribe(channel, onMessage);
      this.#off.push(() => unsubscribe(channel, onMessage));
    }
    return this;
  }

  stop(): void {
    for (const off of this.#off.splice(0)) off();
  }

  #push(channel: string, event: string, context: Context): void {
    this.events.push({ channel, event, context, snapshot: { ...context } });
  }

  of(clientId: string): Recorded[] {
    return this.events.filter((e) => e.context.clientId === clientId);
  }

  /** The clientId of the last client whose connect started since `from`. */
  lastConnect(from = 0): string {
    const connects = this.events.slice(from).filter((e) => e.channel === 'connect' && e.event === 'start');
    const id = connects.at(-1)?.context.clientId;
    if (typeof id !== 'string') throw new Error('no connect was traced');
    return id;
  }
}

/** An error as text: class, message, stack, own properties and causes (for the secret sweep). */
function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as Error & Record<string, unknown>;
    parts.push(String(e.name), String(e.message), String(e.stack));
    try {
      parts.push(JSON.stringify(e, Object.getOwnPropertyNames(e)));
    } catch {
      // circular: message and stack are enough
    }
    current = e.cause;
  }
  return parts.join('\n');
}

function everything(events: readonly Recorded[]): string {
  return JSON.stringify(
    events.map((e) => e.snapshot),
    (_key, value: unknown) => (value instanceof Error ? errorText(value) : value),
  );
}

/** A reply with errors inside (EXEC's) as comparable text. */
function plain(value: unknown): unknown {
  if (value instanceof Error) return `error: ${value.message}`;
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

/**
 * What must be equal between node-redis and us: channel, event and every field of the context,
 * except the clientId (random), the port (the same server here, but kept out on principle), the
 * connect time, and the error objects (each library's own class; checked separately).
 */
function comparable(events: readonly Recorded[]): unknown[] {
  return events.map(({ channel, event, snapshot }) => {
    const fields: Context = {};
    for (const [key, value] of Object.entries(snapshot)) {
      if (key === 'clientId') fields[key] = typeof value;
      else if (key === 'serverPort') fields[key] = typeof value;
      else if (key === 'createTimeMs') fields[key] = typeof value;
      else if (key === 'error') fields[key] = value instanceof Error ? 'an Error' : value;
      else if (key === 'result') fields[key] = plain(value);
      else fields[key] = value;
    }
    return [channel, event, fields];
  });
}

/** The calls both clients make, with node-redis's method names (ours has the same). */
interface ScenarioMulti {
  set(key: string, value: string): ScenarioMulti;
  get(key: string): ScenarioMulti;
  incr(key: string): ScenarioMulti;
  exec(): Promise<unknown>;
  execAsPipeline(): Promise<unknown>;
}
interface ScenarioClient {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  incr(key: string): Promise<unknown>;
  multi(): ScenarioMulti;
}

interface ScenarioErrors {
  incr: unknown;
  pipeline: unknown;
  transaction: unknown;
}

/** GET/SET, a pipeline, a MULTI, INCR on a string alone, in a pipeline and in a MULTI. */
async function scenario(c: ScenarioClient): Promise<ScenarioErrors> {
  expect(await c.set('nrc:k', 'text')).toBe('OK');
  expect(await c.get('nrc:k')).toBe('text');
  expect(await c.multi().set('nrc:n', '1').get('nrc:n').execAsPipeline()).toEqual(['OK', '1']);
  expect(await c.multi().set('nrc:n', '2').get('nrc:n').exec()).toEqual(['OK', '2']);
  const incr = await c.incr('nrc:k').catch((e: unknown) => e);
  const pipeline = await c
    .multi()
    .set('nrc:n', '3')
    .incr('nrc:k')
    .execAsPipeline()
    .catch((e: unknown) => e);
  const transaction = await c
    .multi()
    .set('nrc:n', '4')
    .incr('nrc:k')
    .exec()
    .catch((e: unknown) => e);
  for (const e of [incr, pipeline, transaction]) expect(e).toBeInstanceOf(Error);
  return { incr, pipeline, transaction };
}

const CLIENT_ID = /^127\.0\.0\.1:\d+\/0-[0-9a-f]{8}$/;

let server: RedisServer;
/** A node-redis client of the test's own (its events have their own clientId). */
let admin: ReturnType<typeof createClient>;

beforeAll(async () => {
  server = await startRedis({ args: ['--requirepass', PASSWORD] });
  admin = createClient({ url: `redis://:${PASSWORD}@127.0.0.1:${server.port}` });
  await admin.connect();
});

afterAll(async () => {
  await admin?.close();
  await stopAll();
});

/** Waits (polling, up to 10 s) until `condition` holds. */
async function until(what: string, condition: () => boolean): Promise<void> {
  await waitFor(what, async () => (condition() ? true : undefined));
}

/** Kills the connection whose CLIENT ID is `id` from the admin connection. */
async function kill(id: number): Promise<void> {
  await admin.sendCommand(['CLIENT', 'KILL', 'ID', String(id)]);
}

interface Run {
  events: Recorded[];
  errors: ScenarioErrors;
  clientId: string;
}

describe('node-redis tracing channels on the own standalone connection', () => {
  const runs: Partial<Record<'nodeRedis' | 'ours', Run>> = {};

  beforeAll(async () => {
    const recorder = new Recorder().start();
    try {
      // node-redis
      await admin.del(['nrc:k', 'nrc:n']);
      let from = recorder.events.length;
      const nodeRedis = createClient({ url: `redis://:${PASSWORD}@127.0.0.1:${server.port}` });
      nodeRedis.on('error', () => {});
      const connected = nodeRedis.connect();
      const nodeRedisId = recorder.lastConnect(from);
      await connected;
      const nodeRedisErrors = await scenario(nodeRedis as unknown as ScenarioClient);
      const nrServerId = await nodeRedis.clientId();
      let readies = recorder.of(nodeRedisId).filter((e) => e.channel === 'ready').length;
      await kill(nrServerId);
      await until(
        'node-redis to reconnect',
        () => recorder.of(nodeRedisId).filter((e) => e.channel === 'ready').length > readies,
      );
      await nodeRedis.close();
      runs.nodeRedis = { events: recorder.of(nodeRedisId), errors: nodeRedisErrors, clientId: nodeRedisId };

      // ours
      await admin.del(['nrc:k', 'nrc:n']);
      from = recorder.events.length;
      const ours = createRedisClient({ host: '127.0.0.1', port: server.port, password: PASSWORD });
      const oursId = recorder.lastConnect(from);
      await ours.ready();
      // ready() resolves in the same tick as the connect trace's asyncStart, which under Jest
      // (tests in a vm context: tracePromise wraps the context's promise, two ticks later) comes
      // after it; node-redis's connect() resolves after its trace by construction.
      await until('the connect trace to end', () =>
        recorder.of(oursId).some((e) => e.channel === 'connect' && e.event === 'asyncEnd'),
      );
      const oursErrors = await scenario(ours as unknown as ScenarioClient);
      const own = Number(await ours.command(['CLIENT', 'ID']));
      readies = recorder.of(oursId).filter((e) => e.channel === 'ready').length;
      await kill(own);
      await until(
        'ours to reconnect',
        () => recorder.of(oursId).filter((e) => e.channel === 'ready').length > readies,
      );
      await ours.close();
      // Our CLIENT ID command is the one call node-redis did not make (it asked with clientId()).
      runs.ours = {
        events: recorder.of(oursId).filter((e) => !(e.context.command === 'CLIENT')),
        errors: oursErrors,
        clientId: oursId,
      };
      // node-redis's clientId() is a typed CLIENT ID: drop it alike.
      runs.nodeRedis.events = runs.nodeRedis.events.filter((e) => !(e.context.command === 'CLIENT'));
    } finally {
      recorder.stop();
    }
  }, 60_000);

  it('give one clientId per client in node-redis format (host:port/db-hash)', () => {
    expect(runs.ours!.clientId).toMatch(CLIENT_ID);
    expect(runs.nodeRedis!.clientId).toMatch(CLIENT_ID);
    expect(runs.ours!.clientId).not.toBe(runs.nodeRedis!.clientId);
  });

  it('publish the same events with the same contexts, in the same order, as node-redis', () => {
    const ours = comparable(runs.ours!.events);
    const theirs = comparable(runs.nodeRedis!.events);
    // A readable failure first: which channel/event pairs differ.
    expect(ours.map((e) => (e as unknown[]).slice(0, 2).join(' '))).toEqual(
      theirs.map((e) => (e as unknown[]).slice(0, 2).join(' ')),
    );
    expect(ours).toEqual(theirs);
    // Not vacuous: every kind of event is there.
    const kinds = new Set(ours.map((e) => (e as unknown[]).slice(0, 2).join(' ')));
    for (const kind of [
      'connect start',
      'connect asyncEnd',
      'command start',
      'command error',
      'batch start',
      'batch error',
      'batch asyncEnd',
      'ready publish',
      'closed publish',
      'error publish',
    ]) {
      expect(kinds).toContain(kind);
    }
  });

  it('give commands, pipelines and transactions node-redis context fields and values', () => {
    const events = runs.ours!.events;
    const starts = events.filter((e) => e.event === 'start');
    const port = server.port;
    const id = runs.ours!.clientId;
    const base = { database: 0, clientId: id, serverAddress: '127.0.0.1', serverPort: port };
    expect(starts.find((e) => e.channel === 'connect')!.snapshot).toEqual({
      serverAddress: '127.0.0.1',
      serverPort: port,
      clientId: id,
    });
    expect(starts.find((e) => e.context.command === 'SET')!.snapshot).toEqual({
      command: 'SET',
      args: ['SET', 'nrc:k', '?'],
      ...base,
    });
    expect(starts.find((e) => e.context.command === 'GET')!.snapshot).toEqual({
      command: 'GET',
      args: ['GET', 'nrc:k'],
      ...base,
    });
    expect(starts.find((e) => e.context.batchMode === 'PIPELINE' && e.channel === 'batch')!.snapshot).toEqual(
      {
        batchMode: 'PIPELINE',
        batchSize: 2,
        ...base,
      },
    );
    // Commands of a pipeline carry the batch's mode and size; a MULTI's commands publish nothing.
    expect(
      starts
        .filter((e) => e.channel === 'command' && e.context.batchMode === 'PIPELINE')
        .map((e) => e.snapshot),
    ).toEqual([
      { command: 'SET', args: ['SET', 'nrc:n', '?'], ...base, batchMode: 'PIPELINE', batchSize: 2 },
      { command: 'GET', args: ['GET', 'nrc:n'], ...base, batchMode: 'PIPELINE', batchSize: 2 },
      { command: 'SET', args: ['SET', 'nrc:n', '?'], ...base, batchMode: 'PIPELINE', batchSize: 2 },
      { command: 'INCR', args: ['INCR', 'nrc:k'], ...base, batchMode: 'PIPELINE', batchSize: 2 },
    ]);
    expect(starts.filter((e) => e.channel === 'batch').map((e) => e.snapshot.batchMode)).toEqual([
      'PIPELINE',
      'MULTI',
      'PIPELINE',
      'MULTI',
    ]);
    const ready = events.find((e) => e.channel === 'ready')!.snapshot;
    expect(ready).toEqual({
      clientId: id,
      serverAddress: '127.0.0.1',
      serverPort: port,
      createTimeMs: expect.any(Number),
    });
    expect(events.filter((e) => e.channel === 'closed').map((e) => e.snapshot)).toEqual([
      { clientId: id, reason: 'error', wasConnected: true },
      { clientId: id, reason: 'application_close', wasConnected: true },
    ]);
  });

  it("carry the caller's error on the error event (a failing command, a pipeline with one)", () => {
    for (const run of [runs.ours!, runs.nodeRedis!]) {
      const failed = run.events.filter((e) => e.event === 'error');
      expect(failed.map((e) => [e.channel, e.context.command ?? e.context.batchMode])).toEqual([
        ['command', 'INCR'],
        ['command', 'INCR'],
        ['batch', 'PIPELINE'],
      ]);
      // The very object the caller's promise rejected with.
      expect(failed[0]!.context.error).toBe(run.errors.incr);
      expect(failed[1]!.context.error).toBe(run.errors.pipeline);
      expect(failed[2]!.context.error).toBe(run.errors.pipeline);
      expect(String((failed[0]!.context.error as Error).message)).toContain('ERR value is not an integer');
    }
    // Ours: the typed error of this package, not a vendor error.
    expect(runs.ours!.errors.incr).toMatchObject({ code: 'REDIS_REPLY' });
    // A MULTI whose command failed at run time ended without an error event (node-redis rejects
    // after the trace), with EXEC's replies as its result; the caller still got the error.
    const multi = runs.ours!.events.filter((e) => e.channel === 'batch' && e.context.batchMode === 'MULTI');
    expect(plain(multi.at(-1)!.context.result)).toEqual([
      'OK',
      'error: ERR value is not an integer or out of range',
    ]);
    expect(runs.ours!.errors.transaction).toMatchObject({ code: 'REDIS_REPLY' });
  });

  it('never publish the password (AUTH/HELLO handshakes, AUTH and HELLO sent by hand, a refused password)', async () => {
    const recorder = new Recorder().start();
    try {
      const ours = createRedisClient({ port: server.port, password: PASSWORD });
      await ours.command(['SET', 'nrc:s', 'v']);
      await ours.withConnection(async (c) => {
        await c.command(['AUTH', PASSWORD]);
        await c.command(['AUTH', 'default', PASSWORD]);
        await c.command(['HELLO', 2, 'AUTH', 'default', PASSWORD]);
      });
      await ours.close();
      for (const RESP of [2, 3] as const) {
        const nodeRedis = createClient({ url: `redis://default:${PASSWORD}@127.0.0.1:${server.port}`, RESP });
        await nodeRedis.connect();
        await nodeRedis.sendCommand(['AUTH', PASSWORD]);
        await nodeRedis.sendCommand(['HELLO', String(RESP), 'AUTH', 'default', PASSWORD]);
        await nodeRedis.close();
      }
      const from = recorder.events.length;
      const refused = createRedisClient({
        port: server.port,
        password: WRONG_PASSWORD,
        connectTimeoutMs: 2000,
        reconnect: { minDelayMs: 50, maxDelayMs: 100 },
      });
      const refusedId = recorder.lastConnect(from);
      await expect(refused.ready()).rejects.toMatchObject({ code: 'AUTH' });
      await refused.close();
      // The refused attempt was published as node-redis publishes one: on node-redis:error.
      const errors = recorder.of(refusedId).filter((e) => e.channel === 'error');
      expect(errors.length).toBeGreaterThan(0);
      expect(String((errors[0]!.context.error as Error).message)).toMatch(/WRONGPASS|invalid/i);
      expect(
        recorder.of(refusedId).find((e) => e.channel === 'connect' && e.event === 'error'),
      ).toBeDefined();
    } finally {
      recorder.stop();
    }
    const auths = recorder.events.filter((e) => e.event === 'start' && e.context.command === 'AUTH');
    expect(auths.map((e) => e.context.args)).toEqual([
      ['AUTH', '?'],
      ['AUTH', '?', '?'],
      ['AUTH', '?'],
      ['AUTH', '?'],
    ]);
    const hellos = recorder.events.filter((e) => e.event === 'start' && e.context.command === 'HELLO');
    expect(hellos).toHaveLength(3);
    for (const h of hellos) expect(h.context.args).toEqual(['HELLO', '?', '?', '?', '?']);
    const text = everything(recorder.events);
    expect(text).toContain('nrc:s');
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(WRONG_PASSWORD);
  });

  it("fire start synchronously in the caller's async context, so its stores reach the command", async () => {
    const caller = new AsyncLocalStorage<string>();
    const bound = new AsyncLocalStorage<string>();
    const seen: string[] = [];
    const what = (c: Context) => String(c.command ?? c.batchMode ?? 'connect');
    const channels = TRACED.map((name) => tracingChannel<unknown, Context>(`node-redis:${name}`));
    const handlers = {
      start: (c: Context) => seen.push(`start ${what(c)} in ${caller.getStore()}`),
      // A store bound to start (as an APM binds its span) is active where the command settles.
      asyncStart: (c: Context) => seen.push(`asyncStart ${what(c)} under ${bound.getStore()}`),
      end: () => {},
      asyncEnd: () => {},
      error: () => {},
    };
    for (const channel of channels) {
      channel.subscribe(handlers);
      channel.start.bindStore(bound, (c) => what(c));
    }
    try {
      const client = caller.run('create', () => createRedisClient({ port: server.port, password: PASSWORD }));
      expect(seen).toEqual(['start connect in create']);
      // Sent before the connection is ready: start is synchronous all the same.
      const get = caller.run('get', () => client.get('nrc:k'));
      expect(seen.at(-1)).toBe('start GET in get');
      await get;
      const pipeline = caller.run('pipeline', () => client.pipeline([['GET', 'nrc:k']]));
      expect(seen.slice(-2)).toEqual(['start PIPELINE in pipeline', 'start GET in pipeline']);
      await pipeline;
      const multi = caller.run('multi', () => client.transaction([['GET', 'nrc:k']]));
      expect(seen.at(-1)).toBe('start MULTI in multi');
      await multi;
      await client.close();
      expect(seen).toEqual(
        expect.arrayContaining([
          'asyncStart connect under connect',
          'asyncStart GET under GET',
          'asyncStart PIPELINE under PIPELINE',
          'asyncStart MULTI under MULTI',
        ]),
      );
    } finally {
      for (const channel of channels) {
        channel.unsubscribe(handlers);
        channel.start.unbindStore(bound);
      }
    }
  });

  it("end a command with the caller's TIMEOUT when its deadline passes, and trace no empty pipeline", async () => {
    const paused = await startRedis();
    const recorder = new Recorder().start();
    const client = createRedisClient({ port: paused.port });
    try {
      await client.ready();
      const id = recorder.lastConnect();
      await client.pipeline([]);
      paused.pause();
      const error = await client.command(['GET', 'nrc:slow'], { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TIMEOUT' });
      const events = recorder.of(id).filter((e) => e.channel === 'command' || e.channel === 'batch');
      expect(events.map((e) => `${e.channel} ${e.event}`)).toEqual([
        'command start',
        'command end',
        'command error',
        'command asyncStart',
        'command asyncEnd',
      ]);
      expect(events[2]!.context.error).toBe(error);
    } finally {
      recorder.stop();
      paused.resume();
      await client.close();
      await paused.stop();
    }
  });

  it('leave a Cluster (on node-redis) to node-redis: one subscriber sees its commands, each once', async () => {
    let cluster: RedisCluster | undefined;
    const recorder = new Recorder().start();
    try {
      cluster = await startRedisCluster();
      const client = createRedisClient({
        cluster: { nodes: cluster.seeds.slice(0, 1), topologyRefreshMs: 0 },
      });
      await client.ready();
      const from = recorder.events.length;
      await client.set('{nrc}:c', 'v');
      expect(await client.get('{nrc}:c')).toBe('v');
      await client.transaction([['GET', '{nrc}:c']]);
      await client.close();
      const starts = recorder.events.slice(from).filter((e) => e.event === 'start');
      const commands = starts.filter(
        (e) => e.channel === 'command' && ['SET', 'GET'].includes(String(e.context.command)),
      );
      // Each command once (node-redis's node client), not twice.
      expect(commands.map((e) => [e.context.command, e.context.args])).toEqual([
        ['SET', ['SET', '{nrc}:c', '?']],
        ['GET', ['GET', '{nrc}:c']],
      ]);
      for (const c of commands) {
        expect(c.context.clientId).toMatch(CLIENT_ID);
        expect(cluster.nodes.map((n) => n.port)).toContain(c.context.serverPort);
      }
      expect(starts.filter((e) => e.channel === 'batch').map((e) => e.context.batchMode)).toEqual(['MULTI']);
    } finally {
      recorder.stop();
      await cluster?.stop();
    }
  }, 90_000);
});

describe("the port of node-redis's helpers", () => {
  it('sanitizeArgs gives what node-redis 6.3.1 gives for every command it knows', () => {
    const ns = commandsModule as unknown as { default?: { default?: object } };
    const commands = (ns.default?.default ?? ns.default) as object;
    const names = new Set<string>();
    for (const key of Object.keys(commands)) {
      if (key !== key.toUpperCase()) continue;
      const [name, sub] = key.split('_');
      names.add(name!);
      names.add(name!.toLowerCase());
      if (sub) names.add(`${name} ${sub}`);
    }
    expect(names.size).toBeGreaterThan(300);
    for (const extra of ['AUTH', 'HELLO', 'ECHO', 'x', 'PFADD', 'hset', 'SPUBLISH']) names.add(extra);
    const argSets: unknown[][] = [
      [],
      ['a'],
      ['key', 'value', 'PX', 1000],
      ['k', Buffer.from('bin'), 'f', 'v', 'w'],
    ];
    let compared = 0;
    for (const name of names) {
      for (const rest of argSets) {
        const args = [...name.split(' '), ...rest];
        expect([name, sanitizeArgs(args)]).toEqual([name, nodeRedisSanitizeArgs(args)]);
        compared++;
      }
    }
    expect(sanitizeArgs([])).toEqual(nodeRedisSanitizeArgs([]));
    expect(compared).toBeGreaterThan(1000);
  });

  it('generateClientId has node-redis 6.3.1 format, truncation included', () => {
    const shape = (id: string) => id.replace(/-[0-9a-f]{8}$/, '-HASH');
    for (const host of [
      '127.0.0.1',
      'redis.example.internal',
      `${'very-long-host-name.'.repeat(10)}example`,
    ]) {
      const ours = generateClientId(host, 6380, 3);
      expect(shape(ours)).toBe(shape(nodeRedisClientId(host, 6380, 3)));
      expect(ours.length).toBeLessThanOrEqual(128);
    }
    expect(generateClientId('h', 1, 0)).not.toBe(generateClientId('h', 1, 0));
  });
});
