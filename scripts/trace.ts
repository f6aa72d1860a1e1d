/**
 * npm run trace -- <trace id | session id> [--hours N] [--log FILE] [--aws]
 * Renders an answer's trace (span tree with timings, where the time went) from Transaction Search:
 * X-Ray StartTraceRetrieval + ListRetrievedTraces. With --aws (or AWS_ENDPOINT_URL set) region,
 * credentials and endpoint come from the environment as for every AWS client; otherwise it reads the
 * local twin of `npm start` (http://127.0.0.1:$TWIN_PORT, default 4566) as the admin of each account
 * the agent may sign as (TWIN_ACCOUNT picks one).
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
  type TraceSpan,
} from '../.github/actions/src/lib/traces';
import { loadAllEnvironments } from '../environments';
import { adminCredentials } from '../local/src/iam/iam';

const usage =
  'usage: npm run trace -- <trace id | session id> [--hours N] [--log FILE] [--aws]\n  (--aws: read X-Ray in AWS_REGION with your AWS credentials instead of the local twin)';

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

/**
 * Where the spans are read: with --aws (or AWS_ENDPOINT_URL) X-Ray as the AWS SDK finds it (region,
 * credentials, endpoint from the environment); else the local twin of `npm start`, each account in turn.
 */
function readers(env: NodeJS.ProcessEnv, aws: boolean): { where: string; xray: XRayClient }[] {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  if (aws || env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_XRAY)
    return [
      {
        where: env.AWS_ENDPOINT_URL_XRAY || env.AWS_ENDPOINT_URL || `X-Ray in ${region}`,
        xray: new XRayClient({ region }),
      },
    ];
  // `npm start` signs the agent as one account's admin: the hand-made twin's default, or dev's with
  // --provision. Spans are kept per account, so each is asked in turn.
  const endpoint = `http://127.0.0.1:${env.TWIN_PORT || 4566}`;
  const accounts = env.TWIN_ACCOUNT
    ? [env.TWIN_ACCOUNT]
    : [...new Set([TWIN_DEFAULT_ACCOUNT, ...loadAllEnvironments().map((e) => e.account)])];
  return accounts.map((account) => ({
    where: `the twin at ${endpoint} (account ${account})`,
    xray: new XRayClient({ region, endpoint, credentials: adminCredentials(account), maxAttempts: 1 }),
  }));
}

/** The account `startTwin` uses when none is given (`npm start` without --provision). */
const TWIN_DEFAULT_ACCOUNT = '123456789012';

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      hours: { type: 'string', default: '24' },
      log: { type: 'string' },
      aws: { type: 'boolean', default: false },
    },
  });
  const id = positionals[0];
  if (!id) throw new UsageError(usage);
  const hours = Number(values.hours);
  if (!(hours > 0 && hours <= 24 * 14))
    throw new UsageError(`--hours must be from 1 to 336, got "${values.hours}"`);

  let traceIds = [id];
  if (!isTraceId(id)) {
    const logFile = values.log ?? path.join(os.tmpdir(), `agentcore-gitops-agent-${env.PORT || 8080}.log`);
    if (!fs.existsSync(logFile))
      throw new UsageError(
        `${id} is not a trace id, and there is no agent log ${logFile} to find the session's traces in; pass --log FILE (on AWS: Logs Insights over the runtime's log group, \`fields traceId | filter sessionId = "${id}"\`, or the session in CloudWatch → GenAI Observability)`,
      );
    traceIds = traceIdsOfSession(fs.readFileSync(logFile, 'utf8'), id).slice(0, 20);
    if (traceIds.length === 0)
      throw new UsageError(
        `no finished run of session ${id} in ${logFile} (the agent logs "run finished" with its traceId when tracing is on)`,
      );
  }

  const end = new Date(Date.now() + 60_000);
  const window = { start: new Date(end.getTime() - hours * 3600_000), end };
  const traces = new Map<string, TraceSpan[]>();
  const asked: string[] = [];
  for (const { where, xray } of readers(env, values.aws)) {
    const missing = traceIds.filter((t) => !traces.has(w3cTraceId(t)));
    if (missing.length === 0) break;
    asked.push(where);
    try {
      for (const [t, spans] of await retrieveTraces(xray, missing, window, { timeoutMs: 30_000 }))
        traces.set(t, spans);
    } catch (e) {
      throw new Error(readFailure(e as Error & { code?: string; cause?: { code?: string } }, where), {
        cause: e,
      });
    } finally {
      xray.destroy();
    }
  }
  if (traces.size === 0)
    throw new Error(
      `no spans of ${traceIds.length === 1 ? `trace ${traceIds[0]}` : `the ${traceIds.length} traces of session ${id}`} in the last ${hours} h in ${asked.join(', ')}: spans arrive a few seconds after the answer (batched export); is tracing on (AGENT_OBSERVABILITY_ENABLED), and is this the account and region the agent runs in? (--hours widens the window)`,
    );
  const out: string[] = [];
  for (const traceId of traceIds) {
    const spans = traces.get(w3cTraceId(traceId));
    if (!spans) {
      out.push(`trace ${traceId}: not found yet (spans arrive a few seconds after the answer)\n`);
      continue;
    }
    const b = breakdown(spans);
    out.push(
      `trace ${spans[0].traceId}  session ${spans.find((s) => s.attributes['session.id'])?.attributes['session.id'] ?? '?'}  ${b.totalMs.toFixed(0)} ms`,
      renderTree(spans),
      `where the time went: first token ${b.firstTokenMs?.toFixed(0) ?? '?'} ms, model ${b.modelMs.toFixed(0)} ms in ${b.modelCalls} call(s), tools ${b.toolMs.toFixed(0)} ms, memory ${b.memoryMs.toFixed(0)} ms`,
      '',
    );
  }
  return out.join('\n');
}

/** A failed read, with the fix: start the twin, or grant the Transaction Search read permissions. */
function readFailure(e: Error & { code?: string; cause?: { code?: string } }, where: string): string {
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET')
    return `nothing answers at ${where} (${code}): start the twin with \`npm start\` (TWIN_PORT if it listens elsewhere), or pass --aws to read X-Ray with your AWS credentials`;
  if (e.name === 'AccessDeniedException' || /not authorized/i.test(e.message))
    return `${where} refused the trace read (${e.message}): the caller needs xray:StartTraceRetrieval and xray:ListRetrievedTraces`;
  return `reading traces from ${where} failed: ${e.message}`;
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
