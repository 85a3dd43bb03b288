import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { createSentinel } from '@redis/client';
import { attachCommands, parseCommand, shapeOf } from '../src/typed-commands.js';

// src/typed-commands.ts reaches into @redis/client's dist/ (its command
// definitions and parser), which is why package.json pins @redis/client exactly. These tests pin
// the shapes it relies on: after a version bump they name what moved instead of the typed methods
// silently sending wrong commands.
const require = createRequire(__filename);
const installed = (
  JSON.parse(readFileSync(require.resolve('@redis/client/package.json'), 'utf8')) as { version: string }
).version;
const pinned = (
  JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  }
).dependencies['@redis/client'];

function internal(what: string, ok: boolean): void {
  if (!ok) {
    throw new Error(
      `@redis/client ${installed}: ${what} is not what src/typed-commands.ts expects. It uses node-redis internals ` +
        '(dist/lib/commands, dist/lib/client/parser): adapt that file to the new version before moving the exact pin.',
    );
  }
}

describe('the @redis/client internals the typed commands use', () => {
  it('are those of the exactly pinned version', () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    internal(`the installed version (package.json pins ${pinned})`, installed === pinned);
  });

  it('a command definition parses its arguments into the wire form and first key', () => {
    const commands: Record<string, unknown> = {};
    attachCommands(commands, (_receiver, name, command, args) => ({ name, command, args }));
    internal(
      'the commands module (GET, SET, HGETALL definitions)',
      ['get', 'GET', 'set', 'hGetAll'].every((n) => n in commands),
    );
    const set = (commands.set as (...a: unknown[]) => { command: never })('seat:1', 'held', { PX: 500 });
    const parsed = parseCommand('set', set.command, ['seat:1', 'held', { PX: 500 }], undefined);
    internal(
      `BasicCommandParser's redisArgs/firstKey (got ${JSON.stringify(parsed.args)}, ${String(parsed.firstKey)})`,
      JSON.stringify(parsed.args) === JSON.stringify(['SET', 'seat:1', 'held', 'PX', '500']) &&
        parsed.firstKey === 'seat:1',
    );
  });

  it("a command's RESP2 reply transformer turns a flat HGETALL reply into an object", () => {
    const commands: Record<string, unknown> = {};
    attachCommands(commands, (_receiver, _name, command) => command);
    const hGetAll = (commands.hGetAll as () => never)();
    const parsed = parseCommand('hGetAll', hGetAll, ['user:1'], undefined);
    internal('the transformReply of HGETALL (per-RESP map, index 2)', typeof parsed.transform === 'function');
    const reply = parsed.transform?.(['name', 'Thandi', 'seat', '7']);
    internal(
      `the HGETALL transform (gave ${JSON.stringify(reply)})`,
      JSON.stringify(reply) === JSON.stringify({ name: 'Thandi', seat: '7' }),
    );
  });

  it("every parser's parameter list is read: how many arguments it takes, and where its options object goes", () => {
    const commands: Record<string, unknown> = {};
    attachCommands(commands, (_receiver, _name, command) => command);
    const unbounded: string[] = [];
    for (const name of Object.getOwnPropertyNames(commands)) {
      if (!/^[A-Z]/.test(name)) continue;
      const shape = shapeOf((commands[name] as () => never)());
      if (shape.max === Number.POSITIVE_INFINITY) unbounded.push(name);
    }
    // Only the parsers that keep a list of their own (LATENCY's events, LOLWUT's arguments).
    internal(
      `the parameter lists of the parsers (unbounded: ${unbounded.join(', ')})`,
      unbounded.join() === 'LATENCY_HISTOGRAM,LATENCY_RESET,LOLWUT',
    );
    const shape = (name: string) => JSON.stringify(shapeOf((commands[name] as () => never)()));
    const expected: Record<string, unknown> = {
      SET: { max: 3, options: [[2, false]] },
      GET: { max: 1, options: [] },
      HSET: { max: 3, options: [] },
      EVAL: { max: 2, options: [[1, false]] },
      XADD: { max: 4, options: [[3, false]] },
      XADD_NOMKSTREAM: { max: 4, options: [[3, false]] },
      ZRANGE_WITHSCORES: { max: 4, options: [[3, false]] },
      SINTERCARD: { max: 2, options: [[1, true]] },
      GEORADIUSBYMEMBER_RO_WITH: { max: 6, options: [[5, false]] },
      XRANGE: { max: 4, options: [] },
    };
    for (const [name, want] of Object.entries(expected)) {
      internal(`${name}'s parameter list (read as ${shape(name)})`, shape(name) === JSON.stringify(want));
    }
  });

  it("the Sentinel client's _execute, below sendCommand (src/sentinel-backend.ts sends each command once through it)", () => {
    const sentinel = createSentinel({ name: 'm', sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }] });
    const execute = (sentinel as unknown as { _execute?: unknown })._execute;
    internal('RedisSentinel._execute(isReadonly, fn)', typeof execute === 'function' && execute.length === 2);
    const source = String(execute);
    internal("_execute's body (it hands fn to the internal execute loop)", source.includes('execute(fn'));
  });
});
