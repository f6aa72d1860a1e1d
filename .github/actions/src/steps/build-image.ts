import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetAuthorizationTokenCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { sharedResourceNames, type Environment } from '../../../../environments';
import { ecrRepository, type Repository } from '../lib/ecr-push';

export type Builder = 'docker' | 'local';

/**
 * Docker on a GitHub runner; the local image format when the AWS endpoint is the loopback twin
 * (which has no container engine behind it) or when asked for explicitly.
 */
export function chooseBuilder(requested: string, endpointUrl: string | undefined): Builder {
  if (requested === 'docker' || requested === 'local') return requested;
  if (requested && requested !== 'auto')
    throw new Error(`builder must be auto, docker or local, got "${requested}"`);
  if (!endpointUrl) return 'docker';
  const host = new URL(endpointUrl).hostname;
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.')
    ? 'local'
    : 'docker';
}

/** The step's inputs, resolved against the workspace: what the entry and the container test build with. */
export interface BuildImageInputs {
  sha: string;
  ref: string;
  pullRequest?: number;
  /** Environment whose account and region host the registry. */
  environment: string;
  builder: string;
  context: string;
  dockerfile: string;
  platform: string;
  agentBundle: string;
  architecture?: string;
}

/**
 * Read the inputs (`read` is core.getInput on the runner). The fallbacks repeat action.yml's defaults
 * for runs outside a runner; a test keeps the two equal. Paths resolve against `workspace`: the
 * Dockerfile copies package.json, scripts/, cost/ and environments/, so the context is the repository root.
 */
export function buildImageInputs(
  read: (name: string) => string,
  workspace: string,
  githubRef = '',
): BuildImageInputs {
  const pr = read('pull-request');
  return {
    sha: read('sha'),
    ref: read('ref') || githubRef,
    pullRequest: pr ? Number(pr) : undefined,
    environment: read('environment') || 'dev',
    builder: read('builder') || 'auto',
    context: path.resolve(workspace, read('context') || '.'),
    dockerfile: path.resolve(workspace, read('dockerfile') || 'agent/Dockerfile'),
    platform: read('platform') || 'linux/arm64',
    agentBundle: path.resolve(workspace, read('agent-bundle') || 'agent/dist/server.mjs'),
    architecture: read('architecture') || undefined,
  };
}

/**
 * Where the image goes: pull requests to the preview repository (a PR can never write the release
 * registry), everything else to the release repository — both in the registry account, the account of
 * `env` (dev). The URI is built from names, so the build needs no ecr:DescribeRepositories.
 */
export function imageRepository(env: Environment, pullRequest: number | undefined): Repository {
  const names = sharedResourceNames(env.app.app);
  return ecrRepository(
    env.account,
    env.region,
    pullRequest === undefined ? names.repository : names.previewRepository,
  );
}

/** Runs a command; resolves with its exit code (what @actions/exec's exec does). */
export type Exec = (
  command: string,
  args: string[],
  options?: { input?: Buffer; silent?: boolean },
) => Promise<number>;

export interface DockerBuildInput {
  ecr: ECRClient;
  exec: Exec;
  repository: Repository;
  tags: string[];
  context: string;
  dockerfile: string;
  platform: string;
  /** Mask a secret before anything can print it. */
  mask: (secret: string) => void;
  labels?: Record<string, string>;
}

export interface BuiltImage {
  /** `<repository>@sha256:…`: what every environment deploys. */
  imageUri: string;
  digest: string;
  tags: string[];
}

/** Log in to ECR, then build for arm64 with buildx (no provenance index, GitHub cache) and push every tag. */
export async function dockerBuild(input: DockerBuildInput): Promise<BuiltImage> {
  const auth = (await input.ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
  if (!auth?.authorizationToken) throw new Error('ECR returned no authorization token');
  // The token is good for every registry the credentials may use: log in to the image's own registry.
  const registry = input.repository.repositoryUri.split('/')[0];
  const [user, password] = Buffer.from(auth.authorizationToken, 'base64').toString('utf8').split(':');
  input.mask(password);
  const login = await input.exec(
    'docker',
    ['login', '--username', user, '--password-stdin', `https://${registry}`],
    {
      input: Buffer.from(password),
      silent: true,
    },
  );
  if (login !== 0) throw new Error(`docker login to ${registry} failed (exit ${login})`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-image-'));
  const metadataFile = path.join(dir, 'metadata.json');
  const args = [
    'buildx',
    'build',
    '--platform',
    input.platform,
    '--provenance=false',
    '--cache-from',
    'type=gha',
    '--cache-to',
    'type=gha,mode=max',
    '--file',
    input.dockerfile,
    '--metadata-file',
    metadataFile,
    '--push',
    ...input.tags.flatMap((t) => ['--tag', `${input.repository.repositoryUri}:${t}`]),
    ...Object.entries(input.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    input.context,
  ];
  const code = await input.exec('docker', args);
  if (code !== 0) throw new Error(`docker buildx build failed (exit ${code})`);
  const digest = (JSON.parse(fs.readFileSync(metadataFile, 'utf8')) as Record<string, string>)[
    'containerimage.digest'
  ];
  if (!digest) throw new Error(`docker buildx wrote no containerimage.digest to ${metadataFile}`);
  return { imageUri: `${input.repository.repositoryUri}@${digest}`, digest, tags: input.tags };
}
