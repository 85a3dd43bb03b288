import { keySlot } from '@voelgoed/redis';
import type { Resources } from './caller-input.js';

/**
 * The Redis keys behind a lock on n resources, in the layout every script takes as KEYS: the n
 * lock keys (owner value, SET NX PX), then the n fencing counters (INCR, never expire), then the
 * n waiter markers (set briefly by a waiter so that a release publishes a wake-up). One array
 * per lock serves acquire, extend, release and the fencing write-back.
 */
export type LockKeys = readonly [string, ...string[]];

/**
 * Builds the keys of `resources`. With `hashTags` (for Redis Cluster), every key of a resource
 * gets the tag `{<slot of the resource name>}`, so a resource's keys share a slot, and resources
 * whose names are in one slot (use a `{tag}` in the names) can be locked together.
 */
export function lockKeys(prefix: string, resources: Resources, hashTags: boolean): LockKeys {
  const n = resources.length;
  const keys: string[] = new Array(3 * n);
  let i = 0;
  for (const resource of resources) {
    // One letter right after the prefix keeps the three namespaces apart whatever the name holds.
    const head = hashTags ? `${prefix}{${keySlot(resource)}}` : prefix;
    keys[i] = `${head}l:${resource}`;
    keys[n + i] = `${head}f:${resource}`;
    keys[2 * n + i] = `${head}w:${resource}`;
    i++;
  }
  // Three keys per resource, and there is at least one resource.
  return keys as [string, ...string[]];
}

/** The lock keys (the first third), e.g. to wait for a release of them. */
export function lockKeysOnly(keys: LockKeys): string[] {
  return keys.slice(0, keys.length / 3);
}
