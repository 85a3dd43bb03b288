import { type ChannelName, type ChannelPayloads, subscribe } from '@voelgoed/contracts';

/** Both transports run every integration test. */
export const TRANSPORTS = ['got', 'undici'] as const;

/** Records every event published on `name` until the returned `stop` is called. */
export function recordEvents<N extends ChannelName>(
  name: N,
): { events: ChannelPayloads[N][]; stop: () => void } {
  const events: ChannelPayloads[N][] = [];
  const stop = subscribe(name, (payload) => events.push(payload));
  return { events, stop };
}

/** Awaits `promise` and returns what it rejected with (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
