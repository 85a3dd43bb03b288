import { describe, expect, it } from '@jest/globals';
import { prometheusName, unitSuffix } from '../src/index.js';

describe('OpenTelemetry → Prometheus names', () => {
  it.each([
    ['s', 'seconds'],
    ['ms', 'milliseconds'],
    ['By', 'bytes'],
    ['MiBy', 'mebibytes'],
    ['1', ''],
    ['{request}', ''],
    ['By/s', 'bytes_per_second'],
    ['{packet}/s', 'per_second'],
    ['1/min', 'per_minute'],
    ['%', 'percent'],
    ['widgets', 'widgets'],
    [undefined, ''],
  ])('unit %s → suffix "%s"', (unit, suffix) => {
    expect(unitSuffix(unit)).toBe(suffix);
  });

  it('maps names as the OTel Prometheus compatibility spec does', () => {
    expect(prometheusName('http.client.request.duration', { unit: 's', counter: false, prefix: '' })).toBe(
      'http_client_request_duration_seconds',
    );
    expect(prometheusName('db.client.operation.duration', { unit: 's', counter: false, prefix: '' })).toBe(
      'db_client_operation_duration_seconds',
    );
    expect(prometheusName('shop.orders', { unit: '{order}', counter: true, prefix: 'app_' })).toBe(
      'app_shop_orders_total',
    );
    expect(prometheusName('upload_bytes', { unit: 'By', counter: true, prefix: '' })).toBe(
      'upload_bytes_total',
    );
    expect(prometheusName('jobs_total', { counter: true, prefix: '' })).toBe('jobs_total');
    expect(prometheusName('transfer.rate', { unit: 'By/s', counter: false, prefix: '' })).toBe(
      'transfer_rate_bytes_per_second',
    );
  });
});
