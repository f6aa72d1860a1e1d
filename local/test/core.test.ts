import http2 from 'node:http2';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECRClient, GetLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig } from './image-fixture';

describe('twin core', () => {
  let twin: Twin;
  beforeAll(async () => {
    twin = await startTwin();
  });
  afterAll(() => twin.close());

  it('serves HTTP/1.1 on loopback', async () => {
    expect(twin.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${twin.url}/no/such/route`);
    expect(res.status).toBe(404);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^UnknownOperationException/);
    expect((await res.json()).message).toContain('GET /no/such/route');
  });

  it('serves h2c with prior knowledge on the same port', async () => {
    const session = http2.connect(twin.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = session.request({ ':path': '/nothing', ':method': 'GET' });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
      req.end();
    });
    session.close();
    expect(status).toBe(404);
  });

  it("keeps an idle HTTP/1.1 connection open past Node's keep-alive default (5 s, closed at about 6)", async () => {
    // The SDK's keep-alive agent reuses an idle socket without looking at the server's Keep-Alive hint,
    // and the tests' clients do not retry: a server closing it at 5 s raced a request sent at 5 s
    // (read ECONNRESET in CI).
    const { port } = new URL(twin.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    let received = '';
    let closed = false;
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('close', () => (closed = true));
    const request = 'GET /no/such/route HTTP/1.1\r\nHost: twin\r\n\r\n';
    const answered = (n: number) =>
      expect.poll(() => received.split('HTTP/1.1 404').length - 1, { timeout: 2_000 }).toBe(n);
    socket.write(request);
    await answered(1);
    await new Promise((r) => setTimeout(r, 7_000));
    expect(closed).toBe(false);
    socket.write(request);
    await answered(2);
    socket.destroy();
  }, 12_000);

  it('answers an unimplemented JSON-protocol operation with an error the SDK parses', async () => {
    const ecr = new ECRClient(clientConfig(twin));
    const err = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'any' })).catch((e) => e);
    ecr.destroy();
    expect(err.name).toBe('UnknownOperationException');
    expect(err.$metadata.httpStatusCode).toBe(404);
    expect(err.message).toContain('AmazonEC2ContainerRegistry_V20150921.GetLifecyclePolicy');
  });
});
