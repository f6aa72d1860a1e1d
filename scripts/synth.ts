// Synthesizes every stack offline, in-process (no CDK CLI, no credentials, no network), into infra/cdk.out.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Set before aws-cdk-lib loads: nothing phones home, nothing is reported.
process.env.CDK_DISABLE_CLI_TELEMETRY = 'true';
process.env.CDK_DISABLE_VERSION_CHECK = 'true';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'infra', 'cdk.out');

const started = performance.now();
const { buildApp } = await import('../infra/src/app');
fs.rmSync(outdir, { recursive: true, force: true });
const { app, topology } = buildApp({ outdir, context: { 'aws:cdk:version-reporting': false } });
let assembly;
try {
  assembly = app.synth();
} catch (err) {
  console.error(`synth failed: ${(err as Error).message}`);
  console.error(
    `see ${path.relative(root, path.join(outdir, 'validation-report.json'))} for cdk-nag findings`,
  );
  process.exit(1);
}
// The scoped CloudFormation execution policy `cdk bootstrap` is given (docs/infra.md): it must cover
// every resource type the templates contain, so it is regenerated from them on every synth.
const { executionPolicy, executionPolicyFile } = await import('../infra/src/bootstrap-policy');
const types = assembly.stacks.flatMap((s) =>
  Object.values((s.template as { Resources: Record<string, { Type: string }> }).Resources).map((r) => r.Type),
);
let policy;
try {
  policy = executionPolicy(topology, types);
} catch (err) {
  console.error(`synth failed: ${(err as Error).message}`);
  process.exit(1);
}
fs.mkdirSync(path.dirname(path.join(root, executionPolicyFile)), { recursive: true });
fs.writeFileSync(path.join(root, executionPolicyFile), `${JSON.stringify(policy.document, null, 2)}\n`);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
for (const stack of assembly.stacks) {
  const file = path.relative(root, path.join(outdir, stack.templateFile));
  console.log(
    `${stack.stackName.padEnd(40)} ${stack.environment.account}/${stack.environment.region}  ${file}`,
  );
}
console.log(`CDK execution policy (for cdk bootstrap): ${executionPolicyFile}`);
console.log(
  `synthesized ${assembly.stacks.length} stacks in ${seconds} s (cdk-nag AwsSolutions: no unacknowledged findings)`,
);
