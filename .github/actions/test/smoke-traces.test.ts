/**
 * The smoke gate's traces end to end (issue 12, "The pipeline"): the real agent bundle runs in a twin
 * runtime behind a Cognito JWT authorizer and exports its spans to the twin's X-Ray OTLP endpoint;
 * the real smoke step invokes it, reads the traces back with Transaction Search's calls
 * (StartTraceRetrieval + ListRetrievedTraces) and explains where the time went. A candidate whose
 * tool got slow fails the latency gate, and the gate names that tool's span against live.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeEndpointCommand,
  UpdateAgentRuntimeCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { ECRClient } from '@aws-sdk/client-ecr';
import { XRayClient } from '@aws-sdk/client-xray';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../../environments';
import { startTwin, type Twin } from '../../../local/src/twin';
import { cognitoClient, createJwtRuntime } from '../../../local/test/helpers/jwt-runtime';
import { clientConfig } from '../../../local/test/image-fixture';
import { buildAgent } from '../../../scripts/build-agent';
import { pushLocalImage } from '../../../scripts/push-local-image';
import { pollUntil } from '../src/lib/poll';
import { getEndpoint, getRuntime, waitUntilReady } from '../src/lib/runtime';
import { smokeTest, traceSummaryMarkdown, type SmokeTestInput } from '../src/steps/smoke-test';
import { updateRequest } from '../src/steps/deploy-runtime';

const dev = loadEnvironment('dev');
const answered = dev.smoke.cases.find((c) => c.expect === 'answered')!;
const WAIT = { timeoutSeconds: 20, pollSeconds: 0.05 };
/** The candidate's current_time tool takes this much longer (it blocks, as a slow dependency would). */
const SLOW_TOOL_MS = 400;
/** Prepended to the bundle: Tokyo's time formatting (the current_time tool, for the smoke prompt) gets slow. */
const SLOW_TOOL_PRELUDE = `{
  const formatToParts = Intl.DateTimeFormat.prototype.formatToParts;
  Intl.DateTimeFormat.prototype.formatToParts = function (...args) {
    if (this.resolvedOptions().timeZone === 'Asia/Tokyo') { const until = Date.now() + ${SLOW_TOOL_MS}; while (Date.now() < until); }
    return formatToParts.apply(this, args);
  };
}
`;

let twin: Twin;
let work: string;
let runtimeArn: string;
let fastImage: string;
let input: Omit<SmokeTestInput, 'target'>;
const target = (qualifier: string) => ({ dataPlaneUrl: twin.url, runtimeArn, qualifier });

