// Compiled (not run) against the packed @voelgoed/redis: the README's typed use must type-check.
import { BUFFER_REPLIES, createRedisClient } from '@voelgoed/redis';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const redis = createRedisClient('redis://127.0.0.1:6379');
const value = await redis.get('greeting');
const user = await redis.hGetAll('user:1');
const replies = await redis.multi().incr('hits').get('hits').exec();
const bytes = await redis.withTypeMapping(BUFFER_REPLIES).get('avatar');
export const checks: [true, true, true, true] = [
  true as Equal<typeof value, string | null>,
  true as Equal<typeof user, Record<string, string>>,
  true as Equal<typeof replies, [number, string | null]>,
  true as Equal<typeof bytes, Buffer | null>,
];
