/**
 * npm run trace -- <trace id | session id> [--hours N] [--log FILE]
 * Renders an answer's trace (span tree with timings, where the time went) from Transaction Search:
 * X-Ray StartTraceRetrieval + ListRetrievedTraces. AWS_ENDPOINT_URL and credentials come from the
 * environment as for every AWS client; without them it reads the local twin of `npm start`
 * (http://127.0.0.1:$TWIN_PORT, default 4566) as its admin.
 * A session id is resolved to its trace ids through the agent's structured logs (every `run finished`
 * line carries sessionId and traceId): `npm start` writes them to the file it prints.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { XRayClient } from '@aws-sdk/client-xray';
import {
  breakdown,
  isTraceId,
  renderTree,
  retrieveTraces,
  w3cTraceId,
} from '../.github/actions/src/lib/traces';
import { adminCredentials } from '../local/src/iam/iam';

const usage = 'usage: npm run trace -- <trace id | session id> [--hours N] [--log FILE]';

class UsageError extends Error {}

/** The agent's log lines of a session → its trace ids, newest first. */
export function traceIdsOfSession(logText: string, sessionId: string): string[] {
  const ids: string[] = [];
  for (const line of logText.split('\n')) {
    if (!line.includes(sessionId)) continue;
    try {
      const entry = JSON.parse(line) as { sessionId?: string; traceId?: string; msg?: string };
      if (entry.sessionId === sessionId && entry.traceId && entry.msg === 'run finished')
        ids.push(entry.traceId);
    } catch {
      // not a JSON log line (an EMF line is JSON too, without traceId)
    }
  }
  return ids.reverse();
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { hours: { type: 'string', default: '24' }, log: { type: 'string' } },
  });
  const id = positionals[0];
  if (!id) throw new UsageError(usage);
  const hours = Number(values.hours);
  if (!(hours > 0 && hours <= 24 * 14))
    throw new UsageError(`--hours must be from 1 to 336, got "${values.hours}"`);

  const twin = !env.AWS_ENDPOINT_URL;
  const xray = new XRayClient({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(twin && {
      endpoint: `http://127.0.0.1:${env.TWIN_PORT || 4566}`,
      credentials: adminCredentials(env.TWIN_ACCOUNT || '123456789012'),
    }),
  });

  let traceIds = [id];
  if (!isTraceId(id)) {
    const logFile = values.log ?? path.join(os.tmpdir(), `agentcore-gitops-agent-${env.PORT || 8080}.log`);
    if (!fs.existsSync(logFile))
      throw new UsageError(
        `${id} is not a trace id, and there is no agent log ${logFile} to find the session's traces in; pass --log FILE (on AWS: Logs Insights over the runtime's log group, \`fields traceId | filter sessionId = "${id}"\`)`,
      );
    traceIds = traceIdsOfSession(fs.readFileSync(logFile, 'utf8'), id).slice(0, 20);
    if (traceIds.length === 0) throw new UsageError(`no finished run of session ${id} in ${logFile}`);
  }

  const end = new Date(Date.now() + 60_000);
  const traces = await retrieveTraces(xray, traceIds, {
    start: new Date(end.getTime() - hours * 3600_000),
    end,
  });
  const out: string[] = [];
  for (const traceId of traceIds) {
    const spans = traces.get(w3cTraceId(traceId));
    if (!spans) {
      out.push(`trace ${traceId}: not found (spans arrive a few seconds after the answer; is tracing on?)\n`);
      continue;
    }
    const b = breakdown(spans);
    out.push(
      `trace ${spans[0].traceId}  session ${spans[0].attributes['session.id'] ?? '?'}  ${b.totalMs.toFixed(0)} ms`,
      renderTree(spans),
      `where the time went: first token ${b.firstTokenMs?.toFixed(0) ?? '?'} ms, model ${b.modelMs.toFixed(0)} ms in ${b.modelCalls} call(s), tools ${b.toolMs.toFixed(0)} ms, memory ${b.memoryMs.toFixed(0)} ms`,
      '',
    );
  }
  return out.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (text) => console.log(text),
    (e: Error) => {
      console.error(e instanceof UsageError ? e.message : `npm run trace: ${e.message}`);
      process.exit(e instanceof UsageError ? 2 : 1);
    },
  );
}
