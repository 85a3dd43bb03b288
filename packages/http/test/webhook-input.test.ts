import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import {
  isHttpError,
  isValidHmacSignature,
  signWebhook,
  type VerifyWebhookInput,
  verifyHmacSignature,
  verifyWebhook,
  WebhookVerificationError,
} from '../src/index.js';

const SECRET = `whsec_${Buffer.from('a-very-secret-signing-key-0001').toString('base64')}`;
const PAYLOAD = '{"type":"order.paid","amount":1200}';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function thrown(fn: () => unknown): Error & { code?: string; reason?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string; reason?: string };
  }
  throw new Error('expected a throw');
}

function expectInvalidArgument(fn: () => unknown, field: RegExp): void {
  const error = thrown(fn);
  expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
  expect(error.message).toMatch(field);
  expect(error.message).not.toContain(SECRET);
}

/** The same base64 with the unused low bits of its last character set: decodes to the same bytes. */
function nonCanonical(base64: string): string {
  const at = base64.indexOf('=') - 1;
  const value = ALPHABET.indexOf(base64[at]!);
  return `${base64.slice(0, at)}${ALPHABET[value | 1]}${base64.slice(at + 1)}`;
}

describe('verifyWebhook: the caller’s own arguments', () => {
  const signedIn2001 = signWebhook({
    payload: PAYLOAD,
    secret: SECRET,
    timestamp: new Date('2001-01-01T00:00:00Z'),
  });

  it('refuses an Invalid Date as now: a 2001 signature is not accepted', () => {
    expectInvalidArgument(
      () =>
        verifyWebhook({ payload: PAYLOAD, headers: signedIn2001, secret: SECRET, now: new Date('garbage') }),
      /now must be a valid Date/,
    );
  });

  it.each([
    ['a number', 1_614_265_330_000],
    ['a string', '2026-01-01T00:00:00Z'],
    ['null', null],
    ['a plain object', { getTime: () => 0 }],
  ])('refuses %s as now', (_name, now) => {
    expectInvalidArgument(
      () => verifyWebhook({ payload: PAYLOAD, headers: signedIn2001, secret: SECRET, now: now as never }),
      /now must be a valid Date/,
    );
  });

  it.each<[string, unknown, RegExp]>([
    ['no input', undefined, /input must be an object/],
    ['null input', null, /input must be an object/],
    ['missing headers', { payload: PAYLOAD, secret: SECRET }, /headers must be an object/],
    [
      'headers as a string',
      { payload: PAYLOAD, secret: SECRET, headers: 'abc' },
      /headers must be an object/,
    ],
    [
      'a header value that is a number',
      { payload: PAYLOAD, secret: SECRET, headers: { ...signedIn2001, 'webhook-timestamp': 978307200 } },
      /webhook-timestamp.*string/,
    ],
    [
      'a header array holding a non-string',
      { payload: PAYLOAD, secret: SECRET, headers: { ...signedIn2001, 'webhook-signature': [null] } },
      /webhook-signature.*string/,
    ],
    ['a missing payload', { secret: SECRET, headers: signedIn2001 }, /payload/],
    [
      'a bad secret, even with the webhook headers missing',
      { payload: PAYLOAD, secret: '', headers: {} },
      /secret/,
    ],
  ])('refuses %s with INVALID_ARGUMENT', (_name, input, field) => {
    expectInvalidArgument(() => verifyWebhook(input as VerifyWebhookInput), field);
  });

  it('refuses a non-Date or invalid timestamp and a missing input when signing', () => {
    expectInvalidArgument(
      () => signWebhook({ payload: PAYLOAD, secret: SECRET, timestamp: 5 as never }),
      /timestamp/,
    );
    expectInvalidArgument(
      () => signWebhook({ payload: PAYLOAD, secret: SECRET, timestamp: new Date(Number.NaN) }),
      /timestamp/,
    );
    expectInvalidArgument(
      () => signWebhook({ payload: PAYLOAD, secret: SECRET, timestamp: new Date('1969-12-31T00:00:00Z') }),
      /timestamp/,
    );
    expectInvalidArgument(() => signWebhook(undefined as never), /input must be an object/);
  });
});

