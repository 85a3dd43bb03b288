import { TimeoutError } from '@voelgoed/contracts';
import type { Registry } from 'prom-client';
import { MESSAGE_PREFIX } from './errors.js';

/**
 * `registry.metrics()`, rejecting with `TimeoutError` (code `TIMEOUT`) once `timeoutMs` has
 * passed. This package's observable callbacks have their own, shorter time box and never reach
 * this deadline; it is the backstop for collectors registered on the registry by others (a
 * prom-client metric whose `collect` never settles would otherwise hang every scrape).
 */
export async function collectExposition(registry: Registry, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TimeoutError(`${MESSAGE_PREFIX} collecting metrics took longer than ${timeoutMs} ms`, {
            maybeExecuted: false,
          }),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([registry.metrics(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
