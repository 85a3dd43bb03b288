import { randomUUID } from 'node:crypto';
import type { MetricLabels, ObservableResult } from '../ports/metrics.js';
import {
  type BadInputCall,
  BadInputFailure,
  type BadInputOptions,
  type JunkRunContext,
  resolveBadInputOptions,
  runJunkRuns,
} from './bad-input.js';
import type { Junk } from './junk.js';
import type { MetricReading, MetricsHarness } from './metrics.js';
import type { ConformanceCheck } from './shared.js';

const DEFAULTS = { seed: 0x3e7c0016, runs: 300 };
const KINDS = ['counter', 'upDownCounter', 'histogram', 'gauge'] as const;
type Kind = (typeof KINDS)[number];
/** Label names no implementation may accept: Prometheus's own (`__…`), and `le` on a histogram. */
const RESERVED = ['__name__', '__x', '__'] as const;

/** A series seeded before the runs: it must read back the same after every call. */
interface Neighbour {
  readonly name: string;
  readonly kind: Kind;
  readonly labels: MetricLabels;
  reading: MetricReading | undefined;
}

interface RunState {
  readonly harness: MetricsHarness;
  /** One instrument of each kind declared with label `k` and no neighbour series (few instruments keep reads cheap). */
  readonly pool: Readonly<Record<Kind | 'observable', string>>;
  /** What the pool's observable gauge observes at the next collection. */
  readonly observer: { next?: (result: ObservableResult) => void };
  readonly context: JunkRunContext;
  readonly neighbours: readonly Neighbour[];
  /** Label values that differ from a neighbour's only where an implementation that mangles text would merge them. */
  readonly nearMisses: readonly Junk[];
}

/** A fresh, valid metric name. */
const fresh = () => `conformance.junk_${randomUUID().replaceAll('-', '')}`;
const valid = (label: string, value: unknown): Junk => ({ label, value });

/** Any instrument's writing method: add, set or record. */
type Write = (value: unknown, labels?: unknown) => void;
/** The name of that method on each kind of instrument. */
type WriteMethod = 'add' | 'set' | 'record';

function instrument(harness: MetricsHarness, kind: Kind, name: string, labelNames: string[]) {
  const { metrics } = harness;
  const inst =
    kind === 'counter'
      ? metrics.counter(name, { labelNames })
      : kind === 'upDownCounter'
        ? metrics.upDownCounter(name, { labelNames })
        : kind === 'histogram'
          ? metrics.histogram(name, { labelNames, buckets: [1, 10] })
          : metrics.gauge(name, { labelNames });
  const method: WriteMethod = kind === 'histogram' ? 'record' : kind === 'gauge' ? 'set' : 'add';
  const record = inst as unknown as Record<WriteMethod | 'bind', (...args: unknown[]) => unknown>;
  const write: Write = (value, labels) => {
    record[method].call(inst, value, labels);
  };
  const bind = (labels: unknown): Write => {
    const bound = record.bind.call(inst, labels) as Record<WriteMethod, (v: unknown) => void>;
    return (value) => bound[method].call(bound, value);
  };
  return { write, bind };
}

async function makeNeighbours(
  harness: MetricsHarness,
): Promise<{ neighbours: Neighbour[]; nearMisses: Junk[] }> {
  const base = `n${randomUUID().slice(0, 8)}`;
  const neighbours: Neighbour[] = [];
  const seeds: [Kind, string, number[]][] = [
    ['counter', `${base}-plain`, [3]],
    ['counter', `${base}\ufffd`, [4]],
    ['counter', '__other__', [5]],
    ['histogram', `${base}😀`, [1.5, 2.5]],
    ['gauge', `${base}é`, [-2]],
  ];
  const names = new Map<Kind, string>();
  for (const [kind, value, writes] of seeds) {
    let name = names.get(kind);
    if (name === undefined) {
      name = fresh();
      names.set(kind, name);
    }
    const { write } = instrument(harness, kind, name, ['k']);
    for (const w of writes) write(w, { k: value });
    const labels = { k: value };
    neighbours.push({ name, kind, labels, reading: await harness.read(name, labels) });
  }
  const nearMisses: Junk[] = [
    { label: 'a neighbour value with a lone high surrogate for its U+FFFD', value: `${base}\ud800` },
    { label: 'a neighbour value with a lone low surrogate for its U+FFFD', value: `${base}\udfff` },
    { label: 'a neighbour value with half of its emoji', value: `${base}\ud83d` },
    { label: 'a neighbour value in NFD', value: `${base}e\u0301` },
    { label: 'a neighbour value with a NUL after it', value: `${base}-plain\0` },
    { label: 'a neighbour value in upper case', value: `${base}-PLAIN` },
    { label: 'a neighbour value with a trailing space', value: `${base}-plain ` },
    { label: "'___other__' (a real value of the folded marker's shape)", value: '___other__' },
    { label: "'_other__'", value: '_other__' },
  ];
  return { neighbours, nearMisses };
}

