import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { loadApp } from '../../environments';
import type { GithubJobContext } from './services/github-oidc';

/** The workflow each event runs in this repository, so `--event` alone gives the claims of that job. */
const WORKFLOW_OF_EVENT = {
  push: '.github/workflows/release.yml',
  pull_request: '.github/workflows/preview.yml',
  schedule: '.github/workflows/sweep-previews.yml',
  workflow_dispatch: '.github/workflows/rollback.yml',
} as const;
type EventName = keyof typeof WORKFLOW_OF_EVENT;
const EVENTS = Object.keys(WORKFLOW_OF_EVENT) as EventName[];

const HELP = `Usage: npm run twin:token -- --event <${EVENTS.join('|')}> [options]

Prints a GitHub Actions OIDC token (audience sts.amazonaws.com) for a workflow job of this
repository, signed by the running twin's GitHub issuer, so you can act as that job:
  aws sts assume-role-with-web-identity --role-arn <role> --role-session-name me \\
    --web-identity-token "$(npm run -s twin:token -- --event push)"
The claims are the ones GitHub issues for that context (sub, ref, ref_type, event_name,
environment, workflow, workflow_ref, job_workflow_ref, repository, actor, ...).

  --event NAME          ${EVENTS.join(', ')} (required)
  --ref REF             git ref (default: refs/heads/<main branch>; pull_request: refs/pull/<n>/merge)
  --environment NAME    the job's GitHub environment (sub becomes repo:...:environment:NAME)
  --workflow PATH       workflow file (default per event: ${EVENTS.map((e) => `${e} → ${path.basename(WORKFLOW_OF_EVENT[e])}`).join(', ')})
  --repository O/R      default: github.repository in environments/app.yaml
  --pull-request N      pull request number for --event pull_request (default 1)
  --audience AUD        default sts.amazonaws.com
  --claims              print the token's claims as JSON instead of the token
  -h, --help            this text

The twin is found like the other commands: AWS_ENDPOINT_URL, else http://127.0.0.1:$TWIN_PORT
(default 4566). Start one with \`npm run twin\`.`;

/** Wrong usage: the message says what to fix; exit code 2 as for other usage errors. */
class UsageError extends Error {}

export interface TokenRequest extends GithubJobContext {
  audience: string;
}

/** The job context for the command line's flags (exported for the test). */
export function tokenRequest(argv: string[], root = process.cwd()): TokenRequest | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        event: { type: 'string' },
        ref: { type: 'string' },
        environment: { type: 'string' },
        workflow: { type: 'string' },
        repository: { type: 'string' },
        'pull-request': { type: 'string' },
        audience: { type: 'string', default: 'sts.amazonaws.com' },
        claims: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}; see --help`);
  }
  if (values.help) return 'help';
  const event = values.event as EventName | undefined;
  if (!event) throw new UsageError(`--event is required (one of ${EVENTS.join(', ')}); see --help`);
  if (!EVENTS.includes(event))
    throw new UsageError(`--event must be one of ${EVENTS.join(', ')}, got "${event}"`);
  const app = loadApp();
  const repository = values.repository ?? app.github.repository;
  if (!/^[\w.-]+\/[\w.-]+$/.test(repository))
    throw new UsageError(`--repository must be OWNER/REPO, got "${repository}"`);
  const pr = values['pull-request'] ?? '1';
  if (!/^[1-9]\d*$/.test(pr)) throw new UsageError(`--pull-request must be a PR number, got "${pr}"`);
  if (values['pull-request'] && event !== 'pull_request')
    throw new UsageError('--pull-request only applies to --event pull_request');
  const main = `refs/heads/${app.github.mainBranch}`;
  const ref = values.ref ?? (event === 'pull_request' ? `refs/pull/${pr}/merge` : main);
  if (!/^refs\/(heads|tags|pull)\/.+/.test(ref))
    throw new UsageError(`--ref must be a full git ref such as ${main}, got "${ref}"`);
  if (values.environment !== undefined && !/^[^\s:]{1,255}$/.test(values.environment))
    throw new UsageError(`--environment must be a GitHub environment name, got "${values.environment}"`);
  const workflowPath = values.workflow ?? WORKFLOW_OF_EVENT[event];
  const file = path.resolve(root, workflowPath);
  if (!/^\.github\/workflows\/[^/]+\.ya?ml$/.test(workflowPath) || !fs.existsSync(file))
    throw new UsageError(
      `--workflow must name a workflow file of this repository (.github/workflows/<name>.yml), got "${workflowPath}"`,
    );
  // GitHub's `workflow` claim is the workflow's `name:` (the file path when it has none).
  const workflow = String(
    (YAML.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown })?.name ?? workflowPath,
  );
  return {
    repository,
    ...(app.github.subjectFormat === 'id' && {
      immutableSubject: true,
      repositoryId: String(app.github.repositoryId),
      repositoryOwnerId: String(app.github.ownerId),
    }),
    eventName: event,
    ref,
    workflow,
    workflowPath,
    ...(values.environment && { environment: values.environment }),
    ...(event === 'pull_request' && { baseRef: app.github.mainBranch, headRef: `pr-${pr}` }),
    audience: values.audience!,
  };
}

/** Where the running twin is: the same variables `npm run twin` prints and the other commands read. */
export function twinUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${env.TWIN_PORT ?? 4566}`).replace(/\/$/, '');
}

async function main() {
  const argv = process.argv.slice(2);
  let request;
  try {
    request = tokenRequest(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`twin:token: ${e.message}`);
    process.exit(2);
  }
  if (request === 'help') {
    console.log(HELP);
    return;
  }
  const url = `${twinUrl()}/github/local/token`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  }).catch((e: Error) => {
    console.error(
      `twin:token: no twin answers at ${twinUrl()} (${e.cause ?? e.message}); start one with \`npm run twin\` or set TWIN_PORT / AWS_ENDPOINT_URL`,
    );
    process.exit(1);
  });
  const body = (await res.json()) as { value?: string; message?: string };
  if (!res.ok || !body.value) {
    console.error(`twin:token: the twin at ${twinUrl()} refused: ${body.message ?? res.status}`);
    process.exit(1);
  }
  if (argv.includes('--claims')) {
    const payload = JSON.parse(Buffer.from(body.value.split('.')[1], 'base64url').toString('utf8'));
    console.log(JSON.stringify(payload, null, 2));
  } else console.log(body.value);
}

// Run when executed (`npm run twin:token`), not when the test imports `tokenRequest`.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
