import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { getFreePort } from './ports.js';
import { terminate, waitFor } from './process.js';
import { makeTempDir, removeTempDir, trackChild } from './registry.js';
import type { S3Backend } from './s3-types.js';

// Same path from src/ (tests) and dist/ (built; tsup shims __dirname in the ESM build).
const childScript = path.join(__dirname, '..', 'bin', 's3rver-child.cjs');

/** Resolves with the HTTP status of `GET /` (any status means the server answers). */
function probe(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 1 s')));
    req.on('error', reject);
  });
}

async function launch(port: number, dir: string, buckets: string[]): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', childScript, String(port), path.join(dir, 'data'), ...buckets],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], detached: false },
  );
  trackChild(child, 's3rver', dir);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  try {
    await waitFor(`s3rver on port ${port}`, async () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`s3rver exited at start (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
      return (await probe(port)) > 0 ? true : undefined;
    });
  } catch (error) {
    await terminate(child, 'SIGKILL');
    throw error;
  }
  return child;
}

/** s3rver as a child process on a free port, its data in its own temp dir. */
export async function startS3rverProcess(buckets: string[]): Promise<S3Backend> {
  let lastError: unknown;
  // A free port can be taken by someone else before s3rver binds it: retry on a new one.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await getFreePort();
    const dir = makeTempDir(`s3rver-${port}`);
    try {
      const child = await launch(port, dir, buckets);
      return {
        kind: 's3rver',
        endPoint: '127.0.0.1',
        port,
        // s3rver knows one account, S3RVER; it checks the access key but never the secret.
        accessKey: 'S3RVER',
        secretKey: 'S3RVER',
        capabilities: {
          listMultipartUploads: false,
          abortMultipart: false,
          compose: false,
          checksSecretKey: false,
          pagesPast1000: true,
        },
        get pid() {
          return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
        },
        dir,
        async stop() {
          await terminate(child, 'SIGKILL');
          removeTempDir(dir);
        },
      };
    } catch (error) {
      lastError = error;
      removeTempDir(dir);
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
