import { InvalidArgumentError } from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from './errors.js';

const P = MESSAGE_PREFIX;

/** An RFC 9110 token: the header names Node and undici send. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What Node and undici refuse in a value: control characters but tab, DEL, anything past latin1. */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const DIGITS = /^\d+$/;
/** Framing and hop-by-hop headers the transports manage themselves (undici refuses them). */
const MANAGED = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect']);

/** Header values a caller may give: numbers and booleans are sent as text (as got does). */
export type HeaderValue = string | number | boolean;

/**
 * Checks one header as the transports would, and returns its value as text. Refused with
 * `InvalidArgumentError` before any attempt, naming `what` (and the name when it is valid) but
 * never the value: it may be a secret.
 */
export function headerValue(name: string, value: unknown, what: string): string {
  const lower = name.toLowerCase();
  // `__proto__` would be dropped by the plain objects headers travel in.
  if (!HEADER_NAME.test(name) || lower === '__proto__') {
    throw new InvalidArgumentError(`${P} ${what} holds an invalid header name`);
  }
  let text: string;
  if (typeof value === 'string') text = value;
  else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') {
    text = String(value);
  } else {
    throw new InvalidArgumentError(
      `${P} ${what}: header "${lower}" must be a string, a finite number or a boolean, got ${value === null ? 'null' : typeof value}`,
    );
  }
  if (INVALID_VALUE.test(text)) {
    throw new InvalidArgumentError(
      `${P} ${what}: header "${lower}" has an invalid value (CR, LF, NUL, another control character or a character past latin1)`,
    );
  }
  if (MANAGED.has(lower)) {
    throw new InvalidArgumentError(`${P} ${what}: header "${lower}" cannot be set, the transport manages it`);
  }
  if (lower === 'content-length' && !DIGITS.test(text)) {
    throw new InvalidArgumentError(`${P} ${what}: header "content-length" must be a non-negative integer`);
  }
  if (lower === 'connection' && !text.split(',').every((token) => HEADER_NAME.test(token.trim()))) {
    throw new InvalidArgumentError(`${P} ${what}: header "connection" must be a list of tokens`);
  }
  return text;
}

/** Whether `value` is a plain object (not an array, a string, a Map or a class instance). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks a headers object (`what` names it in messages) and writes its own entries into `target`
 * under lower-case names; an `undefined` value removes the name from `target`.
 */
export function mergeHeaders(target: Record<string, string>, headers: unknown, what: string): void {
  if (headers === undefined) return;
  if (!isPlainObject(headers)) {
    throw new InvalidArgumentError(`${P} ${what} must be a plain object of header names to values`);
  }
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) delete target[name.toLowerCase()];
    else target[name.toLowerCase()] = headerValue(name, value, what);
  }
}

/** Checks a header name given as an option (`idempotencyHeader`) and returns it lower-cased. */
export function headerName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !HEADER_NAME.test(name) || name.toLowerCase() === '__proto__') {
    throw new InvalidArgumentError(`${P} ${what} must be a valid header name`);
  }
  const lower = name.toLowerCase();
  if (MANAGED.has(lower) || lower === 'content-length' || lower === 'connection' || lower === 'host') {
    throw new InvalidArgumentError(`${P} ${what} cannot be "${lower}"`);
  }
  return lower;
}
