import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe } from '@jest/globals';
import { describeObjectStorage } from '@voelgoed/contracts/conformance';
import {
  createFsSignedUrlHandler,
  createFsStorage,
  type FsSignedUrlHandler,
  type FsStorage,
} from '../src/index.js';
import { removeRoots, SECRET, startServer, type TestServer, tempRoot } from './fs-signed-server.js';

// One server for the suite; each fresh storage signs under its own path, served by its own handler.
let server: TestServer;
const handlers = new Map<string, FsSignedUrlHandler>();
let created = 0;

beforeAll(async () => {
  server = await startServer();
  server.listener = (req: IncomingMessage, res: ServerResponse) => {
    const mount = /^\/(s\d+)\//.exec(req.url ?? '')?.[1];
    const handler = mount === undefined ? undefined : handlers.get(mount);
    if (handler) handler(req, res);
    else {
      res.statusCode = 404;
      res.end();
    }
  };
});
afterAll(async () => {
  await server.close();
  removeRoots();
});

describe('conformance', () => {
  describeObjectStorage(
    'FsStorage with signing (signed URLs served by createFsSignedUrlHandler)',
    (): FsStorage => {
      const mount = `s${++created}`;
      const storage = createFsStorage({
        root: tempRoot(),
        signing: { secret: SECRET, baseUrl: `${server.origin}/${mount}/` },
      });
      handlers.set(mount, createFsSignedUrlHandler(storage));
      return storage;
    },
  );
});
