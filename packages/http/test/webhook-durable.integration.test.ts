import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError, type JobQueue } from '@voelgoed/contracts';
import { MemoryJobQueue } from '@voelgoed/contracts/memory';
import { createRedisJobQueue } from '@voelgoed/queue';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import {
  faults,
  type HttpServer,
  NodeChild,
  type RecordedRequest,
  type RedisServer,
  startHttpServer,
  startRedis,
  stopAll,
  waitFor,
} from '@voelgoed/testkit';
import {
  createDurableWebhookSender,
  createWebhookSender,
  type DurableWebhookMessage,
  type DurableWebhookSender,
  type DurableWebhookSenderOptions,
  verifyWebhook,
  type WebhookAttempt,
  type WebhookJob,
  type WebhookOutcome,
} from '../src/index.js';
import { rejectionOf } from './helpers.js';

const SECRET = `whsec_${Buffer.from('durable-delivery-signing-key-7').toString('base64')}`;
const AUTH = 'Bearer sender-only-token';
const LONG = 60_000;

let redisServer: RedisServer;
let redis: RedisClient;
let receiver: HttpServer;
const queues: JobQueue[] = [];
const senders: DurableWebhookSender[] = [];

beforeAll(async () => {
  redisServer = await startRedis();
  redis = createRedisClient({ url: redisServer.url });
  await redis.ready();
  receiver = await startHttpServer();
}, LONG);

afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close({ graceMs: 0 })));
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  await receiver?.stop();
  await redis?.close();
  await stopAll();
});

function answer(handler: Parameters<HttpServer['setHandler']>[0]): void {
  receiver.requests.length = 0;
  receiver.setHandler(handler);
}

const header = (r: RecordedRequest, name: string) => String(r.headers[name]);

/** A sender on `queue` whose attempts and outcomes the test reads. */
function sender(queue: JobQueue, options: Partial<DurableWebhookSenderOptions> = {}) {
  const attempts: WebhookAttempt[] = [];
  const outcomes: WebhookOutcome[] = [];
  const s = createDurableWebhookSender(queue, {
    secret: SECRET,
    allowHttp: true,
    allowPrivateNetworks: true,
    schedule: [20, 20],
    headers: { authorization: AUTH },
    onAttempt: (a) => attempts.push(a),
    onOutcome: (o) => outcomes.push(o),
    ...options,
  });
  senders.push(s);
  const settled = (n: number) =>
    waitFor(`${n} outcomes`, async () => (outcomes.length >= n ? outcomes : undefined), { timeoutMs: LONG });
  return { s, attempts, outcomes, settled };
}

/** Options both queues take. */
type QueueLimits = { maxPayloadBytes?: number };

const QUEUES: [string, (limits?: QueueLimits) => JobQueue][] = [
  ['MemoryJobQueue', (limits = {}) => new MemoryJobQueue(`wh-${randomUUID()}`, limits)],
  [
    'the Redis JobQueue',
    (limits = {}) => createRedisJobQueue(redis, `wh-${randomUUID()}`, { leaseMs: 2_000, ...limits }),
  ],
];