const same = (a: MetricReading | undefined, b: MetricReading | undefined) =>
  typeof a === 'object' && typeof b === 'object' ? a.count === b.count && a.sum === b.sum : a === b;

async function checkNeighbours(state: RunState, after: string): Promise<void> {
  const broken: string[] = [];
  for (let i = 0; i < state.neighbours.length; i++) {
    const n = state.neighbours[i] as Neighbour;
    const reading = await state.harness.read(n.name, n.labels);
    if (!same(reading, n.reading)) {
      broken.push(
        `neighbour series ${i} (a ${n.kind}) reads ${JSON.stringify(reading)}, not ${JSON.stringify(n.reading)}`,
      );
    }
  }
  if (broken.length > 0) throw new BadInputFailure(`after ${after}: ${broken.join(', ')}`);
}

async function attempt<R>(state: RunState, call: BadInputCall<R>): Promise<void> {
  await state.context.call(call);
  await checkNeighbours(state, call.label);
}

/** A metric name: hostile strings, a neighbour's name in another spelling, or anything. */
function junkName(state: RunState): Junk {
  const { random, junk } = state.context;
  const r = random.next();
  const neighbour = random.pick(state.neighbours);
  if (r < 0.15) return valid("a neighbour's name with '_' for '.'", neighbour.name.replaceAll('.', '_'));
  if (r < 0.25) return valid("a neighbour's name (another kind may be asked for)", neighbour.name);
  if (r < 0.6) return junk.string();
  return junk.any();
}

/** A label value: a near miss of a neighbour's, a hostile string, or anything. */
function junkLabelValue(state: RunState): Junk {
  const { random, junk } = state.context;
  if (random.chance(0.3)) return random.pick(state.nearMisses);
  return junk.prefer('string', 0.6);
}

/** Labels for an instrument declared with `k`: one junk value, a junk object, an undeclared or reserved name. */
function junkLabels(state: RunState): Junk {
  const { random, junk } = state.context;
  const shape = random.pick(['value', 'value', 'object', 'undeclared', 'reserved']);
  if (shape === 'object') return junk.any();
  if (shape === 'undeclared') {
    const name = junk.string();
    return valid(`{ k: 'x', [${name.label}]: 'y' }`, { k: 'x', [name.value as string]: 'y' });
  }
  if (shape === 'reserved') {
    const name = random.pick(RESERVED);
    return valid(`{ ${name}: 'x' }`, { [name]: 'x' });
  }
  const value = junkLabelValue(state);
  return valid(`{ k: ${value.label} }`, { k: value.value });
}

/** Declaration options with one junk field (or junk options). */
function junkDeclaration(
  state: RunState,
  kind: Kind | 'observableGauge',
): { options: Junk; reserved: boolean } {
  const { junk, random } = state.context;
  const field = random.pick(['options', 'description', 'unit', 'labelNames', 'labelNames', 'buckets']);
  if (field === 'options') return { options: junk.any(), reserved: false };
  if (field === 'labelNames') {
    const shape = random.pick(['junk', 'list', 'reserved']);
    if (shape === 'reserved') {
      const name = kind === 'histogram' && random.chance(0.3) ? 'le' : random.pick(RESERVED);
      return {
        options: valid(`{ labelNames: ['k', '${name}'] }`, { labelNames: ['k', name] }),
        reserved: true,
      };
    }
    const value = shape === 'junk' ? junk.any() : junk.prefer('string');
    const list = shape === 'junk' ? value.value : ['k', value.value];
    return {
      options: valid(`{ labelNames: ${shape === 'junk' ? value.label : `['k', ${value.label}]`} }`, {
        labelNames: list,
      }),
      reserved: false,
    };
  }
  if (field === 'buckets') {
    const value = random.chance(0.5) ? junk.any() : junk.number();
    const list = Array.isArray(value.value) || random.chance(0.5) ? value.value : [1, value.value];
    return { options: valid(`{ buckets: ${value.label} }`, { buckets: list }), reserved: false };
  }
  const value = junk.prefer('string');
  return { options: valid(`{ ${field}: ${value.label} }`, { [field]: value.value }), reserved: false };
}

/** A callback that cannot throw: junk functions are called, and whatever they do is swallowed. */
function harmless(fn: unknown): unknown {
  if (typeof fn !== 'function') return fn;
  return (result: ObservableResult) => {
    try {
      const out: unknown = Reflect.apply(fn, undefined, [result]);
      if (out instanceof Promise)
        return out.then(
          () => undefined,
          () => undefined,
        );
    } catch {
      // the junk function's own throw is not the implementation's doing
    }
    return undefined;
  };
}

type Method = (state: RunState) => Promise<void>;

