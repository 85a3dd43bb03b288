import { Channels, createPublisher, type QueueJobEvent } from '@voelgoed/contracts';

const publisher = createPublisher(Channels.queueJob);

/** Publishes a job event when someone subscribes (free otherwise). */
export function publishJobEvent(event: QueueJobEvent): void {
  publisher.publish(event);
}

/** True when someone listens: skip building payloads otherwise. */
export function jobEventsEnabled(): boolean {
  return publisher.enabled;
}