describe.each(QUEUES)('durable webhook delivery on %s', (_, makeQueue) => {
  function queue(limits?: QueueLimits): JobQueue {
    const q = makeQueue(limits);
    queues.push(q);
    return q;
  }

  it(
    'stores no secret, then delivers once with a valid signature; JSON, text and bytes byte-exact',
    async () => {
      answer(faults.json(204, {}));
      const q = queue();
      const { s, outcomes, settled } = sender(q);
      const url = `${receiver.origin}/hooks`;
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const json = { type: 'ping', text: 'zoë ☃ \u0000', n: [1, 2.5, null] };
      const text = 'raw text ☃ \u{1F600}';
      expect(await s.deliver({ url, payload: json, id: 'msg_json' })).toEqual({
        id: 'msg_json',
        created: true,
      });
      await s.deliver({ url, payload: text, id: 'msg_text', headers: { 'X-Trace': 't-1' } });
      const { id: bytesId } = await s.deliver({ url, payload: bytes });
      expect(bytesId).toMatch(/^msg_[0-9a-f]{32}$/);

      // What the queue holds: url, body, headers, id, attempt; no secret, no sender headers.
      const stored = await q.getJob('msg_text#1');
      expect(stored?.payload).toEqual({
        v: 1,
        id: 'msg_text',
        attempt: 1,
        url,
        format: 'text',
        body: text,
        headers: { 'x-trace': 't-1' },
      } satisfies WebhookJob);
      for (const id of ['msg_json#1', 'msg_text#1', `${bytesId}#1`]) {
        const raw = JSON.stringify((await q.getJob(id))?.payload);
        expect(raw).not.toContain(SECRET.slice(6));
        expect(raw).not.toContain(AUTH);
      }
      expect(receiver.requests).toHaveLength(0);

      s.start({ concurrency: 2 });
      await settled(3);
      expect(outcomes.map((o) => [o.id, o.outcome, o.attempt.attempt]).sort()).toEqual(
        [
          ['msg_json', 'delivered', 1],
          ['msg_text', 'delivered', 1],
          [bytesId, 'delivered', 1],
        ].sort(),
      );
      expect(receiver.requests).toHaveLength(3);
      const byId = new Map(receiver.requests.map((r) => [header(r, 'webhook-id'), r]));
      for (const r of receiver.requests) {
        expect(verifyWebhook({ payload: r.body, headers: r.headers, secret: SECRET }).id).toBe(
          header(r, 'webhook-id'),
        );
        expect(r.headers.authorization).toBe(AUTH);
      }
      expect(byId.get('msg_json')!.body.equals(Buffer.from(JSON.stringify(json)))).toBe(true);
      expect(byId.get('msg_json')!.headers['content-type']).toBe('application/json');
      expect(byId.get('msg_text')!.body.equals(Buffer.from(text, 'utf8'))).toBe(true);
      expect(byId.get('msg_text')!.headers['x-trace']).toBe('t-1');
      expect(byId.get('msg_text')!.headers['content-type']).toBeUndefined();
      expect(byId.get(bytesId)!.body.equals(bytes)).toBe(true);
      await q.drain({ timeoutMs: LONG });
      expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
    },
    LONG,
  );

  it(
    'retries a 503 on the schedule with the same webhook-id, signing each attempt afresh',
    async () => {
      answer(faults.statusSequence([503, 503, 200]));
      const q = queue();
      // No jitter: each wait is the schedule's (the jitter itself is checked in webhooks.test.ts).
      const { s, attempts, outcomes, settled } = sender(q, { schedule: [30, 30, 30], jitter: 0 });
      await s.deliver({ url: `${receiver.origin}/h`, payload: { n: 1 }, id: 'msg_retry' });
      s.start();
      await settled(1);
      expect(outcomes[0]).toMatchObject({ id: 'msg_retry', outcome: 'delivered' });
      expect(attempts.map((a) => [a.id, a.attempt, a.outcome, a.status])).toEqual([
        ['msg_retry', 1, 'retry', 503],
        ['msg_retry', 2, 'retry', 503],
        ['msg_retry', 3, 'delivered', 200],
      ]);
      // The schedule's wait, as computed (not a measured time).
      expect(attempts.slice(0, 2).map((a) => a.nextDelayMs)).toEqual([30, 30]);
      expect(receiver.requests.map((r) => header(r, 'webhook-id'))).toEqual([
        'msg_retry',
        'msg_retry',
        'msg_retry',
      ]);
      for (const r of receiver.requests) {
        expect(() => verifyWebhook({ payload: r.body, headers: r.headers, secret: SECRET })).not.toThrow();
      }
      expect((await q.getJob('msg_retry#3'))?.state).toBe('completed');
      expect(await q.getJob('msg_retry#4')).toBeUndefined();
      expect((await q.counts()).deadLettered).toBe(0);
    },
    LONG,
  );

  it(
    'ends a delivery on 410 (gone) and 400 (failed) after one attempt',
    async () => {
      const q = queue();
      const { s, outcomes, settled } = sender(q);
      answer(faults.json(410, {}));
      await s.deliver({ url: `${receiver.origin}/h`, payload: {}, id: 'msg_gone' });
      s.start();
      await settled(1);
      answer(faults.json(400, {}));
      await s.deliver({ url: `${receiver.origin}/h`, payload: {}, id: 'msg_bad' });
      await settled(2);
      expect(outcomes.map((o) => [o.id, o.outcome, o.attempt.attempt, o.attempt.status])).toEqual([
        ['msg_gone', 'gone', 1, 410],
        ['msg_bad', 'failed', 1, 400],
      ]);
      expect(receiver.requests).toHaveLength(1);
      expect(await q.getJob('msg_gone#2')).toBeUndefined();
      await q.drain({ timeoutMs: LONG });
      expect((await q.counts()).deadLettered).toBe(0);
    },
    LONG,
  );

  it(
    'checks the target at send time: a private address is accepted, then refused without a request',
    async () => {
      answer(faults.json(200, {}));
      const q = queue();
      const { s, outcomes, settled } = sender(q, { allowPrivateNetworks: false });
      expect((await s.deliver({ url: `${receiver.origin}/h`, payload: {}, id: 'msg_private' })).created).toBe(
        true,
      );
      s.start();
      await settled(1);
      expect(outcomes[0]).toMatchObject({
        outcome: 'refused',
        attempt: { attempt: 1, errorCode: 'FORBIDDEN_TARGET' },
      });
      expect(receiver.requests).toHaveLength(0);
    },
    LONG,
  );

  it(
    'dead-letters an exhausted delivery (its last attempt), and an operator can retry it',
    async () => {
      answer(faults.json(503, {}));
      const q = queue();
      const { s, outcomes, settled } = sender(q);
      await s.deliver({ url: `${receiver.origin}/h`, payload: 'x', id: 'msg_dead' });
      s.start();
      await settled(1);
      expect(outcomes[0]).toMatchObject({ id: 'msg_dead', outcome: 'exhausted', attempt: { attempt: 3 } });
      await waitFor(
        'the dead letter',
        async () => ((await q.counts()).deadLettered === 1 ? true : undefined),
        {
          timeoutMs: LONG,
        },
      );
      expect(receiver.requests).toHaveLength(3);
      const [dead] = await q.deadLetters();
      expect(dead).toMatchObject({
        id: 'msg_dead#3',
        attempts: 1,
        payload: { v: 1, id: 'msg_dead', attempt: 3, format: 'text', body: 'x' },
        error: { name: 'WebhookExhaustedError', code: 'HTTP_STATUS' },
      });
      expect(dead!.error.message).toContain('HTTP 503');

      answer(faults.json(200, {}));
      expect(await q.retryDeadLetter('msg_dead#3')).toBe(true);
      await settled(2);
      expect(outcomes[1]).toMatchObject({ id: 'msg_dead', outcome: 'delivered', attempt: { attempt: 3 } });
      expect(receiver.requests.map((r) => header(r, 'webhook-id'))).toEqual(['msg_dead']);
      await q.drain({ timeoutMs: LONG });
      expect((await q.counts()).deadLettered).toBe(0);
    },
    LONG,
  );

  it(
    'is idempotent on the message id: delivering it again stores nothing and sends nothing more',
    async () => {
      answer(faults.json(200, {}));
      const q = queue();
      const { s, settled } = sender(q);
      const message = { url: `${receiver.origin}/h`, payload: { n: 1 }, id: 'msg_once' };
      expect(await s.deliver(message)).toEqual({ id: 'msg_once', created: true });
      expect(await s.deliver({ ...message, payload: { n: 2 } })).toEqual({ id: 'msg_once', created: false });
      expect((await q.counts()).waiting).toBe(1);
      s.start();
      await settled(1);
      expect(await s.deliver(message)).toEqual({ id: 'msg_once', created: false });
      await q.drain({ timeoutMs: LONG });
      expect(receiver.requests).toHaveLength(1);
      expect(JSON.parse(receiver.requests[0]!.body.toString())).toEqual({ n: 1 });
    },
    LONG,
  );

  it(
    'stores every attempt its schedule allows: a body that fits attempt 1 still fits attempt 10',
    async () => {
      answer(faults.json(503, {}));
      // Ten attempts: the attempt number gains a digit at the last one.
      const schedule = Array.from({ length: 9 }, () => 5);
      const message = { url: `${receiver.origin}/h`, payload: 'x'.repeat(900), id: 'msg_digits' };
      // The size of the first attempt's record as deliver() stores it, made the queue's limit.
      const sizing = queue();
      await sender(sizing, { schedule, jitter: 0 }).s.deliver(message);
      const limit = Buffer.byteLength(JSON.stringify((await sizing.getJob('msg_digits#1'))?.payload));

      const tight = sender(queue({ maxPayloadBytes: limit - 1 }), { schedule, jitter: 0 }).s;
      expect(await rejectionOf(tight.deliver(message))).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });

      const q = queue({ maxPayloadBytes: limit });
      const { s, attempts, outcomes } = sender(q, { schedule, jitter: 0 });
      expect(await s.deliver(message)).toEqual({ id: 'msg_digits', created: true });
      s.start();
      // One dead letter either way: the exhausted last attempt, or one whose successor did not fit.
      await waitFor(
        'the dead letter',
        async () => ((await q.counts()).deadLettered === 1 ? true : undefined),
        {
          timeoutMs: LONG,
        },
      );
      const [dead] = await q.deadLetters();
      expect(dead).toMatchObject({
        id: 'msg_digits#10',
        payload: { id: 'msg_digits', attempt: 10 },
        error: { name: 'WebhookExhaustedError', code: 'HTTP_STATUS' },
      });
      // onOutcome runs before the last job is failed.
      expect(outcomes[0]).toMatchObject({ id: 'msg_digits', outcome: 'exhausted', attempt: { attempt: 10 } });
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(receiver.requests).toHaveLength(10);
    },
    LONG,
  );

  it(
    'checks close() options first: a bad one is refused and leaves the sender open, worker or none',
    async () => {
      answer(faults.json(204, {}));
      const q = queue();
      const { s, outcomes, settled } = sender(q);
      const idle = sender(q).s;
      s.start();
      for (const target of [s, idle]) {
        for (const options of [
          { graceMS: 1000 },
          { graceMs: -1 },
          { graceMs: '5' },
          { graceMs: 2 ** 31 },
          5,
        ]) {
          const error = await rejectionOf(target.close(options as never));
          expect([options, isInfrastructureError(error, 'INVALID_ARGUMENT')]).toEqual([options, true]);
        }
        expect((await target.health()).status).not.toBe('down');
      }
      // Still open: the worker sends, start() is allowed.
      await s.deliver({ url: `${receiver.origin}/h`, payload: {}, id: 'msg_after_bad_close' });
      await settled(1);
      expect(outcomes[0]).toMatchObject({ id: 'msg_after_bad_close', outcome: 'delivered' });
      await idle.start().close({ graceMs: 0 });

      await s.close({ graceMs: 0 });
      expect((await s.health()).status).toBe('down');
      // Once closed, the same check still applies.
      expect(await rejectionOf(s.close({ graceMS: 1 } as never))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    },
    LONG,
  );

  it(
    'refuses bad input with INVALID_ARGUMENT before anything is stored',
    async () => {
      const q = queue();
      const { s } = sender(q);
      const https = sender(q, { allowHttp: false }).s;
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const url = `${receiver.origin}/h`;
      const bad: [DurableWebhookSender, unknown][] = [
        [s, null],
        [s, { url: 'not a url', payload: {} }],
        [s, { url: 'ftp://example.com/h', payload: {} }],
        [https, { url, payload: {} }],
        [s, { url: new URL(url), payload: {} }],
        [s, { url, payload: circular }],
        [s, { url, payload: { amount: 10n } }],
        [s, { url, payload: undefined }],
        [s, { url, payload: {}, headers: 'abc' }],
        [s, { url, payload: {}, headers: { 'x-name': 'Zoë Ω' } }],
        [s, { url, payload: {}, id: 'has.dot' }],
        [s, { url, payload: {}, id: '' }],
        [s, { url, payload: {}, id: 'x'.repeat(300) }],
        // A misspelt id would store it under a new random id; a signal would be ignored.
        [s, { url, payload: {}, idd: 'order-1' }],
        [s, { url, payload: {}, signal: new AbortController().signal }],
      ];
      for (const [i, [target, message]] of bad.entries()) {
        const error = await rejectionOf(target.deliver(message as never));
        // The index names the failing case.
        expect([i, isInfrastructureError(error, 'INVALID_ARGUMENT')]).toEqual([i, true]);
      }
      expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
      for (const make of [
        () => createDurableWebhookSender({} as never, { secret: SECRET }),
        () => createDurableWebhookSender(q, null as never),
        () => createDurableWebhookSender(q, { secret: 'not base64!' }),
        () => createDurableWebhookSender(q, { secret: SECRET, schedule: [-1] }),
        () => createDurableWebhookSender(q, { secret: SECRET, schedule: [2 ** 31] }),
        () => createDurableWebhookSender(q, { secret: SECRET, onOutcome: 'no' as never }),
        // A misspelt option would be dropped for the default: refused instead.
        () => createDurableWebhookSender(q, { secret: SECRET, shedule: [1000] } as never),
        () => createWebhookSender({ secret: SECRET, retries: 0 } as never),
      ]) {
        expect(make).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      }
    },
    LONG,
  );

  it(
    "refuses a message whose content-length is not its body's before storing it, as the plain sender does",
    async () => {
      answer(faults.json(204, {}));
      const q = queue();
      const { s, outcomes, settled } = sender(q);
      const plain = createWebhookSender({ secret: SECRET, allowHttp: true, allowPrivateNetworks: true });
      const url = `${receiver.origin}/hooks`;
      try {
        const messages: DurableWebhookMessage[] = [
          { id: 'evt_text', url, payload: 'abc', headers: { 'content-length': '1' } },
          { id: 'evt_json', url, payload: { a: 1 }, headers: { 'Content-Length': '1' } },
        ];
        for (const message of messages) {
          const refused = await rejectionOf(plain.deliver(message));
          expect(refused).toMatchObject({ code: 'INVALID_ARGUMENT' });
          // The same check, so the same message.
          expect(await rejectionOf(s.deliver(message))).toMatchObject({
            code: 'INVALID_ARGUMENT',
            message: refused.message,
          });
          expect(await q.getJob(`${message.id}#1`)).toBeUndefined();
        }
        expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
        expect(receiver.requests).toHaveLength(0);

        // The body's own length is accepted, stored and sent.
        s.start();
        const accepted = await s.deliver({
          id: 'evt_ok',
          url,
          payload: 'abc',
          headers: { 'content-length': '3' },
        });
        expect(accepted).toEqual({ id: 'evt_ok', created: true });
        await settled(1);
        expect(outcomes[0]).toMatchObject({ id: 'evt_ok', outcome: 'delivered' });
        expect(receiver.requests.map((r) => r.body.toString())).toEqual(['abc']);

        // One content-length for every webhook could fit one body at most: refused at creation.
        for (const make of [
          () => createDurableWebhookSender(q, { secret: SECRET, headers: { 'content-length': '3' } }),
          () => createWebhookSender({ secret: SECRET, headers: { 'Content-Length': '0' } }),
        ]) {
          expect(make).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
        }
      } finally {
        await plain.close();
      }
    },
    LONG,
  );
});

