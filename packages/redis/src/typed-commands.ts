/**
 * The full Redis command set, typed, without writing it by hand: node-redis carries for every
 * command an argument parser (`parseCommand`) and a reply transformer with types. Each becomes a
 * method (`get`, `GET`, `hSet`, `zRangeWithScores`, …) with node-redis's names, arguments and
 * RESP2 reply types, sent through this client's own path (deadlines, errors, telemetry, the
 * shared connection) and its replies transformed as node-redis would.
 *
 * This is the one file that imports node-redis internals (`@redis/client/dist/lib/…`: the
 * commands module, `BasicCommandParser`, reply transformers; node-redis-tracing.ts ports the
 * two tracing helpers it needs instead of importing them), which no semver range covers:
 * package.json pins @redis/client exactly, and test/vendor-internals.test.ts fails naming the
 * shape that moved when a new version changes them.
 */
import { RESP_TYPES, type TypeMapping } from '@redis/client';
import type { WithCommands } from '@redis/client/dist/lib/client/index.js';
import { BasicCommandParser } from '@redis/client/dist/lib/client/parser.js';
import * as argGrep from '@redis/client/dist/lib/commands/ARGREP.js';
import * as evalCommand from '@redis/client/dist/lib/commands/EVAL.js';
import * as geoRadius from '@redis/client/dist/lib/commands/GEORADIUS.js';
import * as geoRadiusWith from '@redis/client/dist/lib/commands/GEORADIUS_WITH.js';
import * as geoRadiusByMember from '@redis/client/dist/lib/commands/GEORADIUSBYMEMBER.js';
import * as geoRadiusByMemberWith from '@redis/client/dist/lib/commands/GEORADIUSBYMEMBER_WITH.js';
import * as commandsModule from '@redis/client/dist/lib/commands/index.js';
import * as lmPop from '@redis/client/dist/lib/commands/LMPOP.js';
import * as sort from '@redis/client/dist/lib/commands/SORT.js';
import * as xAdd from '@redis/client/dist/lib/commands/XADD.js';
import * as zmPop from '@redis/client/dist/lib/commands/ZMPOP.js';
import type { Command, TransformReply } from '@redis/client/dist/lib/RESP/types.js';
import type { RedisArgument } from './commands.js';
import { invalidArgument } from './errors.js';
import { OptionReads } from './option-reads.js';
import { attachScanIterators, type ScanIterators } from './scan-iterators.js';

export type { TypeMapping } from '@redis/client';
export { RESP_TYPES } from '@redis/client';

/** No type mapping: node-redis's default reply types. (`{}` in node-redis's own signatures.) */
export type NoTypeMapping = Record<never, never>;

/** Methods the client defines itself, with a meaning of its own: node-redis's are not attached. */
type OwnMethods = 'command' | 'publish';

/** Every node-redis command as a method with RESP2 reply types, under `typeMapping`. */
export type RedisCommandMethods<TM extends TypeMapping = NoTypeMapping> = Omit<
  WithCommands<2, TM>,
  OwnMethods
>;

/** The mapping that reads bulk strings as Buffers: `client.withTypeMapping(BUFFER_REPLIES)`. */
export const BUFFER_REPLIES = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

// node-redis's commands module is CommonJS with `exports.default`: an ESM namespace holds it
// under default.default, a CommonJS build's interop under default.
const COMMANDS = (() => {
  const ns = commandsModule as unknown as { default?: { default?: unknown } };
  return (ns.default?.default ?? ns.default) as unknown as Record<string, Command>;
})();

/** What the typed methods need of the client: a command sent with its routing key. */
export interface TypedCommandSender {
  /** Where the commands go ('cluster': SCAN would walk one node). */
  readonly deployment: string;
  /** @internal */
  sendParsed(
    args: readonly RedisArgument[],
    firstKey: RedisArgument | undefined,
    buffers: boolean,
  ): Promise<unknown>;
}

/** A command parsed by node-redis's parser: its arguments, and how to read its reply. */
export interface ParsedCommand {
  args: readonly RedisArgument[];
  firstKey: RedisArgument | undefined;
  transform: ((reply: unknown) => unknown) | undefined;
}

/** Reply types a RESP2 decoder makes itself, which a mapping could only change in the decoder. */
const DECODER_TYPES = [RESP_TYPES.SIMPLE_STRING, RESP_TYPES.NUMBER, RESP_TYPES.NULL, RESP_TYPES.ARRAY];

