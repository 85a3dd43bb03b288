import { describe, expect, it } from '@jest/globals';
import { EMPTY_SHA256, signS3Request } from '../src/sigv4.js';

// The worked examples of AWS's "Signature Calculations for the Authorization Header" (S3 docs).
const example = {
  accessKey: 'AKIAIOSFODNN7EXAMPLE',
  secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
  date: new Date('2013-05-24T00:00:00Z'),
};
const host = 'https://examplebucket.s3.amazonaws.com';
const signatureOf = (headers: Record<string, string>) =>
  /Signature=([0-9a-f]{64})$/.exec(headers.authorization!)?.[1];

describe('signS3Request (AWS Signature Version 4)', () => {
  it('matches the GET object example (with a Range header)', () => {
    const headers = signS3Request({
      ...example,
      method: 'GET',
      url: new URL(`${host}/test.txt`),
      headers: { Range: 'bytes=0-9' },
    });
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    expect(headers['x-amz-date']).toBe('20130524T000000Z');
    expect(headers['x-amz-content-sha256']).toBe(EMPTY_SHA256);
    expect(headers.host).toBe('examplebucket.s3.amazonaws.com');
  });

  it('matches the PUT object example (a key that needs encoding, a signed payload hash)', () => {
    const headers = signS3Request({
      ...example,
      method: 'PUT',
      url: new URL(`${host}/test$file.text`),
      headers: { Date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      payloadSha256: '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    });
    expect(signatureOf(headers)).toBe('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('matches the GET bucket lifecycle and list objects examples (query strings)', () => {
    const lifecycle = signS3Request({ ...example, method: 'GET', url: new URL(`${host}/?lifecycle`) });
    expect(signatureOf(lifecycle)).toBe('fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
    const list = signS3Request({ ...example, method: 'GET', url: new URL(`${host}/?prefix=J&max-keys=2`) });
    expect(signatureOf(list)).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('a different secret key gives a different signature', () => {
    const input = { ...example, method: 'GET', url: new URL(`${host}/test.txt`) };
    expect(signatureOf(signS3Request(input))).not.toBe(
      signatureOf(signS3Request({ ...input, secretKey: 'another' })),
    );
  });
});
