/** How a signature is encoded as text. */
export type SignatureEncoding = 'hex' | 'base64' | 'base64url';

export const SIGNATURE_ENCODINGS: ReadonlySet<string> = new Set(['hex', 'base64', 'base64url']);

const HEX = /^[0-9a-fA-F]*$/;

/**
 * Decodes a signature only when `text` is the canonical encoding of exactly `length` bytes (hex in
 * either case; base64 padded, base64url unpadded, as Node writes them); `undefined` otherwise.
 * Node's own decoders stop at the first bad character, so a valid signature followed by junk
 * would decode to the valid bytes: re-encoding and comparing refuses that.
 */
export function decodeSignature(
  text: string,
  encoding: SignatureEncoding,
  length: number,
): Buffer | undefined {
  if (encoding === 'hex') {
    if (text.length !== length * 2 || !HEX.test(text)) return undefined;
    return Buffer.from(text, 'hex');
  }
  const bytes = Buffer.from(text, encoding);
  if (bytes.length !== length || bytes.toString(encoding) !== text) return undefined;
  return bytes;
}
