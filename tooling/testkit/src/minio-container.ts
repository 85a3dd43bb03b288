import { randomBytes } from 'node:crypto';
import type { S3Backend } from './s3-types.js';

let probe: Promise<{ available: boolean; reason: string }> | undefined;

/**
 * Whether a Docker engine answers testcontainers (asked once per process). testcontainers is
 * imported only here, lazily, so that nothing else pays for loading it.
 */
export function containerRuntimeAvailable(): Promise<{ available: boolean; reason: string }> {
  probe ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      return { available: true, reason: 'a container runtime answered' };
    } catch (error) {
      return { available: false, reason: error instanceof Error ? error.message : String(error) };
    }
  })();
  return probe;
}

/** MinIO (`server /data`) in a container; testcontainers' Ryuk removes it if this process dies. */
export async function startMinioContainer(image: string): Promise<S3Backend> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const accessKey = 'voelgoed-test';
  const secretKey = randomBytes(16).toString('hex');
  const container = await new GenericContainer(image)
    .withCommand(['server', '/data'])
    .withEnvironment({ MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey })
    .withExposedPorts(9000)
    .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
    .start();
  const host = container.getHost();
  return {
    kind: 'minio',
    endPoint: host === 'localhost' ? '127.0.0.1' : host,
    port: container.getMappedPort(9000),
    accessKey,
    secretKey,
    capabilities: {
      listMultipartUploads: true,
      abortMultipart: true,
      compose: true,
      checksSecretKey: true,
      pagesPast1000: true,
    },
    pid: undefined,
    dir: undefined,
    async stop() {
      await container.stop({ remove: true, removeVolumes: true });
    },
  };
}
