import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { ErrorCodes, type InfrastructureError, isInfrastructureError } from '../errors.js';
import type { HttpClient } from '../ports/http.js';
import {
  BadInputFailure,
  type BadInputOptions,
  type CallOutcome,
  describeError,
  isAbortedSignal,
  type JunkRunContext,
  resolveBadInputOptions,
  runJunkRuns,
} from './bad-input.js';
import type { HttpConformanceTarget } from './http-client-support.js';
import { type Junk, JunkError } from './junk.js';
import type { ConformanceCheck } from './shared.js';

const { INVALID_ARGUMENT, HTTP_STATUS, ABORTED, TIMEOUT, INTEGRITY } = ErrorCodes;
const DEFAULTS = { seed: 0x477b0016, runs: 250 };
/** Below this, a valid timeout may fire before the local server answers: `TIMEOUT` is a fair answer. */
const SHORT_MS = 2000;

interface RunState {
  readonly client: HttpClient;
  readonly context: JunkRunContext;
}

const valid = (label: string, value: unknown): Junk => ({ label, value });

/** Header names that are trouble: framing, hop-by-hop, host, secrets, prototype keys. */
const HEADER_NAMES = [
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'host',
  'authorization',
  'idempotency-key',
  'x-conformance-mark',
  '__proto__',
  'constructor',
  'x name',
  'x:name',
  'x\r\nname',
  'é',
  '',
] as const;

/** A headers object with one junk name or value, or junk in place of the object. */
function junkHeaders(state: RunState, id: string): Junk {
  const { junk, random } = state.context;
  const shape = random.pick(['object', 'name', 'value', 'value']);
  if (shape === 'object') return junk.any();
  if (shape === 'name') {
    const name = random.chance(0.5)
      ? valid(`'${random.pick(HEADER_NAMES)}'`, random.pick(HEADER_NAMES))
      : junk.string();
    return valid(`{ [${name.label}]: 'v' }`, { 'x-conformance-mark': id, [propertyName(name.value)]: 'v' });
  }
  const value = random.chance(0.2) ? valid("'Zoë Ω'", 'Zoë Ω') : junk.prefer('string', 0.7);
  const name = random.chance(0.3) ? random.pick(HEADER_NAMES.slice(0, 9)) : 'x-junk';
  return valid(`{ '${name}': ${value.label} }`, { 'x-conformance-mark': id, [name]: value.value });
}

/** Bodies a careless caller might send: junk, or streams that fail. */
function junkBody(state: RunState): Junk {
  const { junk, random } = state.context;
  if (random.chance(0.8)) return junk.any();
  return random.pick([
    () =>
      valid(
        'a Readable that fails at once',
        new Readable({
          read() {
            this.destroy(new JunkError('body'));
          },
        }),
      ),
    () => valid('a Readable in object mode', Readable.from([{ a: 1 }])),
  ])();
}

/** The request fields of the port, each with the junk it gets. */
const FIELDS = [
  'url',
  'method',
  'headers',
  'headers',
  'query',
  'json',
  'body',
  'timeoutMs',
  'deadlineMs',
  'retry',
  'idempotencyKey',
  'idempotencyKey',
  'signal',
  'throwHttpErrors',
  'request',
] as const;
type Field = (typeof FIELDS)[number];

/** How one junk call may end, besides `INVALID_ARGUMENT`. */
interface Allowed {
  status: boolean;
  /** A body stream that fails: `INTEGRITY` (it did not go out whole). */
  integrity: boolean;
  aborted: boolean;
  timeout: boolean;
}

/** The junk of one field, and the codes besides `INVALID_ARGUMENT` it may bring. */
interface FieldJunk {
  readonly value: Junk;
  readonly allowed?: Partial<Allowed>;
}

