import { checkHealth, type HealthReport, type HealthStatus, type Resource } from '@voelgoed/contracts';
import { invalidArgument } from './errors.js';
import { untraced } from './untraced.js';

/** What `/readyz` answers (and {@link checkReadiness} resolves). */
export interface ReadinessReport {
  /** `up` when every resource is up, `degraded` when all are up or degraded, `down` otherwise. */
  status: HealthStatus;
  /** True unless one resource is `down`: `/readyz` answers 200 when true, 503 when false. */
  ready: boolean;
  /** Each resource's report, in the order of registration. */
  checks: HealthReport[];
}

/**
 * Asks every resource for its health at once, each bounded (a resource that throws, hangs past
 * about a second or gives no report counts as `down`), and aggregates. Never rejects; nothing is
 * cached, so a paused server shows within one check. The checks make no spans (see `untraced`).
 */
export async function checkReadiness(resources: Iterable<Resource>): Promise<ReadinessReport> {
  const checks = await untraced.run(true, () =>
    Promise.all(Array.from(resources, (resource) => checkHealth(resource))),
  );
  const down = checks.some((c) => c.status === 'down');
  const degraded = checks.some((c) => c.status === 'degraded');
  return { status: down ? 'down' : degraded ? 'degraded' : 'up', ready: !down, checks };
}

/** Resources registered for readiness, in order; adding one twice keeps one entry. */
export class ReadinessRegistry {
  readonly #resources = new Set<Resource>();

  add(resource: Resource): () => void {
    if (
      typeof resource !== 'object' ||
      resource === null ||
      typeof (resource as Partial<Resource>).health !== 'function'
    ) {
      throw invalidArgument('addReadinessCheck() takes a resource with a health() method');
    }
    this.#resources.add(resource);
    return () => {
      this.#resources.delete(resource);
    };
  }

  get resources(): Resource[] {
    return [...this.#resources];
  }
}
