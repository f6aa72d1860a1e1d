import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  allowedContextKeysForRequest,
  runSimulation,
  runUnsafeSimulation,
} from '@cloud-copilot/iam-simulate';
import { createValidatedPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { githubWorkflows, loadAllEnvironments, previewTag, type Environment } from '../../environments';
import { assemblyStacks } from '../../local/src/provision/templates';
import { sharedAssembly } from './assembly';
import { App } from 'aws-cdk-lib';
import { SharedStack } from '../src/shared-stack';
import { planTopology } from '../src/topology';
import { bootstrapRoleArns, executionPolicy, executionPolicyFile } from '../src/bootstrap-policy';
import { deployedRoles, repositoryPolicy, type DeployedRole, type DeployedTemplate } from './cfn';
import { oidcClaims, roleJobs, type RoleJob, type RunContext } from './workflow-jobs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const issuer = 'token.actions.githubusercontent.com';

const planned = planTopology(loadAllEnvironments());
let templates: DeployedTemplate[];
let roles: DeployedRole[];
/** Lower-cased condition keys STS evaluates for AssumeRoleWithWebIdentity (AWS's service authorization data). */
let stsKeys: Set<string>;

beforeAll(async () => {
  // The app as the CLI synthesizes it, once per test run (infra/test/assembly.ts).
  templates = assemblyStacks(await sharedAssembly()).map((s) => ({
    template: s.template as DeployedTemplate['template'],
    account: s.account,
    region: s.region,
    stackName: s.name,
  }));
  roles = deployedRoles(templates);
  stsKeys = new Set(
    (
      await allowedContextKeysForRequest('sts', 'AssumeRoleWithWebIdentity', roles[0].arn, false, undefined)
    ).map((k) => k.toLowerCase()),
  );
}, 600_000); // the shared synth: ~20 s alone, several times that on a busy machine

const t = () => planned;
const env = (name: string) => t().deployed.find((e) => e.name === name)!;
const roleArn = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
const githubRoles = () => roles.filter((r) => JSON.stringify(r.trust).includes('oidc-provider/'));

/** What STS sees of a token: `aud` and `sub`, plus only the GitHub claims STS evaluates (others never match). */
function stsContext(claims: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(claims)
      .map(([k, v]) => [`${issuer}:${k}`, v] as const)
      .filter(([k]) => /:(aud|sub)$/.test(k) || stsKeys.has(k.toLowerCase())),
  );
}

function validTrust(role: DeployedRole) {
  const policy = createValidatedPolicy(role.trust, validateTrustPolicy, { name: `${role.name} trust` });
  if (policy.errors.length > 0) throw new Error(`${role.name}: ${JSON.stringify(policy.errors)}`);
  return policy;
}

/** ARNs of every synthesized role a token with these claims may assume. */
function assumable(claims: Record<string, string>): string[] {
  return roles
    .filter(
      (role) =>
        runUnsafeSimulation(
          {
            request: {
              principal: `arn:aws:iam::${role.account}:oidc-provider/${issuer}`,
              action: 'sts:AssumeRoleWithWebIdentity',
              resource: { resource: role.arn, accountId: role.account },
              contextVariables: stsContext(claims),
            },
            identityPolicies: [],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            // Validated up front (runUnsafeSimulation skips validation, and needs the policy's name).
            resourcePolicy: validTrust(role),
          },
          {},
        ) === 'Allowed',
    )
    .map((r) => r.arn)
    .sort();
}

/** The role a job's variable names (GitHub variables: contract §1). */
function expectedRoles(job: RoleJob, environment: string | undefined): string[] {
  const { shared, registry } = t();
  const e = () => {
    const found = environment && t().deployed.find((x) => x.name === environment);
    if (!found)
      throw new Error(`${job.workflow} ${job.job}: ${job.roleVariable} needs a deployed environment`);
    return found;
  };
  switch (job.roleVariable) {
    case 'AWS_BUILD_ROLE_ARN':
      return [roleArn(registry.account, shared.buildRole)];
    case 'AWS_PREVIEW_ROLE_ARN':
      return [roleArn(registry.account, shared.previewRole)];
    case 'AWS_SWEEP_ROLE_ARN':
      return [roleArn(registry.account, shared.sweepRole)];
    case 'DIFF_ROLES':
      return t()
        .accounts.map((a) => roleArn(a.account, shared.diffRole))
        .sort();
    case 'AWS_DEPLOY_ROLE_ARN':
      return [roleArn(e().account, e().names.deployRole)];
    case 'AWS_INFRA_ROLE_ARN':
      return [roleArn(e().account, e().names.infraRole)];
    default:
      throw new Error(`${job.workflow} ${job.job}: unknown role variable ${job.roleVariable}`);
  }
}

