import { ErrorCodes } from '../errors.js';
import type { KeyValueStore } from '../ports/key-value.js';
import {
  type BadInputCall,
  BadInputFailure,
  type BadInputOptions,
  type JunkRunContext,
  resolveBadInputOptions,
  runJunkRuns,
} from './bad-input.js';
import type { Junk } from './junk.js';
import { type ConformanceCheck, randomKey } from './shared.js';

const { INVALID_ARGUMENT, CONFLICT } = ErrorCodes;
const DEFAULTS = { seed: 0x6b760016, runs: 1000 };
/** TTL of the neighbour that has one: far beyond the suite's few seconds. */
const NEIGHBOUR_TTL = 600_000;
/** What every witness key holds before a call (an integer, so that `incr` on it works). */
const WITNESS = '7';

interface Neighbour {
  readonly key: string;
  readonly value: string;
  readonly ttl: boolean;
}

/** A key that must stay as it was (or, after a call that named it and succeeded, is seeded again). */
interface RunState {
  readonly kv: KeyValueStore;
  readonly context: JunkRunContext;
  readonly neighbours: readonly Neighbour[];
  /** Keys that differ from a neighbour's only where a store that mangles text would merge them. */
  readonly nearMisses: readonly Junk[];
  /** Fresh keys set to {@link WITNESS} before the call: a rejected call must leave them so. */
  readonly witnesses: string[];
  /** Neighbours the call named: after a success they may have changed, and are seeded again. */
  readonly touched: Set<Neighbour>;
}

function makeNeighbours(): { neighbours: Neighbour[]; nearMisses: Junk[] } {
  const base = randomKey('kv-junk');
  const neighbours: Neighbour[] = [
    { key: `${base}:plain`, value: 'n-plain', ttl: false },
    { key: `${base}\ufffd`, value: 'n-replacement-char', ttl: false },
    { key: `${base}é`, value: 'n-nfc', ttl: true },
    { key: `${base}😀`, value: 'n-emoji', ttl: false },
  ];
  const nearMisses: Junk[] = [
    { label: 'a neighbour key with a lone high surrogate for its U+FFFD', value: `${base}\ud800` },
    { label: 'a neighbour key with a lone low surrogate for its U+FFFD', value: `${base}\udfff` },
    { label: 'a neighbour key with half of its emoji', value: `${base}\ud83d` },
    { label: 'a neighbour key in NFD', value: `${base}e\u0301` },
    { label: 'a neighbour key with a NUL after it', value: `${base}:plain\0` },
    { label: 'a neighbour key in upper case', value: `${base}:PLAIN` },
    { label: 'a neighbour key with a trailing space', value: `${base}:plain ` },
  ];
  return { neighbours, nearMisses };
}

async function seed(kv: KeyValueStore, neighbour: Neighbour): Promise<void> {
  await kv.set(neighbour.key, neighbour.value, neighbour.ttl ? { ttlMs: NEIGHBOUR_TTL } : {});
}

/** Throws when a neighbour (not named by a successful call) changed; seeds every changed one again. */
async function checkNeighbours(state: RunState, after: string, succeeded: boolean): Promise<void> {
  const { kv, neighbours, touched } = state;
  const values = await kv.mget(neighbours.map((n) => n.key));
  const broken: string[] = [];
  for (let i = 0; i < neighbours.length; i++) {
    const n = neighbours[i] as Neighbour;
    const ttl = await kv.ttl(n.key);
    const ttlOk = n.ttl
      ? typeof ttl === 'number' && ttl > 0 && ttl <= NEIGHBOUR_TTL
      : ttl === Number.POSITIVE_INFINITY;
    if (values[i] === n.value && ttlOk) continue;
    if (!(succeeded && touched.has(n))) {
      broken.push(`neighbour ${i} (${values[i] === n.value ? 'its TTL' : 'its value'} changed)`);
    }
    await seed(kv, n);
  }
  if (broken.length > 0) throw new BadInputFailure(`after ${after}: ${broken.join(', ')}`);
}

async function checkWitnesses(state: RunState, after: string): Promise<void> {
  const { kv, witnesses } = state;
  if (witnesses.length === 0) return;
  const values = await kv.mget(witnesses);
  for (let i = 0; i < witnesses.length; i++) {
    const ttl = await kv.ttl(witnesses[i] as string);
    if (values[i] !== WITNESS || ttl !== Number.POSITIVE_INFINITY) {
      throw new BadInputFailure(`${after} rejected but changed key ${i} it named (a partial effect)`);
    }
  }
}

async function witness(state: RunState): Promise<string> {
  const key = randomKey('kv-junk');
  await state.kv.set(key, WITNESS);
  state.witnesses.push(key);
  return key;
}

/** A key argument: hostile strings most often, sometimes a near miss of a neighbour, else anything. */
function junkKey(state: RunState): Junk {
  const { random, junk } = state.context;
  const r = random.next();
  if (r < 0.2) return random.pick(state.nearMisses);
  if (r < 0.6) return junk.string();
  return junk.any();
}

