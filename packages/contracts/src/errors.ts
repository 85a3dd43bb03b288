/**
 * The one error type every Voelgoed adapter throws across a port.
 *
 * `instanceof` fails when two copies of this package are loaded (two versions in one
 * node_modules tree), so the class is also branded with a registry symbol: use
 * {@link isInfrastructureError} where copies may differ.
 */
const BRAND: unique symbol = Symbol.for('@voelgoed/error') as never;

/** Options shared by every infrastructure error. */
export interface InfrastructureErrorOptions {
  /** Whether trying the same operation again may succeed. */
  retryable?: boolean;
  /** The underlying error (vendor error, system error). */
  cause?: unknown;
}

export class InfrastructureError extends Error {
  /** Stable, machine-readable code such as `INVALID_ARGUMENT` or `TIMEOUT`. */
  readonly code: string;
  /** Whether trying the same operation again may succeed. */
  readonly retryable: boolean;
  readonly [BRAND] = true;

  constructor(code: string, message: string, options: InfrastructureErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** True for an {@link InfrastructureError} from any copy of this package. */
export function isInfrastructureError(value: unknown): value is InfrastructureError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [BRAND]?: unknown })[BRAND] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
