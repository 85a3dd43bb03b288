import { ErrorCodes, type InfrastructureError, isInfrastructureError } from '../errors.js';
import type { DistributedLock, Lock } from '../ports/lock.js';
import {
  type BadInputCall,
  BadInputFailure,
  type BadInputOptions,
  isAbortedSignal,
  isShortTtl,
  type JunkRunContext,
  resolveBadInputOptions,
  runJunkRuns,
} from './bad-input.js';
import type { Junk } from './junk.js';
import { type ConformanceCheck, randomKey } from './shared.js';

const { INVALID_ARGUMENT, LOCK_LOST, LOCK_TIMEOUT, TIMEOUT } = ErrorCodes;
const DEFAULTS = { seed: 0x10c50016, runs: 600 };
/** TTL of the neighbour locks: far beyond the suite's few seconds. */
const NEIGHBOUR_TTL = 120_000;
/**
 * Below this TTL a lock may be gone before it is handed out or extended (Redlock's drift, and
 * the TTL is also each node's deadline): LOCK_TIMEOUT, LOCK_LOST and TIMEOUT are fair answers.
 */
const SHORT_TTL = 100;
/** One {hash tag} for every name, as in the main suite: a Cluster-backed lock can lock them together. */
const fresh = () => randomKey('{conformance}:lock-junk');

interface Neighbour {
  readonly resource: string;
  lock: Lock;
}

interface NearMiss extends Junk {
  readonly of: Neighbour;
}

interface RunState {
  readonly impl: DistributedLock;
  readonly context: JunkRunContext;
  readonly neighbours: readonly Neighbour[];
  readonly nearMisses: readonly NearMiss[];
  /** Fresh resources the call named: a rejected call must leave them free (no partial lock). */
  readonly witnesses: string[];
  /** Neighbours a call named with their owner value: after a success they may be released. */
  readonly touched: Set<Neighbour>;
}

async function makeNeighbours(
  impl: DistributedLock,
): Promise<{ neighbours: Neighbour[]; nearMisses: NearMiss[] }> {
  const base = fresh();
  const neighbours: Neighbour[] = [];
  for (const resource of [`${base}:plain`, `${base}\ufffd`, `${base}é`]) {
    neighbours.push({ resource, lock: await impl.acquire(resource, NEIGHBOUR_TTL, { retries: 0 }) });
  }
  const [plain, replacement, nfc] = neighbours as [Neighbour, Neighbour, Neighbour];
  const nearMisses: NearMiss[] = [
    {
      label: 'a neighbour name with a lone high surrogate for its U+FFFD',
      value: `${base}\ud800`,
      of: replacement,
    },
    {
      label: 'a neighbour name with a lone low surrogate for its U+FFFD',
      value: `${base}\udfff`,
      of: replacement,
    },
    { label: 'a neighbour name in NFD', value: `${base}e\u0301`, of: nfc },
    { label: 'a neighbour name with a NUL after it', value: `${base}:plain\0`, of: plain },
    { label: 'a neighbour name in upper case', value: `${base}:PLAIN`, of: plain },
  ];
  return { neighbours, nearMisses };
}

/** How many single attempts a probe makes while the lock's nodes fail to answer (not held). */
const PROBE_TRIES = 5;

/**
 * A single attempt on `resource`: the lock if it was free, undefined if someone holds it. An
 * attempt refused for a reason other than contention (a Redlock's `reason` 'quorum' or
 * 'validity': nodes too slow to answer, as on a loaded machine) says nothing about the lock, so
 * it is made again, up to {@link PROBE_TRIES} times; a refusal without a reason counts as held.
 */
async function probe(impl: DistributedLock, resource: string): Promise<Lock | undefined> {
  for (let tries = 1; ; tries++) {
    try {
      return await impl.acquire(resource, 5000, { retries: 0 });
    } catch (error) {
      if (!isInfrastructureError(error, LOCK_TIMEOUT)) throw error;
      const reason = (error as { reason?: unknown }).reason;
      if (reason === undefined || reason === 'contention' || tries >= PROBE_TRIES) return undefined;
    }
  }
}

