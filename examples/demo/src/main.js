// The Voelgoed demo: a small ticket sale that uses every package the way an application would.
//   ./dev demo            three local redis-server masters (Redlock), files for tickets, a local
//                         payment gateway over HTTP; REDIS_URLS / REDIS_URL / S3_URL point it at
//                         external servers instead
//   ./dev demo --memory   the same shop code on the in-memory implementations from contracts
//   ./dev demo --trace    also prints one purchase's trace (OpenTelemetry spans) as a waterfall
// Options: --buyers N (200), --seats N (50), --metrics-port N (0 = any free port).
import { parseArgs } from 'node:util';
import { Channels, subscribe } from '@voelgoed/contracts';
import { createDurableWebhookSender } from '@voelgoed/http';
import { createTelemetry } from '@voelgoed/telemetry';
import { createGateway, serveGateway } from './gateway.js';
import { createInfrastructure } from './infrastructure.js';
import { createShop } from './shop.js';

const { values: args } = parseArgs({
  options: {
    memory: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    buyers: { type: 'string', default: '200' },
    seats: { type: 'string', default: '50' },
    'metrics-port': { type: 'string', default: '0' },
  },
});
const buyers = Number(args.buyers);
const seats = Number(args.seats);
const say = (line) => process.stdout.write(`${line}\n`);
const WEBHOOK_SECRET = 'whsec_ZGVtby1zZWNyZXQtbm90LWZvci1wcm9kdWN0aW9u';
// Short waits between webhook attempts, for a demo (the default is the Standard Webhooks schedule).
const WEBHOOK_SCHEDULE_MS = [50, 100, 200, 400, 800, 1600];

// What the adapters publish on diagnostics_channel, counted for the report (the gateway's
// requests: the webhook sender's own requests go to the shop's origin).
const seen = { attempts: 0, retries: 0, breaker: [] };
let webhookOrigin;
const unsubscribe = [
  subscribe(Channels.httpRequest, (e) => {
    if (e.origin !== webhookOrigin) seen.attempts++;
  }),
  subscribe(Channels.httpRetry, () => seen.retries++),
  subscribe(Channels.httpCircuit, (e) => seen.breaker.push(`${e.from}→${e.to}`)),
];

// Tracing first: spans are made from the adapters' trace channels, whoever created the clients.
const tracing = args.trace ? (await import('./tracing.js')).startTracing() : undefined;
const telemetry = createTelemetry();
const metricsServer = await telemetry.serve({ port: Number(args['metrics-port']) });
say(`Voelgoed demo: ${buyers} buyers race for ${seats} seats${args.memory ? ' (in memory)' : ''}`);
say(`metrics: ${metricsServer.url}`);

let shop;
let webhookSender;
let webhooks;
// The webhook jobs, for the report: stored, delivered, attempts that will be retried.
const jobs = { enqueued: 0, delivered: 0, retried: 0, otherOutcomes: 0 };
const gateway = createGateway({
  // Stored in the JobQueue (resolves once stored); the sender's workers deliver it, signed.
  sendWebhook: async (event) => {
    const accepted = await webhookSender.deliver({
      url: webhooks.url,
      id: `evt_${event.data.id}`,
      payload: event,
    });
    if (accepted.created) jobs.enqueued++;
  },
});
const gatewayServer = args.memory
  ? undefined
  : await serveGateway(gateway, { remoteParent: tracing?.remoteParent });
const infra = await createInfrastructure({
  memory: args.memory,
  gateway,
  gatewayUrl: gatewayServer?.url,
  rateLimit: { limit: 5, periodMs: 1000 },
  log: say,
});
shop = createShop({ ...infra, metrics: telemetry, seats, price: 4500, webhookSecret: WEBHOOK_SECRET });
webhooks = await infra.serveWebhooks(shop.onWebhook, { unavailableEvery: 15 });
webhookOrigin = new URL(webhooks.url).origin;
webhookSender = createDurableWebhookSender(infra.webhookQueue, {
  secret: WEBHOOK_SECRET,
  schedule: WEBHOOK_SCHEDULE_MS,
  // The shop listens on 127.0.0.1 over http here; a real sender keeps both guards on.
  allowHttp: true,
  allowPrivateNetworks: true,
  onAttempt: (attempt) => {
    if (attempt.outcome === 'retry') jobs.retried++;
  },
  onOutcome: (result) => {
    if (result.outcome === 'delivered') jobs.delivered++;
    else jobs.otherOutcomes++;
  },
});
webhookSender.start({ concurrency: 8 });
say(`webhooks: durable delivery on a ${infra.webhookQueueKind} to ${webhooks.url}`);

