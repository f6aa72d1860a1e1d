import fs from 'node:fs';
import * as core from '@actions/core';
import {
  ecrClient,
  environmentInput,
  requiredInput,
  action,
  setOutputs,
  writeSummaryRow,
} from '../lib/action';
import type { BuiltImage } from '../steps/build-image';

export const run = action(async () => {
  requiredInput('sha');
  const [{ buildImageInputs, chooseBuilder, dockerBuild, imageRepository }, { imageTags }] =
    await Promise.all([import('../steps/build-image'), import('../lib/tags')]);
  const inputs = buildImageInputs(
    core.getInput,
    process.env.GITHUB_WORKSPACE ?? process.cwd(),
    process.env.GITHUB_REF,
  );
  // The registry lives with the environment previews reuse (dev); its file names the account and region.
  const env = await environmentInput(inputs.environment);
  const tags = imageTags({
    sha: inputs.sha,
    ref: inputs.ref,
    mainBranch: env.app.github.mainBranch,
    pullRequest: inputs.pullRequest,
  });
  const repository = imageRepository(env, inputs.pullRequest);
  const ecr = await ecrClient(env);
  const builder = chooseBuilder(
    inputs.builder,
    process.env.AWS_ENDPOINT_URL_ECR || process.env.AWS_ENDPOINT_URL,
  );
  let image: BuiltImage;
  if (builder === 'local') {
    // The twin has no container engine: the agent bundle itself is packed into the local image format.
    if (!fs.existsSync(inputs.agentBundle))
      throw new Error(`agent bundle ${inputs.agentBundle} not found; run npm run build:agent first`);
    const [{ packImage }, { pushPackedImage }] = await Promise.all([
      import('../lib/image-format'),
      import('../lib/ecr-push'),
    ]);
    const packed = packImage(fs.readFileSync(inputs.agentBundle), {
      architecture: inputs.architecture,
      labels: { 'org.opencontainers.image.revision': inputs.sha },
    });
    image = await pushPackedImage(ecr, repository, packed, tags);
  } else {
    const { exec } = await import('@actions/exec');
    image = await dockerBuild({
      ecr,
      exec: (command, args, options) => exec(command, args, options),
      repository,
      tags,
      context: inputs.context,
      dockerfile: inputs.dockerfile,
      platform: inputs.platform,
      mask: core.setSecret,
      labels: { 'org.opencontainers.image.revision': inputs.sha },
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
