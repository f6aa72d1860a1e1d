/**
 * Build the agent image for linux/arm64 with podman, offline (stand-ins for its FROM images first):
 *   npx tsx scripts/container/build-agent-image.ts [--tag localhost/agentcore-gitops/agent:dev]
 * Also warms the caches the container test uses, so CI can run it before the test suite.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { releaseBuildInputs } from './action-inputs';
import { agentImage } from './agent-image';

const { values } = parseArgs({
  options: { tag: { type: 'string', default: 'localhost/agentcore-gitops/agent:dev' } },
});
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const started = performance.now();
// What release.yml's build step builds: its context, Dockerfile and platform.
const { context, dockerfile, platform } = releaseBuildInputs(root);
const image = await agentImage({
  context,
  dockerfile,
  platform,
  tag: values.tag!,
  log: (line) => console.log(`[image] ${line}`),
});
console.log(
  `[image] ${image.tag}: ${(image.bytes / 1e6).toFixed(1)} MB; build step ${(image.ms / 1000).toFixed(1)} s, ` +
    `total ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
