import { createHash } from 'node:crypto';
import { ErrorCodes, type InfrastructureError, isInfrastructureError } from '../errors.js';
import type { ObjectStorage } from '../ports/storage.js';
import {
  type BadInputCall,
  BadInputFailure,
  type BadInputOptions,
  isAbortedSignal,
  type JunkRunContext,
  resolveBadInputOptions,
  runJunkRuns,
} from './bad-input.js';
import type { Junk } from './junk.js';
import { junkPutOptions, junkStream } from './object-storage-junk.js';
import { type ConformanceCheck, randomKey, readAll } from './shared.js';

const { INVALID_ARGUMENT, NOT_FOUND, INTEGRITY, ABORTED, PAYLOAD_TOO_LARGE } = ErrorCodes;
const DEFAULTS = { seed: 0x0b1e0016, runs: 200 };

/** Settings of {@link objectStorageBadInputCheck}. */
export interface ObjectStorageBadInputOptions extends BadInputOptions {
  /** Start of the neighbour and witness keys (default `conformance`). */
  keyPrefix?: string;
  /**
   * Typed errors a driver may also give, besides the suite's (e.g. a test server's known 5xx);
   * `call` is the call's label, such as `deleteMany(['0'])`.
   */
  alsoAccept?: (error: InfrastructureError, call: string) => boolean;
}

interface Neighbour {
  readonly key: string;
  readonly bytes: Buffer;
}

interface RunState {
  readonly impl: ObjectStorage;
  readonly alsoAccept: ((error: InfrastructureError, call: string) => boolean) | undefined;
  readonly context: JunkRunContext;
  readonly prefix: string;
  readonly neighbours: readonly Neighbour[];
  /** Keys that differ from a neighbour's only by a dot segment, a lone surrogate, a normalisation form, … */
  readonly nearMisses: readonly Junk[];
  /** Fresh keys a call named: after a rejection none may exist (a partial effect). */
  readonly witnesses: string[];
  /** Neighbours a call named: after a success they may have changed (and are put back). */
  readonly touched: Set<Neighbour>;
  /** Every key a call may have written, deleted after the runs. */
  readonly written: Set<string>;
}

const valid = (label: string, value: unknown): Junk => ({ label, value });
const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function makeNeighbours(impl: ObjectStorage, prefix: string) {
  const base = randomKey(`${prefix}/junk`);
  const neighbours: Neighbour[] = [
    { key: `${base}/plain`, bytes: Buffer.from('neighbour: plain') },
    { key: `${base}/a/b`, bytes: Buffer.from([0, 1, 2, 0xff, 0xfe]) },
    { key: `${base}/\ufffd`, bytes: Buffer.from('neighbour: replacement character') },
    { key: `${base}/é`, bytes: Buffer.from('neighbour: NFC') },
  ];
  for (const n of neighbours) await impl.put(n.key, n.bytes);
  const nearMisses: Junk[] = [
    valid("a neighbour key with a '.' segment (a/./b)", `${base}/a/./b`),
    valid('a neighbour key with an empty segment (a//b)', `${base}/a//b`),
    valid("a neighbour key with a '..' segment (a/x/../b)", `${base}/a/x/../b`),
    valid("a neighbour key with a trailing '/'", `${base}/a/b/`),
    valid("a neighbour key with a trailing '/.'", `${base}/plain/.`),
    valid("a neighbour key behind './'", `./${base}/plain`),
    valid("a neighbour key behind '/'", `/${base}/plain`),
    valid('a neighbour key with a lone surrogate for its U+FFFD', `${base}/\ud800`),
    valid('a neighbour key in NFD', `${base}/e\u0301`),
    valid('a neighbour key in upper case', `${base}/PLAIN`),
    valid('a neighbour key with a NUL after it', `${base}/plain\0`),
    valid('a neighbour key with a trailing space', `${base}/plain `),
    valid("a neighbour key with '%2F' for its '/'", `${base}/a%2Fb`),
    valid("a neighbour key with '\\' for its '/'", `${base}/a\\b`),
  ];
  return { neighbours, nearMisses };
}