const valid = (label: string, value: unknown): Junk => ({ label, value });
const str = (j: Junk) => j.label;

/** Runs one call, then the witness and neighbour checks. */
async function attempt<R>(state: RunState, call: BadInputCall<R>): Promise<void> {
  const outcome = await state.context.call(call);
  if (!outcome.ok) await checkWitnesses(state, call.label);
  await checkNeighbours(state, call.label, outcome.ok);
}

/** The value that must read back after a successful set of a junk value that was a string. */
function readsBack(
  kv: KeyValueStore,
  key: unknown,
  value: unknown,
): (() => Promise<string | undefined>) | undefined {
  if (typeof key !== 'string' || typeof value !== 'string') return undefined;
  return async () =>
    (await kv.get(key)) === value ? undefined : 'the value read back differs from the value set';
}

type Method = (state: RunState) => Promise<void>;

const isBool = (v: unknown) =>
  typeof v === 'boolean' ? undefined : `it resolved ${typeof v}, not a boolean`;

/** Where an mset call gets its junk: the entries, one pair, a key, a value, or the options. */
const MSET_TARGETS = [
  'entries',
  'pair',
  'key',
  'value',
  'object value',
  'object key',
  'options',
  'ttlMs',
] as const;

const METHODS: Record<string, Method> = {
  async get(state) {
    const key = junkKey(state);
    await attempt(state, {
      label: `get(${str(key)})`,
      invoke: () => state.kv.get(key.value as string),
      onSuccess: (v) => (v === null || typeof v === 'string' ? undefined : 'not a string or null'),
    });
  },

  async set(state) {
    const { junk, random } = state.context;
    const target = random.pick(['key', 'value', 'options', 'ttlMs', 'mode', 'all']);
    const all = target === 'all';
    let key = valid('a fresh key', await witness(state));
    let value = valid("'v'", 'v');
    let options: Junk = valid('undefined', undefined);
    if (target === 'key' || all) key = junkKey(state);
    if (target === 'value' || all) value = junk.prefer('string');
    if (target === 'options' || all) options = junk.any();
    if (target === 'ttlMs' || target === 'mode') {
      const field = target === 'ttlMs' ? junk.prefer('number') : junk.prefer('string');
      options = valid(`{ ${target}: ${field.label} }`, { [target]: field.value });
    }
    const check = target === 'value' ? readsBack(state.kv, key.value, value.value) : undefined;
    await attempt(state, {
      label: `set(${str(key)}, ${str(value)}, ${str(options)})`,
      invoke: () => state.kv.set(key.value as string, value.value as string, options.value as object),
      onSuccess: async (v) => isBool(v) ?? (v ? await check?.() : undefined),
    });
  },

  async delete(state) {
    const { random } = state.context;
    const n = random.between(1, 3);
    const at = random.int(n);
    const keys: Junk[] = [];
    for (let i = 0; i < n; i++) {
      if (i === at) keys.push(junkKey(state));
      else if (random.chance(0.2)) {
        const neighbour = random.pick(state.neighbours);
        state.touched.add(neighbour);
        keys.push(valid('a neighbour key', neighbour.key));
      } else keys.push(valid('a fresh key', await witness(state)));
    }
    await attempt(state, {
      label: `delete(${keys.map(str).join(', ')})`,
      invoke: () => state.kv.delete(...(keys.map((k) => k.value) as string[])),
      onSuccess: (v) =>
        Number.isSafeInteger(v) && v >= 0 && v <= n ? undefined : `it resolved ${String(v)}`,
    });
  },

  async incr(state) {
    const { junk, random } = state.context;
    const target = random.pick(['key', 'options', 'by', 'ttlMs', 'all']);
    const all = target === 'all';
    let key = valid('a fresh key', await witness(state));
    let options: Junk = valid('undefined', undefined);
    if (target === 'key' || all) key = junkKey(state);
    if (target === 'options' || all) options = junk.any();
    if (target === 'by' || target === 'ttlMs') {
      const field = junk.prefer('number');
      options = valid(`{ ${target}: ${field.label} }`, { [target]: field.value });
    }
    await attempt(state, {
      label: `incr(${str(key)}, ${str(options)})`,
      invoke: () => state.kv.incr(key.value as string, options.value as object),
      accept: (e) => e.code === INVALID_ARGUMENT || e.code === CONFLICT,
      onSuccess: (v) =>
        Number.isSafeInteger(v) ? undefined : `it resolved ${String(v)}, not a safe integer`,
    });
  },

  async expire(state) {
    const { junk, random } = state.context;
    const target = random.pick(['key', 'ttlMs', 'all']);
    let key = valid('a fresh key', await witness(state));
    let ttl = valid('60000', 60_000);
    if (target !== 'ttlMs') key = junkKey(state);
    if (target !== 'key') ttl = junk.prefer('number');
    await attempt(state, {
      label: `expire(${str(key)}, ${str(ttl)})`,
      invoke: () => state.kv.expire(key.value as string, ttl.value as number),
      onSuccess: isBool,
    });
  },

  async ttl(state) {
    const key = junkKey(state);
    await attempt(state, {
      label: `ttl(${str(key)})`,
      invoke: () => state.kv.ttl(key.value as string),
      onSuccess: (v) =>
        v === null || (typeof v === 'number' && v >= 0) ? undefined : `it resolved ${String(v)}`,
    });
  },

  async mget(state) {
    const { junk, random } = state.context;
    let keys: Junk;
    let length: number | undefined;
    if (random.chance(0.4)) keys = junk.any();
    else {
      const bad = junkKey(state);
      const list = [await witness(state), bad.value, random.pick(state.neighbours).key];
      keys = valid(`[a fresh key, ${bad.label}, a neighbour key]`, list);
      length = list.length;
    }
    await attempt(state, {
      label: `mget(${str(keys)})`,
      invoke: () => state.kv.mget(keys.value as string[]),
      onSuccess: (v) => {
        if (!Array.isArray(v)) return 'not an array';
        if (length !== undefined && v.length !== length) return `${v.length} values for ${length} keys`;
        return v.every((x) => x === null || typeof x === 'string')
          ? undefined
          : 'a value is not a string or null';
      },
    });
  },

  async mset(state) {
    const { junk, random } = state.context;
    const target = random.pick(MSET_TARGETS);
    const a = await witness(state);
    const b = await witness(state);
    let entries: Junk = valid('[[a fresh key, 8], [a fresh key, 9]]', [
      [a, '8'],
      [b, '9'],
    ]);
    let options: Junk = valid('undefined', undefined);
    let check: (() => Promise<string | undefined>) | undefined;
    const pairs = (label: string, second: unknown): Junk => {
      const list: unknown[] = [[a, '8'], second];
      if (random.chance(0.2)) {
        const neighbour = random.pick(state.neighbours);
        state.touched.add(neighbour);
        list.push([neighbour.key, 'x']);
      }
      return valid(`[[a fresh key, '8'], ${label}]`, list);
    };
    if (target === 'entries') entries = junk.any();
    if (target === 'pair') {
      const pair = junk.any();
      entries = pairs(pair.label, pair.value);
    }
    if (target === 'key') {
      const key = junkKey(state);
      entries = pairs(`[${key.label}, '9']`, [key.value, '9']);
    }
    if (target === 'value') {
      const value = junk.prefer('string');
      entries = pairs(`[a fresh key, ${value.label}]`, [b, value.value]);
      check = readsBack(state.kv, b, value.value);
    }
    if (target === 'object value') {
      const value = junk.prefer('string');
      entries = valid(`{ a fresh key: '8', a fresh key: ${value.label} }`, { [a]: '8', [b]: value.value });
      check = readsBack(state.kv, b, value.value);
    }
    if (target === 'object key') {
      const key = junk.string();
      entries = valid(`{ a fresh key: '8', ${key.label}: '9' }`, { [a]: '8', [key.value as string]: '9' });
    }
    if (target === 'options') options = junk.any();
    if (target === 'ttlMs') {
      const ttl = junk.prefer('number');
      options = valid(`{ ttlMs: ${ttl.label} }`, { ttlMs: ttl.value });
    }
    await attempt(state, {
      label: `mset(${str(entries)}, ${str(options)})`,
      invoke: () => state.kv.mset(entries.value as [string, string][], options.value as { ttlMs?: number }),
      onSuccess: async (v) => (v === undefined ? await check?.() : 'it resolved a value, not undefined'),
    });
  },
};