/** Each field's junk, drawn from the run's generator (the order of the draws is part of the seed's runs). */
const FIELD_JUNK: Readonly<Record<Field, (state: RunState, id: string) => FieldJunk>> = {
  // A relative junk path reaches the server as some route it does not have (404).
  url: ({ context }) => ({ value: context.junk.prefer('string', 0.7), allowed: { status: true } }),
  method: ({ context: { junk, random } }) => {
    if (!random.chance(0.3)) return { value: junk.prefer('string') };
    const name = random.pick(['get', 'head', 'FETCH', 'CONNECT', 'TRACE']);
    return { value: valid(`'${name}'`, name) };
  },
  // A header a server does not take (431 for a 1 MiB value) is its answer, not the client's mistake.
  headers: (state, id) => ({ value: junkHeaders(state, id), allowed: { status: true } }),
  query: ({ context: { junk, random } }, id) => {
    const shape = random.pick(['object', 'value', 'name']);
    const inner = junk.any();
    if (shape === 'object') return { value: inner };
    if (shape === 'value')
      return { value: valid(`{ mark, q: ${inner.label} }`, { mark: id, q: inner.value }) };
    return {
      value: valid(`{ mark, [${inner.label}]: 'v' }`, { mark: id, [propertyName(inner.value)]: 'v' }),
    };
  },
  json: ({ context }) => ({ value: context.junk.any() }),
  body: (state) => ({ value: junkBody(state), allowed: { integrity: true } }),
  timeoutMs: junkTimeout,
  deadlineMs: junkTimeout,
  retry: ({ context: { junk, random } }) => {
    const shape = random.pick(['any', 'number', 'limit', 'methods', 'statusCodes', 'maxDelayMs']);
    const inner =
      shape === 'any' || shape === 'methods' || shape === 'statusCodes' ? junk.any() : junk.number();
    if (shape === 'any' || shape === 'number') return { value: inner };
    return { value: valid(`{ ${shape}: ${inner.label} }`, { [shape]: inner.value }) };
  },
  idempotencyKey: ({ context: { junk, random } }) => ({
    value: random.chance(0.2)
      ? valid("'key\\r\\nx-evil: 1'", 'key\r\nx-evil: 1')
      : junk.prefer('string', 0.7),
    allowed: { status: true },
  }),
  signal: ({ context }) => {
    const value = context.junk.prefer('signal', 0.6);
    return { value, allowed: { aborted: isAbortedSignal(value.value) } };
  },
  throwHttpErrors: ({ context }) => ({ value: context.junk.any() }),
  request: ({ context }) => ({ value: context.junk.any() }),
};

/** A junk timeout; a valid one under {@link SHORT_MS} may fire first (`TIMEOUT`). */
function junkTimeout({ context }: RunState): FieldJunk {
  const value = context.junk.prefer('number', 0.7);
  return { value, allowed: { timeout: typeof value.value === 'number' && value.value < SHORT_MS } };
}

function junkField(state: RunState, field: Field, id: string): { value: Junk; allowed: Allowed } {
  const { value, allowed } = FIELD_JUNK[field](state, id);
  return { value, allowed: { status: false, integrity: false, aborted: false, timeout: false, ...allowed } };
}

/** `value` as a property name, for junk that cannot be one (a symbol, a revoked Proxy): a fixed name. */
function propertyName(value: unknown): string {
  try {
    return typeof value === 'symbol' ? 's' : String(value);
  } catch {
    return 'unprintable';
  }
}

/** How many requests carrying `id` the conformance server has seen (a valid request: the client must still work). */
async function seen(client: HttpClient, id: string, after: string): Promise<number> {
  try {
    const response = await client.get(`/marked?mark=${id}`, { retry: false });
    return response.json<{ count: number }>().count;
  } catch (error) {
    throw new BadInputFailure(
      `after ${after}, a valid request failed: ${describeError(error)} (a caller's mistake counted as a failure?)`,
    );
  }
}

function responseProblem(v: unknown): string | undefined {
  const r = v as { status?: unknown; body?: unknown } | undefined;
  if (typeof r !== 'object' || r === null || typeof r.status !== 'number') return 'not with a response';
  return undefined;
}

/** One junk call: what it is, and how to make it. */
interface JunkCall {
  readonly label: string;
  readonly invoke: () => Promise<unknown>;
}

/**
 * The call of one run: a request to `/echo` carrying the mark `id`, with `value` in `field` (or
 * in place of the whole request), made through `request`, `stream` or a method's helper.
 */