/**
 * Checks a type mapping: bulk strings may map to Buffer (or String); mappings node-redis's reply
 * transformers apply (MAP, SET, DOUBLE, …) pass through; what only a decoder could change is refused.
 */
export function checkTypeMapping(mapping: unknown): TypeMapping {
  if (typeof mapping !== 'object' || mapping === null || Array.isArray(mapping)) {
    throw invalidArgument('withTypeMapping takes an object such as { [RESP_TYPES.BLOB_STRING]: Buffer }');
  }
  const m = mapping as Record<number, unknown>;
  const blob = m[RESP_TYPES.BLOB_STRING];
  if (blob !== undefined && blob !== Buffer && blob !== String) {
    throw invalidArgument('withTypeMapping: bulk strings map to Buffer or String only');
  }
  for (const type of DECODER_TYPES) {
    if (m[type] !== undefined) {
      throw invalidArgument(
        `withTypeMapping: RESP type ${type} cannot be remapped here (only BLOB_STRING, and what reply transformers apply)`,
      );
    }
  }
  return mapping as TypeMapping;
}

/** Parses one typed call with node-redis's parser; bad arguments are INVALID_ARGUMENT. */
export function parseCommand(
  name: string,
  command: Command,
  args: unknown[],
  typeMapping: TypeMapping | undefined,
): ParsedCommand {
  checkShape(name, shapeOf(command), args);
  for (let i = 0; i < args.length; i++) {
    // node-redis would send it as the text "NaN" (a value stored as such, a score refused late).
    if (Number.isNaN(args[i])) throw invalidArgument(`${name}: argument ${i + 1} is NaN`);
  }
  const parser = new BasicCommandParser();
  const tracked = OptionReads.wrapArgs(args);
  try {
    (command.parseCommand as (p: BasicCommandParser, ...a: unknown[]) => void)(
      parser,
      ...(tracked?.args ?? args),
    );
  } catch (error) {
    const unread = tracked?.reads.unread() ?? [];
    const hint = unread.length > 0 ? `; it did not read ${unread.join(', ')}` : '';
    throw invalidArgument(`${name}: bad arguments (${(error as Error)?.message ?? String(error)})${hint}`);
  }
  // An object pushed as an argument is refused where the command is sent, with its own message.
  if (tracked !== undefined && !parser.redisArgs.some(isObjectArgument)) {
    const nan = tracked.reads.nanFields;
    if (nan.length > 0) throw invalidArgument(`${name}: ${nan.join(', ')} is NaN`);
    const unread = tracked.reads.unread();
    if (unread.length > 0) {
      throw invalidArgument(
        `${name}: node-redis's parser for ${name} does not read ${unread.join(', ')} (misspelt, not an option of ${name}, or ignored beside another option given); it would be dropped in silence`,
      );
    }
  }
  const transformReply = transformOf(command);
  return {
    args: parser.redisArgs,
    firstKey: parser.firstKey,
    transform:
      transformReply === undefined
        ? undefined
        : (reply: unknown) => transformReply(reply, parser.preserve, typeMapping),
  };
}

// What node-redis's parser of a command takes, read from its parameter list: node-redis
// ignores arguments past the last it declares and reads an options argument with `options?.EX`,
// so ioredis-style `set(k, v, 'EX', 10)` stores a key that never expires, in silence. A parser
// that takes `...args` and hands them on is followed to the function it hands them to (another
// command's parser, or one of the helpers below); one that keeps them (LATENCY RESET's events,
// LOLWUT's) takes any number.

/** A helper a parser hands its `...args` to, by name (the modules that export them). */
const HELPERS: Record<string, unknown> = Object.assign(
  {},
  ...[
    argGrep,
    evalCommand,
    geoRadius,
    geoRadiusWith,
    geoRadiusByMember,
    geoRadiusByMemberWith,
    lmPop,
    sort,
    xAdd,
    zmPop,
  ].map((m) => ({ ...((m as { default?: object }).default ?? {}), ...m })),
);

/** What a typed method takes: at most `max` arguments; at `options`, an object (or nothing). */
export interface CallShape {
  max: number;
  /** Indexes (0-based, after the parser) of options objects, with whether a number is taken too. */
  options: readonly (readonly [index: number, numberToo: boolean])[];
}

