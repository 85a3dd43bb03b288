import { ErrorCodes, type InfrastructureError } from '../errors.js';
import type { EnqueueResult, JobInfo, JobQueue } from '../ports/job-queue.js';
import {
  BadInputFailure,
  type BadInputOptions,
  type JunkRunContext,
  resolveBadInputOptions,
  runJunkRuns,
} from './bad-input.js';
import type { Junk } from './junk.js';
import { type ConformanceCheck, randomKey } from './shared.js';

const DEFAULTS = { seed: 0x6a6f6273, runs: 400 };
const OPTION_FIELDS = ['id', 'delayMs', 'runAt', 'priority', 'attempts', 'backoff', 'timeoutMs'] as const;
const STATES = ['waiting', 'delayed', 'active', 'completed', 'dead-lettered'];
/** The calls of a run, `enqueue` twice as likely as the others; `dead` is `retryDeadLetter` or `removeDeadLetter`. */
const METHODS = ['enqueue', 'enqueue', 'enqueueMany', 'getJob', 'deadLetters', 'dead'] as const;

/** An enqueue may refuse junk as a caller's mistake, or as a payload too large. */
const enqueueRefusal = (error: InfrastructureError): boolean =>
  error.code === ErrorCodes.INVALID_ARGUMENT || error.code === ErrorCodes.PAYLOAD_TOO_LARGE;

const resultProblem = (r: EnqueueResult): string | undefined =>
  typeof r === 'object' &&
  r !== null &&
  typeof r.id === 'string' &&
  r.id.length > 0 &&
  typeof r.created === 'boolean'
    ? undefined
    : 'not an { id, created } result';

const infoProblem = (info: JobInfo | undefined): string | undefined =>
  info === undefined || (typeof info === 'object' && STATES.includes(info.state))
    ? undefined
    : 'not undefined or a job';

/** The ids of the neighbour jobs, and ids that differ from one of them by a little. */
interface Neighbours {
  readonly ids: readonly string[];
  /** Each differs from a neighbour's id only by a lone surrogate, a normalisation form or case. */
  readonly nearMisses: readonly Junk[];
}

function neighboursOf(base: string): Neighbours {
  return {
    ids: [`${base}:plain`, `${base}\ufffd`, `${base}é`, `${base}😀`],
    nearMisses: [
      { label: 'a neighbour with a lone high surrogate for its U+FFFD', value: `${base}\ud800` },
      { label: 'a neighbour with half of its emoji', value: `${base}\ud83d` },
      { label: 'a neighbour in NFD', value: `${base}e\u0301` },
      { label: 'a neighbour in upper case', value: `${base}:PLAIN` },
    ],
  };
}

/** A junk id: a near miss of a neighbour's id, a junk string or any junk. */
function junkId({ junk, random }: JunkRunContext, neighbours: Neighbours): Junk {
  const r = random.next();
  if (r < 0.2) return random.pick(neighbours.nearMisses);
  if (r < 0.7) return junk.string();
  return junk.any();
}

/** Junk options of an enqueue: junk itself, a junk id, or one junk option beside the `fresh` id. */
function junkEnqueueOptions(context: JunkRunContext, neighbours: Neighbours, fresh: string): Junk {
  const { junk, random } = context;
  const r = random.next();
  if (r < 0.25) return junk.any();
  if (r < 0.4) {
    // The label and the value each draw an id (the label may name another id than the one sent):
    // kept as it was, so that a seed still replays the same runs.
    return {
      label: `{ id: ${junkId(context, neighbours).label} }`,
      value: { id: junkId(context, neighbours).value },
    };
  }
  const field = random.pick(OPTION_FIELDS.filter((f) => f !== 'id'));
  const value = junk.any();
  return {
    label: `{ id: fresh, ${field}: ${value.label} }`,
    value: { id: fresh, [field]: value.value },
  };
}