const METHODS: Record<string, Method> = {
  async declare(state) {
    const { junk, random } = state.context;
    const kind = random.pick([...KINDS, 'observableGauge'] as const);
    const target = random.pick(['name', 'options', 'options', 'callback']);
    let name = valid('a fresh name', fresh());
    let options: Junk = valid('{}', {});
    let reserved = false;
    let callback: Junk = valid('a callback', () => undefined);
    if (target === 'name') name = junkName(state);
    if (target === 'options') ({ options, reserved } = junkDeclaration(state, kind));
    if (target === 'callback' && kind === 'observableGauge') {
      const fn = junk.prefer('function');
      callback = valid(fn.label, harmless(fn.value));
    }
    const { metrics } = state.harness;
    const call = (): unknown => {
      const n = name.value as string;
      const o = options.value as object;
      if (kind === 'observableGauge') return metrics.observableGauge(n, callback.value as () => void, o);
      return (metrics[kind] as (name: string, options: object) => unknown).call(metrics, n, o);
    };
    const args =
      kind === 'observableGauge'
        ? `${name.label}, ${callback.label}, ${options.label}`
        : `${name.label}, ${options.label}`;
    await attempt(state, {
      label: `${kind}(${args})`,
      invoke: async () => call(),
      onSuccess: (v) => {
        if (reserved) return 'it accepted a reserved label name';
        if (kind === 'observableGauge') return v === undefined ? undefined : 'it returned a value';
        return typeof v === 'object' && v !== null ? undefined : 'it returned no instrument';
      },
    });
  },

  async write(state) {
    const { junk, random } = state.context;
    const onNeighbour = random.chance(0.4);
    const neighbour = random.pick(state.neighbours);
    const kind = onNeighbour ? neighbour.kind : random.pick(KINDS);
    const name = onNeighbour ? neighbour.name : state.pool[kind];
    const { write, bind } = instrument(state.harness, kind, name, ['k']);
    const target = random.pick(['value', 'labels', 'both', 'bind labels', 'bound value']);
    let value = valid('1', 1);
    let labels = valid("{ k: 'x' }", { k: 'x' });
    if (target === 'value' || target === 'both' || target === 'bound value')
      value = junk.prefer('number', 0.6);
    if (target === 'labels' || target === 'both' || target === 'bind labels') labels = junkLabels(state);
    const on = onNeighbour ? "a neighbour's instrument" : `a ${kind}`;
    const bound = target.startsWith('bind') || target === 'bound value';
    await attempt(state, {
      label: bound
        ? `${on}.bind(${labels.label}) then (${value.label})`
        : `${on}.write(${value.label}, ${labels.label})`,
      invoke: async () => (bound ? bind(labels.value)(value.value) : write(value.value, labels.value)),
    });
  },

  async observe(state) {
    const { random } = state.context;
    const target = random.pick(['value', 'labels', 'both']);
    let value = valid('1', 1);
    let labels = valid("{ k: 'x' }", { k: 'x' });
    if (target !== 'labels') value = state.context.junk.prefer('number', 0.6);
    if (target !== 'value') labels = junkLabels(state);
    // The callback keeps what observe() threw: a throw out of it would only be counted.
    let thrown: { error: unknown } | undefined;
    state.observer.next = (result) => {
      try {
        result.observe(value.value as number, labels.value as MetricLabels);
      } catch (error) {
        thrown ??= { error };
      }
    };
    await attempt(state, {
      label: `observe(${value.label}, ${labels.label}) in an observable gauge's callback`,
      invoke: async () => {
        try {
          await state.harness.read(state.pool.observable, { k: 'x' });
        } finally {
          state.observer.next = undefined;
        }
        if (thrown !== undefined) throw thrown.error;
      },
    });
  },
};

/**
 * The bad-input check of the {@link Metrics} suite: `runs` calls, each declaring an instrument
 * (`counter`, `upDownCounter`, `histogram`, `gauge`, `observableGauge`) with seeded junk in its
 * name, callback or one options field (`description`, `unit`, `labelNames`, `buckets`), or
 * writing to one (`add`/`set`/`record`, directly, through `bind` or an observable callback's
 * `observe`) with junk in the value or the labels. Every call must succeed or throw
 * `INVALID_ARGUMENT` (a reserved label name, `__…` or a histogram's `le`, must be refused); never
 * a plain error or a hang. No call may change the series seeded before the runs (some differ
 * from label values in the junk only by a lone surrogate, a normalisation form or case; one is
 * the real value `__other__`).
 */
export function metricsBadInputCheck(options: BadInputOptions = {}): ConformanceCheck<MetricsHarness> {
  return {
    name: 'random junk in every argument gives INVALID_ARGUMENT or a success, never a plain error, a hang or a changed series',
    timeoutMs: 120_000,
    async run(harness) {
      const settings = resolveBadInputOptions(options, DEFAULTS);
      const { neighbours, nearMisses } = await makeNeighbours(harness);
      const pool = {
        counter: fresh(),
        upDownCounter: fresh(),
        histogram: fresh(),
        gauge: fresh(),
        observable: fresh(),
      };
      const observer: RunState['observer'] = {};
      harness.metrics.observableGauge(pool.observable, (result) => observer.next?.(result), {
        labelNames: ['k'],
      });
      const names = Object.keys(METHODS);
      await runJunkRuns('Metrics', settings, async (context) => {
        const method = METHODS[context.random.pick(names)] as Method;
        await method({ harness, context, neighbours, nearMisses, pool, observer });
      });
    },
  };
}
