import { afterEach, describe, expect, it } from '@jest/globals';
import {
  type ConformanceCheck,
  distributedLockChecks,
  findCheck,
  keyValueStoreChecks,
  memoryMetricsHarness,
  metricsChecks,
} from '../src/conformance.js';
import { MemoryKeyValueStore } from '../src/memory.js';
import { BrokenKeyValueStore, type KeyValueDefects } from './support/broken-key-value-stores.js';
import { brokenMetricsHarness, type MetricsDefects } from './support/broken-metrics.js';
import { type LockDefects, NaiveLock } from './support/naive-lock.js';

/** Runs one named check; a check that hangs counts as failing (the suite would time out). */
async function runCheck<T>(checks: readonly ConformanceCheck<T>[], name: string, impl: T): Promise<void> {
  const check = findCheck(checks, name);
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`check hung: ${name}`)), 8000);
  });
  try {
    await Promise.race([check.run(impl), hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the DistributedLock suite fails a broken lock', () => {
  const locks: NaiveLock[] = [];
  const naive = (defects: LockDefects = {}) => {
    const lock = new NaiveLock(defects);
    locks.push(lock);
    return lock;
  };
  afterEach(() => {
    for (const lock of locks.splice(0)) lock.dispose();
  });

  const cases: [keyof LockDefects, string[]][] = [
    [
      'ignoreOwner',
      [
        'a lock is not released by a non-owner',
        'a lock is not extended by a non-owner (the old holder after a takeover)',
        'an expired lock can be taken by another, and its late release leaves the new holder alone',
      ],
    ],
    [
      'noExpiry',
      [
        'an expired lock can be taken by another, and its late release leaves the new holder alone',
        'a lock is no longer held once its TTL has passed',
        'extend of an expired lock rejects LOCK_LOST',
      ],
    ],
    [
      'constantFencing',
      [
        'fencing tokens strictly increase per resource',
        '50 concurrent withLock on one resource never overlap, all complete, tokens increase',
      ],
    ],
    ['sharedValue', ['owner values are unique across acquisitions']],
    ['partialMulti', ['a multi-resource acquire is all or nothing']],
    ['keepOnThrow', ["withLock releases the lock when fn throws and rejects with fn's error"]],
    ['noRenewal', ['withLock keeps the lock alive past its TTL while fn runs']],
    [
      'noSettleCheck',
      [true, false].map(
        (autoExtend) =>
          `withLock rejects LOCK_LOST when fn's own synchronous work outlasts the TTL, though no timer ran (autoExtend ${autoExtend})`,
      ),
    ],
    [
      'noValidation',
      [
        'bad input to acquire rejects INVALID_ARGUMENT',
        'bad input to release, extend and withLock rejects INVALID_ARGUMENT',
        'random junk in every argument gives INVALID_ARGUMENT or a success, never a plain error, a hang or a changed neighbour',
      ],
    ],
    [
      'ignoreAbort',
      [
        'aborting the signal stops waiting with LOCK_TIMEOUT (cause: the reason) and leaves nothing held',
        'an already aborted signal rejects LOCK_TIMEOUT (cause: the reason)',
      ],
    ],
  ];

  for (const [defect, names] of cases) {
    for (const name of names) {
      it(`${defect}: fails "${name}"`, async () => {
        await expect(runCheck(distributedLockChecks, name, naive({ [defect]: true }))).rejects.toThrow();
      });
    }
  }

  // Control: without defects the same simple lock passes every check, so the failures above
  // come from the defects, not from the naive lock being naive.
  for (const check of distributedLockChecks) {
    it(`control: a defect-free NaiveLock passes "${check.name}"`, async () => {
      await runCheck(distributedLockChecks, check.name, naive());
    });
  }
});

describe('the KeyValueStore suite fails a broken store', () => {
  const cases: [keyof KeyValueDefects, string[]][] = [
    [
      'ignoreTtl',
      [
        'set with ttlMs expires the key',
        'incr with ttlMs sets the TTL only when it creates the key',
        'expire sets a TTL on an existing key and resolves false for a missing one',
        'mset takes an object or pairs, optionally with one TTL for all',
      ],
    ],
    [
      'ignoreMode',
      ['NX sets only a missing key', 'XX sets only an existing key', 'concurrent set NX: exactly one wins'],
    ],
    ['incrAlwaysSetsTtl', ['incr with ttlMs sets the TTL only when it creates the key']],
    ['racyIncr', ['concurrent incr loses no update']],
    ['lenientIncr', ['incr of a value that is not an integer rejects with an InfrastructureError']],
    [
      'swallowInvalidArgument',
      [
        'bad keys reject INVALID_ARGUMENT in every method',
        'bad TTLs, values and increments reject INVALID_ARGUMENT and change nothing',
      ],
    ],
  ];
  for (const [defect, names] of cases) {
    for (const name of names) {
      it(`${defect}: fails "${name}"`, async () => {
        await expect(
          runCheck(keyValueStoreChecks, name, new BrokenKeyValueStore({ [defect]: true })),
        ).rejects.toThrow();
        // Control: the same check passes without the defect.
        await runCheck(keyValueStoreChecks, name, new BrokenKeyValueStore({}));
        await runCheck(keyValueStoreChecks, name, new MemoryKeyValueStore());
      });
    }
  }
});

describe('the Metrics suite fails a broken implementation', () => {
  const cases: [keyof MetricsDefects, string[]][] = [
    [
      'dropLabels',
      [
        'labels keep series apart; number and boolean label values read back as strings',
        'a gauge keeps the last value set, per label set',
        'a histogram counts and sums what was recorded, per label set',
        'an observable gauge reports what its callback observes at read time',
      ],
    ],
    [
      'ignoreNegativeCounter',
      ['a negative or non-finite counter increment throws INVALID_ARGUMENT and counts nothing'],
    ],
    ['ignoreKindClash', ['the same name with another kind throws INVALID_ARGUMENT']],
    [
      'histogramKeepsLast',
      [
        'a histogram counts and sums what was recorded, per label set',
        'asking twice for the same name and kind gives the same instrument',
      ],
    ],
  ];
  for (const [defect, names] of cases) {
    for (const name of names) {
      it(`${defect}: fails "${name}"`, async () => {
        await expect(
          runCheck(metricsChecks, name, brokenMetricsHarness({ [defect]: true })),
        ).rejects.toThrow();
        await runCheck(metricsChecks, name, brokenMetricsHarness({}));
        await runCheck(metricsChecks, name, memoryMetricsHarness());
      });
    }
  }
});