/** An `enqueue` or `enqueueMany` with a junk payload or junk options; a refused one must store nothing. */
async function junkEnqueue(
  queue: JobQueue,
  context: JunkRunContext,
  neighbours: Neighbours,
  method: 'enqueue' | 'enqueueMany',
): Promise<void> {
  const { junk, random, call } = context;
  const fresh = randomKey('job-junk');
  const payloadJunk = random.chance(0.4);
  const payload: Junk = payloadJunk ? junk.any() : { label: 'a string', value: 'p' };
  const opts: Junk = payloadJunk
    ? { label: '{ id: fresh }', value: { id: fresh } }
    : junkEnqueueOptions(context, neighbours, fresh);
  const outcome =
    method === 'enqueue'
      ? await call({
          label: `enqueue(${payload.label}, ${opts.label})`,
          invoke: () => queue.enqueue(payload.value, opts.value as object),
          accept: enqueueRefusal,
          onSuccess: resultProblem,
        })
      : await call({
          label: `enqueueMany([{ payload: ${payload.label}, options: ${opts.label} }])`,
          invoke: () => queue.enqueueMany([{ payload: payload.value, options: opts.value as object }]),
          accept: enqueueRefusal,
          onSuccess: (r) =>
            Array.isArray(r) && r.length === 1 ? resultProblem(r[0] as EnqueueResult) : 'not one result',
        });
  if (!outcome.ok && (await queue.getJob(fresh)) !== undefined) {
    throw new BadInputFailure(`${method} with ${opts.label} was refused but stored the job`);
  }
}

/** A `deadLetters` with a junk page or junk in one field of it; nothing is dead-lettered. */
async function junkDeadLetters(queue: JobQueue, { junk, random, call }: JunkRunContext): Promise<void> {
  const page = random.chance(0.5) ? junk.any() : junk.prefer('number');
  const value = random.chance(0.5) ? page.value : { [random.pick(['offset', 'limit'])]: page.value };
  await call({
    label: `deadLetters(${page.label})`,
    invoke: () => queue.deadLetters(value as { limit?: number }),
    onSuccess: (r) => (Array.isArray(r) && r.length === 0 ? undefined : 'not an empty list'),
  });
}

/** One run: one call, picked by the seeded random source, with junk in it. */
async function junkCall(queue: JobQueue, context: JunkRunContext, neighbours: Neighbours): Promise<void> {
  const { random, call } = context;
  const method = random.pick(METHODS);
  if (method === 'enqueue' || method === 'enqueueMany')
    return junkEnqueue(queue, context, neighbours, method);
  if (method === 'deadLetters') return junkDeadLetters(queue, context);
  const id = junkId(context, neighbours);
  if (method === 'getJob') {
    await call({
      label: `getJob(${id.label})`,
      invoke: () => queue.getJob(id.value as string),
      onSuccess: infoProblem,
    });
    return;
  }
  const which = random.pick(['retryDeadLetter', 'removeDeadLetter'] as const);
  await call({
    label: `${which}(${id.label})`,
    invoke: () => queue[which](id.value as string),
    onSuccess: (r) =>
      r === false ? undefined : `it resolved ${String(r)}, not false (nothing is dead-lettered)`,
  });
}

/** Throws when a neighbour job is no longer delayed with its own payload. */
async function expectNeighboursUnchanged(queue: JobQueue, neighbours: Neighbours): Promise<void> {
  for (const [i, id] of neighbours.ids.entries()) {
    const info = await queue.getJob(id);
    if (info?.state !== 'delayed' || (info.payload as { neighbour?: number } | undefined)?.neighbour !== i) {
      throw new BadInputFailure(`neighbour ${i} changed during the runs`);
    }
  }
}

/**
 * The bad-input check of the job-queue suite: `runs` calls of `enqueue`, `enqueueMany`,
 * `getJob`, `deadLetters`, `retryDeadLetter` and `removeDeadLetter` with seeded junk as the
 * payload, the options, one option or an id. Each must resolve (with a well-formed result) or
 * reject with `INVALID_ARGUMENT` (an enqueue also with `PAYLOAD_TOO_LARGE`) within the deadline,
 * never throw synchronously, reject with a plain error or hang. A refused enqueue must store
 * nothing, and no call may change the neighbour jobs enqueued before the runs (some differ from
 * ids in the junk only by a lone surrogate or a normalisation form). No worker runs.
 */
export function jobQueueBadInputCheck(options: BadInputOptions = {}): ConformanceCheck<JobQueue> {
  return {
    name: 'random junk in every argument gives INVALID_ARGUMENT or a success, never a plain error, a hang or a changed neighbour',
    timeoutMs: 180_000,
    async run(queue) {
      const settings = resolveBadInputOptions(options, DEFAULTS);
      const neighbours = neighboursOf(randomKey('job-junk'));
      for (const [i, id] of neighbours.ids.entries())
        await queue.enqueue({ neighbour: i }, { id, delayMs: 600_000 });
      await runJunkRuns('JobQueue', settings, (context) => junkCall(queue, context, neighbours));
      await expectNeighboursUnchanged(queue, neighbours);
    },
  };
}
