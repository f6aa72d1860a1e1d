import * as core from '@actions/core';
import {
  dataPlaneUrl,
  environmentInput,
  invokeCredentials,
  numberInput,
  pricesInput,
  action,
  setOutputs,
  writeSummary,
  xrayClient,
} from '../lib/action';
import type { SmokeReport } from '../steps/smoke-test';

/** The X-Ray trace view of an answer in the CloudWatch console. */
const traceLink = (w3cTraceId: (id: string) => string, region: string, traceId: string) => {
  const id = w3cTraceId(traceId);
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#xray:traces/1-${id.slice(0, 8)}-${id.slice(8)}`;
};

/** Each request with its trace; for the slowest, where the time went (from its spans). */
function traceSummary(report: SmokeReport, region: string, w3cTraceId: (id: string) => string): string {
  const rows = report.requests.map((r) => {
    const b = r.breakdown;
    const where = b
      ? `first token ${b.firstTokenMs?.toFixed(0) ?? '?'} ms · model ${b.modelMs.toFixed(0)} ms (${b.modelCalls}) · tools ${b.toolMs.toFixed(0)} ms · memory ${b.memoryMs.toFixed(0)} ms · slowest span ${b.slowest?.name ?? '-'}`
      : '';
    const trace = r.traceId ? `[${r.traceId}](${traceLink(w3cTraceId, region, r.traceId)})` : 'no trace id';
    return `| ${r.name} | ${r.totalMs ?? '-'} | ${trace} | ${where} |`;
  });
  const slowest = [...report.requests].sort((a, b) => (b.totalMs ?? 0) - (a.totalMs ?? 0)).slice(0, 3);
  return [
    '',
    `**Traces** (CloudWatch Transaction Search; slowest: ${slowest.map((r) => r.name).join(', ')})${report.traceNote ? ` — ${report.traceNote}` : ''}`,
    '',
    '| Request | Total ms | Trace | Where the time went |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** Tokens and estimated cost per request and for the gate; a pricing problem only warns (the gates decide). */
async function costSummary(report: SmokeReport): Promise<string> {
  try {
    const { smokeCostMarkdown } = await import('../../../../cost/smoke');
    return `\n**Tokens and estimated cost** (prices from environments/prices.yaml):\n\n${smokeCostMarkdown(report.requests, (await pricesInput()).models)}`;
  } catch (e) {
    const message = `could not price the smoke requests: ${(e as Error).message}`;
    core.warning(message);
    return message;
  }
}

export const run = action(async () => {
  const env = await environmentInput();
  const { credentials, outputs } = await invokeCredentials(env, undefined, core.getInput('token-url'));
  const [{ smokeTest }, { w3cTraceId }] = await Promise.all([
    import('../steps/smoke-test'),
    import('../lib/traces'),
  ]);
  const runtimeArn = core.getInput('runtime-arn') || (env.preview ? undefined : outputs.RuntimeArn);
  if (!runtimeArn)
    throw new Error(
      `input "runtime-arn" is required for ${env.name}: its runtimes are not in a stack's outputs`,
    );
  const qualifier = core.getInput('qualifier') || 'DEFAULT';
  const report = await smokeTest({
    target: { dataPlaneUrl: dataPlaneUrl(env), runtimeArn, qualifier },
    credentials,
    cases: env.smoke.cases,
    blockedMessage: env.guardrail.blockedInputMessage,
    samples: numberInput('samples', env.smoke.samples)!,
    concurrency: env.smoke.concurrency,
    thresholds: env.smoke,
    onToken: (token) => core.setSecret(token),
    traces: { xray: await xrayClient(env) },
  });
  setOutputs({
    passed: report.passed,
    report: JSON.stringify(report),
    'first-token-p95-ms': report.latency.firstTokenP95Ms,
    'total-p95-ms': report.latency.totalP95Ms,
  });
  await writeSummary(async (s) =>
    s
      .addHeading(`Smoke gates ${env.name} (${qualifier}): ${report.passed ? 'passed' : 'FAILED'}`, 3)
      .addTable([
        [
          { data: 'Gate', header: true },
          { data: 'Result', header: true },
          { data: 'Actual', header: true },
          { data: 'Required', header: true },
        ],
        ...report.gates.map((g) => [g.gate, g.passed ? '✅ pass' : '❌ fail', g.actual, g.expected]),
      ])
      .addRaw(
        `Latency over ${report.latency.samples} samples at concurrency ${env.smoke.concurrency}: first token p50 ${report.latency.firstTokenP50Ms} ms, p95 ${report.latency.firstTokenP95Ms} ms; total p50 ${report.latency.totalP50Ms} ms, p95 ${report.latency.totalP95Ms} ms.`,
        true,
      )
      .addRaw(traceSummary(report, env.region, w3cTraceId), true)
      .addRaw(await costSummary(report), true),
  );
  if (report.failure) throw new Error(report.failure);
});