describe('verifyWebhook: one id rule, strict signatures', () => {
  const T = 1_767_225_600; // 2026-01-01T00:00:00Z
  const now = new Date(T * 1000);

  it('refuses the dotted id that signWebhook refuses: (msg_x.T, T, body) is not (msg_x, T, "T.body")', () => {
    expectInvalidArgument(
      () => signWebhook({ payload: PAYLOAD, secret: SECRET, id: `msg_x.${T}` }),
      /webhook id/,
    );
    const signed = signWebhook({ payload: `${T}.${PAYLOAD}`, secret: SECRET, id: 'msg_x', timestamp: now });
    const forged = { ...signed, 'webhook-id': `msg_x.${T}` };
    const error = thrown(() => verifyWebhook({ payload: PAYLOAD, headers: forged, secret: SECRET, now }));
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect(error.reason).toBe('bad_id');
    expect(isHttpError(error, 'SIGNATURE_INVALID')).toBe(true);
  });

  it.each(['msg x', 'msg_ë', 'msg\tx', 'msg.x'])('refuses the id %j on both sides', (id) => {
    expectInvalidArgument(() => signWebhook({ payload: PAYLOAD, secret: SECRET, id }), /webhook id/);
    const signed = signWebhook({ payload: PAYLOAD, secret: SECRET, id: 'msg_1', timestamp: now });
    const error = thrown(() =>
      verifyWebhook({ payload: PAYLOAD, headers: { ...signed, 'webhook-id': id }, secret: SECRET, now }),
    );
    expect(error.reason).toBe('bad_id');
  });

  it('accepts only the canonical base64 of exactly 32 bytes', () => {
    const signed = signWebhook({ payload: PAYLOAD, secret: SECRET, id: 'msg_1', timestamp: now });
    const signature = signed['webhook-signature'].slice(3);
    expect(() => verifyWebhook({ payload: PAYLOAD, headers: signed, secret: SECRET, now })).not.toThrow();
    for (const tampered of [
      `${signature}#junk`,
      `${signature}AAAA`,
      signature.slice(0, -1),
      nonCanonical(signature),
      `${signature.slice(0, -1)}==`,
    ]) {
      const headers = { ...signed, 'webhook-signature': `v1,${tampered}` };
      const error = thrown(() => verifyWebhook({ payload: PAYLOAD, headers, secret: SECRET, now }));
      expect({ tampered, reason: error.reason }).toEqual({ tampered, reason: 'no_matching_signature' });
    }
  });
});