/**
 * The bad-input check of the {@link KeyValueStore} suite: `runs` calls, each of one method with
 * seeded junk in one argument (or one options field, or everything). Every call must resolve
 * (with a value of the right type; a value set must read back unchanged) or reject with
 * `INVALID_ARGUMENT` (`incr`: also `CONFLICT`) within the deadline; never throw synchronously,
 * reject with a plain error or hang. A rejected call must leave the keys it named as they were,
 * and no call may change the neighbour keys seeded before the runs (some differ from keys in the
 * junk only by a lone surrogate or a normalisation form).
 */
export function keyValueStoreBadInputCheck(options: BadInputOptions = {}): ConformanceCheck<KeyValueStore> {
  return {
    name: 'random junk in every argument gives INVALID_ARGUMENT or a success, never a plain error, a hang or a changed neighbour',
    timeoutMs: 120_000,
    async run(kv) {
      const settings = resolveBadInputOptions(options, DEFAULTS);
      const { neighbours, nearMisses } = makeNeighbours();
      for (const n of neighbours) await seed(kv, n);
      const names = Object.keys(METHODS);
      await runJunkRuns('KeyValueStore', settings, async (context) => {
        const method = METHODS[context.random.pick(names)] as Method;
        await method({ kv, context, neighbours, nearMisses, witnesses: [], touched: new Set() });
      });
      await kv.delete(...neighbours.map((n) => n.key));
    },
  };
}
