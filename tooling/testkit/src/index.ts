export { getFreePort, isPortFree } from './ports.js';
export { isAlive, sleep, waitFor } from './process.js';
export { RedisCluster, type StartRedisClusterOptions, startRedisCluster } from './redis-cluster.js';
export { RedisSentinelGroup, type StartRedisSentinelOptions, startRedisSentinel } from './redis-sentinel.js';
export {
  RedisGroup,
  RedisServer,
  type StartRedisOptions,
  startRedis,
  startRedisGroup,
} from './redis-server.js';
export { liveChildPids, stateDir, stopAll, tempRoot } from './registry.js';
export { parseInfo, type RedisCallOptions, RespError, type RespValue, redisCall } from './resp.js';
