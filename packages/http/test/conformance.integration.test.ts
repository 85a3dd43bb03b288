import { describeHttpClient } from '@voelgoed/contracts/conformance';
import { createHttpClient } from '../src/index.js';
import { TRANSPORTS } from './helpers.js';

for (const transport of TRANSPORTS) {
  describeHttpClient(
    `createHttpClient over ${transport} (contracts' HttpClient conformance)`,
    ({ baseUrl }) => createHttpClient({ transport, baseUrl }),
    { teardown: (client) => client.close() },
  );
}
