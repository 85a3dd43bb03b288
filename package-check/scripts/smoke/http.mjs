// A real request to a local node:http server, with a retry on 503 and a signed webhook.
import http from 'node:http';
import { createHttpClient, signWebhook, verifyWebhook } from '@voelgoed/http';

let calls = 0;
const server = http.createServer((req, res) => {
  calls++;
  if (calls === 1) {
    res.writeHead(503, { 'retry-after': '0' }).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const client = createHttpClient({ baseUrl: `http://127.0.0.1:${server.address().port}` });
try {
  const response = await client.get('/hello', { query: { a: 1 } });
  if (response.status !== 200 || response.json().path !== '/hello?a=1' || response.attempts !== 2) {
    throw new Error(
      `unexpected response ${response.status} ${response.text()} after ${response.attempts} attempts`,
    );
  }
  const payload = JSON.stringify({ event: 'paid' });
  const headers = signWebhook({ payload, secret: 'whsec_c21va2Utc2VjcmV0' });
  verifyWebhook({ payload, headers, secret: 'whsec_c21va2Utc2VjcmV0' });
  console.log('http: GET with a retry on 503 and a webhook sign/verify round trip work');
} finally {
  await client.close();
  server.close();
}