const SHAPES = new Map<Command, CallShape>();

/** A command's {@link CallShape}, worked out on its first call. */
export function shapeOf(command: Command): CallShape {
  let shape = SHAPES.get(command);
  if (shape === undefined) {
    const params = positions(command.parseCommand as (...a: unknown[]) => unknown, 0);
    shape =
      params === undefined || params.length === 0
        ? { max: Number.POSITIVE_INFINITY, options: [] }
        : {
            max: params.length - 1,
            options: params.flatMap((p, i) => (p.object ? [[i - 1, p.numberToo] as const] : [])),
          };
    SHAPES.set(command, shape);
  }
  return shape;
}

interface Param {
  /** An options object (a parameter named `options`, or destructured `{ … }`). */
  object: boolean;
  numberToo: boolean;
}

/** The positional parameters of a parser or helper (the parser first), undefined when unbounded. */
function positions(fn: (...a: unknown[]) => unknown, depth: number): Param[] | undefined {
  const source = Function.prototype.toString.call(fn);
  const open = source.indexOf('(');
  let close = open;
  for (let level = 0; close < source.length; close++) {
    if ('([{'.includes(source[close] as string)) level++;
    else if (')]}'.includes(source[close] as string) && --level === 0) break;
  }
  const body = source.slice(close + 1);
  const out: Param[] = [];
  for (const raw of splitTopLevel(source.slice(open + 1, close))) {
    const param = raw.replace(/=.*$/s, '').trim();
    if (param === '') continue;
    const numberToo = param === 'options' && body.includes("typeof options === 'number'");
    if (param.startsWith('...[')) {
      for (const _ of splitTopLevel(param.slice(4, -1))) out.push({ object: false, numberToo: false });
    } else if (param.startsWith('...')) {
      const rest = handedOn(param.slice(3), body, depth);
      if (rest === undefined) return undefined;
      out.push(...rest);
    } else out.push({ object: param === 'options' || param.startsWith('{'), numberToo });
  }
  return out;
}

/** Where a parser's `...name` goes: the parameters of the function it is spread into. */
function handedOn(name: string, body: string, depth: number): Param[] | undefined {
  const call = new RegExp(`(?:\\(0, )?([\\w$.]+)\\)?\\(([^()]*?)\\.\\.\\.${name}\\)`).exec(body);
  if (call !== null && depth < 4) {
    const [, callee = '', leading = ''] = call;
    const target = callee.endsWith('.default.parseCommand')
      ? COMMANDS[callee.slice(0, -'.default.parseCommand'.length).replace(/_\d+$/, '')]?.parseCommand
      : HELPERS[callee.slice(callee.lastIndexOf('.') + 1)];
    if (typeof target !== 'function') return undefined;
    const params = positions(target as (...a: unknown[]) => unknown, depth + 1);
    return params?.slice(splitTopLevel(leading).filter((a) => a.trim() !== '').length);
  }
  // Read by index only (`args[0], args[1], args[2]`): that many.
  const indexes = [...body.matchAll(new RegExp(`\\b${name}(\\[(\\d+)\\]|\\.|\\b)`, 'g'))];
  if (indexes.length === 0 || indexes.some((m) => m[2] === undefined)) return undefined;
  const count = Math.max(...indexes.map((m) => Number(m[2]))) + 1;
  return Array.from({ length: count }, () => ({ object: false, numberToo: false }));
}

/** Splits at the commas outside brackets. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let level = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if ('([{'.includes(c)) level++;
    else if (')]}'.includes(c)) level--;
    else if (c === ',' && level === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Refuses what node-redis's parser would drop: arguments past its last, an options that is not an object. */
function checkShape(name: string, shape: CallShape, args: unknown[]): void {
  for (let i = shape.max; i < args.length; i++) {
    if (args[i] !== undefined) {
      throw invalidArgument(
        `${name} takes at most ${shape.max} arguments, got ${args.length}: node-redis would ignore argument ${i + 1} in silence (options go in an object: set(key, value, { EX: 10 }))`,
      );
    }
  }
  for (const [i, numberToo] of shape.options) {
    const arg = args[i];
    if (arg === undefined || arg === null) continue;
    if (typeof arg === 'object' && !Array.isArray(arg) && !Buffer.isBuffer(arg)) continue;
    if (numberToo && typeof arg === 'number') continue;
    throw invalidArgument(
      `${name}: argument ${i + 1} (options) must be an object${numberToo ? ' or a number' : ''}, got ${Array.isArray(arg) ? 'an array' : typeof arg}: node-redis would ignore it in silence`,
    );
  }
}