async function checkNeighbours(state: RunState, after: string, succeeded: boolean): Promise<void> {
  const broken: string[] = [];
  for (let i = 0; i < state.neighbours.length; i++) {
    const n = state.neighbours[i] as Neighbour;
    const free = await probe(state.impl, n.resource);
    if (free === undefined && n.lock.held) continue;
    if (!(succeeded && state.touched.has(n))) {
      broken.push(`neighbour lock ${i} ${free ? 'was released' : 'is no longer held by its owner'}`);
    }
    await free?.release();
    await n.lock.release();
    n.lock = await state.impl.acquire(n.resource, NEIGHBOUR_TTL, { retries: 20, retryDelayMs: 50 });
  }
  if (broken.length > 0) throw new BadInputFailure(`after ${after}: ${broken.join(', ')}`);
}

async function checkWitnesses(state: RunState, after: string): Promise<void> {
  for (const resource of state.witnesses) {
    const lock = await probe(state.impl, resource);
    if (lock === undefined)
      throw new BadInputFailure(`${after} rejected but left a lock it named held (a partial effect)`);
    await lock.release();
  }
}

async function attempt<R>(state: RunState, call: BadInputCall<R>): Promise<void> {
  const outcome = await state.context.call(call);
  if (!outcome.ok) await checkWitnesses(state, call.label);
  await checkNeighbours(state, call.label, outcome.ok);
}

const valid = (label: string, value: unknown): Junk => ({ label, value });

function witness(state: RunState): string {
  const resource = fresh();
  state.witnesses.push(resource);
  return resource;
}

/** A resource argument: a name, a list with a bad name in it, a near miss of a neighbour, or anything. */
function junkResource(state: RunState): Junk {
  const { random, junk } = state.context;
  const r = random.next();
  if (r < 0.15) return random.pick(state.nearMisses);
  if (r < 0.5) return junk.string();
  if (r < 0.7) {
    const bad = random.chance(0.3) ? random.pick(state.nearMisses) : junk.prefer('string');
    return valid(`[a fresh name, ${bad.label}]`, [witness(state), bad.value]);
  }
  return junk.any();
}

/** Options with one junk field over `{ retries: 0 }` (so that nothing waits), or junk options. */
function junkOptions(state: RunState, fields: readonly string[]): Junk {
  const { junk, random } = state.context;
  const field = random.pick([...fields, 'options']);
  if (field === 'options') return junk.any();
  const value = field === 'signal' ? junk.prefer('signal', 0.6) : junk.prefer('number', 0.6);
  return valid(`{ retries: 0, ${field}: ${value.label} }`, { retries: 0, [field]: value.value });
}

const ACQUIRE_FIELDS = ['retries', 'retryDelayMs', 'jitterMs', 'signal'] as const;

function signalOf(options: unknown): unknown {
  return typeof options === 'object' && options !== null
    ? (options as { signal?: unknown }).signal
    : undefined;
}

function ttlOf(options: unknown): unknown {
  return typeof options === 'object' && options !== null ? (options as { ttlMs?: unknown }).ttlMs : undefined;
}

/** A lock handed out must look like one; it is released at once. */
async function checkAndRelease(lock: unknown): Promise<string | undefined> {
  const l = lock as Lock | undefined;
  if (typeof l !== 'object' || l === null || typeof l.value !== 'string' || typeof l.release !== 'function') {
    return 'not with a Lock';
  }
  const released = await l.release();
  return typeof released === 'boolean' ? undefined : 'its release did not resolve a boolean';
}

type Method = (state: RunState) => Promise<void>;

