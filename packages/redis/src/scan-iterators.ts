/**
 * node-redis's scan iterators (`scanIterator`, `hScanIterator`, `hScanValuesIterator`,
 * `hScanNoValuesIterator`, `sScanIterator`, `zScanIterator`), with its names, options and
 * yields: each yields one batch (the reply of one SCAN-family call) until the cursor comes back
 * to 0. They run on the receiver's typed methods, so a `withTypeMapping` view yields Buffers.
 */
import type { TypeMapping } from '@redis/client';
import type { RedisArgument } from './commands.js';
import { invalidArgument } from './errors.js';
import type { NoTypeMapping, RedisCommandMethods } from './typed-commands.js';

type M<TM extends TypeMapping> = RedisCommandMethods<TM>;
type Reply<F> = F extends (...args: never[]) => Promise<infer R> ? R : never;
/** node-redis's iterator option: where to start (default '0'). */
interface From {
  cursor?: RedisArgument;
}

/** The scan iterators of a client (or of a `withTypeMapping` view), as node-redis has them. */
export interface ScanIterators<TM extends TypeMapping = NoTypeMapping> {
  /** Every key (batches of SCAN); `MATCH`, `COUNT`, `TYPE` as for `scan`. Not on a Cluster: scan each master. */
  scanIterator(options?: Parameters<M<TM>['scan']>[1] & From): AsyncGenerator<Reply<M<TM>['scan']>['keys']>;
  hScanIterator(
    key: RedisArgument,
    options?: Parameters<M<TM>['hScan']>[2] & From,
  ): AsyncGenerator<Reply<M<TM>['hScan']>['entries']>;
  hScanValuesIterator(
    key: RedisArgument,
    options?: Parameters<M<TM>['hScan']>[2] & From,
  ): AsyncGenerator<Reply<M<TM>['hScan']>['entries'][number]['value'][]>;
  hScanNoValuesIterator(
    key: RedisArgument,
    options?: Parameters<M<TM>['hScanNoValues']>[2] & From,
  ): AsyncGenerator<Reply<M<TM>['hScanNoValues']>['fields']>;
  sScanIterator(
    key: RedisArgument,
    options?: Parameters<M<TM>['sScan']>[2] & From,
  ): AsyncGenerator<Reply<M<TM>['sScan']>['members']>;
  zScanIterator(
    key: RedisArgument,
    options?: Parameters<M<TM>['zScan']>[2] & From,
  ): AsyncGenerator<Reply<M<TM>['zScan']>['members']>;
}

type Call = (...args: unknown[]) => Promise<{ cursor: RedisArgument } & Record<string, unknown>>;

/** The start cursor, and the options without it (the command's parser does not read it). */
function split(options: unknown): [RedisArgument, unknown] {
  if (typeof options !== 'object' || options === null || !('cursor' in options)) return ['0', options];
  const { cursor, ...rest } = options as From & Record<string, unknown>;
  return [cursor ?? '0', rest];
}

async function* iterate(
  receiver: unknown,
  method: string,
  key: unknown[],
  options: unknown,
  pick: (reply: Record<string, unknown>) => unknown,
  refusal?: Error,
): AsyncGenerator<unknown> {
  // Thrown from the first next(), as a failed call's error would be.
  if (refusal !== undefined) throw refusal;
  const call = (receiver as Record<string, Call>)[method] as Call;
  let [cursor, rest] = split(options);
  do {
    const reply = await call.call(receiver, ...key, cursor, ...(rest === undefined ? [] : [rest]));
    cursor = reply.cursor;
    yield pick(reply);
    // The cursor is a Buffer under a Buffer mapping: compared as text so that the loop ends.
  } while (cursor.toString() !== '0');
}

/** Puts the scan iterators on `prototype`; `cluster(receiver)` says whether SCAN would see one node only. */
export function attachScanIterators(prototype: object, cluster: (receiver: unknown) => boolean): void {
  const methods: Record<string, (this: unknown, ...args: unknown[]) => AsyncGenerator<unknown>> = {
    scanIterator(options) {
      const refusal = cluster(this)
        ? invalidArgument(
            'scanIterator: SCAN on a Cluster walks one node; scan each master with a client of its own',
          )
        : undefined;
      return iterate(this, 'scan', [], options, (r) => r.keys, refusal);
    },
    hScanIterator(key, options) {
      return iterate(this, 'hScan', [key], options, (r) => r.entries);
    },
    hScanValuesIterator(key, options) {
      return iterate(this, 'hScan', [key], options, (r) =>
        (r.entries as { value: unknown }[]).map((entry) => entry.value),
      );
    },
    hScanNoValuesIterator(key, options) {
      return iterate(this, 'hScanNoValues', [key], options, (r) => r.fields);
    },
    sScanIterator(key, options) {
      return iterate(this, 'sScan', [key], options, (r) => r.members);
    },
    zScanIterator(key, options) {
      return iterate(this, 'zScan', [key], options, (r) => r.members);
    },
  };
  for (const [name, value] of Object.entries(methods)) {
    Object.defineProperty(prototype, name, { configurable: true, writable: true, value });
  }
}
