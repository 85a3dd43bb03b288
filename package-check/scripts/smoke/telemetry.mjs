// Business metrics through the Metrics port, scraped as Prometheus text.
import { createTelemetry } from '@voelgoed/telemetry';

const telemetry = createTelemetry();
const orders = telemetry.counter('shop.orders', { description: 'Orders placed', labelNames: ['channel'] });
orders.bind({ channel: 'web' }).add(2);
telemetry.histogram('shop.checkout.duration', { unit: 's' }).record(0.25);
const text = await telemetry.scrape();
if (!/shop_orders_total\{channel="web"\} 2/.test(text)) throw new Error(`unexpected exposition:\n${text}`);
if (!/shop_checkout_duration_seconds_count 1/.test(text)) throw new Error(`no histogram:\n${text}`);
await telemetry.close();
console.log('telemetry: counter and histogram scraped as Prometheus text');
