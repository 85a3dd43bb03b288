import { describeHttpClient } from '../src/conformance.js';
import { FakeHttpClient } from '../src/memory.js';

describeHttpClient(
  'FakeHttpClient (conformance)',
  ({ baseUrl, handler }) => new FakeHttpClient({ baseUrl, handler }),
);
