import type { HealthError, HealthReport, Resource } from './ports/health.js';

/** Longest a `health()` check may take before it reports `down` (ms): probes must answer fast. */
export const HEALTH_TIMEOUT_MS = 1000;

const SECRET_QUERY = /([?&](?:X-Amz-[^=&]*|Signature|sig|token|access_token|password)=)[^&\s]*/gi;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi;

/** A message with URL credentials and signed-query values masked, cut to 300 characters. */
export function redactHealthMessage(message: string): string {
  return message.replace(URL_CREDENTIALS, '$1***@').replace(SECRET_QUERY, '$1***').slice(0, 300);
}

/** `{ code, message }` of a thrown value, for {@link HealthReport.error}. */
export function healthError(error: unknown, fallbackCode = 'UNAVAILABLE'): HealthError {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' && e.code !== '' ? e.code : fallbackCode;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return { code, message: redactHealthMessage(message) };
}

/** The report of a closed resource. */
export function closedHealth(resource: string, target?: string): HealthReport {
  return {
    status: 'down',
    resource,
    ...(target === undefined ? {} : { target }),
    error: { code: 'CLOSED', message: `${resource} is closed` },
  };
}

/** The report of something that lives in this process (a memory twin): `up` until closed. */
export function inMemoryHealth(resource: string, closed: boolean): HealthReport {
  return closed ? closedHealth(resource, 'memory') : { status: 'up', resource, target: 'memory' };
}

/**
 * Runs `probe` and resolves with its report, or a `down` report when it throws or takes longer
 * than `timeoutMs` (default {@link HEALTH_TIMEOUT_MS}). Never rejects. `latencyMs` is filled in
 * when the probe leaves it out.
 */
export async function boundedHealth(
  resource: string,
  probe: () => Promise<HealthReport> | HealthReport,
  options: { timeoutMs?: number; target?: string } = {},
): Promise<HealthReport> {
  const timeoutMs = options.timeoutMs ?? HEALTH_TIMEOUT_MS;
  const started = performance.now();
  const base = { resource, ...(options.target === undefined ? {} : { target: options.target }) };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<HealthReport>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          status: 'down',
          ...base,
          latencyMs: Math.round(performance.now() - started),
          error: { code: 'TIMEOUT', message: `health check took longer than ${timeoutMs} ms` },
        }),
      timeoutMs,
    );
    timer.unref?.();
  });
  try {
    const report = await Promise.race([Promise.resolve().then(probe), timeout]);
    return report.latencyMs === undefined
      ? { ...report, latencyMs: Math.round((performance.now() - started) * 100) / 100 }
      : report;
  } catch (error) {
    return {
      status: 'down',
      ...base,
      latencyMs: Math.round((performance.now() - started) * 100) / 100,
      error: healthError(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls `resource.health()` within `timeoutMs` (default {@link HEALTH_TIMEOUT_MS} plus a little);
 * a throw, a timeout or a malformed report gives a `down` report. Never rejects. What a
 * readiness endpoint uses, so one misbehaving resource cannot hang or break it.
 */
export function checkHealth(
  resource: Resource,
  options: { timeoutMs?: number; name?: string } = {},
): Promise<HealthReport> {
  const kind = options.name ?? 'resource';
  return boundedHealth(
    kind,
    async () => {
      const report = await resource.health();
      if (
        typeof report !== 'object' ||
        report === null ||
        !['up', 'degraded', 'down'].includes(report.status)
      ) {
        return {
          status: 'down',
          resource: kind,
          error: { code: 'BAD_REPORT', message: 'health() gave no report' },
        };
      }
      return report;
    },
    { timeoutMs: options.timeoutMs ?? HEALTH_TIMEOUT_MS + 250 },
  );
}