async function checkNeighbours(state: RunState, after: string, mayHaveApplied: boolean): Promise<void> {
  const broken: string[] = [];
  for (let i = 0; i < state.neighbours.length; i++) {
    const n = state.neighbours[i] as Neighbour;
    let bytes: Buffer | undefined;
    try {
      bytes = await readAll((await state.impl.get(n.key)).body);
    } catch {
      bytes = undefined;
    }
    if (bytes !== undefined && sha(bytes) === sha(n.bytes)) continue;
    if (!(mayHaveApplied && state.touched.has(n))) {
      broken.push(`neighbour object ${i} (${bytes === undefined ? 'is gone' : 'its bytes changed'})`);
    }
    await state.impl.put(n.key, n.bytes);
  }
  if (broken.length > 0) throw new BadInputFailure(`after ${after}: ${broken.join(', ')}`);
}

async function checkWitnesses(state: RunState, after: string): Promise<void> {
  for (const key of state.witnesses) {
    if (await state.impl.exists(key)) {
      throw new BadInputFailure(`${after} rejected but stored an object it named (a partial effect)`);
    }
  }
}

async function attempt<R>(state: RunState, call: BadInputCall<R>): Promise<void> {
  const { accept, label } = call;
  const extra = state.alsoAccept;
  const outcome = await state.context.call({
    ...call,
    accept: (e) => (accept ? accept(e) : e.code === INVALID_ARGUMENT) || extra?.(e, label) === true,
  });
  if (!outcome.ok) await checkWitnesses(state, call.label);
  // A call that failed for another reason than the caller's mistake may have applied in part
  // (S3's DeleteObjects deletes key by key): only then may a neighbour it named have changed.
  const mayHaveApplied = outcome.ok || !isInfrastructureError(outcome.error, INVALID_ARGUMENT);
  await checkNeighbours(state, call.label, mayHaveApplied);
}

function witness(state: RunState): Junk {
  const key = randomKey(`${state.prefix}/junk`);
  state.witnesses.push(key);
  state.written.add(key);
  return valid('a fresh key', key);
}

/** A key argument: a near miss of a neighbour, a hostile string, or anything. */
function junkKey(state: RunState): Junk {
  const { random, junk } = state.context;
  const r = random.next();
  const key = r < 0.3 ? random.pick(state.nearMisses) : r < 0.7 ? junk.string() : junk.any();
  if (typeof key.value === 'string') state.written.add(key.value);
  return key;
}

function fieldOf(options: unknown, field: string): unknown {
  try {
    return typeof options === 'object' && options !== null
      ? (options as Record<string, unknown>)[field]
      : undefined;
  } catch {
    return undefined;
  }
}

const codes =
  (...list: string[]) =>
  (e: InfrastructureError) =>
    list.includes(e.code);

type Method = (state: RunState) => Promise<void>;

