export { type CapturingLogger, captureLogger, type LoggedLine } from './capture-logger.js';
export {
  ConnectProxy,
  type ProxyConnect,
  type StartConnectProxyOptions,
  startConnectProxy,
} from './connect-proxy.js';
export {
  faults,
  type RetryAfter,
  type SlowBodyOptions,
  type StatusSequenceOptions,
} from './faults.js';
export {
  type HttpHandler,
  type HttpHandlerContext,
  HttpServer,
  type RecordedRequest,
  startHttpServer,
} from './http-server.js';
export { containerRuntimeAvailable } from './minio-container.js';
export {
  NodeChild,
  type NodeChildExit,
  type NodeChildOptions,
  runNodeChild,
  startNodeChild,
  TS_NODE_ARGS,
  tsHooksPath,
} from './node-child.js';
export { getFreePort, isPortFree } from './ports.js';
export { isAlive, sleep, until, waitFor } from './process.js';
export { RADOSGW_PACKAGES, radosgwInstalled, radosgwInstallHint } from './radosgw-process.js';
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
export {
  randomBucketName,
  type S3Capabilities,
  type S3ClientOptions,
  type S3Kind,
  S3Server,
  type StartS3Options,
  startS3,
} from './s3-server.js';
export { type SignS3RequestInput, signS3Request } from './sigv4.js';
export { readAll } from './streams.js';
