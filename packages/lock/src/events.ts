import { Channels, createPublisher } from '@voelgoed/contracts';

/** Publishers on the contracts' lock channels (free when no one subscribes). */
export const events = {
  acquire: createPublisher(Channels.lockAcquire),
  release: createPublisher(Channels.lockRelease),
  extend: createPublisher(Channels.lockExtend),
  lost: createPublisher(Channels.lockLost),
};

/** The code of an error, for event payloads. */
export function codeOf(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}
