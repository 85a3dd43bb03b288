// prom-client keeps each series in `metric.hashMap[hash]`, where `hash` is built from the label
// names in sorted order (`name:value,` per label given). Updating that entry directly is what
// lets a bound handle skip the label validation and hashing prom-client does on every observe.
// This is the one file that relies on them, so prom-client is pinned exactly in package.json;
// test/bound-handles.test.ts compares the two paths' exposition and test/vendor-internals.test.ts
// names the internal that moved, so a change of these internals fails a test instead of silently
// losing data.

/** A counter or gauge series. */
export interface ValueEntry {
  labels: Record<string, string>;
  value: number;
}

/** A histogram series (bucket counts are per bucket, keyed by the bound as text). */
export interface HistogramEntry {
  labels: Record<string, string>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** The part of a prom-client metric the fast path touches. */
export interface WithHashMap<E> {
  hashMap: Record<string, E | undefined>;
}

/** prom-client's series key for `labels` (same algorithm as its `hashObject`). */
export function seriesHash(
  sortedLabelNames: readonly string[],
  labels: Readonly<Record<string, string>>,
): string {
  let hash = '';
  for (const name of sortedLabelNames) {
    const value = labels[name];
    if (value === undefined) continue;
    hash += `${name}:${value},`;
  }
  return hash;
}
