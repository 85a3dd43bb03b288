import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FsSignedUrlHandler } from '../src/index.js';

/** A secret of the minimum length (32 bytes). */
export const SECRET = 'k'.repeat(32);

/** A local node:http server whose listener can be set after it is listening (URLs need its port). */
export interface TestServer {
  origin: string;
  /** What answers requests (default: 500). */
  listener: RequestListener;
  close(): Promise<void>;
}

export async function startServer(): Promise<TestServer> {
  const state: { listener: RequestListener } = {
    listener: (_req, res) => {
      res.statusCode = 500;
      res.end('no listener');
    },
  };
  const server: Server = createServer((req, res) => state.listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    get listener() {
      return state.listener;
    },
    set listener(listener: RequestListener) {
      state.listener = listener;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves `handler` as `node:http` would (no `next`). */
export function plain(handler: FsSignedUrlHandler): RequestListener {
  return (req, res) => handler(req, res);
}

/** A raw request with the path sent as written (fetch would resolve '..' and '%2e%2e' first). */
export function rawRequest(
  origin: string,
  rawPath: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: rawPath, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A fresh temporary root; removed by `removeRoots`. */
const roots: string[] = [];
export function tempRoot(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-fs-signed-'));
  roots.push(root);
  return root;
}
export function removeRoots(): void {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
}
