import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ECRClient } from '@aws-sdk/client-ecr';
import { loadAllEnvironments, movingImageTags, previewImageTagPattern } from '../environments';
import { pushImage, type PushedImage } from '../local/src/image/push';
import { buildAgent, type BuildAgentOptions } from './build-agent';

const HELP = `Usage: npm run image:local -- --repository NAME --tag TAG [--tag TAG ...] [options]

Builds the agent bundle, packs it into the local image format (an OCI manifest for linux/arm64
whose layer is the bundle; see docs/twin.md) and pushes it with the ECR API to the local twin at
AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_ECR). Prints the image URI by digest as the last line.

  --repository NAME   ECR repository to push to
  --tag TAG           tag to put on the image (repeatable; none pushes it untagged)
  --bundle FILE       push this bundle instead of building agent/dist/server.mjs
  --architecture A    platform in the image config (default arm64; amd64 shows the service's refusal)
  --create            create the repository if missing (IMMUTABLE_WITH_EXCLUSION, mutable: latest, dev, prod, pr-*)
  --json              print {"imageUri","digest","repositoryUri","tags"} instead
  -h, --help          this text`;

export interface PushLocalImageOptions {
  repository: string;
  tags?: string[];
  /** A bundle to push as is; default: build the agent. */
  bundlePath?: string;
  /** Options for building the agent when no bundlePath is given (e.g. another outfile). */
  build?: BuildAgentOptions;
  architecture?: string;
  create?: boolean;
  ecr?: ECRClient;
}

/** Build (or take) the agent bundle and push it to the twin's ECR; what the pipeline's build step calls locally. */
export async function pushLocalImage(options: PushLocalImageOptions): Promise<PushedImage> {
  const bundlePath = options.bundlePath ?? (await buildAgent(options.build)).outfile;
  return pushImage({
    bundle: await readFile(bundlePath),
    repository: options.repository,
    tags: options.tags,
    architecture: options.architecture,
    ecr: options.ecr,
    ...(options.create && {
      createRepository: {
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [
          ...movingImageTags(loadAllEnvironments()),
          previewImageTagPattern,
        ].map((filter) => ({
          filterType: 'WILDCARD',
          filter,
        })),
      },
    }),
  });
}

async function main() {
  const { values } = parseArgs({
    options: {
      repository: { type: 'string' },
      tag: { type: 'string', multiple: true },
      bundle: { type: 'string' },
      architecture: { type: 'string' },
      create: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(HELP);
  if (!values.repository) throw new Error(`--repository is required\n\n${HELP}`);
  if (!process.env.AWS_ENDPOINT_URL && !process.env.AWS_ENDPOINT_URL_ECR) {
    throw new Error(
      'The local image format only runs on the twin: set AWS_ENDPOINT_URL to the twin (npm run twin prints it).',
    );
  }
  const pushed = await pushLocalImage({
    repository: values.repository,
    tags: values.tag,
    bundlePath: values.bundle && path.resolve(values.bundle),
    architecture: values.architecture,
    create: values.create,
  });
  console.log(values.json ? JSON.stringify(pushed) : pushed.imageUri);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    console.error(`image:local: ${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`);
    process.exit(1);
  });
}