const METHODS: Record<string, Method> = {
  async acquire(state) {
    const { junk, random } = state.context;
    const target = random.pick(['resource', 'ttlMs', 'options']);
    let resource = valid('a fresh name', witness(state));
    let ttl = valid('5000', 5000);
    let options = valid('{ retries: 0 }', { retries: 0 });
    if (target === 'resource') resource = junkResource(state);
    if (target === 'ttlMs') ttl = junk.prefer('number');
    if (target === 'options') options = junkOptions(state, ACQUIRE_FIELDS);
    const mayTimeOut = isAbortedSignal(signalOf(options.value)) || isShortTtl(ttl.value, SHORT_TTL);
    await attempt(state, {
      label: `acquire(${resource.label}, ${ttl.label}, ${options.label})`,
      invoke: () =>
        state.impl.acquire(resource.value as string, ttl.value as number, options.value as object),
      accept: (e) => e.code === INVALID_ARGUMENT || (mayTimeOut && e.code === LOCK_TIMEOUT),
      onSuccess: checkAndRelease,
    });
  },

  async release(state) {
    const { junk, random } = state.context;
    const target = random.pick(['resource', 'value', 'near miss', 'list']);
    let resource = valid('a fresh name', fresh());
    let value = valid("'not-the-owner'", 'not-the-owner');
    if (target === 'resource') resource = junkResource(state);
    if (target === 'value') {
      resource = valid('a neighbour name', random.pick(state.neighbours).resource);
      value = junk.prefer('string');
    }
    if (target === 'near miss') {
      const miss = random.pick(state.nearMisses);
      resource = miss;
      value = valid("the neighbour's owner value", miss.of.lock.value);
    }
    if (target === 'list') {
      const neighbour = random.pick(state.neighbours);
      const bad = junk.prefer('string');
      state.touched.add(neighbour);
      resource = valid(`[a neighbour name, ${bad.label}]`, [neighbour.resource, bad.value]);
      value = valid("the neighbour's owner value", neighbour.lock.value);
    }
    await attempt(state, {
      label: `release(${resource.label}, ${value.label})`,
      invoke: () => state.impl.release(resource.value as string, value.value as string),
      onSuccess: (v) => (typeof v === 'boolean' ? undefined : `it resolved ${typeof v}, not a boolean`),
    });
  },

  async withLock(state) {
    const { junk, random } = state.context;
    const target = random.pick(['resource', 'fn', 'options']);
    let resource = valid('a fresh name', witness(state));
    let options = valid('{ retries: 0 }', { retries: 0 });
    let fn: Junk = valid('an async function', async () => 'done');
    // What the junk fn threw (or its promise rejected with): withLock rejects with fn's own error.
    let thrown: { error: unknown } | undefined;
    if (target === 'resource') resource = junkResource(state);
    if (target === 'options') options = junkOptions(state, [...ACQUIRE_FIELDS, 'ttlMs', 'autoExtend']);
    if (target === 'fn') {
      const j = junk.prefer('function');
      const f = j.value;
      fn =
        typeof f === 'function'
          ? valid(j.label, (...args: unknown[]) => {
              const record = (error: unknown) => {
                thrown = { error };
                throw error;
              };
              try {
                const out: unknown = Reflect.apply(f, undefined, args);
                return out instanceof Promise ? out.catch(record) : out;
              } catch (error) {
                return record(error);
              }
            })
          : j;
    }
    const short = isShortTtl(ttlOf(options.value), SHORT_TTL);
    const mayTimeOut = isAbortedSignal(signalOf(options.value)) || short;
    await attempt(state, {
      label: `withLock(${resource.label}, ${fn.label}, ${options.label})`,
      invoke: () =>
        state.impl.withLock(resource.value as string, fn.value as () => unknown, options.value as object),
      accept: (e: InfrastructureError) =>
        e.code === INVALID_ARGUMENT ||
        (mayTimeOut && e.code === LOCK_TIMEOUT) ||
        (short && e.code === LOCK_LOST),
      passThrough: (error) => thrown !== undefined && error === thrown.error,
    });
  },

  async lock(state) {
    const { junk, random } = state.context;
    const resource = fresh();
    const lock = await state.impl.acquire(resource, 10_000, { retries: 0 });
    const target = random.pick(['extend', 'release', 'asyncDispose']);
    const args = Array.from({ length: random.between(0, 2) }, () => junk.any());
    const labels = args.map((a) => a.label).join(', ');
    if (target === 'extend') {
      const ttl = junk.prefer('number', 0.6);
      const outcome = await state.context.call({
        label: `lock.extend(${ttl.label})`,
        invoke: () => lock.extend(ttl.value as number),
        // A short TTL is also each node's deadline: the nodes may not confirm it in time.
        accept: (e) =>
          e.code === INVALID_ARGUMENT ||
          (isShortTtl(ttl.value, SHORT_TTL) && (e.code === LOCK_LOST || e.code === TIMEOUT)),
        onSuccess: (v) => (v === undefined ? undefined : 'it resolved a value, not undefined'),
      });
      if (!outcome.ok && isInfrastructureError(outcome.error, INVALID_ARGUMENT)) {
        if (!lock.held || (await probe(state.impl, resource)) !== undefined) {
          throw new BadInputFailure(
            `lock.extend(${ttl.label}) rejected INVALID_ARGUMENT but the lock is no longer held`,
          );
        }
      }
      await lock.release();
    } else {
      const method = target === 'release' ? lock.release : lock[Symbol.asyncDispose];
      await state.context.call({
        label: `lock.${target}(${labels})`,
        invoke: () =>
          Reflect.apply(
            method,
            lock,
            args.map((a) => a.value),
          ) as Promise<unknown>,
        onSuccess: (v) => {
          if (target === 'release' && v !== true)
            return `it resolved ${String(v)}, not true (the lock was held)`;
          return target === 'asyncDispose' && v !== undefined
            ? 'it resolved a value, not undefined'
            : undefined;
        },
      });
      const after = await probe(state.impl, resource);
      if (after === undefined) throw new BadInputFailure(`lock.${target}(${labels}) left the lock held`);
      await after.release();
    }
    await checkNeighbours(state, `lock.${target}`, false);
  },
};

