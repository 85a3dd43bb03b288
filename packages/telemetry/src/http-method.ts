// OpenTelemetry: http.request.method is one of these, anything else is `_OTHER`.
const METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

/** The OpenTelemetry `http.request.method` of a method: a known one in upper case, else `_OTHER`. */
export function knownHttpMethod(value: unknown): string {
  const upper = typeof value === 'string' ? value.toUpperCase() : '';
  return METHODS.has(upper) ? upper : '_OTHER';
}
