import path from 'node:path';
import * as core from '@actions/core';
import {
  bedrockClient,
  dataPlaneUrl,
  environmentInput,
  invokeCredentials,
  pricesInput,
  action,
  setOutputs,
  writeSummary,
} from '../lib/action';
import type { EvalEndpoint } from '../steps/eval-gate';

export const run = action(async () => {
  const env = await environmentInput();
  const { credentials, outputs } = await invokeCredentials(env);
  const [{ clientCredentialsToken }, { endpointInvoker, evalGate }] = await Promise.all([
    import('../lib/cognito'),
    import('../steps/eval-gate'),
  ]);
  const token = await clientCredentialsToken(credentials);
  core.setSecret(token);
  // Previews compare with the live endpoint of the environment they reuse (its stack's runtime).
  const runtimeArn = core.getInput('runtime-arn') || (env.preview ? undefined : outputs.RuntimeArn);
  if (!runtimeArn)
    throw new Error(
      `input "runtime-arn" is required for ${env.name}: its runtimes are not in a stack's outputs`,
    );
  const qualifier = core.getInput('qualifier') || 'DEFAULT';
  const liveEndpoint = env.runtime.liveEndpoint;
  const timeoutMs = env.evals.timeoutSeconds * 1000;
  const endpoint = (arn: string, q: string): EvalEndpoint => ({
    label: `${arn.split('/').at(-1)}/${q}`,
    invoke: endpointInvoker(
      { dataPlaneUrl: dataPlaneUrl(env), runtimeArn: arn, qualifier: q, bearerToken: token },
      timeoutMs,
    ),
  });
  const baseline = core.getInput('baseline') || 'live';
  if (baseline !== 'live' && baseline !== 'none')
    throw new Error(`input "baseline" must be live or none, got "${baseline}"`);
  const suitesDir =
    core.getInput('evals-dir') || path.join(process.env.GITHUB_WORKSPACE ?? process.cwd(), 'evals/suites');
  const [{ loadSuites }, { checkThresholds }] = await Promise.all([
    import('../../../../evals/schema'),
    import('../../../../evals/compare'),
  ]);
  const suites = loadSuites(suitesDir);
  checkThresholds(
    env.evals.thresholds,
    suites.map((s) => s.name),
  );
  const report = await evalGate({
    candidate: endpoint(runtimeArn, qualifier),
    live: baseline === 'live' ? endpoint(outputs.RuntimeArn, liveEndpoint) : undefined,
    suites,
    settings: env.evals,
    prices: (await pricesInput()).models,
    judge: env.evals.judgeModel
      ? (await import('../../../../evals/judge')).bedrockJudge(env.evals.judgeModel, await bedrockClient(env))
      : undefined,
  });
  setOutputs({
    passed: report.passed,
    // What the preview comment shows; the full verdict stays in the job summary.
    report: JSON.stringify({ passed: report.passed, markdown: report.markdown, failure: report.failure }),
  });
  await writeSummary((s) =>
    s.addHeading(`Eval gate ${env.name} (${qualifier})`, 3).addRaw(report.markdown, true),
  );
  if (report.failure) throw new Error(report.failure);
});