const METHODS: Record<string, Method> = {
  async put(state) {
    const { junk, random } = state.context;
    const target = random.pick(['key', 'body', 'stream', 'options', 'options']);
    let key = witness(state);
    let body: Junk = valid("'x'", 'x');
    let options: Junk = valid('undefined', undefined);
    if (target === 'key') key = junkKey(state);
    if (target === 'body') body = junk.any();
    if (target === 'stream') body = junkStream(state.context);
    if (target === 'options') options = junkPutOptions(state.context);
    const aborted = isAbortedSignal(fieldOf(options.value, 'signal'));
    await attempt(state, {
      label: `put(${key.label}, ${body.label}, ${options.label})`,
      invoke: () => state.impl.put(key.value as string, body.value as string, options.value as object),
      accept: (e) =>
        e.code === INVALID_ARGUMENT ||
        (target !== 'key' && (e.code === INTEGRITY || e.code === PAYLOAD_TOO_LARGE)) ||
        (aborted && e.code === ABORTED),
      onSuccess: (v) =>
        typeof v === 'object' && v !== null && v.key === key.value
          ? undefined
          : 'not with the key it was given',
    });
  },

  async read(state) {
    const { junk, random } = state.context;
    const method = random.pick(['get', 'head', 'exists', 'getRange', 'getRange', 'get options']);
    let key: Junk = random.chance(0.2)
      ? valid('a neighbour key', random.pick(state.neighbours).key)
      : junkKey(state);
    let start = valid('0', 0);
    let end = valid('3', 3);
    let options = valid('undefined', undefined as unknown);
    if (method === 'getRange') {
      const which = random.pick(['start', 'end', 'key']);
      if (which !== 'key') {
        key = valid('a neighbour key', random.pick(state.neighbours).key);
        if (which === 'start') start = junk.prefer('number', 0.7);
        else end = junk.prefer('number', 0.7);
      }
    }
    if (method === 'get options') {
      key = valid('a neighbour key', random.pick(state.neighbours).key);
      options = random.chance(0.5)
        ? junk.any()
        : valid('{ signal: … }', { signal: junk.prefer('signal').value });
    }
    const aborted = isAbortedSignal(fieldOf(options.value, 'signal'));
    const impl = state.impl;
    const k = key.value as string;
    const call: Record<string, () => Promise<unknown>> = {
      get: async () => readAll((await impl.get(k)).body),
      'get options': async () => readAll((await impl.get(k, options.value as { signal?: AbortSignal })).body),
      head: () => impl.head(k),
      exists: () => impl.exists(k),
      getRange: async () =>
        readAll((await impl.getRange(k, start.value as number, end.value as number)).body),
    };
    await attempt(state, {
      label:
        method === 'getRange'
          ? `getRange(${key.label}, ${start.label}, ${end.label})`
          : `${method === 'get options' ? 'get' : method}(${key.label}${method === 'get options' ? `, ${options.label}` : ''})`,
      invoke: call[method] as () => Promise<unknown>,
      accept: (e) => e.code === INVALID_ARGUMENT || e.code === NOT_FOUND || (aborted && e.code === ABORTED),
      onSuccess: (v) => (method === 'exists' && typeof v !== 'boolean' ? 'not with a boolean' : undefined),
    });
  },

  async delete(state) {
    const { junk, random } = state.context;
    if (random.chance(0.5)) {
      const key = junkKey(state);
      await attempt(state, {
        label: `delete(${key.label})`,
        invoke: () => state.impl.delete(key.value as string),
        onSuccess: (v) => (v === undefined ? undefined : 'with a value, not undefined'),
      });
      return;
    }
    let keys: Junk;
    if (random.chance(0.3)) keys = junk.any();
    else {
      const list: Junk[] = [junkKey(state)];
      if (random.chance(0.3)) {
        const neighbour = random.pick(state.neighbours);
        state.touched.add(neighbour);
        list.push(valid('a neighbour key', neighbour.key));
      }
      keys = valid(
        `[${list.map((j) => j.label).join(', ')}]`,
        list.map((j) => j.value),
      );
    }
    await attempt(state, {
      label: `deleteMany(${keys.label})`,
      invoke: () => state.impl.deleteMany(keys.value as string[]),
      onSuccess: (v) => (v === undefined ? undefined : 'with a value, not undefined'),
    });
  },

  async list(state) {
    const { junk, random } = state.context;
    const target = random.pick(['prefix', 'prefix', 'options', 'limit']);
    let prefix: Junk = valid('a fresh prefix', randomKey(`${state.prefix}/junk`));
    let options: Junk = valid('undefined', undefined);
    if (target === 'prefix')
      prefix = random.chance(0.3) ? random.pick(state.nearMisses) : junk.prefer('string');
    if (target === 'options') options = junk.any();
    if (target === 'limit') {
      const limit = junk.prefer('number', 0.7);
      options = valid(`{ limit: ${limit.label} }`, { limit: limit.value });
    }
    await attempt(state, {
      label: `list(${prefix.label}, ${options.label})`,
      invoke: async () => {
        const out: unknown[] = [];
        for await (const item of state.impl.list(prefix.value as string, options.value as object)) {
          out.push(item);
          if (out.length >= 20) break;
        }
        return out;
      },
    });
  },

  async copy(state) {
    const { random } = state.context;
    const target = random.pick(['from', 'to', 'to neighbour']);
    let from: Junk = valid('a neighbour key', random.pick(state.neighbours).key);
    let to: Junk = witness(state);
    if (target === 'from') from = junkKey(state);
    if (target === 'to') to = junkKey(state);
    if (target === 'to neighbour') {
      from = junkKey(state);
      const neighbour = random.pick(state.neighbours);
      state.touched.add(neighbour);
      to = valid('a neighbour key', neighbour.key);
    }
    await attempt(state, {
      label: `copy(${from.label}, ${to.label})`,
      invoke: () => state.impl.copy(from.value as string, to.value as string),
      accept: codes(INVALID_ARGUMENT, NOT_FOUND),
    });
  },

  async signedUrl(state) {
    const { junk, random } = state.context;
    const target = random.pick(['key', 'options', 'method', 'expiresInS', 'contentType']);
    let key: Junk = witness(state);
    let options: Junk = valid('undefined', undefined);
    if (target === 'key') key = junkKey(state);
    if (target === 'options') options = junk.any();
    if (target === 'method' || target === 'contentType') {
      const value = junk.prefer('string');
      options = valid(`{ ${target}: ${value.label} }`, { method: 'PUT', [target]: value.value });
    }
    if (target === 'expiresInS') {
      const value = junk.prefer('number', 0.7);
      options = valid(`{ expiresInS: ${value.label} }`, { expiresInS: value.value });
    }
    const capable = state.impl.capabilities.signedUrl;
    await attempt(state, {
      label: `signedUrl(${key.label}, ${options.label})`,
      invoke: () => state.impl.signedUrl(key.value as string, options.value as object),
      // A driver without signed URLs refuses every call with its own typed error.
      accept: (e) => e.code === INVALID_ARGUMENT || !capable,
      onSuccess: (v) => (typeof v === 'string' ? undefined : 'not with a string'),
    });
  },
};

