import { Channels, createPublisher } from '@voelgoed/contracts';

/** Publishers on the contracts' lock channels (free when no one subscribes). */
export const events = {
  acquire: createPublisher(Channels.lockAcquire),
  release: createPublisher(Channels.lockRelease),
  extend: createPublisher(Channels.lockExtend),
  lost: createPublisher(Channels.lockLost),
};
