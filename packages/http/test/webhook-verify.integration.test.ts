import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type HttpServer, startHttpServer } from '@voelgoed/testkit';
import { signWebhook, verifyWebhook, WebhookVerificationError } from '../src/index.js';

const SECRET = `whsec_${Buffer.from('verify-test-signing-key-0007').toString('base64')}`;
const OTHER = `whsec_${Buffer.from('some-other-signing-key-00008').toString('base64')}`;
const PAYLOAD = '{"type":"order.paid"}';

/** What `verifyWebhook` said about a received request: its id, or the reason it refused it. */
function verdict(headers: Parameters<typeof verifyWebhook>[0]['headers'], body: Buffer): string {
  try {
    return verifyWebhook({ payload: body, headers, secret: SECRET }).id;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return `refused: ${error.reason}`;
    throw error;
  }
}

/** A fetch `Headers` with every header line the request carried (repeated ones appended). */
function fetchHeaders(rawHeaders: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i < rawHeaders.length; i += 2) headers.append(rawHeaders[i]!, rawHeaders[i + 1]!);
  return headers;
}

describe('verifyWebhook on a request with two webhook-signature header lines', () => {
  let server: HttpServer;
  /** The verdicts on the last request: from `req.headers`, `req.headersDistinct` and fetch `Headers`. */
  let verdicts: Record<string, string> = {};
  /** The `webhook-signature` value of `req.headers`, as Node joined the lines. */
  let joined: unknown;

  beforeAll(async () => {
    server = await startHttpServer();
    server.setHandler((req, res, { body }) => {
      joined = req.headers['webhook-signature'];
      verdicts = {
        headers: verdict(req.headers, body),
        headersDistinct: verdict(req.headersDistinct, body),
        fetch: verdict(fetchHeaders(req.rawHeaders), body),
      };
      res.writeHead(204).end();
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  /** Posts the payload signed for `msg_1`, with one `webhook-signature` line per entry of `lines`. */
  async function post(lines: (signed: string) => string[]): Promise<void> {
    const signed = signWebhook({ payload: PAYLOAD, secret: SECRET, id: 'msg_1' });
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${server.origin}/hooks`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': signed['webhook-id'],
          'webhook-timestamp': signed['webhook-timestamp'],
          // An array: Node sends one header line per entry.
          'webhook-signature': lines(signed['webhook-signature']),
        },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.end(PAYLOAD);
    });
  }

  it('accepts the valid signature, first or second, however the lines are read; refuses wrong or malformed ones', async () => {
    await post((valid) => [valid, 'v1,AAAA']);
    expect(joined).toMatch(/^v1,\S+, v1,AAAA$/);
    expect(verdicts).toEqual({ headers: 'msg_1', headersDistinct: 'msg_1', fetch: 'msg_1' });

    await post((valid) => ['v1,AAAA', valid]);
    expect(verdicts).toEqual({ headers: 'msg_1', headersDistinct: 'msg_1', fetch: 'msg_1' });

    // Fails closed: the valid signature with junk or a comma glued to it, one under another
    // secret, and one without its version.
    const other = signWebhook({ payload: PAYLOAD, secret: OTHER, id: 'msg_1' })['webhook-signature'];
    await post((valid) => [`${valid}junk`, `${valid},`, other, valid.slice(3)]);
    const refused = 'refused: no_matching_signature';
    expect(verdicts).toEqual({ headers: refused, headersDistinct: refused, fetch: refused });
  });
});