/**
 * The bad-input check of the {@link DistributedLock} suite: `runs` calls of `acquire`,
 * `release`, `withLock` and a `Lock`'s `extend`/`release`/`Symbol.asyncDispose`, each with
 * seeded junk in one argument or one options field. Every call must resolve or reject with
 * `INVALID_ARGUMENT` within the deadline (`LOCK_TIMEOUT` only with an aborted signal or a TTL
 * under 100 ms, `LOCK_LOST` and `extend`'s `TIMEOUT` only with such a TTL, `withLock` also with
 * `fn`'s own error); a
 * rejected call leaves no lock behind, and no call frees or takes the neighbour locks held
 * before the runs (some differ from names in the junk only by a lone surrogate).
 */
export function distributedLockBadInputCheck(
  options: BadInputOptions = {},
): ConformanceCheck<DistributedLock> {
  return {
    name: 'random junk in every argument gives INVALID_ARGUMENT or a success, never a plain error, a hang or a changed neighbour',
    timeoutMs: 120_000,
    async run(impl) {
      const settings = resolveBadInputOptions(options, DEFAULTS);
      const { neighbours, nearMisses } = await makeNeighbours(impl);
      const names = Object.keys(METHODS);
      await runJunkRuns('DistributedLock', settings, async (context) => {
        const method = METHODS[context.random.pick(names)] as Method;
        await method({ impl, context, neighbours, nearMisses, witnesses: [], touched: new Set() });
      });
      for (const [i, n] of neighbours.entries()) {
        if ((await n.lock.release()) !== true) {
          throw new BadInputFailure(`neighbour lock ${i} could not be released by its owner after the runs`);
        }
      }
    },
  };
}
