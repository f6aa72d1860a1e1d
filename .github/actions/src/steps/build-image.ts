import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';

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

export async function repositoryUri(ecr: ECRClient, repositoryName: string): Promise<string> {
  const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }));
  const uri = out.repositories?.[0]?.repositoryUri;
  if (!uri) throw new Error(`ECR repository ${repositoryName} not found; deploy the shared stack first`);
  return uri;
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
  repositoryUri: string;
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
  if (!auth?.authorizationToken || !auth.proxyEndpoint)
    throw new Error('ECR returned no authorization token');
  const [user, password] = Buffer.from(auth.authorizationToken, 'base64').toString('utf8').split(':');
  input.mask(password);
  const login = await input.exec(
    'docker',
    ['login', '--username', user, '--password-stdin', auth.proxyEndpoint],
    {
      input: Buffer.from(password),
      silent: true,
    },
  );
  if (login !== 0) throw new Error(`docker login to ${auth.proxyEndpoint} failed (exit ${login})`);

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
    ...input.tags.flatMap((t) => ['--tag', `${input.repositoryUri}:${t}`]),
    ...Object.entries(input.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    input.context,
  ];
  const code = await input.exec('docker', args);
  if (code !== 0) throw new Error(`docker buildx build failed (exit ${code})`);
  const digest = (JSON.parse(fs.readFileSync(metadataFile, 'utf8')) as Record<string, string>)[
    'containerimage.digest'
  ];
  if (!digest) throw new Error(`docker buildx wrote no containerimage.digest to ${metadataFile}`);
  return { imageUri: `${input.repositoryUri}@${digest}`, digest, tags: input.tags };
}