const main = 'refs/heads/main';
/** The refs a job's token carries, per trigger (scheduled and dispatched runs use the default branch). */
function legitimateRuns(job: RoleJob): { event: string; ref: string }[] {
  return job.events.flatMap((event) => {
    switch (event) {
      case 'push':
        return (job.pushBranches ?? ['main']).map((b) => ({ event, ref: `refs/heads/${b}` }));
      case 'pull_request':
        return [{ event, ref: 'refs/pull/7/merge' }];
      case 'schedule':
      case 'workflow_dispatch':
        return [{ event, ref: main }];
      case 'workflow_call': // infra-deploy.yml: called by release.yml on push to main
        return [{ event: 'push', ref: main }];
      default:
        throw new Error(`${job.workflow}: trigger ${event} is not modelled`);
    }
  });
}

function allJobs(): RoleJob[] {
  return roleJobs(path.join(root, '.github/workflows'));
}

describe('each workflow job assumes exactly its role, and nothing else reaches any role', () => {
  const own = {
    repository: 'example-org/agentcore-gitops',
    subjectPrefix: 'repo:example-org/agentcore-gitops',
  };
  const jobs = allJobs();
  const cases = jobs.flatMap((job) =>
    job.environments.flatMap((environment) =>
      legitimateRuns(job).map((run) => ({
        label: `${job.workflow} ${job.job} (${run.event}${environment ? `, environment ${environment}` : ''})`,
        job,
        context: { ...own, ...run, environment, workflowFile: job.workflow } as RunContext,
      })),
    ),
  );

  it('finds the jobs of every workflow that assumes a role', () => {
    expect(new Set(jobs.map((j) => `${j.workflow} ${j.job} ${j.roleVariable}`))).toEqual(
      new Set([
        'release.yml build AWS_BUILD_ROLE_ARN',
        'release.yml dev AWS_DEPLOY_ROLE_ARN',
        'release.yml prod AWS_DEPLOY_ROLE_ARN',
        'rollback.yml rollback AWS_DEPLOY_ROLE_ARN',
        'preview.yml deploy AWS_PREVIEW_ROLE_ARN',
        'preview.yml teardown AWS_PREVIEW_ROLE_ARN',
        'sweep-previews.yml sweep AWS_SWEEP_ROLE_ARN',
        `${githubWorkflows.infraDeploy} deploy AWS_INFRA_ROLE_ARN`,
        `${githubWorkflows.infraDiff} diff DIFF_ROLES`,
        `${githubWorkflows.infraDrift} drift DIFF_ROLES`,
      ]),
    );
  });

  it.each(cases)('$label assumes its role and no other', ({ job, context }) => {
    expect(assumable(oidcClaims(context))).toEqual(expectedRoles(job, context.environment));
  });

  const variants: [string, (c: RunContext) => RunContext][] = [
    ['from another branch', (c) => ({ ...c, ref: 'refs/heads/feature' })],
    ['from a tag', (c) => ({ ...c, ref: 'refs/tags/v1.0.0' })],
    ['in another workflow file', (c) => ({ ...c, workflowFile: 'evil.yml' })],
    [
      'from a fork',
      (c) => ({
        ...c,
        repository: 'forker/agentcore-gitops',
        subjectPrefix: 'repo:forker/agentcore-gitops',
      }),
    ],
    [
      'from a repository whose name extends ours',
      (c) => ({
        ...c,
        repository: 'example-org/agentcore-gitops-evil',
        subjectPrefix: `${c.subjectPrefix}-evil`,
      }),
    ],
    ['with the wrong audience', (c) => ({ ...c, audience: 'https://github.com/example-org' })],
    ['as a pull request', (c) => ({ ...c, event: 'pull_request', ref: 'refs/pull/7/merge' })],
  ];
  const negatives = cases.flatMap(({ label, context }) =>
    variants
      // A pull request job run as a pull request is the legitimate case, not a variant.
      .filter(([v]) => !(v === 'as a pull request' && context.event === 'pull_request'))
      .filter(([v]) => !(v === 'from a tag' && context.event === 'pull_request'))
      .map(([v, change]) => ({ label: `${label} ${v}`, context: change(context) })),
  );

  it.each(negatives)('$label assumes no role', ({ context }) => {
    expect(assumable(oidcClaims(context))).toEqual([]);
  });

  it('a pull request that names a protected environment reaches no role', () => {
    for (const environment of ['dev', 'prod'])
      for (const workflowFile of [githubWorkflows.release, githubWorkflows.preview])
        expect(
          assumable(
            oidcClaims({
              ...own,
              event: 'pull_request',
              ref: 'refs/pull/7/merge',
              environment,
              workflowFile,
            }),
          ),
        ).toEqual([]);
  });

  it('every GitHub role is the role of some job (no role without a caller)', () => {
    const used = new Set(cases.flatMap(({ job, context }) => expectedRoles(job, context.environment)));
    expect(
      githubRoles()
        .map((r) => r.arn)
        .filter((a) => !used.has(a)),
    ).toEqual([]);
  });

  it('trust conditions use only claim keys STS evaluates, with exact or single-wildcard matches', () => {
    for (const role of githubRoles()) {
      for (const s of role.trust.Statement) {
        for (const [operator, entries] of Object.entries((s.Condition ?? {}) as Record<string, object>)) {
          expect(['StringEquals', 'StringLike'], `${role.name} ${operator}`).toContain(operator);
          for (const key of Object.keys(entries)) {
            const claim = key.slice(issuer.length + 1);
            expect(key.startsWith(`${issuer}:`), `${role.name} ${key}`).toBe(true);
            expect(
              claim === 'aud' || claim === 'sub' || stsKeys.has(key.toLowerCase()),
              `${role.name} ${key}`,
            ).toBe(true);
          }
        }
        expect(
          (s.Condition as Record<string, Record<string, string>>).StringEquals?.[`${issuer}:sub`],
          role.name,
        ).toBeDefined();
      }
    }
  });

  it('the prod deploy role requires main and pins the release and rollback workflows', () => {
    const prod = roles.find((r) => r.name === env('prod').names.deployRole)!;
    const equals = (prod.trust.Statement[0].Condition as Record<string, Record<string, unknown>>)
      .StringEquals;
    expect(equals[`${issuer}:ref`]).toBe(main);
    expect([equals[`${issuer}:job_workflow_ref`]].flat().sort()).toEqual(
      [githubWorkflows.release, githubWorkflows.rollback]
        .map((w) => `example-org/agentcore-gitops/.github/workflows/${w}@${main}`)
        .sort(),
    );
  });
});

