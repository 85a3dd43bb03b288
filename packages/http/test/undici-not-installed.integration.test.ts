import path from 'node:path';
import { expect, it } from '@jest/globals';
import { runNodeChild } from '@voelgoed/testkit';

interface Result {
  client: string;
  sender: string;
  durable: string;
  got: string;
  status: number;
  requests: number;
}

// In a child process where undici cannot be found (this repo installs it, an application may
// not): the check must run at creation, or a durable sender would accept deliveries and
// dead-letter every one of them at send time.
it("refuses transport 'undici' at creation when undici is not installed: client, sender, durable sender", async () => {
  const result = await runNodeChild<Result>(path.join(__dirname, 'fixtures', 'undici-not-installed.ts'), {
    name: 'undici not installed',
    timeoutMs: 60_000,
  });
  const refused = expect.stringMatching(/^INVALID_ARGUMENT: .*transport 'undici' needs the undici package/);
  expect(result).toEqual({
    client: refused,
    sender: refused,
    durable: refused,
    got: 'created',
    status: 204,
    requests: 1,
  });
});
