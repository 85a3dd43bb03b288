import { channel } from 'node:diagnostics_channel';
import { Channels, type RedisCommandEvent } from '@voelgoed/contracts';
import { commandName, type RedisArgument } from './commands.js';

/** `voelgoed:redis:command`: one event per command (its name only, never keys or values). */
export const commandChannel = channel(Channels.redisCommand);

export function publishCommand(
  args: readonly RedisArgument[],
  target: string,
  started: number,
  errorCode: string | undefined,
): void {
  const event: RedisCommandEvent = {
    command: commandName(args),
    target,
    durationMs: performance.now() - started,
    outcome: errorCode === undefined ? 'ok' : 'error',
    ...(errorCode === undefined ? {} : { errorCode }),
  };
  commandChannel.publish(event);
}
