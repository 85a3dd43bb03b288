// A job enqueued and run by a worker on a redis-server of its own (redis-server must be installed).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createRedisJobQueue } from '@voelgoed/queue';
import { createRedisClient } from '@voelgoed/redis';

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
  const redis = createRedisClient({ url: `redis://127.0.0.1:${port}` });
  const queue = createRedisJobQueue(redis, 'smoke');
  const first = await queue.enqueue({ n: 1 }, { id: 'job-1' });
  const again = await queue.enqueue({ n: 1 }, { id: 'job-1' });
  if (!first.created || again.created) throw new Error('idempotent enqueue did not work');
  const seen = [];
  const worker = queue.process((job) => {
    seen.push([job.id, job.payload.n, job.deliveryToken]);
  });
  await queue.drain({ timeoutMs: 20_000 });
  await worker.close();
  await queue.close();
  await redis.close();
  // Delivery tokens come from the queue's counter: positive, not necessarily 1.
  if (seen.length !== 1 || seen[0][0] !== 'job-1' || seen[0][1] !== 1 || !(seen[0][2] > 0))
    throw new Error(`unexpected deliveries ${JSON.stringify(seen)}`);
  console.log('queue: an idempotent enqueue and a worker delivery work');
} finally {
  server.kill('SIGKILL');
}