describe('with github.subjectFormat: id (repositories created after 2026-07-15)', () => {
  let idRoles: DeployedRole[];
  beforeAll(() => {
    const envs: Environment[] = [...t().deployed, t().preview!].map((e) => ({
      ...e,
      app: { ...e.app, github: { ...e.app.github, subjectFormat: 'id', ownerId: 1001, repositoryId: 2002 } },
    }));
    const topology = planTopology(envs);
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-out-id-')) });
    const stacks = topology.accounts.map(
      (plan) =>
        new SharedStack(app, plan.stackName, {
          env: { account: plan.account, region: plan.region },
          topology,
          plan,
        }),
    );
    idRoles = deployedRoles(
      stacks.map((s) => ({
        template: Template.fromStack(s).toJSON() as DeployedTemplate['template'],
        account: s.account,
        region: s.region,
      })),
    );
  }, 120_000);

  const run = (subjectPrefix: string, environment?: string) =>
    oidcClaims({
      repository: 'example-org/agentcore-gitops',
      subjectPrefix,
      event: 'push',
      ref: main,
      environment,
      workflowFile: githubWorkflows.release,
    });
  const assumableBy = (claims: Record<string, string>) => {
    const saved = roles;
    roles = idRoles;
    try {
      return assumable(claims).map((arn) => arn.split('/').pop());
    } finally {
      roles = saved;
    }
  };

  it('roles accept the id-based subject and refuse the classic one', () => {
    const id = 'repo:example-org@1001/agentcore-gitops@2002';
    const classic = 'repo:example-org/agentcore-gitops';
    expect(assumableBy(run(id))).toEqual([t().shared.buildRole]);
    expect(assumableBy(run(id, 'prod'))).toEqual([env('prod').names.deployRole]);
    expect(assumableBy(run(classic))).toEqual([]);
    expect(assumableBy(run(classic, 'prod'))).toEqual([]);
  });

  it('classic-configured roles refuse the id-based subject', () => {
    expect(assumable(run('repo:example-org@1001/agentcore-gitops@2002'))).toEqual([]);
  });
});

