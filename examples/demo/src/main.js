// Placeholder for the demo (issue "The demo, independent releases, and one-command benchmarks").
// It already runs through the same path the real demo will take: bootstrap, workspace install,
// the built packages imported by name.
import { InfrastructureError, isInfrastructureError } from '@voelgoed/contracts';

const plan = `
Voelgoed infrastructure demo (placeholder)

When the adapters land, this command will run a small ticket-sale service on real servers that
it starts itself (redis-server processes, an S3-compatible server, a local payment gateway):
  - 200 simulated buyers race for 50 seats; each reservation runs under withLock on the seat
    (@voelgoed/lock: Redlock over several Redis masters, fencing tokens);
  - a hold with a TTL per seat (@voelgoed/redis ExpiringSet), a tiered cache and a rate limiter;
  - payment through a local gateway that fails some calls with 503 + Retry-After
    (@voelgoed/http: retries, idempotency keys, circuit breaker, signed webhooks);
  - tickets stored as objects (@voelgoed/storage) and Prometheus metrics (@voelgoed/telemetry);
  - at the end: no seat sold twice, and a metrics summary.
`;

process.stdout.write(plan);
const check = new InfrastructureError('DEMO_PLACEHOLDER', '[voelgoed:demo] packages load');
process.stdout.write(`\n@voelgoed/contracts loaded: ${isInfrastructureError(check) ? 'yes' : 'no'}\n`);