describe('durable webhook delivery, an enqueue that may have stored the job', () => {
  it(
    "is not retryable when deliver() made the id (a retry would store it again under another); is with the caller's id",
    async () => {
      // A server of its own, paused: the enqueue is written and no reply comes (it may have run).
      const server = await startRedis();
      const client = createRedisClient({ url: server.url, commandTimeoutMs: 300 });
      const q = createRedisJobQueue(client, `wh-${randomUUID()}`, { leaseMs: 2_000 });
      try {
        await client.ready();
        // A first call answered (its script loaded) before the pause. Tried until one is: the
        // 300 ms deadline, meant for the calls during the pause, can pass in one stall of a loaded
        // machine.
        await waitFor('a first answered call', () => q.counts(), { timeoutMs: 30_000 });
        const { s } = sender(q);
        const url = `${receiver.origin}/h`;
        server.pause();
        let generated: Error & Record<string, unknown>;
        let given: Error & Record<string, unknown>;
        try {
          generated = await rejectionOf(s.deliver({ url, payload: { n: 1 } }));
          given = await rejectionOf(s.deliver({ url, payload: { n: 2 }, id: 'msg_given' }));
        } finally {
          server.resume();
        }
        expect(generated).toMatchObject({ code: 'TIMEOUT', retryable: false, maybeExecuted: true });
        // The id it may be stored under, for an operator to look for.
        expect(generated.message).toMatch(/webhook msg_[0-9a-f]{32} may have been stored/);
        // With the caller's id, delivering again stores nothing twice: the queue's verdict stands.
        expect(given).toMatchObject({ retryable: true });
      } finally {
        await q.close({ graceMs: 0 });
        await client.close();
        await server.stop();
      }
    },
    LONG,
  );
});