function isObjectArgument(arg: unknown): boolean {
  return typeof arg === 'object' && arg !== null && !Buffer.isBuffer(arg);
}

function transformOf(command: Command): TransformReply | undefined {
  const t = command.transformReply as unknown;
  if (typeof t === 'function') return t as TransformReply;
  if (typeof t === 'object' && t !== null) return (t as Record<number, TransformReply>)[2];
  return undefined;
}

/** Whether a mapping reads bulk strings as Buffers. */
export function readsBuffers(typeMapping: TypeMapping | undefined): boolean {
  return typeMapping?.[RESP_TYPES.BLOB_STRING] === Buffer;
}

/**
 * Puts a method per node-redis command on `prototype` (skipping names it already has), each
 * running through `invoke(receiver, name, command, args)`.
 */
export function attachCommands(
  prototype: object,
  invoke: (receiver: unknown, name: string, command: Command, args: unknown[]) => unknown,
): void {
  for (const [name, command] of Object.entries(COMMANDS)) {
    if (name in prototype) continue;
    Object.defineProperty(prototype, name, {
      configurable: true,
      writable: true,
      value: function (this: unknown, ...args: unknown[]) {
        return invoke(this, name, command, args);
      },
    });
  }
}

/** One typed call on a client: parse, send, transform. Rejects (never throws) on bad input. */
export function runTyped(
  sender: TypedCommandSender,
  name: string,
  command: Command,
  args: unknown[],
  typeMapping: TypeMapping | undefined,
): Promise<unknown> {
  let parsed: ParsedCommand;
  try {
    parsed = parseCommand(name, command, args, typeMapping);
  } catch (error) {
    return Promise.reject(error);
  }
  const reply = sender.sendParsed(parsed.args, parsed.firstKey, readsBuffers(typeMapping));
  return parsed.transform ? reply.then(parsed.transform) : reply;
}

/** A view of a client whose typed methods read replies under a type mapping. */
class TypedView {
  constructor(
    readonly client: TypedCommandSender,
    readonly typeMapping: TypeMapping,
  ) {}
}
attachScanIterators(TypedView.prototype, (view) => (view as TypedView).client.deployment === 'cluster');
attachCommands(TypedView.prototype, (view, name, command, args) => {
  const v = view as TypedView;
  return runTyped(v.client, name, command, args, v.typeMapping);
});

export function typedView<TM extends TypeMapping>(
  client: TypedCommandSender,
  mapping: TM,
): RedisCommandMethods<TM> & ScanIterators<TM> {
  return new TypedView(client, checkTypeMapping(mapping)) as unknown as RedisCommandMethods<TM> &
    ScanIterators<TM>;
}

/**
 * The batch method for one command: its arguments, and the batch with its reply appended.
 * Derived from the client's methods (not from node-redis's commands module, a CommonJS default
 * export whose type an ESM consumer reads as the whole module: methods vanished there).
 */
type MultiSignature<R extends unknown[], M, TM extends TypeMapping> = M extends (
  ...args: infer A
) => Promise<infer T>
  ? (...args: A) => RedisMulti<[...R, T], TM>
  : never;

/**
 * A typed batch: queue commands with node-redis's method names, then run them as a MULTI/EXEC
 * transaction (`exec()`) or as a pipeline (`execAsPipeline()`); replies come back as a typed tuple.
 */
export type RedisMulti<R extends unknown[] = [], TM extends TypeMapping = NoTypeMapping> = {
  [P in keyof WithCommands<2, TM>]: MultiSignature<R, WithCommands<2, TM>[P], TM>;
} & {
  /** Commands queued so far. */
  readonly length: number;
  /** Runs the commands in MULTI/EXEC (see `transaction()`); rejects with the first error. */
  exec(options?: { timeoutMs?: number }): Promise<R>;
  /** Sends the commands as a pipeline (not atomic); rejects with the first failed command's error. */
  execAsPipeline(options?: { timeoutMs?: number }): Promise<R>;
};
