/** What a cache miss builds: the value, and whether it may be kept. */
export interface CacheEntry<T> {
  value: T;
  cacheable: boolean;
}

/**
 * Maps a fixed number of raw event fields (strings, numbers, undefined) to a value (a series
 * key) through nested Maps, so the hot path of an event handler does a few Map lookups and no
 * string building. Misses call `create`; entries the guards folded are not kept, and the cache
 * stops growing at `maxEntries` Map entries in all (raw values that all normalise to one label
 * must not grow memory either): past that, misses are built each time.
 */
export class SeriesCache<T> {
  readonly #root = new Map<unknown, unknown>();
  #entries = 0;

  constructor(
    readonly depth: number,
    readonly create: (values: readonly unknown[]) => CacheEntry<T>,
    readonly maxEntries = 10_000,
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
    if (!entry.cacheable || this.#entries + this.depth > this.maxEntries) return entry.value;
    let node = this.#root;
    const last = this.depth - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i]) as Map<unknown, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(values[i], next);
        this.#entries++;
      }
      node = next;
    }
    node.set(values[last], entry.value);
    this.#entries++;
    return entry.value;
  }
}
