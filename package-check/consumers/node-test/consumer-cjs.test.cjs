// node:test from a CommonJS file: every entry point through `require` and its CommonJS build.
const assert = require('node:assert/strict');
const { it } = require('node:test');

const entries = JSON.parse(process.env.VOELGOED_ENTRIES ?? '[]');

it('has entries to load', () => assert.ok(entries.length > 0));
for (const entry of entries) {
  it(`${entry} loads through require`, () => {
    assert.ok(Object.keys(require(entry)).length > 0);
  });
}

it('MemoryKeyValueStore from the CommonJS build round-trips a value', async () => {
  const { MemoryKeyValueStore } = require('@voelgoed/contracts/memory');
  const kv = new MemoryKeyValueStore();
  await kv.set('seat:1', 'held');
  assert.equal(await kv.get('seat:1'), 'held');
});
