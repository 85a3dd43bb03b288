/** Header names whose values never appear in an error, an event or a log line. */
export const DEFAULT_SENSITIVE_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-access-token',
  'x-csrf-token',
];

/** `scheme://host:port/path` of a URL: no userinfo, no query string, no fragment. */
export function redactUrl(url: URL | string): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<malformed url>';
  }
}

const URL_IN_TEXT =
  /\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#@]*@)?([^\s/?#]*)([^\s?#]*)(?:\?[^\s#]*)?(?:#\S*)?/gi;

/** Removes userinfo, query strings and fragments from every URL found in `text`. */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, '$1$2$3');
}

/** A copy of `headers` with the values of sensitive headers replaced by `[redacted]`. */
export function redactHeaders(
  headers: Readonly<Record<string, string>>,
  sensitive: ReadonlySet<string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = sensitive.has(name.toLowerCase()) ? '[redacted]' : value;
  }
  return out;
}