describe('durable webhook delivery, redelivered attempts', () => {
  it(
    'does not send an attempt again when its redelivery finds the next attempt already stored',
    async () => {
      const q = new MemoryJobQueue(`wh-${randomUUID()}`);
      queues.push(q);
      // The first delivery of msg_twice#1 hangs at the receiver; its lease then lapses (as a
      // crashed worker's would) after the next attempt was stored, as a crash between "store next"
      // and "complete" leaves it.
      answer(faults.hang());
      const { s, attempts } = sender(q);
      await s.deliver({ url: `${receiver.origin}/h`, payload: {}, id: 'msg_twice' });
      s.start();
      await waitFor('the first request', async () => (receiver.requests.length === 1 ? true : undefined), {
        timeoutMs: LONG,
      });
      const next: WebhookJob = {
        v: 1,
        id: 'msg_twice',
        attempt: 2,
        url: `${receiver.origin}/h`,
        format: 'json',
        body: '{}',
      };
      await q.enqueue(next, { id: 'msg_twice#2', delayMs: 600_000, attempts: 1 });
      expect(await q.expireLease('msg_twice#1')).toBe(true);
      await waitFor(
        'msg_twice#1 done',
        async () => ((await q.getJob('msg_twice#1'))?.state === 'completed' ? true : undefined),
        { timeoutMs: 30_000 },
      );
      expect((await q.getJob('msg_twice#1'))?.deliveryToken).toBe(2);
      expect(receiver.requests).toHaveLength(1);
      expect(attempts).toHaveLength(0);
    },
    LONG,
  );
});

