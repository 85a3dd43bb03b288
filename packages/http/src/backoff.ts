/**
 * Exponential backoff with full jitter: a random wait in [0, min(cap, base * 2^(retry-1))].
 * `retry` is 1 for the first retry.
 */
export function fullJitterDelay(retry: number, baseMs: number, capMs: number, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
/** Obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT` (a two-digit year). */
const RFC_850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`,
);
/** Obsolete asctime: `Sun Nov  6 08:49:37 1994` (the day padded with a space). */
const ASCTIME = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTH}) ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** A UTC time from its parts (`time`: hour, minute, second), or NaN when one is out of range (31 Feb, 25:00). */
function utc(year: number, month: string | undefined, day: number, time: string[]): number {
  const m = MONTHS.indexOf(month ?? '');
  const [hour, minute, second] = time.map(Number) as [number, number, number];
  if (hour > 23 || minute > 59 || second > 60) return Number.NaN;
  // A leap second (:60) is read as :59.
  const at = Date.UTC(year, m, day, hour, minute, Math.min(second, 59));
  const date = new Date(at);
  // Date.UTC rolls 31 Feb over into March: such a date is malformed, not a later day.
  return date.getUTCMonth() === m && date.getUTCDate() === day ? at : Number.NaN;
}

/**
 * An HTTP-date (RFC 9110 section 5.6.7) in ms since the epoch: IMF-fixdate, or the obsolete RFC 850 and
 * asctime forms recipients must still accept; NaN for anything else. Not `Date.parse`, which
 * reads "-1", "2.5" or "1, 2" as dates in 2001.
 */
export function parseHttpDate(text: string, now = Date.now()): number {
  const imf = IMF_FIXDATE.exec(text);
  if (imf) return utc(Number(imf[3]), imf[2], Number(imf[1]), imf.slice(4));
  const rfc850 = RFC_850.exec(text);
  if (rfc850) {
    // A two-digit year more than 50 years ahead is the most recent past year ending so (RFC 9110).
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(rfc850[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, rfc850[2], Number(rfc850[1]), rfc850.slice(4));
  }
  const asctime = ASCTIME.exec(text);
  if (asctime) return utc(Number(asctime[6]), asctime[1], Number(asctime[2]), asctime.slice(3, 6));
  return Number.NaN;
}

/**
 * Parses a `Retry-After` value into ms from `now`: delay-seconds (digits only) or an HTTP-date
 * ({@link parseHttpDate}); undefined when absent or anything else (normal backoff applies then).
 * A date in the past gives 0.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = parseHttpDate(trimmed, now);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