function junkCall(state: RunState, field: Field, value: Junk, id: string): JunkCall {
  const { client } = state;
  const { random } = state.context;
  const hasBody = field === 'json' || field === 'body';
  const method = hasBody ? 'POST' : random.pick(['GET', 'POST', 'DELETE']);
  const base: Record<string, unknown> = {
    method,
    url: `/echo?mark=${id}`,
    headers: { 'x-conformance-mark': id },
    query: { mark: id },
  };
  const request: unknown = field === 'request' ? value.value : { ...base, [field]: value.value };
  const shape = random.pick(
    field === 'method' || field === 'request' ? ['request', 'stream'] : ['request', 'stream', 'helper'],
  );
  const helper = (
    method === 'GET' ? 'get' : method === 'POST' ? random.pick(['post', 'put', 'patch']) : 'delete'
  ) as 'get';
  const label =
    field === 'request'
      ? `${shape}(${value.label})`
      : `${shape === 'helper' ? helper : shape}({ ${field}: ${value.label} })`;
  const invoke = async (): Promise<unknown> => {
    if (shape === 'stream') {
      const response = await client.stream(request as never);
      response.body.destroy();
      return response;
    }
    if (shape === 'request') return client.request(request as never);
    const { url, method: _m, ...rest } = request as Record<string, unknown>;
    return client[helper](url as string, rest);
  };
  return { label, invoke };
}

/** The typed errors a call with this junk may reject with. */
function accepted(allowed: Allowed): (e: InfrastructureError) => boolean {
  return (e) =>
    e.code === INVALID_ARGUMENT ||
    (allowed.status && e.code === HTTP_STATUS) ||
    (allowed.integrity && e.code === INTEGRITY) ||
    (allowed.aborted && e.code === ABORTED) ||
    (allowed.timeout && e.code === TIMEOUT);
}

/** A refused call (`INVALID_ARGUMENT`, `ABORTED`) must not have reached the server; a valid request must still go through. */
async function expectRefusedNotSent(
  client: HttpClient,
  id: string,
  label: string,
  outcome: CallOutcome<unknown>,
): Promise<void> {
  const refused =
    !outcome.ok &&
    (isInfrastructureError(outcome.error, INVALID_ARGUMENT) || isInfrastructureError(outcome.error, ABORTED));
  const count = await seen(client, id, label);
  if (refused && count > 0) {
    throw new BadInputFailure(`${label} was refused, but the server saw ${count} request(s) for it`);
  }
}

/** One run: junk in one field of one call, then what the server saw of it. */
async function junkRun(client: HttpClient, context: JunkRunContext): Promise<void> {
  const state: RunState = { client, context };
  const id = randomUUID();
  const field = context.random.pick(FIELDS);
  const { value, allowed } = junkField(state, field, id);
  const { label, invoke } = junkCall(state, field, value, id);
  const outcome = await context.call({
    label,
    invoke,
    accept: accepted(allowed),
    // A throwing body stream may come back as the caller's own error only through a typed one.
    onSuccess: (v) => responseProblem(v),
  });
  await expectRefusedNotSent(client, id, label, outcome);
}

/**
 * The bad-input check of the {@link HttpClient} suite: `runs` calls of `request`, `stream`,
 * `get`, `post`, `put`, `patch` and `delete`, each with seeded junk in one field (`url`,
 * `method`, `headers`, `query`, `json`, `body`, `timeoutMs`, `deadlineMs`, `retry`,
 * `idempotencyKey`, `signal`, `throwHttpErrors`, or the request object itself). Every call must
 * resolve or reject with `INVALID_ARGUMENT` (`HTTP_STATUS` for a junk URL the server does not
 * route, `ABORTED` with an aborted signal, `TIMEOUT` with a valid timeout under 2 s) within the
 * deadline, never with a plain error, a `CONNECTION` error or a hang. A refused call
 * (`INVALID_ARGUMENT`, `ABORTED`) must not reach the server (each call carries a mark the
 * conformance server counts), and after every call a valid request still goes through (a
 * caller's mistake never opens a circuit breaker).
 */
export function httpClientBadInputCheck(
  options: BadInputOptions = {},
): ConformanceCheck<HttpConformanceTarget> {
  return {
    name: 'random junk in every field gives INVALID_ARGUMENT or an answer, never a plain error, a hang or a request for a refused call',
    timeoutMs: 120_000,
    async run({ client }) {
      const settings = resolveBadInputOptions(options, DEFAULTS);
      await runJunkRuns('HttpClient', settings, (context) => junkRun(client, context));
    },
  };
}
