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
  const { credentials, outputs } = await invokeCredentials(env);
  const { smokeTest, traceSummaryMarkdown } = await import('../steps/smoke-test');
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
    traces: { xray: await xrayClient(env), waitMs: numberInput('trace-wait-seconds', 60)! * 1000 },
    // A failed latency gate is explained against what users get now: the environment's live endpoint.
    baseline:
      runtimeArn === outputs.RuntimeArn && qualifier === env.runtime.liveEndpoint
        ? undefined
        : {
            dataPlaneUrl: dataPlaneUrl(env),
            runtimeArn: outputs.RuntimeArn,
            qualifier: env.runtime.liveEndpoint,
          },
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
      .addRaw(traceSummaryMarkdown(report, env.region), true)
      .addRaw(await costSummary(report), true),
  );
  if (report.failure) throw new Error(report.failure);
});
