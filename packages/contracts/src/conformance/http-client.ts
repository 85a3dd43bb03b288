import type { HttpClient } from '../ports/http.js';
import { httpClientBadInputCheck } from './http-client-bad-input.js';
import { cancellationChecks, statusChecks, validationChecks } from './http-client-errors.js';
import { concurrencyChecks, requestChecks, responseChecks, streamChecks } from './http-client-exchange.js';
import { idempotencyKeyChecks, retryChecks } from './http-client-retries.js';
import type { HttpConformanceTarget } from './http-client-support.js';
import {
  type ConformanceHttpHandler,
  type ConformanceHttpServer,
  createConformanceHttpHandler,
  startConformanceHttpServer,
} from './http-conformance-server.js';
import { lifecycleChecks } from './lifecycle.js';
import {
  type ConformanceCheck,
  type ConformanceOptions,
  freshImpl,
  registerTest,
  resolveRunner,
  suiteArguments,
} from './shared.js';

export type { HttpConformanceTarget } from './http-client-support.js';

/** What the factory of {@link describeHttpClient} is given. */
export interface HttpConformanceContext {
  /** `http://127.0.0.1:<port>` of a real local server serving `handler`: give it to a real client. */
  baseUrl: string;
  /** The suite's routes, for a fake client that does not go over the network. */
  handler: ConformanceHttpHandler;
}

/** Options of {@link describeHttpClient}. */
export type HttpClientConformanceOptions<T extends HttpClient = HttpClient> = ConformanceOptions<T>;

/**
 * The checks of {@link describeHttpClient}, each a named `(target) => Promise<void>` where the
 * target's client talks to the conformance routes. Names are stable (see `findCheck`).
 */
export const httpClientChecks: readonly ConformanceCheck<HttpConformanceTarget>[] = [
  ...responseChecks(),
  ...requestChecks(),
  ...statusChecks(),
  ...retryChecks(),
  ...idempotencyKeyChecks(),
  ...cancellationChecks(),
  ...validationChecks(),
  ...streamChecks(),
  ...concurrencyChecks(),
  httpClientBadInputCheck(),
  ...lifecycleChecks<HttpConformanceTarget>((target) => target.client),
];

/**
 * Registers the `HttpClient` conformance suite. Each test starts a local `node:http` server
 * serving the conformance routes (stopped after the test); `factory` gets its `baseUrl` (for a
 * real client) and the `handler` itself (for a fake one) and returns a fresh client.
 *
 * @example
 * describeHttpClient('FakeHttpClient', ({ baseUrl, handler }) => new FakeHttpClient({ baseUrl, handler }));
 * describeHttpClient('GotHttpClient', ({ baseUrl }) => createHttpClient({ baseUrl }));
 */
export function describeHttpClient<T extends HttpClient>(
  factory: (context: HttpConformanceContext) => T | Promise<T>,
  options?: HttpClientConformanceOptions<T>,
): void;
export function describeHttpClient<T extends HttpClient>(
  name: string,
  factory: (context: HttpConformanceContext) => T | Promise<T>,
  options?: HttpClientConformanceOptions<T>,
): void;
export function describeHttpClient(...args: unknown[]): void {
  const what = 'describeHttpClient';
  const { name, factory, options } = suiteArguments<
    (context: HttpConformanceContext) => HttpClient | Promise<HttpClient>,
    HttpClientConformanceOptions
  >(what, args);
  const runner = resolveRunner(options.runner, what);
  const { describe } = runner;
  describe(name ?? 'HttpClient conformance', () => {
    const handler = createConformanceHttpHandler();
    // A server per test, started and stopped by the same hooks as the client: the runner's
    // per-suite hooks differ in name (beforeAll in Jest and Vitest, before in node:test).
    const current = freshImpl<{ server: ConformanceHttpServer; client: HttpClient }>(
      async () => {
        const server = await startConformanceHttpServer(handler);
        try {
          return { server, client: await factory({ baseUrl: server.baseUrl, handler }) };
        } catch (error) {
          await server.close();
          throw error;
        }
      },
      {
        runner,
        teardown: async ({ server, client }) => {
          try {
            await options.teardown?.(client);
          } finally {
            await server.close();
          }
        },
      },
    );
    for (const check of httpClientChecks) {
      registerTest(
        runner,
        check.name,
        () => check.run({ client: current().client, baseUrl: current().server.baseUrl }),
        check.timeoutMs,
      );
    }
    options.additionalTests?.(() => current().client, runner);
  });
}
