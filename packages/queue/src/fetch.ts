import type { QueueKeys } from './keys.js';
import type { WorkerContext } from './worker-context.js';

/** One job of a fetch reply: what a delivery is made from. */
export interface FetchedJob {
  id: string;
  token: number;
  /** 1 for the job's first delivery; every delivery counts (crashes and lost leases too). */
  deliveryCount: number;
  failures: number;
  maxAttempts: number;
  enqueuedAt: number;
  kind: string;
  /** As stored: JSON text, or base64 bytes (see decodePayload). */
  payload: string;
  backoff: string;
  timeoutMs: number | undefined;
  /** The producer's trace carrier (JSON), '' when its enqueue was not traced. */
  carrier: string;
}

/** A delivery as the fetch script reads it: the job's id and the token that holds it. */
interface Acknowledged {
  readonly job: Pick<FetchedJob, 'id' | 'token'>;
}

const text = (b: unknown) => (typeof b === 'string' ? b : String(b ?? ''));

/** The jobs of a fetch reply, 11 fields each from index `from`. */
export function parseJobs(reply: unknown[], from: number): FetchedJob[] {
  const jobs: FetchedJob[] = [];
  for (let i = from; i + 10 < reply.length; i += 11) {
    const timeout = text(reply[i + 9]);
    jobs.push({
      id: text(reply[i]),
      token: Number(reply[i + 1]),
      deliveryCount: Number(reply[i + 2]),
      failures: Number(text(reply[i + 3])),
      maxAttempts: Number(text(reply[i + 4])),
      enqueuedAt: Number(text(reply[i + 5])),
      kind: text(reply[i + 6]),
      payload: text(reply[i + 7]),
      backoff: text(reply[i + 8]),
      timeoutMs: timeout === '' ? undefined : Number(timeout),
      carrier: reply[i + 10] == null ? '' : text(reply[i + 10]),
    });
  }
  return jobs;
}

/**
 * The fetch script's arguments: take up to `take` jobs after completing `acks`; `call` names the
 * call (the jobs it takes keep it, so that a lost reply can be undone: reclaimScript).
 */
export function fetchArgs(
  ctx: Pick<WorkerContext, 'keys' | 'leaseMs' | 'retentionMs'>,
  take: number,
  acks: readonly Acknowledged[],
  call: string,
): (string | number)[] {
  const { keys, leaseMs, retentionMs } = ctx;
  const args: (string | number)[] = new Array(7 + 2 * acks.length);
  args[0] = keys.jobPrefix;
  args[1] = keys.wakeChannel;
  args[2] = take;
  args[3] = leaseMs;
  args[4] = retentionMs;
  args[5] = acks.length;
  let at = 6;
  for (const { job } of acks) {
    args[at++] = job.id;
    args[at++] = job.token;
  }
  args[at] = call;
  return args;
}

/** The arguments of a script that acts on one delivery (release, fail): the job and its token, then `rest`. */
export function deliveryArgs(
  keys: QueueKeys,
  job: Pick<FetchedJob, 'id' | 'token'>,
  ...rest: (string | number)[]
): (string | number)[] {
  return [keys.jobPrefix, keys.wakeChannel, job.id, job.token, ...rest];
}
