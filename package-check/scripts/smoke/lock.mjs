// withLock on a redis-server of its own (redis-server must be installed).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createRedisLock } from '@voelgoed/lock';

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
  const locks = createRedisLock({ urls: [`redis://127.0.0.1:${port}`] });
  const inside = await locks.withLock('resource', async (signal, lock) => {
    if (signal.aborted || typeof lock.fencingToken !== 'number') throw new Error('bad lock');
    return lock.fencingToken;
  });
  const second = await locks.acquire('resource', 1000);
  if (second.fencingToken <= inside) throw new Error('fencing token did not grow');
  await second.release();
  await locks.close();
  console.log('lock: withLock and acquire/release with growing fencing tokens work');
} finally {
  server.kill('SIGKILL');
}
