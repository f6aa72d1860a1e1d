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
const { app } = buildApp({ outdir, context: { 'aws:cdk:version-reporting': false } });
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
const seconds = ((performance.now() - started) / 1000).toFixed(1);
for (const stack of assembly.stacks) {
  const file = path.relative(root, path.join(outdir, stack.templateFile));
  console.log(
    `${stack.stackName.padEnd(40)} ${stack.environment.account}/${stack.environment.region}  ${file}`,
  );
}
console.log(
  `synthesized ${assembly.stacks.length} stacks in ${seconds} s (cdk-nag AwsSolutions: no unacknowledged findings)`,
);
