import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { PUT_OPTION_FIELDS } from '../put-options.js';
import type { JunkRunContext } from './bad-input.js';
import { type Junk, JunkError } from './junk.js';

// Junk for `put` that the generic catalogue has not: body streams and the fields of `PutOptions`.

const valid = (label: string, value: unknown): Junk => ({ label, value });
const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Async iterables and streams a careless caller might pass as a body. */
export function junkStream(context: JunkRunContext): Junk {
  const kinds: (() => Junk)[] = [
    () =>
      valid(
        'an async iterable of strings',
        (async function* () {
          yield 'a';
          yield 'é';
        })(),
      ),
    () =>
      valid(
        'an async iterable yielding a number',
        (async function* () {
          yield Buffer.from('a');
          yield 5;
        })(),
      ),
    () =>
      valid(
        'an async iterable that throws',
        (async function* () {
          yield Buffer.from('a');
          throw new JunkError('body stream');
        })(),
      ),
    () => valid('a Readable in object mode yielding objects', Readable.from([{ a: 1 }, [1, 2]])),
    () =>
      valid(
        'a Readable destroyed with an error',
        new Readable({
          read() {
            this.destroy(new JunkError('readable'));
          },
        }),
      ),
    () => valid('a sync iterable of chunks', [Buffer.from('a'), Buffer.from('b')]),
    () =>
      valid('an object whose Symbol.asyncIterator throws', {
        [Symbol.asyncIterator]: () => {
          throw new JunkError('asyncIterator');
        },
      }),
  ];
  return context.random.pick(kinds)();
}

export function junkPutOptions(context: JunkRunContext): Junk {
  const { junk, random } = context;
  const field = random.pick([...PUT_OPTION_FIELDS, 'options']);
  if (field === 'options') return junk.any();
  let value: Junk;
  if (field === 'size') value = junk.prefer('number', 0.7);
  else if (field === 'signal') value = junk.prefer('signal', 0.6);
  else if (field === 'onProgress') value = junk.prefer('function', 0.6);
  else if (field === 'metadata') {
    const shape = random.pick(['any', 'name', 'value']);
    const inner = shape === 'any' ? junk.prefer('object') : junk.prefer('string');
    value =
      shape === 'any'
        ? inner
        : shape === 'name'
          ? valid(`{ [${inner.label}]: 'v' }`, { [String(inner.value)]: 'v' })
          : valid(`{ m: ${inner.label} }`, { m: inner.value });
  } else if (field === 'checksum') {
    const part = random.pick(['any', 'algorithm', 'value', 'encoding']);
    const inner = part === 'any' ? junk.any() : junk.prefer('string');
    value =
      part === 'any'
        ? inner
        : valid(`{ …, ${part}: ${inner.label} }`, {
            algorithm: 'sha256',
            value: sha(Buffer.from('x')),
            encoding: 'hex',
            [part]: inner.value,
          });
  } else value = junk.prefer('string');
  return valid(`{ ${field}: ${value.label} }`, { [field]: value.value });
}
