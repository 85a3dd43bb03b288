// The business logic: a ticket shop. It depends on ports only (lock, key-value store, HTTP
// client, object storage, metrics, an expiring set for holds, a rate limiter), never on a vendor
// library, so the same code runs on Redis + real HTTP + files and in memory.
import { isInfrastructureError } from '@voelgoed/contracts';
import { verifyWebhook } from '@voelgoed/http';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @param {{ locks: import('@voelgoed/contracts').DistributedLock, kv: import('@voelgoed/contracts').KeyValueStore,
 *   http: import('@voelgoed/contracts').HttpClient, storage: import('@voelgoed/contracts').ObjectStorage,
 *   metrics: import('@voelgoed/contracts').Metrics,
 *   holds: import('@voelgoed/contracts').ExpiringSet, limiter: import('@voelgoed/contracts').RateLimiter,
 *   seats: number, price: number, webhookSecret: string }} deps
 */
export function createShop({
  locks,
  kv,
  http,
  storage,
  metrics,
  holds,
  limiter,
  seats,
  price,
  webhookSecret,
}) {
  const confirmations = new Map(); // charge id -> resolve
  const confirmed = new Set();
  const sold = metrics.counter('shop.tickets.sold', { description: 'Tickets sold', unit: '{ticket}' });
  const stats = {
    lockWaitsMs: [],
    rateLimited: 0,
    paymentUnavailable: 0,
    doubleBookings: 0,
    taken: 0,
    webhooksRejected: 0,
    webhooksLate: 0,
  };
  const tickets = []; // every ticket handed out, to check for double bookings independently of the store

  /** The gateway's webhook: verified before anything is believed. */
  function onWebhook(payload, headers) {
    try {
      verifyWebhook({ payload, headers, secret: webhookSecret });
    } catch {
      stats.webhooksRejected++;
      return 400;
    }
    const { data } = JSON.parse(payload);
    confirmed.add(data.id);
    confirmations.get(data.id)?.();
    return 204;
  }

  /** Resolves true once the gateway's webhook confirmed the charge, false after `timeoutMs`. */
  function waitForConfirmation(chargeId, timeoutMs = 3000) {
    if (confirmed.has(chargeId)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        confirmations.delete(chargeId);
        resolve(false);
      }, timeoutMs);
      confirmations.set(chargeId, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Tries to buy `seat` for `buyer`: 'sold', 'taken', 'held' (another buyer is paying for it),
   * 'payment' (the gateway was unavailable; the hold is kept for this buyer's next try) or 'retry'.
   */
  async function reserve(buyer, seat, holdingIt = false) {
    // A cheap look first; the answer is only trusted again under the lock.
    if ((await kv.get(`sold:${seat}`)) !== null) return 'taken';
    const asked = performance.now();
    return locks.withLock(
      `seat:${seat}`,
      async (signal, lock) => {
        stats.lockWaitsMs.push(performance.now() - asked);
        if ((await kv.get(`sold:${seat}`)) !== null) {
          stats.taken++;
          return 'taken';
        }
        // A hold keeps the seat for one buyer while the payment goes through (and while it is retried).
        if (!holdingIt && !(await holds.tryAdd(`seat:${seat}`, 10_000))) return 'held';
        let keepHold = false;
        try {
          let charge;
          try {
            const response = await http.post('/v1/charges', {
              json: { amount: price, buyer, seat },
              idempotencyKey: `order-${buyer}-${seat}`,
              signal,
            });
            charge = response.json();
          } catch (error) {
            if (isInfrastructureError(error) && error.retryable) {
              stats.paymentUnavailable++;
              keepHold = true;
              return 'payment';
            }
            throw error;
          }
          if (!(await waitForConfirmation(charge.id))) {
            stats.webhooksLate++;
            keepHold = true; // the charge stands; the next try replays it by its idempotency key
            return 'payment';
          }
          signal.throwIfAborted(); // the lock was lost: do not hand out the seat
          if (!(await kv.set(`sold:${seat}`, buyer, { mode: 'NX' }))) {
            stats.doubleBookings++; // someone else sold it while we held the lock: must never happen
            return 'taken';
          }
          const ticket = { seat, buyer, charge: charge.id, fencingToken: lock.fencingToken };
          await storage.put(`tickets/seat-${String(seat).padStart(3, '0')}.json`, JSON.stringify(ticket), {
            contentType: 'application/json',
          });
          tickets.push(ticket);
          await kv.incr('sold-count');
          sold.add(1);
          return 'sold';
        } finally {
          if (!keepHold) await holds.remove(`seat:${seat}`);
        }
      },
      { ttlMs: 5000, retries: 200, retryDelayMs: 25, jitterMs: 25 },
    );
  }

  /** One buyer: tries random unsold seats until it has a ticket or all are gone. */
  async function buyer(id) {
    const tried = new Set();
    let again; // a seat whose payment failed retryably: retried first, with the same idempotency key
    for (;;) {
      if (Number(await kv.get('sold-count')) >= seats) return false;
      const limit = await limiter.consume(`buyer:${id}`);
      if (!limit.allowed) {
        stats.rateLimited++;
        await sleep(limit.retryAfterMs);
        continue;
      }
      const free = [];
      for (let s = 0; s < seats; s++) if (!tried.has(s)) free.push(s);
      if (free.length === 0) tried.clear();
      const seat =
        again ??
        (free.length ? free[Math.floor(Math.random() * free.length)] : Math.floor(Math.random() * seats));
      const retrying = again;
      again = undefined;
      let outcome;
      try {
        outcome = await reserve(id, seat, seat === retrying);
      } catch (error) {
        // Waited too long for the seat, or lost the lock midway: try again, like a person would.
        if (!isInfrastructureError(error) || !(error.retryable || error.code === 'LOCK_LOST')) throw error;
        outcome = 'retry';
      }
      if (outcome === 'sold') return true;
      if (outcome === 'taken' || outcome === 'held') tried.add(seat);
      else {
        if (outcome === 'payment') again = seat;
        await sleep(20 + Math.random() * 80);
      }
    }
  }

  /** Seats with more than one ticket, counted from the tickets handed out. */
  function doubleBookedSeats() {
    const bySeat = new Map();
    for (const t of tickets) bySeat.set(t.seat, (bySeat.get(t.seat) ?? 0) + 1);
    return [...bySeat.values()].filter((n) => n > 1).length;
  }

  return { buyer, onWebhook, stats, tickets, doubleBookedSeats };
}
