// A local stand-in for a card payment gateway (the demo's external service). It charges once
// per Idempotency-Key (a retried charge returns the first result), fails now and then with
// 503 + Retry-After, goes through a short outage so the client's circuit breaker opens and
// recovers, and confirms each charge with a signed webhook to the shop, put in a durable outbox
// (a JobQueue, through @voelgoed/http's durable webhook sender) before the charge is answered.
import { randomUUID } from 'node:crypto';
import { serveLocally } from './local-server.js';

/**
 * @param {{ sendWebhook: (event: { type: string, data: object }) => Promise<unknown>,
 *           flakyEvery?: number, lostEvery?: number, outage?: { from: number, to: number } }} options
 * `sendWebhook` stores the event for delivery (it resolves once stored, not once delivered).
 * `flakyEvery`: every Nth call fails with 503 before charging; `lostEvery`: every Nth charge is
 * made but its response is a 503 (as if lost), so only the idempotency key prevents a double charge.
 */
export function createGateway({ sendWebhook, flakyEvery = 9, lostEvery = 7, outage = { from: 25, to: 40 } }) {
  const charges = new Map(); // idempotency key -> charge
  let calls = 0;
  const stats = { calls: 0, charged: 0, replayed: 0, failed: 0 };

  /** @param {{ method: string, path: string, headers: Record<string, string | undefined>, body: string }} req */
  async function handle(req) {
    stats.calls = ++calls;
    if (req.method !== 'POST' || req.path !== '/v1/charges')
      return { status: 404, body: '{"error":"not found"}' };
    const key = req.headers['idempotency-key'];
    if (!key) return { status: 400, body: '{"error":"Idempotency-Key required"}' };
    if ((calls >= outage.from && calls < outage.to) || calls % flakyEvery === 0) {
      stats.failed++;
      return { status: 503, headers: { 'retry-after': '0' }, body: '{"error":"try again"}' };
    }
    const earlier = charges.get(key);
    if (earlier) {
      stats.replayed++;
      return { status: 200, body: JSON.stringify(earlier) };
    }
    const { amount, buyer, seat } = JSON.parse(req.body);
    const charge = { id: `ch_${randomUUID().slice(0, 8)}`, amount, buyer, seat, status: 'succeeded' };
    // The confirmation is stored before the charge counts (an outbox): from here on it is
    // delivered, retried on its schedule, even across a restart; it goes out after the response.
    try {
      await sendWebhook({ type: 'charge.succeeded', data: charge });
    } catch {
      stats.failed++;
      return { status: 503, headers: { 'retry-after': '0' }, body: '{"error":"try again"}' };
    }
    charges.set(key, charge);
    stats.charged++;
    if (stats.charged % lostEvery === 0) {
      stats.failed++;
      return { status: 503, headers: { 'retry-after': '0' }, body: '{"error":"response lost"}' };
    }
    return { status: 200, body: JSON.stringify(charge) };
  }

  return { handle, stats };
}

/**
 * Serves a gateway's `handle` over node:http on a free port. `remoteParent(headers, fn)`, when
 * given, runs each request in the trace context its `traceparent` names (`--trace`).
 */
export async function serveGateway(gateway, { remoteParent } = {}) {
  const server = await serveLocally(async (req) => {
    const answer = await (remoteParent
      ? remoteParent(req.headers, () => gateway.handle(req))
      : gateway.handle(req));
    return { ...answer, headers: { 'content-type': 'application/json', ...answer.headers } };
  });
  return { url: server.origin, close: server.close };
}
