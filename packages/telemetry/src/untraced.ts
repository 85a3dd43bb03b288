import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The scope of readiness checks (`/readyz`, `telemetry.readiness()`): the span bridge opens no
 * span for an operation started inside it, so a probe every few seconds does not fill the trace
 * store with root spans of PINGs and HEADs (metrics still count them). Kept on `globalThis` under
 * a registered symbol so that the main entry and the tracing entry agree even when they are
 * loaded as separate copies (ESM beside CommonJS, two bundles).
 */
const KEY = Symbol.for('@voelgoed/telemetry:untraced');

const shared = globalThis as Record<symbol, unknown>;
if (!(shared[KEY] instanceof AsyncLocalStorage)) shared[KEY] = new AsyncLocalStorage<true>();

export const untraced = shared[KEY] as AsyncLocalStorage<true>;