describe('webhook secrets: canonical base64 of a non-empty key, signing and verifying alike', () => {
  const T = 1_767_225_600;
  const now = new Date(T * 1000);
  // 28 bytes: its base64 ends in '=='.
  const KEY = Buffer.from('a-very-secret-signing-key-01').toString('base64');

  it.each([
    // Decoded by Node to an empty key: anyone could sign.
    ['one character', 'whsec_a'],
    ['another character', 'whsec_Q'],
    ['only the prefix', 'whsec_'],
    ['only padding', 'whsec_===='],
    // Truncated: whsec_ab and whsec_ac shared one key, as did mysecret and mysecretZ.
    ['two characters', 'whsec_ab'],
    ['a stray last character, unprefixed', 'mysecretZ'],
    ['missing padding', `whsec_${KEY.replace(/=+$/, '')}`],
    ['set unused bits', `whsec_${nonCanonical(KEY)}`],
    ['base64url characters', `whsec_${Buffer.from([0xfb, 0xff, 0xbf]).toString('base64url')}`],
    ['inner whitespace', `whsec_${KEY.slice(0, 8)} ${KEY.slice(8)}`],
    ['a trailing newline', `whsec_${KEY}\n`],
    ['characters past the padding', `whsec_${KEY}AAAA`],
  ])('refuses %s (%j)', (_name, secret) => {
    expectInvalidArgument(() => signWebhook({ payload: PAYLOAD, secret }), /webhook secret is not base64/);
    const headers = signWebhook({ payload: PAYLOAD, secret: SECRET, timestamp: now });
    expectInvalidArgument(
      () => verifyWebhook({ payload: PAYLOAD, headers, secret, now }),
      /webhook secret is not base64/,
    );
    // One bad secret among several is still the caller's mistake.
    expectInvalidArgument(
      () => verifyWebhook({ payload: PAYLOAD, headers, secret: [SECRET, secret], now }),
      /webhook secret is not base64/,
    );
  });

  it('does not verify a signature made with an empty key against a one-character secret', () => {
    const forged = createHmac('sha256', Buffer.alloc(0)).update(`msg_x.${T}.${PAYLOAD}`).digest('base64');
    const headers = {
      'webhook-id': 'msg_x',
      'webhook-timestamp': String(T),
      'webhook-signature': `v1,${forged}`,
    };
    expectInvalidArgument(
      () => verifyWebhook({ payload: PAYLOAD, headers, secret: 'whsec_Q', now }),
      /webhook secret/,
    );
  });

  it('keeps accepting canonical base64, prefixed or not, and raw bytes: one key, one signature', () => {
    const bytes = Buffer.from('a-very-secret-signing-key-01');
    const signatures = [`whsec_${KEY}`, KEY, bytes, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'].map(
      (secret) => signWebhook({ payload: PAYLOAD, secret, id: 'msg_1', timestamp: now })['webhook-signature'],
    );
    expect(new Set(signatures.slice(0, 3)).size).toBe(1);
    expect(signatures[3]).not.toBe(signatures[0]);
    // Plain base64 without the prefix, as before: 'mysecret' is canonical (six bytes).
    const headers = signWebhook({ payload: PAYLOAD, secret: 'mysecret', timestamp: now });
    expect(() => verifyWebhook({ payload: PAYLOAD, headers, secret: 'mysecret', now })).not.toThrow();
    expect(() =>
      verifyWebhook({ payload: PAYLOAD, headers, secret: Buffer.from('mysecret', 'base64'), now }),
    ).not.toThrow();
  });
});

describe('verifyHmacSignature: arguments and strict decoding', () => {
  const body = '{"event":"charge.succeeded"}';
  const key = 'provider-shared-secret';
  const hex = createHmac('sha256', key).update(body).digest('hex');
  const base64 = createHmac('sha256', key).update(body).digest('base64');
  const base64url = createHmac('sha256', key).update(body).digest('base64url');

  it.each<[string, unknown, RegExp]>([
    ["encoding: 'bogus'", { encoding: 'bogus' }, /encoding/],
    ['options: null', null, /options must be an object/],
    ['a prefix that is not a string', { prefix: 5 }, /prefix/],
  ])('refuses %s with INVALID_ARGUMENT', (_name, options, field) => {
    expectInvalidArgument(() => verifyHmacSignature(body, hex, key, options as never), field);
  });

  it('refuses a bad secret even when the signature is missing', () => {
    expectInvalidArgument(() => verifyHmacSignature(body, undefined, ''), /secret/);
  });

  it.each<[string, string, 'hex' | 'base64' | 'base64url']>([
    ['hex followed by junk', `${hex}zz`, 'hex'],
    ['hex with an odd trailing digit', `${hex}0`, 'hex'],
    ['base64 followed by junk', `${base64}#junk`, 'base64'],
    ['base64 followed by more base64', `${base64}AAAA`, 'base64'],
    ['base64 without its padding', base64.slice(0, -1), 'base64'],
    ['base64 with unused bits set', nonCanonical(base64), 'base64'],
    ['base64url followed by junk', `${base64url}!!`, 'base64url'],
    ['base64url with padding', `${base64url}=`, 'base64url'],
  ])('refuses %s', (_name, signature, encoding) => {
    expect(isValidHmacSignature(body, signature, key, { encoding })).toBe(false);
    expect(thrown(() => verifyHmacSignature(body, signature, key, { encoding }))).toMatchObject({
      code: 'SIGNATURE_INVALID',
      reason: 'no_matching_signature',
    });
  });
});