beforeAll(async () => {
  twin = await startTwin({ region: dev.region, agentcore: { readyDelayMs: 20 } });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'smoke-traces-'));
  const { outfile } = await buildAgent({ outfile: path.join(work, 'server.mjs') });
  const slow = path.join(work, 'slow.mjs');
  fs.writeFileSync(slow, SLOW_TOOL_PRELUDE + fs.readFileSync(outfile, 'utf8'));
  const push = (tag: string, bundlePath: string) =>
    pushLocalImage({
      repository: 'agentcore-gitops',
      tags: [tag],
      bundlePath,
      create: tag === 'fast',
      ecr: new ECRClient(clientConfig(twin)),
    });
  fastImage = (await push('fast', outfile)).imageUri;
  const slowImage = (await push('slow', slow)).imageUri;
  const cognito = cognitoClient(twin, 'smoke-traces');
  const created = await createJwtRuntime(twin, {
    name: 'smoke_traces',
    imageUri: fastImage,
    cognito,
    environmentVariables: {
      LOG_LEVEL: 'warn',
      AGENT_OBSERVABILITY_ENABLED: 'true',
      // Export every 100 ms instead of the SDK's 5 s, so the test does not wait on batching.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
  });
  runtimeArn = created.agentRuntimeArn;
  const control = new BedrockAgentCoreControlClient(clientConfig(twin));
  // live serves v1 (the fast agent); the candidate v2 (the slow tool) is what DEFAULT serves.
  await control.send(
    new CreateAgentRuntimeEndpointCommand({
      agentRuntimeId: created.agentRuntimeId,
      name: dev.runtime.liveEndpoint,
      agentRuntimeVersion: '1',
    }),
  );
  await pollUntil(
    async () =>
      (await getEndpoint(control, created.agentRuntimeId, dev.runtime.liveEndpoint)).status === 'READY' ||
      undefined,
    { timeoutMs: 10_000, intervalMs: 50, what: 'live endpoint' },
  );
  await control.send(
    new UpdateAgentRuntimeCommand(
      updateRequest(await getRuntime(control, created.agentRuntimeId), slowImage),
    ),
  );
  await waitUntilReady(control, created.agentRuntimeId, '2', WAIT);
  control.destroy();
  input = {
    credentials: cognito.credentials,
    cases: [answered],
    blockedMessage: dev.guardrail.blockedInputMessage,
    samples: 3,
    concurrency: 1,
    thresholds: { p95FirstTokenMs: 60_000, p95TotalMs: 60_000 },
    traces: {
      xray: new XRayClient({ ...clientConfig(twin), region: dev.region }),
      waitMs: 15_000,
      pollMs: 100,
    },
  };
}, 120_000);
afterAll(async () => {
  await twin?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('smoke gate traces', () => {
  it('links every request to its trace and says where the slowest spent their time', async () => {
    const report = await smokeTest({ ...input, target: target(dev.runtime.liveEndpoint) });
    expect(report.passed, report.failure).toBe(true);
    expect(report.traceNote).toBeUndefined();
    expect(report.requests).toHaveLength(4);
    for (const r of report.requests) expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);

    const explained = report.requests.filter((r) => r.breakdown);
    expect(explained).toHaveLength(3);
    const slowest = [...report.requests].sort((a, b) => b.totalMs! - a.totalMs!).slice(0, 3);
    expect(new Set(explained)).toEqual(new Set(slowest));
    for (const { breakdown: b, totalMs } of explained) {
      // The prompt asks for a tool: one model call asks for it, one answers with its result.
      expect(b).toMatchObject({
        modelCalls: 2,
        slowest: { name: expect.stringMatching(/^chat |^execute_tool /) },
      });
      expect(b!.firstTokenMs).toBeGreaterThan(0);
      expect(b!.toolMs).toBeGreaterThan(0);
      expect(b!.modelMs).toBeGreaterThan(0);
      expect(b!.totalMs).toBeLessThanOrEqual(totalMs! + 5);
    }

    const summary = traceSummaryMarkdown(report, dev.region);
    const rows = summary.split('\n').filter((l) => /^\| (case|latency)/.test(l));
    expect(rows).toHaveLength(4);
    for (const r of report.requests) {
      const url = `https://${dev.region}.console.aws.amazon.com/cloudwatch/home?region=${dev.region}#xray:traces/1-${r.traceId!.slice(0, 8)}-${r.traceId!.slice(8)}`;
      expect(summary).toContain(`[${r.traceId}](${url})`);
    }
    // Slowest first, each of the three with first token, model (calls), tools, memory and its slowest span.
    for (const row of rows.slice(0, 3))
      expect(row).toMatch(
        /^\| [^|]+ \| \d+ \| \d+ ms \| \d+ ms \(2\) \| \d+ ms \| \d+ ms \| \S+ .* \d+ ms \| \[/,
      );
    expect(rows[3]).toMatch(/^\| [^|]+ \| \d+ (\| {2}){5}\| \[/);
  }, 60_000);

  it('names the span that grew when a latency gate fails: the candidate against live', async () => {
    const report = await smokeTest({
      ...input,
      target: target('DEFAULT'),
      // Live answers well within this; the candidate's slow tool does not.
      thresholds: { p95FirstTokenMs: 60_000, p95TotalMs: SLOW_TOOL_MS },
      baseline: target(dev.runtime.liveEndpoint),
    });
    expect(report.passed).toBe(false);
    expect(report.grownSpan).toMatchObject({
      name: 'execute_tool current_time',
      against: expect.stringMatching(/^live \(median of 3 live and 3 candidate samples\)$/),
    });
    expect(report.grownSpan!.candidateMs - report.grownSpan!.baselineMs).toBeGreaterThanOrEqual(
      SLOW_TOOL_MS - 50,
    );
    expect(report.failure).toMatch(
      /latency: total p95: \d+ ms over the threshold .*; span that grew most against live \(.*\): execute_tool current_time \d+ → \d+ ms/,
    );
    expect(traceSummaryMarkdown(report, dev.region)).toMatch(
      /Latency gate failed: the span that grew most against live .* is \*\*execute_tool current_time\*\*/,
    );
  }, 90_000);

  it('degrades to a note, never a failure, when traces cannot be read or are not in yet', async () => {
    const denied = await smokeTest({
      ...input,
      target: target(dev.runtime.liveEndpoint),
      traces: {
        xray: new XRayClient({
          ...clientConfig(twin),
          region: dev.region,
          credentials: { accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x' },
        }),
        waitMs: 1000,
      },
    });
    expect(denied.passed).toBe(true);
    expect(denied.traceNote).toMatch(
      /^traces could not be read from Transaction Search \(.+\); the links still name them$/,
    );
    expect(denied.requests.every((r) => r.traceId && !r.breakdown)).toBe(true);

    // Tracing on, spans never arriving (as before X-Ray has indexed them): a bounded wait, then a note.
    const control = new BedrockAgentCoreControlClient(clientConfig(twin));
    const id = runtimeArn.split('/').at(-1)!;
    const current = await getRuntime(control, id);
    await control.send(
      new UpdateAgentRuntimeCommand({
        ...updateRequest(current, fastImage),
        environmentVariables: {
          ...current.environmentVariables,
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces',
        },
      }),
    );
    await waitUntilReady(control, id, '3', WAIT);
    control.destroy();
    const started = Date.now();
    const unindexed = await smokeTest({
      ...input,
      samples: 1,
      target: target('DEFAULT'),
      traces: { ...input.traces!, waitMs: 1000 },
    });
    expect(unindexed.passed, unindexed.failure).toBe(true);
    expect(unindexed.requests.every((r) => r.traceId && !r.breakdown)).toBe(true);
    expect(unindexed.traceNote).toBe(
      '2 of 2 traces were not in Transaction Search within 1 s (spans are searchable seconds to minutes after an answer; the links work once they are)',
    );
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);
});
