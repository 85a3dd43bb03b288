// A real round trip on a redis-server of its own (redis-server must be installed).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { BUFFER_REPLIES, createRedisClient, createRedisKeyValueStore } from '@voelgoed/redis';

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const server = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  { stdio: 'ignore' },
);
try {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket.end() && true));
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const client = createRedisClient({ url: `redis://127.0.0.1:${port}` });
  await client.ready();
  const kv = createRedisKeyValueStore(client);
  await kv.set('k', 'v', { ttlMs: 10_000 });
  if ((await kv.get('k')) !== 'v') throw new Error('round trip failed');
  // The typed methods come from node-redis's command definitions, loaded from the installed package.
  await client.hSet('h', { a: '1', b: 2 });
  const h = await client.hGetAll('h');
  if (h.a !== '1' || h.b !== '2') throw new Error(`typed hGetAll gave ${JSON.stringify(h)}`);
  const bytes = Buffer.from([0, 255, 128, 13, 10, 0xc3]);
  await client.set('bin', bytes);
  const back = await client.withTypeMapping(BUFFER_REPLIES).get('bin');
  if (!Buffer.isBuffer(back) || !back.equals(bytes)) throw new Error('binary round trip failed');
  await client.close();
  console.log('redis: round trip through RedisKeyValueStore, typed methods and a binary value work');
} finally {
  server.kill('SIGKILL');
}
