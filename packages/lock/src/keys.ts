import { keySlot } from '@voelgoed/redis';

/** The Redis keys behind one resource. */
export interface ResourceKeys {
  /** Holds the owner value while locked (SET NX PX). */
  readonly lock: string;
  /** Fencing counter (INCR); never expires. */
  readonly fence: string;
  /** Set briefly by a waiter so that a release publishes a wake-up. */
  readonly waiter: string;
}

/**
 * Builds key names. With `hashTags` (for Redis Cluster), every key of a resource gets the
 * tag `{<slot of the resource name>}`, so a resource's keys share a slot, and resources whose
 * names are in one slot (use a `{tag}` in the names) can be locked together.
 */
export function resourceKeys(prefix: string, resource: string, hashTags: boolean): ResourceKeys {
  // One letter right after the prefix keeps the three namespaces apart whatever the name holds.
  const head = hashTags ? `${prefix}{${keySlot(resource)}}` : prefix;
  return { lock: `${head}l:${resource}`, fence: `${head}f:${resource}`, waiter: `${head}w:${resource}` };
}
