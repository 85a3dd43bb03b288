import { createHash } from 'node:crypto';
import type { RedisClient } from './client.js';
import type { CommandOptions } from './client-types.js';
import type { RedisArgument, RedisReply } from './commands.js';
import { invalidArgument } from './errors.js';

/**
 * A Lua script defined once and run with EVALSHA; when the server does not know it (NOSCRIPT:
 * after a restart, a failover, on a new Cluster node) it is sent again with EVAL, which also
 * loads it. The SHA1 is computed locally, so no SCRIPT LOAD round trip is needed up front.
 */
export class RedisScript {
  readonly sha1: string;

  constructor(
    readonly source: string,
    /** Number of KEYS the script takes; checked on every call when given. */
    readonly numberOfKeys?: number,
  ) {
    if (typeof source !== 'string' || source.trim() === '')
      throw invalidArgument('script source must be non-empty');
    if (numberOfKeys !== undefined && (!Number.isInteger(numberOfKeys) || numberOfKeys < 0)) {
      throw invalidArgument('numberOfKeys must be an integer >= 0');
    }
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Runs the script on `client` with KEYS and ARGV. `resend` is asked, when the server answers
   * NOSCRIPT, whether to send the script again with EVAL (default: always); a caller whose answer
   * is no longer wanted (e.g. a lock attempt already refused) can say no, and gets the NOSCRIPT error.
   */
  run<T = RedisReply>(
    client: Pick<RedisClient, 'command'>,
    keys: readonly RedisArgument[] = [],
    args: readonly RedisArgument[] = [],
    options?: CommandOptions,
    resend?: () => boolean,
  ): Promise<T> {
    const nk = keys.length;
    if (this.numberOfKeys !== undefined && nk !== this.numberOfKeys) {
      return Promise.reject(invalidArgument(`script expects ${this.numberOfKeys} keys, got ${nk}`));
    }
    // Built in one allocation (no spreads): lock managers run scripts on their hot path.
    const command: RedisArgument[] = new Array(3 + nk + args.length);
    command[0] = 'EVALSHA';
    command[1] = this.sha1;
    command[2] = nk;
    for (let i = 0; i < nk; i++) {
      // biome-ignore lint/style/noNonNullAssertion: i < keys.length (hot path: no extra check)
      command[3 + i] = keys[i]!;
    }
    for (let i = 0; i < args.length; i++) {
      // biome-ignore lint/style/noNonNullAssertion: i < args.length (hot path: no extra check)
      command[3 + nk + i] = args[i]!;
    }
    return client.command<T>(command, options).catch((error: unknown) => {
      // Checked by shape, not instanceof: subpath bundles may hold their own copy of the class.
      if ((error as { reply?: unknown })?.reply !== 'NOSCRIPT' || resend?.() === false) throw error;
      const withSource = command.slice();
      withSource[0] = 'EVAL';
      withSource[1] = this.source;
      return client.command<T>(withSource, options);
    });
  }
}

/** Defines a script: `const incrCapped = defineScript(lua, 1); await incrCapped.run(client, [key], [max])`. */
export function defineScript(source: string, numberOfKeys?: number): RedisScript {
  return new RedisScript(source, numberOfKeys);
}
