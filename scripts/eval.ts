/**
 * Run the eval suites (evals/suites) against an agent and print the gate's before/after table.
 *
 *   npm run eval -- --target <url | runtime/qualifier> [--environment dev] [--baseline <runtime/qualifier> | none]
 *                   [--suite tools] [--json]
 *
 * --target http://127.0.0.1:8080       an agent server (npm start); no baseline unless --baseline is given
 * --target agentcore_gitops_dev/DEFAULT a runtime by name (or ARN) and endpoint, called as clients do:
 *                                       a Cognito client-credentials token from the environment's stack;
 *                                       baseline: the same runtime's live endpoint
 * AWS credentials, region and endpoints (AWS_ENDPOINT_URL for the twin) come from the usual variables.
 * Exits 1 when the gate fails, 2 on a usage or configuration error.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEnvironment, type Environment } from '../environments';
import { loadPrices } from '../environments/prices';
import { checkThresholds } from '../evals/compare';
import { bedrockJudge } from '../evals/judge';
import { loadSuites, suitesDir } from '../evals/schema';
import {
  bedrockClient,
  controlClient,
  dataPlaneUrl,
  invokeCredentials,
} from '../.github/actions/src/lib/action';
import { clientCredentialsToken } from '../.github/actions/src/lib/cognito';
import { requireRuntime } from '../.github/actions/src/lib/runtime';
import { endpointInvoker, evalGate, type EvalEndpoint } from '../.github/actions/src/steps/eval-gate';

/** `<runtime name or ARN>/<qualifier>`; an ARN has a `/` of its own (`…:runtime/<id>`). */
export function parseRuntimeTarget(target: string): { runtime: string; qualifier: string } {
  const m = /^(arn:[^/]+\/[^/]+|[a-zA-Z][a-zA-Z0-9_]*)\/([a-zA-Z0-9_]+)$/.exec(target);
  if (!m)
    throw new Error(
      `--target "${target}" is neither a URL nor <runtime name or ARN>/<qualifier> (e.g. agentcore_gitops_dev/DEFAULT)`,
    );
  return { runtime: m[1], qualifier: m[2] };
}

async function runtimeEndpoint(env: Environment, target: string, token: string): Promise<EvalEndpoint> {
  const { runtime, qualifier } = parseRuntimeTarget(target);
  const runtimeArn = runtime.startsWith('arn:')
    ? runtime
    : (await requireRuntime(await controlClient(env), runtime)).agentRuntimeArn!;
  return {
    label: target,
    invoke: endpointInvoker(
      { dataPlaneUrl: dataPlaneUrl(env), runtimeArn, qualifier, bearerToken: token },
      env.evals.timeoutSeconds * 1000,
    ),
  };
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string' },
      environment: { type: 'string', default: 'dev' },
      baseline: { type: 'string' },
      suite: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.target) throw new Error('--target <url | runtime/qualifier> is required');
  const env = loadEnvironment(values.environment);
  const isUrl = (t: string) => /^https?:\/\//.test(t);
  // A runtime needs a token as clients get one; a local agent server takes none.
  const needsToken = [values.target, values.baseline].some((t) => t && t !== 'none' && !isUrl(t));
  const token = needsToken
    ? await clientCredentialsToken((await invokeCredentials(env, '')).credentials)
    : '';
  const endpoint = (t: string) =>
    isUrl(t)
      ? { label: t, invoke: endpointInvoker({ url: t }, env.evals.timeoutSeconds * 1000) }
      : runtimeEndpoint(env, t, token);
  const baseline =
    values.baseline ??
    (isUrl(values.target)
      ? 'none'
      : `${parseRuntimeTarget(values.target).runtime}/${env.runtime.liveEndpoint}`);
  let suites = loadSuites(suitesDir);
  checkThresholds(
    env.evals.thresholds,
    suites.map((s) => s.name),
  );
  if (values.suite?.length) {
    const unknown = values.suite.filter((s) => !suites.some((x) => x.name === s));
    if (unknown.length)
      throw new Error(`unknown suite(s) ${unknown.join(', ')}; have ${suites.map((s) => s.name).join(', ')}`);
    suites = suites.filter((s) => values.suite!.includes(s.name));
  }
  const report = await evalGate({
    candidate: await endpoint(values.target),
    live: baseline === 'none' ? undefined : await endpoint(baseline),
    suites,
    settings: env.evals,
    prices: loadPrices().models,
    judge: env.evals.judgeModel ? bedrockJudge(env.evals.judgeModel, await bedrockClient(env)) : undefined,
  });
  console.log(report.markdown);
  if (report.failure) console.error(`\n${report.failure}`);
  if (values.json) console.log(JSON.stringify(report.verdict));
  return report.passed ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`eval: ${e.message}`);
      process.exit(2);
    },
  );
}
