// A real round trip on a redis-server of its own (redis-server must be installed).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createRedisClient, createRedisKeyValueStore } from '@voelgoed/redis';

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
  await client.close();
  console.log('redis: round trip through RedisKeyValueStore works');
} finally {
  server.kill('SIGKILL');
}
