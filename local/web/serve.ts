/**
 * Serves the local chat page and proxies its POST /invocations to the agent, so the browser talks to
 * one origin (no CORS) and never sees the token. The page's script is bundled for the browser by
 * esbuild when the server starts.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const SESSION_HEADER = 'x-amzn-bedrock-agentcore-runtime-session-id';

export interface ChatPageOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** The agent: its base URL (POST <agentUrl>/invocations), or a full URL whose path ends in /invocations. */
  agentUrl: string;
  /** Bearer token added to proxied invocations (e.g. a Cognito access token for a runtime with a JWT authorizer). */
  token?: string;
}

export interface ChatPage {
  url: string;
  close(): Promise<void>;
}

function invocationsUrl(agentUrl: string): string {
  let url: URL;
  try {
    url = new URL(agentUrl);
  } catch {
    throw new Error(`serveChatPage: agentUrl "${agentUrl}" is not a URL; pass e.g. http://127.0.0.1:8080`);
  }
  if (!url.pathname.endsWith('/invocations')) url.pathname = `${url.pathname.replace(/\/$/, '')}/invocations`;
  return url.toString();
}

async function bundleClient(): Promise<string> {
  const out = await build({
    entryPoints: [path.join(here, 'chat.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    logLevel: 'warning',
  });
  return out.outputFiles[0].text;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function serveChatPage(options: ChatPageOptions): Promise<ChatPage> {
  const target = invocationsUrl(options.agentUrl);
  const [html, script] = await Promise.all([readFile(path.join(here, 'index.html'), 'utf8'), bundleClient()]);

  async function proxy(req: IncomingMessage, res: ServerResponse) {
    const upstreamAbort = new AbortController();
    res.once('close', () => upstreamAbort.abort());
    const session = req.headers[SESSION_HEADER];
    let upstream: Response;
    try {
      upstream = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': req.headers['content-type'] ?? 'application/json',
          accept: req.headers.accept ?? 'text/event-stream',
          ...(typeof session === 'string' && { [SESSION_HEADER]: session }),
          ...(options.token && { authorization: `Bearer ${options.token}` }),
        },
        body: new Uint8Array(await readBody(req)),
        signal: upstreamAbort.signal,
      });
    } catch (e) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: `The agent at ${target} could not be reached: ${(e as Error).message}` }),
      );
      return;
    }
    res.writeHead(upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    if (!upstream.body) return void res.end();
    await pipeline(Readable.fromWeb(upstream.body as import('node:stream/web').ReadableStream), res).catch(
      () => {
        // The browser went away or the agent dropped the stream: nothing left to tell anyone.
      },
    );
  }

  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://page');
    if (req.method === 'GET' && (pathname === '/' || pathname === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
      return void res.end(html);
    }
    if (req.method === 'GET' && pathname === '/chat.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' });
      return void res.end(script);
    }
    if (req.method === 'POST' && pathname === '/invocations') return void proxy(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(
      `Not found: ${req.method} ${pathname}. The chat page serves GET / and proxies POST /invocations.`,
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
