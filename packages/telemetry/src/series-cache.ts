/** What a cache miss builds: the value, and whether it may be kept. */
export interface CacheEntry<T> {
  value: T;
  cacheable: boolean;
}

/**
 * Maps a fixed number of raw event fields (strings, numbers, undefined) to a value (a series
 * key) through nested Maps, so the hot path of an event handler does a few Map lookups and no
 * string building. Misses call `create`; entries the guard folded are not kept, and no node
 * grows past `maxEntriesPerNode` (raw values that all normalise to one label must not grow
 * memory either).
 */
export class SeriesCache<T> {
  readonly #root = new Map<unknown, unknown>();

  constructor(
    readonly depth: number,
    readonly create: (values: readonly unknown[]) => CacheEntry<T>,
    readonly maxEntriesPerNode = 1000,
  ) {}

  get(values: readonly unknown[]): T {
    let node = this.#root;
    const last = this.depth - 1;
    for (let i = 0; i < last; i++) {
      const next = node.get(values[i]);
      if (next === undefined) return this.#miss(values);
      node = next as Map<unknown, unknown>;
    }
    const hit = node.get(values[last]);
    return hit === undefined ? this.#miss(values) : (hit as T);
  }

  #miss(values: readonly unknown[]): T {
    const entry = this.create(values);
    if (!entry.cacheable) return entry.value;
    let node = this.#root;
    const last = this.depth - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i]) as Map<unknown, unknown> | undefined;
      if (next === undefined) {
        if (node.size >= this.maxEntriesPerNode) return entry.value;
        next = new Map();
        node.set(values[i], next);
      }
      node = next;
    }
    if (node.size < this.maxEntriesPerNode) node.set(values[last], entry.value);
    return entry.value;
  }
}
