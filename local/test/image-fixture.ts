import { ECRClient } from '@aws-sdk/client-ecr';
import { pushImage, type PushOptions } from '../src/image/push';
import type { Twin } from '../src/twin';

/**
 * A tiny agent artifact: GET /ping, and POST /invocations streaming an SSE answer that names its
 * VERSION_LABEL and echoes the headers the runtime passed in. `?slow` in the body streams a second
 * event later; `FAIL_AT_START` exits before listening.
 */
const FIXTURE_AGENT = `
import http from 'node:http';
if (process.env.FAIL_AT_START) { console.error('fixture: failing at start as asked'); process.exit(3); }
const label = process.env.VERSION_LABEL ?? 'unlabelled';
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/ping') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'Healthy', time_of_last_update: 1 }));
    return;
  }
  if (req.method === 'POST' && req.url === '/invocations') {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (body.includes('"fail"')) { res.writeHead(500); res.end('boom'); return; }
      // One embedded-metric-format line per invocation, as the real agent logs its metrics.
      console.log(JSON.stringify({ _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'FixtureAgent', Dimensions: [['Label']], Metrics: [{ Name: 'Invocations', Unit: 'Count' }] }] }, Label: label, Invocations: 1 }));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const echo = {
        label,
        pid: process.pid,
        session: req.headers['x-amzn-bedrock-agentcore-runtime-session-id'],
        request: req.headers['x-amzn-bedrock-agentcore-runtime-request-id'],
        authorization: req.headers.authorization ?? null,
        custom: req.headers['x-amzn-bedrock-agentcore-runtime-custom-tenant'] ?? null,
        endpoint: process.env.AWS_ENDPOINT_URL,
        body: JSON.parse(body || '{}'),
      };
      res.write('data: ' + JSON.stringify({ type: 'ANSWER', ...echo }) + '\\n\\n');
      if (!body.includes('slow')) { res.end('data: {"type":"DONE"}\\n\\n'); return; }
      res.on('close', () => { if (!res.writableFinished) console.log('fixture: invocation aborted by the caller'); });
      setTimeout(() => res.end('data: {"type":"DONE"}\\n\\n'), 3000);
    });
    return;
  }
  res.writeHead(404); res.end();
});
server.listen(Number(process.env.PORT), process.env.HOST, () => console.log('fixture listening as ' + label));
`;

/** SDK client settings for the twin: its endpoint and region, static credentials, no retries. */
export const ecrClient = (twin: Twin) => new ECRClient(clientConfig(twin));

/** Push the fixture agent (a `marker` comment makes distinct images) and return its URI by digest. */
export async function pushFixture(
  twin: Twin,
  options: Partial<PushOptions> & { repository: string; marker?: string },
) {
  const bundle = Buffer.from(`${FIXTURE_AGENT}\n// ${options.marker ?? 'fixture'}\n`);
  return pushImage({
    bundle,
    ecr: ecrClient(twin),
    createRepository: { imageTagMutability: 'MUTABLE' },
    ...options,
  });
}

export const clientConfig = (twin: Twin) => ({
  endpoint: twin.url,
  region: twin.context.region,
  credentials: twin.credentials(),
  maxAttempts: 1,
});
