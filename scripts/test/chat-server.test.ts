/** The chat page server's proxy, against a real loopback stand-in for the agent. */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveChatPage, type ChatPage } from '../../local/web/serve';
import { freePort } from '../bench/processes';

describe('chat page server', () => {
  const seen: { url?: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const agent = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"type":"RUN_STARTED"}\n\n');
      res.end('data: {"type":"RUN_FINISHED"}\n\n');
    });
  });
  let page: ChatPage;

  beforeAll(async () => {
    agent.listen(0, '127.0.0.1');
    await once(agent, 'listening');
    const { port } = agent.address() as AddressInfo;
    page = await serveChatPage({ agentUrl: `http://127.0.0.1:${port}`, token: 'tok-123' });
  });
  afterAll(async () => {
    await page?.close();
    agent.close();
  });

  it('serves the page and its bundled script', async () => {
    const html = await (await fetch(page.url)).text();
    expect(html).toContain('<script type="module" src="/chat.js">');
    const script = await fetch(`${page.url}/chat.js`);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(await script.text()).toContain('/invocations');
  });

  it('proxies POST /invocations with the session header and the bearer token, streaming the answer back', async () => {
    const res = await fetch(`${page.url}/invocations`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        'X-Amzn-Bedrock-AgentCore-Runtime-Session-Id': 's'.repeat(40),
      },
      body: '{"threadId":"t"}',
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toBe('data: {"type":"RUN_STARTED"}\n\ndata: {"type":"RUN_FINISHED"}\n\n');
    const upstream = seen.at(-1)!;
    expect(upstream.url).toBe('/invocations');
    expect(upstream.body).toBe('{"threadId":"t"}');
    expect(upstream.headers.authorization).toBe('Bearer tok-123');
    expect(upstream.headers['x-amzn-bedrock-agentcore-runtime-session-id']).toBe('s'.repeat(40));
  });

  it('answers 502 with the reason when the agent is unreachable, and 404 for unknown paths', async () => {
    const down = await serveChatPage({ agentUrl: `http://127.0.0.1:${await freePort()}` });
    try {
      const res = await fetch(`${down.url}/invocations`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: string }).error).toMatch(/could not be reached/);
      const missing = await fetch(`${down.url}/nope`);
      expect(missing.status).toBe(404);
    } finally {
      await down.close();
    }
  });

  it('rejects an agentUrl that is not a URL, saying what to pass', async () => {
    await expect(serveChatPage({ agentUrl: '127.0.0.1:8080' })).rejects.toThrow(
      /not a URL.*http:\/\/127\.0\.0\.1:8080/,
    );
  });
});
