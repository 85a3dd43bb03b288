import { describe, expect, it } from '@jest/globals';
import {
  MAX_METRIC_DESCRIPTION_LENGTH,
  MAX_METRIC_UNIT_LENGTH,
  METRIC_LABEL_NAME_PATTERN,
  METRIC_NAME_PATTERN,
  readMetricLabelNames,
  validateMetricBuckets,
  validateMetricDescription,
  validateMetricName,
  validateMetricUnit,
} from '../src/index.js';
import { P, refusal } from './support/refusal.js';

describe('validateMetricName', () => {
  it.each([['http.client.request.duration'], ['_x'], ['jobs_total'], ['A1.b_2']])('accepts %j', (name) => {
    expect(() => validateMetricName(name, P)).not.toThrow();
    expect(METRIC_NAME_PATTERN.test(name)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['a leading digit', '1abc'],
    ['a leading dot', '.abc'],
    ['a dash', 'a-b'],
    ['a colon', 'a:b'],
    ['a space', 'a b'],
    ['non-ASCII', 'métrique'],
    ['a number', 7],
  ])('refuses %s', (_, name) => {
    refusal(() => validateMetricName(name, P));
  });

  it('cuts a long name in the message', () => {
    expect(refusal(() => validateMetricName(`-${'x'.repeat(1000)}`, P)).message.length).toBeLessThan(200);
  });
});

describe('readMetricLabelNames', () => {
  it('returns a copy of valid, distinct names', () => {
    const names = ['status', '_x', 'a1'];
    const read = readMetricLabelNames(names, 'm', 'counter', P);
    expect(read).toEqual(names);
    expect(read).not.toBe(names);
    expect(readMetricLabelNames(['le'], 'm', 'counter', P)).toEqual(['le']);
    expect(METRIC_LABEL_NAME_PATTERN.test('a.b')).toBe(false);
  });

  it.each([
    ['a dotted name', ['a.b'], 'counter'],
    ['a leading digit', ['1a'], 'counter'],
    ['an empty name', [''], 'gauge'],
    ['a non-string', [1], 'gauge'],
    ['a reserved __ name', ['__name__'], 'counter'],
    ['le on a histogram', ['le'], 'histogram'],
    ['a repeated name', ['a', 'a'], 'counter'],
    ['not an array', 'status', 'counter'],
    ['a sparse array', new Array(3), 'counter'],
  ])('refuses %s', (_, names, kind) => {
    refusal(() => readMetricLabelNames(names, 'm', kind, P));
  });
});

describe('validateMetricDescription and validateMetricUnit', () => {
  it('accept undefined and strings within the limits', () => {
    expect(() => validateMetricDescription(undefined, 'm', P)).not.toThrow();
    expect(() => validateMetricDescription('d'.repeat(MAX_METRIC_DESCRIPTION_LENGTH), 'm', P)).not.toThrow();
    expect(() => validateMetricUnit(undefined, 'm', P)).not.toThrow();
    expect(() => validateMetricUnit('By/s', 'm', P)).not.toThrow();
    expect(() => validateMetricUnit('u'.repeat(MAX_METRIC_UNIT_LENGTH), 'm', P)).not.toThrow();
  });

  it('refuse non-strings, overlong text and control characters in a unit', () => {
    refusal(() => validateMetricDescription(5, 'm', P));
    refusal(() => validateMetricDescription('d'.repeat(MAX_METRIC_DESCRIPTION_LENGTH + 1), 'm', P));
    refusal(() => validateMetricUnit(5, 'm', P));
    refusal(() => validateMetricUnit('u'.repeat(MAX_METRIC_UNIT_LENGTH + 1), 'm', P));
    refusal(() => validateMetricUnit('s\n', 'm', P));
  });
});

describe('validateMetricBuckets', () => {
  it('accepts finite, strictly ascending numbers', () => {
    expect(() => validateMetricBuckets([0.1, 1, 10], 'buckets', P)).not.toThrow();
    expect(() => validateMetricBuckets([-1], 'buckets', P)).not.toThrow();
  });

  it.each([
    ['empty', []],
    ['descending', [2, 1]],
    ['repeated', [1, 1]],
    ['infinite', [1, Number.POSITIVE_INFINITY]],
    ['NaN', [Number.NaN]],
    ['strings', ['1']],
    ['not an array', 1],
  ])('refuses %s', (_, buckets) => {
    expect(refusal(() => validateMetricBuckets(buckets, 'buckets of m', P)).message).toContain(
      'buckets of m',
    );
  });
});
