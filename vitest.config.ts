import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The slowest files, slowest first (each 40–100 s alone on two cores). They start before everything
 * else so that the two workers finish together: without a duration cache (a fresh clone, as in CI)
 * vitest orders by file size, which started them a third of the way into the run. Only an order: a
 * file missing here runs in vitest's own order (by its cached duration when it has one).
 */
const slowestFirst = [
  'scripts/test/dev.test.ts',
  '.github/actions/test/infra-diff.test.ts',
  '.github/actions/test/local-action.test.ts',
  'scripts/test/container.test.ts',
  'local/test/cloudformation-cdk.test.ts',
];

/**
 * Then the other isolated files, then the shared ones: a worker keeps its shared module graph only
 * while the next file in the queue is a shared one too (vitest's pool stops it otherwise), and the
 * many short shared files last even out the two workers' ends.
 */
class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]) {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = slowestFirst.indexOf(path.relative(f.project.config.root, f.moduleId));
      return i === -1 ? slowestFirst.length : i;
    };
    const shared = (f: TestSpecification) => (f.project.config.isolate === false ? 1 : 0);
    return sorted.sort((a, b) => rank(a) - rank(b) || shared(a) - shared(b));
  }
}

const include = [
  '{agent,local,infra,environments,scripts,cost,evals}/test/**/*.test.ts',
  '.github/actions/test/**/*.test.ts',
];

/**
 * Files that each get a fresh process and module graph. The agent's tests: the agent process's
 * singletons (its stdout line writer, OpenTelemetry's globals) and servers signed from process.env.
 * The slowest files: their imports are a small part of their time. Every other file shares its
 * worker's module graph with the files before it (`isolate: false`): a fresh process per file
 * costs ~0.5 s of CPU for vitest alone and ~2 s for the twin's modules, ~140 s of CPU a run.
 */
const isolated = [
  'agent/test/**/*.test.ts',
  'evals/test/run.test.ts',
  '.github/actions/test/smoke-traces.test.ts',
  '.github/actions/test/bundles.test.ts',
  ...slowestFirst,
];

const common = {
  testTimeout: 30_000,
  hookTimeout: 30_000,
  // Environment variables a file sets are undone after it: files share worker processes.
  setupFiles: ['infra/test/restore-env.ts'],
  env: {
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // aws-cdk-lib's built-in CloudFormation schema check on every synth: ~13 of a synth's ~16 s of
    // CPU, and it only ever warns (errors are downgraded unless @aws-cdk/core:validateAgainstDefaultRules
    // is set, which cdk.json does not). The strict check is cfn-lint's (infra/test/stacks.test.ts);
    // cdk-nag still runs. Passed on to the CDK CLI by local/src/provision/stacks.ts cdkEnvironment().
    CDK_VALIDATION: 'false',
  },
  server: {
    deps: { inline: [/@actions\/(workflow-parser|languageservice|expressions)/] },
  },
};

export default defineConfig({
  test: {
    // Integration tests start real servers; two cores do not like many at once.
    maxWorkers: 2,
    sequence: { sequencer: SlowestFirst },
    // A folder per run for what is made once and shared (the cloud assembly: infra/test/assembly.ts).
    globalSetup: ['infra/test/run-dir.ts'],
    projects: [
      { test: { ...common, name: 'isolated', include: isolated } },
      { test: { ...common, name: 'shared', include, exclude: isolated, isolate: false } },
    ],
  },
});
