import { type ChannelName, type ChannelPayloads, subscribe } from '@voelgoed/contracts';
import type { InstrumentFactory } from './prom-instruments.js';
import { type CacheEntry, SeriesCache } from './series-cache.js';

/** Detaches one subscription. */
export type Unsubscribe = () => void;

/** What the per-adapter event subscribers share. */
export interface EventContext {
  readonly factory: InstrumentFactory;
  /** The Prometheus name with the telemetry prefix. */
  name(base: string): string;
  /** Buckets of duration histograms (seconds). */
  readonly buckets: readonly number[];
}

/**
 * Subscribes `handler` to `channel`. A handler that throws is counted in the errors counter:
 * an exception thrown into `diagnostics_channel` would surface as an uncaught exception in the
 * adapter's process.
 */
export function listen<N extends ChannelName>(
  context: EventContext,
  channel: N,
  handler: (payload: ChannelPayloads[N]) => void,
): Unsubscribe {
  return subscribe(channel, (payload) => {
    try {
      handler(payload);
    } catch {
      context.factory.reportError(channel);
    }
  });
}

/** A {@link SeriesCache} sized for the context's guards. */
export function seriesCache<T>(
  context: EventContext,
  depth: number,
  create: (values: readonly unknown[]) => CacheEntry<T>,
): SeriesCache<T> {
  return new SeriesCache(depth, create, context.factory.cacheLimit);
}

/** A label value from an event field: text, or undefined when absent. */
export function text(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

/** Milliseconds from an event as seconds, or undefined when not a usable duration. */
export function seconds(ms: unknown): number | undefined {
  return typeof ms === 'number' && ms >= 0 && ms < Number.POSITIVE_INFINITY ? ms / 1000 : undefined;
}

/** `host:port` (or `[v6]:port`) split into address and port; anything else is all address. */
export function splitHostPort(target: string | undefined): [string | undefined, string | undefined] {
  if (target === undefined) return [undefined, undefined];
  const [, address, port] = /^(.*):(\d{1,5})$/.exec(target) ?? [];
  if (address === undefined || address === '') return [target, undefined];
  return [address.replace(/^\[(.*)\]$/, '$1'), port];
}

/** `scheme://host:port` split into address and port (the scheme's default port when absent). */
export function splitOrigin(origin: string | undefined): [string | undefined, string | undefined] {
  if (origin === undefined) return [undefined, undefined];
  try {
    const url = new URL(origin);
    const port =
      url.port !== ''
        ? url.port
        : url.protocol === 'https:'
          ? '443'
          : url.protocol === 'http:'
            ? '80'
            : undefined;
    return [url.hostname.replace(/^\[(.*)\]$/, '$1'), port];
  } catch {
    return [origin, undefined];
  }
}