let done = 0;
const started = performance.now();
const progress = setInterval(
  () => {
    const line = `  sold ${shop.tickets.length}/${seats} · buyers finished ${done}/${buyers} · http attempts ${seen.attempts} · retries ${seen.retries}`;
    if (process.stdout.isTTY) process.stdout.write(`\r${line}`);
    else say(line);
  },
  process.stdout.isTTY ? 200 : 1000,
);

let failure;
try {
  await Promise.all(
    Array.from({ length: buyers }, (_, i) =>
      (tracing
        ? tracing.buyer(`b${i}`, () =>
            shop.buyer(`b${i}`).then((sold) => {
              if (sold) tracing.purchased();
              return sold;
            }),
          )
        : shop.buyer(`b${i}`)
      ).finally(() => {
        done++;
      }),
    ),
  );
} catch (error) {
  failure = error;
} finally {
  clearInterval(progress);
  if (process.stdout.isTTY) process.stdout.write('\n');
}
const seconds = (performance.now() - started) / 1000;
// Every charge's webhook was stored; let the last ones (and their retries) land before the report.
const drained = await infra.webhookQueue.drain({ timeoutMs: 15_000 }).then(
  () => true,
  () => false,
);
const jobCounts = await infra.webhookQueue.counts();

const listed = [];
if (!failure) for await (const o of infra.storage.list('tickets/')) listed.push(o.key);
const waits = [...shop.stats.lockWaitsMs].sort((a, b) => a - b);
const pct = (p) =>
  waits.length ? waits[Math.min(waits.length - 1, Math.floor((p / 100) * waits.length))].toFixed(1) : 'n/a';
const doubleBookings = shop.doubleBookedSeats() + shop.stats.doubleBookings;
const metricsText = await telemetry.scrape();

say('');
say(
  `report (${seconds.toFixed(1)} s, ${infra.kind === 'memory' ? 'in-memory implementations' : 'Redis + HTTP + storage'})`,
);
say(`  seats sold            ${shop.tickets.length} of ${seats} (ticket objects stored: ${listed.length})`);
say(`  double bookings       ${doubleBookings}`);
say(`  lock wait p50 / p99   ${pct(50)} ms / ${pct(99)} ms over ${waits.length} acquisitions`);
say(`  seat already sold     ${shop.stats.taken} times found under the lock`);
say(
  `  http attempts         ${seen.attempts} (retries ${seen.retries}); gateway: ${gateway.stats.charged} charged, ${gateway.stats.replayed} replayed by idempotency key, ${gateway.stats.failed} failed with 503`,
);
say(
  `  circuit breaker       ${seen.breaker.length ? seen.breaker.join(', ') : args.memory ? 'none (FakeHttpClient has no breaker)' : 'never changed state'}`,
);
say(
  `  payment unavailable   ${shop.stats.paymentUnavailable} times (buyer tried the same order again later)`,
);
say(
  `  charged, no ticket    ${Math.max(0, gateway.stats.charged - shop.tickets.length)} (seat went to someone else meanwhile: to refund)`,
);
say(`  rate-limited waits    ${shop.stats.rateLimited}`);
say(`  webhooks              rejected ${shop.stats.webhooksRejected}, late ${shop.stats.webhooksLate}`);
say(
  `  webhook jobs          ${jobs.enqueued} enqueued, ${jobs.delivered} delivered, ${jobs.retried} retried, ${jobCounts.deadLettered} dead-lettered${jobs.otherOutcomes ? `, ${jobs.otherOutcomes} refused or failed` : ''}${drained ? '' : `, ${jobCounts.waiting + jobCounts.delayed + jobCounts.active} still pending`} (${infra.webhookQueueKind})`,
);
say(
  `  metrics series        ${metricsText.split('\n').filter((l) => l && !l.startsWith('#')).length} (served at ${metricsServer.url} while running)`,
);

if (tracing) {
  say('');
  say('one purchase, traced (lock wait, Redis, HTTP attempts, the webhook job, the ticket put):');
  for (const line of tracing.waterfall()) say(`  ${line}`);
  await tracing.stop();
}

for (const u of unsubscribe) u();
await webhookSender.close();
await webhooks.close();
await gatewayServer?.close();
await infra.close();
await telemetry.close();

const expected = Math.min(seats, buyers);
const ok = !failure && doubleBookings === 0 && shop.tickets.length === expected && listed.length === expected;
if (failure) say(`failed: ${failure instanceof Error ? failure.stack : String(failure)}`);
say(ok ? 'ok: every seat sold exactly once' : 'FAILED: see the report above');
process.exitCode = ok ? 0 : 1;