/** One call a job makes: action, resource ARN and the request's own context keys. */
interface Call {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

async function decide(role: DeployedRole, call: Call): Promise<string> {
  const resourceAccount = /^arn:aws:[\w-]+:[\w-]*:(\d{12}):/.exec(call.resource)?.[1] ?? role.account;
  const repo = /:repository\/(.+)$/.exec(call.resource)?.[1];
  const result = await runSimulation(
    {
      request: {
        principal: role.arn,
        action: call.action,
        resource: { resource: call.resource, accountId: resourceAccount },
        contextVariables: {
          'aws:PrincipalArn': role.arn,
          'aws:PrincipalAccount': role.account,
          ...call.context,
        },
      },
      identityPolicies: role.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: repo ? repositoryPolicy(templates, repo) : undefined,
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`${call.action}: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

const roleNamed = (name: string, account?: string) => {
  const r = roles.find((x) => x.name === name && (!account || x.account === account));
  if (!r) throw new Error(`no role ${name}`);
  return r;
};

describe('each role can make exactly the calls of its job (contract §4), nothing more', () => {
  const ecrPushActions = [
    'ecr:BatchCheckLayerAvailability',
    'ecr:InitiateLayerUpload',
    'ecr:UploadLayerPart',
    'ecr:CompleteLayerUpload',
    'ecr:PutImage',
    'ecr:BatchGetImage',
    'ecr:DescribeImages',
  ];
  const ecrRepo = (name: string) =>
    `arn:aws:ecr:${t().registry.region}:${t().registry.account}:repository/${name}`;
  const ssm = (e: Environment, name: string) => `arn:aws:ssm:${e.region}:${e.account}:parameter${name}`;
  const runtime = (e: Environment, name: string) =>
    `arn:aws:bedrock-agentcore:${e.region}:${e.account}:runtime/${name}-a1B2c3D4e5`;
  const userPool = (e: Environment) => {
    const stack = templates.find((x) => x.stackName === e.names.stack)!;
    const id = Object.entries(stack.template.Resources).find(
      ([, r]) => r.Type === 'AWS::Cognito::UserPool',
    )![0];
    return `arn:aws:cognito-idp:${e.region}:${e.account}:userpool/${e.region}_${id}`;
  };
  const previewTags = {
    [`aws:RequestTag/${previewTag.key}`]: previewTag.value,
    'aws:TagKeys': [previewTag.key],
  };
  const taggedPreview = { [`aws:ResourceTag/${previewTag.key}`]: previewTag.value };

  function callsOf(role: string): { role: DeployedRole; calls: Call[] } {
    const { shared } = t();
    const dev = env('dev');
    const ecrToken = { action: 'ecr:GetAuthorizationToken', resource: '*' };
    if (role === 'build')
      return {
        role: roleNamed(shared.buildRole),
        calls: [
          ecrToken,
          ...ecrPushActions.map((action) => ({ action, resource: ecrRepo(shared.repository) })),
        ],
      };
    if (role === 'preview') {
      const pr = runtime(dev, `${shared.previewRuntimePrefix}7`);
      return {
        role: roleNamed(shared.previewRole),
        calls: [
          ecrToken,
          ...ecrPushActions.map((action) => ({ action, resource: ecrRepo(shared.previewRepository) })),
          { action: 'ssm:GetParameter', resource: ssm(dev, dev.names.outputsParameter) },
          // The smoke step reads its requests' traces (Transaction Search): X-Ray has no resource types.
          { action: 'xray:StartTraceRetrieval', resource: '*' },
          { action: 'xray:ListRetrievedTraces', resource: '*' },
          { action: 'bedrock-agentcore:ListAgentRuntimes', resource: '*' },
          { action: 'bedrock-agentcore:CreateAgentRuntime', resource: '*', context: previewTags },
          { action: 'bedrock-agentcore:TagResource', resource: pr, context: previewTags },
          ...[
            'GetAgentRuntime',
            'UpdateAgentRuntime',
            'DeleteAgentRuntime',
            'CreateAgentRuntimeEndpoint',
          ].map((a) => ({ action: `bedrock-agentcore:${a}`, resource: pr, context: taggedPreview })),
          ...['GetAgentRuntimeEndpoint', 'UpdateAgentRuntimeEndpoint', 'DeleteAgentRuntimeEndpoint'].map(
            (a) => ({
              action: `bedrock-agentcore:${a}`,
              resource: `${pr}/runtime-endpoint/DEFAULT`,
              context: taggedPreview,
            }),
          ),
          {
            action: 'iam:PassRole',
            resource: roleArn(dev.account, dev.names.executionRole),
            context: { 'iam:PassedToService': 'bedrock-agentcore.amazonaws.com' },
          },
          { action: 'cognito-idp:DescribeUserPoolClient', resource: userPool(dev) },
        ],
      };
    }
    if (role === 'sweep') {
      const pr = runtime(dev, `${shared.previewRuntimePrefix}7`);
      return {
        role: roleNamed(shared.sweepRole),
        calls: [
          { action: 'bedrock-agentcore:ListAgentRuntimes', resource: '*' },
          { action: 'bedrock-agentcore:GetAgentRuntime', resource: pr },
          { action: 'bedrock-agentcore:ListTagsForResource', resource: pr },
          { action: 'bedrock-agentcore:DeleteAgentRuntime', resource: pr, context: taggedPreview },
        ],
      };
    }
    const [kind, name] = role.split('-');
    const e = env(name);
    if (kind === 'deploy') {
      const rt = runtime(e, e.names.runtime);
      return {
        role: roleNamed(e.names.deployRole),
        calls: [
          { action: 'ssm:GetParameter', resource: ssm(e, e.names.outputsParameter) },
          // The smoke step reads its requests' traces (Transaction Search): X-Ray has no resource types.
          { action: 'xray:StartTraceRetrieval', resource: '*' },
          { action: 'xray:ListRetrievedTraces', resource: '*' },
          { action: 'bedrock-agentcore:ListAgentRuntimes', resource: '*' },
          { action: 'bedrock-agentcore:ListAgentRuntimeVersions', resource: '*' },
          ...['GetAgentRuntime', 'UpdateAgentRuntime'].map((a) => ({
            action: `bedrock-agentcore:${a}`,
            resource: rt,
          })),
          ...['GetAgentRuntimeEndpoint', 'UpdateAgentRuntimeEndpoint'].map((a) => ({
            action: `bedrock-agentcore:${a}`,
            resource: `${rt}/runtime-endpoint/${e.runtime.liveEndpoint}`,
          })),
          {
            action: 'iam:PassRole',
            resource: roleArn(e.account, e.names.executionRole),
            context: { 'iam:PassedToService': 'bedrock-agentcore.amazonaws.com' },
          },
          ecrToken,
          ...['ecr:BatchGetImage', 'ecr:PutImage', 'ecr:DescribeImages'].map((action) => ({
            action,
            resource: ecrRepo(shared.repository),
          })),
          ...[e.names.imageParameter, e.names.releaseParameter, e.names.liveVersionParameter].map((p) => ({
            action: 'ssm:PutParameter',
            resource: ssm(e, p),
          })),
          ...[e.names.releaseParameter, e.names.liveVersionParameter].flatMap((p) =>
            ['ssm:GetParameter', 'ssm:GetParameterHistory'].map((action) => ({
              action,
              resource: ssm(e, p),
            })),
          ),
          ...['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory'].map((action) => ({
            action,
            resource: `arn:aws:cloudwatch:${e.region}:${e.account}:alarm:${e.names.alarmPrefix}latency-p95`,
          })),
          { action: 'cognito-idp:DescribeUserPoolClient', resource: userPool(e) },
        ],
      };
    }
    if (kind === 'infra')
      return {
        role: roleNamed(e.names.infraRole),
        calls: bootstrapRoleArns(e.account, e.region).map((resource) => ({
          action: 'sts:AssumeRole',
          resource,
        })),
      };
    if (kind === 'diff')
      return {
        role: roleNamed(shared.diffRole, e.account),
        calls: [e.names.stack, t().accounts.find((a) => a.account === e.account)!.stackName].flatMap(
          (stack) =>
            [
              'DescribeStacks',
              'GetTemplate',
              'GetTemplateSummary',
              'ListStackResources',
              'DescribeStackResources',
            ].map((a) => ({
              action: `cloudformation:${a}`,
              resource: `arn:aws:cloudformation:${e.region}:${e.account}:stack/${stack}/0a1b2c3d-4e5f`,
            })),
        ),
      };
    throw new Error(`unknown job ${role}`);
  }

  const jobs = [
    'build',
    'preview',
    'sweep',
    'deploy-dev',
    'deploy-prod',
    'infra-dev',
    'infra-prod',
    'diff-dev',
    'diff-prod',
  ];

  it.each(jobs)('%s: every call of its job is allowed', async (job) => {
    const { role, calls } = callsOf(job);
    const denied = [];
    for (const call of calls)
      if ((await decide(role, call)) !== 'Allowed') denied.push(`${call.action} ${call.resource}`);
    expect(denied).toEqual([]);
  });

  it.each(jobs)('%s: the role grants no action its job does not call', (job) => {
    const { role, calls } = callsOf(job);
    const granted = role.policies.flatMap((p) =>
      p.policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) =>
        [s.Action as string | string[]].flat(),
      ),
    );
    const called = new Set(calls.map((c) => c.action));
    expect([...new Set(granted)].filter((a) => !called.has(a))).toEqual([]);
  });

  it('pull requests cannot write the release repository; the build cannot write the preview repository', async () => {
    const { shared } = t();
    for (const action of ['ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:CompleteLayerUpload'])
      expect(
        await decide(roleNamed(shared.previewRole), { action, resource: ecrRepo(shared.repository) }),
      ).not.toBe('Allowed');
    expect(
      await decide(roleNamed(shared.buildRole), {
        action: 'ecr:PutImage',
        resource: ecrRepo(shared.previewRepository),
      }),
    ).not.toBe('Allowed');
  });

  it('only the infra role of an account may assume its CDK bootstrap roles', async () => {
    for (const account of t().accounts) {
      const infra = new Set(account.deployed.map((e) => e.names.infraRole));
      for (const role of roles) {
        for (const resource of bootstrapRoleArns(account.account, account.region)) {
          const allowed = (await decide(role, { action: 'sts:AssumeRole', resource })) === 'Allowed';
          expect(allowed, `${role.arn} → ${resource}`).toBe(
            role.account === account.account && infra.has(role.name),
          );
        }
      }
    }
  });

  it('deploy roles read only their own user pool, change only their own runtime', async () => {
    const dev = env('dev');
    const prod = env('prod');
    const deployDev = roleNamed(dev.names.deployRole);
    const otherPool = `arn:aws:cognito-idp:${dev.region}:${dev.account}:userpool/${dev.region}_SomeoneElses`;
    expect(
      await decide(deployDev, { action: 'cognito-idp:DescribeUserPoolClient', resource: otherPool }),
    ).not.toBe('Allowed');
    for (const resource of [runtime(dev, `${t().shared.previewRuntimePrefix}7`), runtime(dev, 'other_agent')])
      expect(await decide(deployDev, { action: 'bedrock-agentcore:UpdateAgentRuntime', resource })).not.toBe(
        'Allowed',
      );
    expect(
      await decide(roleNamed(prod.names.deployRole), {
        action: 'bedrock-agentcore:UpdateAgentRuntime',
        resource: runtime(dev, dev.names.runtime),
      }),
    ).not.toBe('Allowed');
  });

  it('the sweep deletes only tagged previews and creates nothing', async () => {
    const dev = env('dev');
    const sweep = roleNamed(t().shared.sweepRole);
    expect(
      await decide(sweep, {
        action: 'bedrock-agentcore:DeleteAgentRuntime',
        resource: runtime(dev, dev.names.runtime),
      }),
    ).not.toBe('Allowed');
    expect(
      await decide(sweep, {
        action: 'bedrock-agentcore:DeleteAgentRuntime',
        resource: runtime(dev, `${t().shared.previewRuntimePrefix}7`),
      }),
    ).not.toBe('Allowed'); // untagged
    expect(
      await decide(sweep, {
        action: 'bedrock-agentcore:CreateAgentRuntime',
        resource: '*',
        context: previewTags,
      }),
    ).not.toBe('Allowed');
  });

  it('prod pulls and retags cross-account only through the release repository policy, by role', async () => {
    const prod = env('prod');
    const { shared } = t();
    const policy = repositoryPolicy(templates, shared.repository)!;
    const principals = policy.Statement.map(
      (s) => (s.Condition as Record<string, Record<string, string>>).ArnEquals['aws:PrincipalArn'],
    ).sort();
    expect(principals).toEqual(
      [roleArn(prod.account, prod.names.deployRole), roleArn(prod.account, prod.names.executionRole)].sort(),
    );
    const exec = roleNamed(prod.names.executionRole);
    for (const action of ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'])
      expect(await decide(exec, { action, resource: ecrRepo(shared.repository) })).toBe('Allowed');
    expect(await decide(exec, { action: 'ecr:PutImage', resource: ecrRepo(shared.repository) })).not.toBe(
      'Allowed',
    );
    // Without the repository policy, the prod deploy role's own grant is not enough.
    const deploy = roleNamed(prod.names.deployRole);
    expect(
      await decide(
        { ...deploy, arn: roleArn(prod.account, 'agentcore-gitops-other') },
        {
          action: 'ecr:PutImage',
          resource: ecrRepo(shared.repository),
        },
      ),
    ).not.toBe('Allowed');
  });

  it('the diff role cannot change a stack', async () => {
    const dev = env('dev');
    const diff = roleNamed(t().shared.diffRole, dev.account);
    for (const action of [
      'cloudformation:CreateChangeSet',
      'cloudformation:UpdateStack',
      'cloudformation:DeleteStack',
    ])
      expect(
        await decide(diff, {
          action,
          resource: `arn:aws:cloudformation:${dev.region}:${dev.account}:stack/${dev.names.stack}/0a1b2c3d-4e5f`,
        }),
      ).not.toBe('Allowed');
  });
});

describe('CDK bootstrap execution policy', () => {
  it('covers every resource type the synthesized templates contain', () => {
    const types = new Set(templates.flatMap((x) => Object.values(x.template.Resources).map((r) => r.Type)));
    const { coveredTypes } = executionPolicy(t());
    expect([...types].filter((type) => !coveredTypes.includes(type))).toEqual([]);
  });

  it('is not administrator access: no action or service wildcard, IAM only on this app’s roles', () => {
    const { document } = executionPolicy(t());
    for (const s of document.Statement) {
      for (const a of [s.Action].flat()) expect(a, s.Sid).not.toMatch(/^\*$|:\*$/);
      if ([s.Action].flat().some((a) => a.startsWith('iam:') && a !== 'iam:PassRole'))
        for (const r of [s.Resource].flat()) expect(r, s.Sid).not.toBe('*');
    }
  });

  it('is written to infra/bootstrap/execution-policy.json by npm run synth and the committed file is current', () => {
    const file = path.join(root, executionPolicyFile);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(executionPolicy(t()).document);
  });
});
