import type { HttpClient } from '../ports/http.js';
import type { ConformanceCheck } from './shared.js';

/** What each HTTP check runs against. */
export interface HttpConformanceTarget<T extends HttpClient = HttpClient> {
  client: T;
  /** The base URL the client resolves relative URLs against. */
  baseUrl: string;
}

/** One check of the `HttpClient` suite. */
export type HttpCheck = ConformanceCheck<HttpConformanceTarget>;

/** Quick retries: the suite's 503s carry Retry-After: 0. */
export const RETRY = { limit: 3, maxDelayMs: 50 } as const;

/** What `/echo` answers. */
export interface Echo {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  body: string;
  bodyBase64: string;
}

/** What `/sequence/<id>` got, as `/attempts/<id>` reports it. */
export async function attempts(client: HttpClient, id: string) {
  return (await client.get(`/attempts/${id}`)).json<{ count: number; idempotencyKeys: (string | null)[] }>();
}

export { readAll } from './shared.js';
