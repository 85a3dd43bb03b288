import { createHmac } from 'node:crypto';
import { describe, expect, it, jest } from '@jest/globals';
import {
  createWebhookSender,
  isHttpError,
  isPublicAddress,
  isValidHmacSignature,
  signWebhook,
  verifyHmacSignature,
  verifyWebhook,
  WebhookVerificationError,
} from '../src/index.js';
import { nextWebhookDelay } from '../src/webhooks/deliver.js';

const SECRET = `whsec_${Buffer.from('a-very-secret-signing-key-0001').toString('base64')}`;
const OLD_SECRET = `whsec_${Buffer.from('the-previous-signing-key-0000').toString('base64')}`;
const PAYLOAD = '{"type":"order.paid","amount":1200}';

function failure(fn: () => unknown): WebhookVerificationError {
  try {
    fn();
  } catch (error) {
    return error as WebhookVerificationError;
  }
  throw new Error('expected verification to fail');
}

describe('Standard Webhooks signing and verification', () => {
  it('round-trips: sign → verify', () => {
    const headers = signWebhook({ payload: PAYLOAD, secret: SECRET, id: 'msg_1' });
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const result = verifyWebhook({ payload: PAYLOAD, headers, secret: SECRET });
    expect(result.id).toBe('msg_1');
  });

  it('matches the Standard Webhooks reference vector', () => {
    // From the Standard Webhooks spec test vectors.
    const headers = signWebhook({
      payload: '{"test": 2432232314}',
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: new Date(1614265330 * 1000),
    });
    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('accepts raw bytes, any header case, and Node-style header arrays', () => {
    const bytes = new TextEncoder().encode(PAYLOAD);
    const signed = signWebhook({ payload: bytes, secret: SECRET });
    const headers = {
      'Webhook-Id': signed['webhook-id'],
      'WEBHOOK-TIMESTAMP': signed['webhook-timestamp'],
      'webhook-signature': [signed['webhook-signature']],
    };
    expect(() => verifyWebhook({ payload: bytes, headers, secret: SECRET })).not.toThrow();
  });

  it('takes entries separated by a comma, with or without spaces, as joined header lines are', () => {
    const signed = signWebhook({ payload: PAYLOAD, secret: SECRET, id: 'msg_1' });
    const valid = signed['webhook-signature'];
    const verify = (signature: string) =>
      verifyWebhook({
        payload: PAYLOAD,
        headers: { ...signed, 'webhook-signature': signature },
        secret: SECRET,
      });
    for (const signature of [
      `v1,AAAA,${valid}`,
      `${valid},v1,AAAA`,
      `v1,AAAA ,  ${valid}`,
      `${valid},\tv1,AAAA`,
    ]) {
      expect(verify(signature).id).toBe('msg_1');
    }
    // Glued to junk or a stray comma, or with no entry of its own, the valid one matches nothing.
    for (const signature of [`${valid},`, `${valid},junk`, `x${valid}`, `v1,,${valid.slice(3)}`]) {
      expect(failure(() => verify(signature)).reason).toBe('no_matching_signature');
    }
  });

  it('rejects a tampered body', () => {
    const headers = signWebhook({ payload: PAYLOAD, secret: SECRET });
    const error = failure(() =>
      verifyWebhook({ payload: PAYLOAD.replace('1200', '1'), headers, secret: SECRET }),
    );
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect(error.reason).toBe('no_matching_signature');
    expect(isHttpError(error, 'SIGNATURE_INVALID')).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.message).not.toContain(SECRET);
  });

  it('rejects a tampered id or timestamp', () => {
    const headers = signWebhook({ payload: PAYLOAD, secret: SECRET });
    const otherId = { ...headers, 'webhook-id': 'msg_other' };
    expect(failure(() => verifyWebhook({ payload: PAYLOAD, headers: otherId, secret: SECRET })).reason).toBe(
      'no_matching_signature',
    );
    const shifted = { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) };
    expect(failure(() => verifyWebhook({ payload: PAYLOAD, headers: shifted, secret: SECRET })).reason).toBe(
      'no_matching_signature',
    );
  });

  it('rejects stale and future timestamps outside the tolerance', () => {
    const signedAt = new Date('2026-01-01T00:00:00Z');
    const headers = signWebhook({ payload: PAYLOAD, secret: SECRET, timestamp: signedAt });
    const at = (s: number) => new Date(signedAt.getTime() + s * 1000);
    expect(() => verifyWebhook({ payload: PAYLOAD, headers, secret: SECRET, now: at(300) })).not.toThrow();
    expect(
      failure(() => verifyWebhook({ payload: PAYLOAD, headers, secret: SECRET, now: at(301) })).reason,
    ).toBe('timestamp_too_old');
    expect(
      failure(() => verifyWebhook({ payload: PAYLOAD, headers, secret: SECRET, now: at(-301) })).reason,
    ).toBe('timestamp_too_new');
    expect(() =>
      verifyWebhook({ payload: PAYLOAD, headers, secret: SECRET, now: at(1000), toleranceS: 2000 }),
    ).not.toThrow();
  });

  it('supports secret rotation on both sides', () => {
    // Receiver holds both while senders move over.
    const signedWithOld = signWebhook({ payload: PAYLOAD, secret: OLD_SECRET });
    expect(() =>
      verifyWebhook({ payload: PAYLOAD, headers: signedWithOld, secret: [SECRET, OLD_SECRET] }),
    ).not.toThrow();
    expect(
      failure(() => verifyWebhook({ payload: PAYLOAD, headers: signedWithOld, secret: SECRET })).reason,
    ).toBe('no_matching_signature');
    // Sender signs with both; a receiver with either verifies.
    const signedWithBoth = signWebhook({ payload: PAYLOAD, secret: [SECRET, OLD_SECRET] });
    expect(signedWithBoth['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() =>
      verifyWebhook({ payload: PAYLOAD, headers: signedWithBoth, secret: OLD_SECRET }),
    ).not.toThrow();
    expect(() => verifyWebhook({ payload: PAYLOAD, headers: signedWithBoth, secret: SECRET })).not.toThrow();
  });

  it('rejects missing headers, malformed timestamps and bad secrets', () => {
    expect(failure(() => verifyWebhook({ payload: PAYLOAD, headers: {}, secret: SECRET })).reason).toBe(
      'missing_headers',
    );
    const headers = { ...signWebhook({ payload: PAYLOAD, secret: SECRET }), 'webhook-timestamp': 'soon' };
    expect(failure(() => verifyWebhook({ payload: PAYLOAD, headers, secret: SECRET })).reason).toBe(
      'bad_timestamp',
    );
    expect(() => signWebhook({ payload: PAYLOAD, secret: '' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => signWebhook({ payload: PAYLOAD, secret: 'whsec_not base64!' })).toThrow(/not base64/);
    expect(() => signWebhook({ payload: PAYLOAD, secret: [] })).toThrow(/at least one/);
  });
});

describe('verifyHmacSignature', () => {
  const body = '{"event":"charge.succeeded"}';
  const key = 'provider-shared-secret';

  it('verifies SHA-512 hex, SHA-256 base64 and prefixed signatures', () => {
    const sha512 = createHmac('sha512', key).update(body).digest('hex');
    expect(verifyHmacSignature(body, sha512, key, { algorithm: 'sha512' })).toBeUndefined();
    expect(verifyHmacSignature(body, sha512.toUpperCase(), key, { algorithm: 'sha512' })).toBeUndefined();
    const sha256b64 = createHmac('sha256', key).update(body).digest('base64');
    expect(verifyHmacSignature(Buffer.from(body), sha256b64, key, { encoding: 'base64' })).toBeUndefined();
    const prefixed = `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
    expect(verifyHmacSignature(body, prefixed, key, { prefix: 'sha256=' })).toBeUndefined();
    expect(isValidHmacSignature(body, prefixed, key, { prefix: 'sha256=' })).toBe(true);
  });

  it("takes Node's header value as it comes: one string, or an array of exactly one", () => {
    const signature = createHmac('sha256', key).update(body).digest('hex');
    const headers: Record<string, string | string[] | undefined> = { 'x-signature': [signature] };
    expect(verifyHmacSignature(body, headers['x-signature'], key)).toBeUndefined();
    const twice = failure(() => verifyHmacSignature(body, [signature, signature], key));
    expect(twice.reason).toBe('no_matching_signature');
    expect(failure(() => verifyHmacSignature(body, [], key)).reason).toBe('missing_signature');
    expect(isValidHmacSignature(body, [signature, signature], key)).toBe(false);
  });

  it('rejects tampered bodies, wrong secrets, wrong lengths and missing signatures; accepts rotated secrets', () => {
    const signature = createHmac('sha256', key).update(body).digest('hex');
    const reasons = [
      () => verifyHmacSignature(`${body} `, signature, key),
      () => verifyHmacSignature(body, signature, 'other'),
      () => verifyHmacSignature(body, signature.slice(2), key),
      () => verifyHmacSignature(body, signature, key, { prefix: 'sha256=' }),
      () => verifyHmacSignature(body, undefined, key),
      () => verifyHmacSignature(body, '', key),
    ].map((fn) => {
      const error = failure(fn);
      expect(error).toBeInstanceOf(WebhookVerificationError);
      expect(isHttpError(error, 'SIGNATURE_INVALID')).toBe(true);
      expect(error.message).not.toContain(key);
      return error.reason;
    });
    expect(reasons).toEqual([
      'no_matching_signature',
      'no_matching_signature',
      'no_matching_signature',
      'no_matching_signature',
      'missing_signature',
      'missing_signature',
    ]);
    expect(isValidHmacSignature(body, signature, 'other')).toBe(false);
    expect(isValidHmacSignature(body, undefined, key)).toBe(false);
    expect(verifyHmacSignature(body, signature, ['new-secret', key])).toBeUndefined();
    expect(isValidHmacSignature(body, signature, ['new-secret', key])).toBe(true);
    expect(() => verifyHmacSignature(body, signature, '')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('isPublicAddress (SSRF guard)', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:8.8.8.8',
    '64:ff9b::a9fe:a9fe',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  // Transition addresses can carry a private IPv4 address: refused outright as special-purpose,
  // whatever IPv4 address they carry (a public one included), not decoded.
  it.each([
    ['6to4 of 127.0.0.1', '2002:7f00:1::1'],
    ['6to4 of 169.254.169.254', '2002:a9fe:a9fe::'],
    ['6to4 of a public address', '2002:808:808::1'],
    ['Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
    ['Teredo, short form', '2001::1'],
    ['IPv4-translated 127.0.0.1 (RFC 2765)', '::ffff:0:7f00:1'],
    ['IPv4-translated 10.0.0.1, dotted', '::ffff:0:10.0.0.1'],
    ['the 6to4 relay anycast', '192.88.99.1'],
    ['the end of the 6to4 relay range', '192.88.99.255'],
  ])('refuses %s (%s), while its neighbours stay public', (_name, address) => {
    expect(isPublicAddress(address)).toBe(false);
    for (const neighbour of ['2001:4860:4860::8888', '2003::1', '192.88.98.255', '192.88.100.1']) {
      expect(isPublicAddress(neighbour)).toBe(true);
    }
  });

  it('refuses to deliver a webhook to a 6to4 address before connecting', async () => {
    const sender = createWebhookSender({ secret: SECRET, schedule: [], timeoutMs: 2_000 });
    try {
      const result = await sender.deliver({ url: 'https://[2002:7f00:1::1]/hook', payload: { a: 1 } });
      expect(result.outcome).toBe('refused');
      expect(result.attempts[0]!.errorCode).toBe('FORBIDDEN_TARGET');
    } finally {
      await sender.close();
    }
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450::1'])(
    'allows %s',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('the retry schedule with jitter', () => {
  it('scales each wait by a factor in [1 - jitter, 1 + jitter], and is undefined once spent', () => {
    const random = jest.spyOn(Math, 'random');
    try {
      // The lowest and highest draws give the ends of the range; the middle one the wait itself.
      random.mockReturnValue(0);
      expect(nextWebhookDelay([30, 500], 0.2, 1)).toBe(24);
      expect(nextWebhookDelay([30, 500], 0.2, 2)).toBe(400);
      random.mockReturnValue(0.5);
      expect(nextWebhookDelay([30, 500], 0.2, 1)).toBe(30);
      random.mockReturnValue(1 - Number.EPSILON);
      expect(nextWebhookDelay([30, 500], 0.2, 1)).toBe(36);
      expect(nextWebhookDelay([30, 500], 0.2, 2)).toBe(600);
      expect(nextWebhookDelay([30, 500], 0, 2)).toBe(500);
      expect(nextWebhookDelay([30, 500], 0.2, 3)).toBeUndefined();
    } finally {
      random.mockRestore();
    }
  });
});
