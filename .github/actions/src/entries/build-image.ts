import fs from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { exec } from '@actions/exec';
import { sharedResourceNames } from '../../../../environments';
import { pushImage } from '../../../../local/src/image/push';
import { ecrClient, environmentInput, requiredInput, run, setOutputs, writeSummaryRow } from '../lib/action';
import { imageTags } from '../lib/tags';
import { chooseBuilder, dockerBuild, repositoryUri, type BuiltImage } from '../steps/build-image';

run(async () => {
  // The registry lives with the environment previews reuse (dev); its file names the region.
  const env = environmentInput(core.getInput('environment') || 'dev');
  const sha = requiredInput('sha');
  const pr = core.getInput('pull-request');
  const tags = imageTags({
    sha,
    ref: core.getInput('ref') || process.env.GITHUB_REF || '',
    mainBranch: env.app.github.mainBranch,
    pullRequest: pr ? Number(pr) : undefined,
  });
  const repository = sharedResourceNames(env.app.app).repository;
  const ecr = ecrClient(env);
  const builder = chooseBuilder(
    core.getInput('builder') || 'auto',
    process.env.AWS_ENDPOINT_URL_ECR || process.env.AWS_ENDPOINT_URL,
  );
  const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
  let image: BuiltImage;
  if (builder === 'local') {
    // The twin has no container engine: the agent bundle itself is packed into the local image format.
    const bundle = path.resolve(workspace, core.getInput('agent-bundle') || 'agent/dist/server.mjs');
    if (!fs.existsSync(bundle))
      throw new Error(`agent bundle ${bundle} not found; run npm run build:agent first`);
    const pushed = await pushImage({
      bundle: fs.readFileSync(bundle),
      repository,
      tags,
      architecture: core.getInput('architecture') || undefined,
      ecr,
    });
    image = { imageUri: pushed.imageUri, digest: pushed.digest, tags };
  } else {
    image = await dockerBuild({
      ecr,
      exec: (command, args, options) => exec(command, args, options),
      repositoryUri: await repositoryUri(ecr, repository),
      tags,
      context: path.resolve(workspace, core.getInput('context') || 'agent'),
      dockerfile: path.resolve(workspace, core.getInput('dockerfile') || 'agent/Dockerfile'),
      platform: core.getInput('platform') || 'linux/arm64',
      mask: core.setSecret,
      labels: { 'org.opencontainers.image.revision': sha },
    });
  }
  setOutputs({ 'image-uri': image.imageUri, digest: image.digest, tags: image.tags.join(',') });
  core.info(`pushed ${image.imageUri} (${image.tags.join(', ')}) with the ${builder} builder`);
  await writeSummaryRow('Image', {
    'Image (by digest)': image.imageUri,
    Tags: image.tags.join(', '),
    Builder: builder,
  });
});