/** The restart test's child (fixtures/durable-sender-process.ts): accepts and runs deliveries until killed. */
class SenderProcess extends NodeChild {
  constructor(config: object) {
    super(path.join(__dirname, 'fixtures', 'durable-sender-process.ts'), { config, name: 'durable sender' });
  }

  of(event: string) {
    return this.lines.filter((l) => l.event === event);
  }
}

describe('durable webhook delivery across a restart', () => {
  it(
    'delivers every delivery a SIGKILLed process accepted, with its original webhook-id, on schedule',
    async () => {
      const ids = Array.from({ length: 12 }, (_, i) => `msg_restart_${i}`);
      const schedule = [500, 1_000];
      const name = `wh-restart-${randomUUID()}`;
      // Before the kill: 503 to each first attempt; a second attempt (only if the kill came late)
      // hangs, so it is still in flight when the process dies.
      const seen = new Map<string, number>();
      answer((req, res) => {
        const id = String(req.headers['webhook-id']);
        seen.set(id, (seen.get(id) ?? 0) + 1);
        if (seen.get(id) === 1) res.writeHead(503).end();
      });
      const child = new SenderProcess({
        redisUrl: redisServer.url,
        queue: name,
        secret: SECRET,
        target: `${receiver.origin}/hooks`,
        ids,
        schedule,
      });
      // The restarted sender's leases: long enough that a loaded machine's event-loop stall does
      // not lose one mid-delivery (a second delivery would break the exact counts below); the
      // killed process's own 3 s leases are what brings its jobs back.
      const q = createRedisJobQueue(redis, name, { leaseMs: 5_000 });
      queues.push(q);
      let killedAt = 0;
      try {
        await waitFor(
          'every delivery accepted and tried once',
          async () => {
            if (child.child.exitCode !== null) throw new Error(`the child exited: ${child.stderr}`);
            const tried = child.of('attempt').filter((a) => a.attempt === 1);
            return child.of('accepted').length === ids.length && tried.length === ids.length
              ? true
              : undefined;
          },
          { timeoutMs: LONG },
        );
        // Each first attempt stores the second before its own job completes: wait for all of them.
        await waitFor(
          'every second attempt stored',
          async () => {
            const next = await Promise.all(ids.map((id) => q.getJob(`${id}#2`)));
            return next.every(Boolean) ? true : undefined;
          },
          { timeoutMs: LONG },
        );
      } finally {
        await child.kill();
        killedAt = Date.now();
      }
      expect(child.of('accepted').map((l) => [l.id, l.created])).toEqual(ids.map((id) => [id, true]));
      for (const a of child.of('attempt').filter((l) => l.attempt === 1)) {
        expect(a).toMatchObject({ outcome: 'retry', status: 503 });
        // The schedule's first wait (the child runs without jitter): computed, not measured.
        expect(a.nextDelayMs).toBe(500);
      }
      const before = receiver.requests.length;
      expect(new Set(receiver.requests.map((r) => header(r, 'webhook-id')))).toEqual(new Set(ids));

      // After the restart: a fresh sender on the same queue; the receiver now answers 200.
      receiver.setHandler(faults.json(200, {}));
      const { s, attempts, outcomes, settled } = sender(q, { schedule });
      s.start({ concurrency: 4 });
      await settled(ids.length);
      await q.drain({ timeoutMs: LONG });

      const after = receiver.requests.slice(before);
      expect(after.map((r) => header(r, 'webhook-id')).sort()).toEqual([...ids].sort());
      for (const r of after) {
        const id = header(r, 'webhook-id');
        expect(verifyWebhook({ payload: r.body, headers: r.headers, secret: SECRET }).id).toBe(id);
        expect(JSON.parse(r.body.toString())).toEqual({ n: ids.indexOf(id), id });
        // Signed when sent, after the restart: not a signature stored before it.
        expect(Number(header(r, 'webhook-timestamp'))).toBeGreaterThanOrEqual(Math.floor(killedAt / 1000));
      }
      expect(outcomes.map((o) => o.outcome)).toEqual(ids.map(() => 'delivered'));
      expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual(ids.map(() => [2, 'delivered']));
      expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
      process.stdout.write(
        `restart: ${ids.length} accepted, ${before} requests before the SIGKILL, ${after.length} after\n`,
      );
    },
    LONG * 2,
  );
});