describe('webhook signing and verifying: misspelt options are refused, not dropped', () => {
  const now = new Date();
  // 290 s old: inside the default window of 300 s, outside the 60 s the caller asked for.
  const old = signWebhook({
    payload: PAYLOAD,
    secret: SECRET,
    id: 'evt_old',
    timestamp: new Date(now.getTime() - 290_000),
  });

  it.each<[string, Record<string, unknown>]>([
    ['tolerance', { tolerance: 60 }],
    ['toleranceSeconds', { toleranceSeconds: 60 }],
    ['secrets', { secrets: [SECRET] }],
  ])('verifyWebhook refuses %s (INVALID_ARGUMENT naming it), not the default window', (field, extra) => {
    expectInvalidArgument(
      () => verifyWebhook({ payload: PAYLOAD, headers: old, secret: SECRET, now, ...extra } as never),
      new RegExp(`unknown field "${field}"`),
    );
    // Spelt right, the window is the caller's: the 290 s old message is refused.
    expect(
      thrown(() => verifyWebhook({ payload: PAYLOAD, headers: old, secret: SECRET, now, toleranceS: 60 })),
    ).toMatchObject({ code: 'SIGNATURE_INVALID', reason: 'timestamp_too_old' });
  });

  it('signWebhook refuses msgId: it would sign under a random id the caller never sees', () => {
    expectInvalidArgument(
      () => signWebhook({ payload: PAYLOAD, secret: SECRET, msgId: 'evt_9' } as never),
      /unknown field "msgId"/,
    );
    expect(signWebhook({ payload: PAYLOAD, secret: SECRET, id: 'evt_9' })['webhook-id']).toBe('evt_9');
  });

  it('verifyHmacSignature and isValidHmacSignature refuse algo: it would check with SHA-256', () => {
    const body = '{"event":"charge.succeeded"}';
    const sha256 = createHmac('sha256', 'k').update(body).digest('hex');
    for (const check of [verifyHmacSignature, isValidHmacSignature]) {
      expectInvalidArgument(
        () => check(body, sha256, 'k', { algo: 'sha512' } as never),
        /unknown field "algo"/,
      );
      expectInvalidArgument(
        () => check(body, sha256, 'k', { algorithm: 'sha256', encodin: 'base64' } as never),
        /unknown field "encodin"/,
      );
    }
    // An undefined field is no option at all, as everywhere in this package.
    expect(isValidHmacSignature(body, sha256, 'k', { algo: undefined } as never)).toBe(true);
  });
});

describe('verifyWebhook: headers read through get(name)', () => {
  const signed = signWebhook({ payload: PAYLOAD, secret: SECRET, id: 'evt_get' });

  it('verifies with a fetch Headers (a Web Request’s headers), any case of names', () => {
    const upper = new Headers(Object.entries(signed).map(([name, value]) => [name.toUpperCase(), value]));
    expect(verifyWebhook({ payload: PAYLOAD, headers: upper, secret: SECRET }).id).toBe('evt_get');
    const request = new Request('https://receiver.example/hooks', {
      method: 'POST',
      headers: signed,
      body: PAYLOAD,
    });
    expect(verifyWebhook({ payload: PAYLOAD, headers: request.headers, secret: SECRET }).id).toBe('evt_get');
  });

  it('verifies with a Map of lower-case names, and judges what get() returns as it judges an object', () => {
    expect(
      verifyWebhook({ payload: PAYLOAD, headers: new Map(Object.entries(signed)), secret: SECRET }).id,
    ).toBe('evt_get');
    const tampered = new Headers({ ...signed, 'webhook-id': 'evt_other' });
    expect(
      thrown(() => verifyWebhook({ payload: PAYLOAD, headers: tampered, secret: SECRET })),
    ).toMatchObject({
      code: 'SIGNATURE_INVALID',
      reason: 'no_matching_signature',
    });
    const missing = new Headers({ 'webhook-id': 'evt_get' });
    expect(thrown(() => verifyWebhook({ payload: PAYLOAD, headers: missing, secret: SECRET }))).toMatchObject(
      {
        code: 'SIGNATURE_INVALID',
        reason: 'missing_headers',
      },
    );
    const numbers = new Map<string, unknown>([...Object.entries(signed), ['webhook-timestamp', 12]]);
    expectInvalidArgument(
      () => verifyWebhook({ payload: PAYLOAD, headers: numbers as never, secret: SECRET }),
      /webhook-timestamp/,
    );
  });
});
