/**
 * Which option fields node-redis's argument parser read. node-redis reads an options object by
 * name (`options?.EX`) and ignores every other field, so `redis.set(k, v, { ex: 10 })` (for
 * `EX`) stores a key that never expires, and `{ EX: 10, PX: 5 }` drops `PX`, in silence. The
 * typed methods hand the parser proxies of the plain objects among their arguments that record
 * each field it reads; a field it never read is the caller's mistake.
 *
 * Objects the parser enumerates (`Object.entries` of `hSet`'s field map, `xAdd`'s message,
 * `mSet`'s pairs) are data, not options: enumerating one counts as reading all of its fields.
 */

/** The proxy handler of one object: it records the fields read (`null`: all of them). */
class Tracked implements ProxyHandler<Record<PropertyKey, unknown>> {
  read: PropertyKey[] | null = [];
  readonly proxy: object;

  constructor(
    readonly reads: OptionReads,
    readonly target: Record<PropertyKey, unknown>,
    readonly path: string,
    readonly depth: number,
  ) {
    this.proxy = new Proxy(target, this);
  }

  get(target: Record<PropertyKey, unknown>, field: PropertyKey, receiver: unknown): unknown {
    this.read?.push(field);
    const inner = Reflect.get(target, field, receiver);
    if (Number.isNaN(inner)) this.reads.nanFields.push(`${this.path}.${String(field)}`);
    return typeof inner === 'object' && inner !== null && typeof field === 'string'
      ? this.reads.wrap(inner, `${this.path}.${field}`, this.depth + 1)
      : inner;
  }

  has(target: Record<PropertyKey, unknown>, field: PropertyKey): boolean {
    this.read?.push(field);
    return Reflect.has(target, field);
  }

  getOwnPropertyDescriptor(
    target: Record<PropertyKey, unknown>,
    field: PropertyKey,
  ): PropertyDescriptor | undefined {
    this.read?.push(field);
    return Reflect.getOwnPropertyDescriptor(target, field);
  }

  ownKeys(target: Record<PropertyKey, unknown>): ArrayLike<string | symbol> {
    this.read = null;
    return Reflect.ownKeys(target);
  }
}

/** Records reads of the plain objects (at any depth, arrays included) of a call's arguments. */
export class OptionReads {
  readonly #tracked: Tracked[] = [];
  /** Fields the parser read whose value is NaN (node-redis would send the text "NaN"). */
  readonly nanFields: string[] = [];

  /**
   * The arguments with their plain objects replaced by recording proxies, or `undefined` when
   * they hold none (nothing to check: the parser gets them as they are).
   */
  static wrapArgs(args: readonly unknown[]): { reads: OptionReads; args: unknown[] } | undefined {
    let reads: OptionReads | undefined;
    let wrapped: unknown[] | undefined;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (typeof arg !== 'object' || arg === null || Buffer.isBuffer(arg)) continue;
      reads ??= new OptionReads();
      const w = reads.wrap(arg, `argument ${i + 1}`, 0);
      if (w === arg) continue;
      wrapped ??= args.slice();
      wrapped[i] = w;
    }
    return reads === undefined || wrapped === undefined ? undefined : { reads, args: wrapped };
  }

  /**
   * The fields the parser never read, as paths (`argument 3.ex`). Undefined and `false` fields
   * are no mistake: they ask for nothing (`{ NX: isNew, XX: !isNew }` leaves one unread).
   */
  unread(): string[] {
    const out: string[] = [];
    for (const { target, path, read } of this.#tracked) {
      if (read === null) continue;
      for (const field in target) {
        const value = target[field];
        if (value !== undefined && value !== false && !read.includes(field)) out.push(`${path}.${field}`);
      }
    }
    return out;
  }

  /** @internal a plain object's proxy (one per object), an array holding some copied, else as is. */
  wrap(value: object, path: string, depth: number): unknown {
    if (depth > 4) return value;
    if (Array.isArray(value)) {
      // Large arrays of keys or members hold no objects: only copy one that does.
      if (!value.some(isPlainObject)) return value;
      return value.map((element, i) =>
        typeof element === 'object' && element !== null
          ? this.wrap(element, `${path}[${i}]`, depth + 1)
          : element,
      );
    }
    if (!isPlainObject(value)) return value;
    for (const t of this.#tracked) if (t.target === value) return t.proxy;
    const tracked = new Tracked(this, value, path, depth);
    this.#tracked.push(tracked);
    return tracked.proxy;
  }
}

function isPlainObject(value: unknown): value is Record<PropertyKey, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