/**
 * The bad-input check of the {@link ObjectStorage} suite: `runs` calls of `put` (junk key, body,
 * body stream, options or one options field: `contentType`, `metadata`, `cacheControl`, `size`,
 * `checksum`, `onProgress`, `signal`), `get`, `getRange`, `head`, `exists`, `delete`,
 * `deleteMany`, `list`, `copy` and `signedUrl`, each with seeded junk in one argument. Every call
 * must resolve or reject with `INVALID_ARGUMENT` (also `NOT_FOUND` for a missing object,
 * `INTEGRITY` or `PAYLOAD_TOO_LARGE` for a body that does not arrive whole, `ABORTED` with an
 * aborted signal) within the deadline; never a plain error or a hang. A rejected call stores
 * nothing under the fresh keys it named, and no call changes the bytes of the neighbour objects
 * put before the runs, some of whose keys differ from keys in the junk only by a `.` or empty
 * segment, a lone surrogate or a normalisation form.
 */
export function objectStorageBadInputCheck(
  options: ObjectStorageBadInputOptions = {},
): ConformanceCheck<ObjectStorage> {
  return {
    name: 'random junk in every argument gives a typed error or a success, never a plain error, a hang or a changed neighbour',
    timeoutMs: 120_000,
    async run(impl) {
      const settings = resolveBadInputOptions(options, DEFAULTS);
      const prefix = options.keyPrefix ?? 'conformance';
      const { neighbours, nearMisses } = await makeNeighbours(impl, prefix);
      const written = new Set<string>();
      const names = Object.keys(METHODS);
      try {
        await runJunkRuns('ObjectStorage', settings, async (context) => {
          const method = METHODS[context.random.pick(names)] as Method;
          await method({
            impl,
            alsoAccept: options.alsoAccept,
            context,
            prefix,
            neighbours,
            nearMisses,
            witnesses: [],
            touched: new Set(),
            written,
          });
        });
      } finally {
        const keys = [...written, ...neighbours.map((n) => n.key)];
        for (const key of keys) await impl.delete(key).catch(() => undefined);
      }
    },
  };
}
