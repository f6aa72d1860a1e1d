import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as xray from 'aws-cdk-lib/aws-xray';
import type { Construct } from 'constructs';
import {
  githubJobWorkflowRef,
  githubSubject,
  githubWorkflows,
  previewTag,
  type AppConfig,
  type Environment,
} from '../../environments';
import { bootstrapRoleArns } from './bootstrap-policy';
import { githubIssuer, githubRole, stsAudience } from './github-role';
import type { Justified } from './nag';
import {
  movingTags,
  previewRepositoryArn,
  repositoryArn,
  runtimeArns,
  type AccountPlan,
  type Topology,
} from './topology';

export interface SharedStackProps extends StackProps {
  topology: Topology;
  plan: AccountPlan;
}

/** What AgentCore pulls with (execution roles). */
const ecrPull = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'];
/** What `docker buildx --push` and the build step call on the repository they push to (contract §4). */
const ecrPush = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
  'ecr:BatchGetImage',
  'ecr:DescribeImages',
];
/** Promote retags by digest (BatchGetImage → PutImage); rollback-by-sha confirms the digest still exists. */
const ecrRetag = ['ecr:BatchGetImage', 'ecr:PutImage', 'ecr:DescribeImages'];

function allow(
  sid: string,
  actions: string[],
  resources: string[],
  wildcardReason?: string,
  conditions?: Record<string, Record<string, unknown>>,
): Justified {
  return { statement: new iam.PolicyStatement({ sid, actions, resources, conditions }), wildcardReason };
}

const ecrToken = allow(
  'EcrLogin',
  ['ecr:GetAuthorizationToken'],
  ['*'],
  'ecr:GetAuthorizationToken has no resource-level permissions; the token grants nothing beyond the repository statements.',
);

const findRuntimeByName = allow(
  'FindRuntimeByName',
  ['bedrock-agentcore:ListAgentRuntimes'],
  ['*'],
  'ListAgentRuntimes has no resource-level permissions; it reveals names and ids only.',
);

/** `job_workflow_ref` values of `workflows` run from the main branch. */
function fromMain(app: AppConfig, ...workflows: string[]): string[] {
  return workflows.map((w) => githubJobWorkflowRef(app, w, `refs/heads/${app.github.mainBranch}`));
}

/** `job_workflow_ref` of `workflow` in any pull request (`refs/pull/<n>/merge`). */
function fromPullRequests(app: AppConfig, workflow: string): string {
  return githubJobWorkflowRef(app, workflow, 'refs/pull/*/merge');
}

const ssmArn = (env: Environment, name: string) =>
  `arn:aws:ssm:${env.region}:${env.account}:parameter${name}`;

/**
 * Per account: the GitHub OIDC provider and one role per purpose (docs/infra.md, "Roles"); in the
 * registry account also the release repository every environment runs images from and the preview
 * repository pull requests push to.
 */
/** The smoke step reads its requests' traces from Transaction Search (links and latency breakdowns). */
const readTraces = allow(
  'ReadSmokeTraces',
  ['xray:StartTraceRetrieval', 'xray:ListRetrievedTraces'],
  ['*'],
  'X-Ray defines no resource types: trace retrieval takes only "*"; it reads spans, changes nothing.',
);

export class SharedStack extends Stack {
  readonly roles: Record<string, iam.Role> = {};
  readonly repository?: ecr.Repository;
  readonly previewRepository?: ecr.Repository;

  constructor(scope: Construct, id: string, props: SharedStackProps) {
    super(scope, id, props);
    const { topology: t, plan } = props;
    const app = t.app;
    const main = `refs/heads/${app.github.mainBranch}`;
    const provider = new iam.OidcProviderNative(this, 'GithubOidc', {
      url: `https://${githubIssuer}`,
      clientIds: [stsAudience],
    });

    if (plan.hostsRegistry) {
      this.repository = this.releaseRepository(t);
      this.previewRepository = this.previewImages(t);
      this.roles.build = githubRole(this, 'BuildRole', {
        roleName: t.shared.buildRole,
        description: `Builds and pushes release images (release workflow on ${app.github.mainBranch})`,
        provider,
        subject: githubSubject(app, { ref: main }),
        claims: { job_workflow_ref: fromMain(app, githubWorkflows.release) },
        statements: [ecrToken, allow('PushReleaseImages', ecrPush, [repositoryArn(t)])],
      });
      this.roles.sweep = this.sweepRole(t, provider);
    }
    if (plan.preview && t.previewHost)
      this.roles.preview = this.previewRole(t, plan, t.previewHost, provider);
    this.roles.diff = this.diffRole(t, plan, provider);
    for (const env of plan.deployed) {
      this.roles[`deploy-${env.name}`] = this.deployRole(t, env, provider);
      this.roles[`infra-${env.name}`] = githubRole(this, `Infra${pascal(env.name)}Role`, {
        roleName: env.names.infraRole,
        description: `Deploys the ${env.name} stacks through the CDK bootstrap roles (infra workflow on ${app.github.mainBranch}, environment ${env.name})`,
        provider,
        subject: githubSubject(app, { environment: env.name }),
        claims: { ref: main, job_workflow_ref: fromMain(app, githubWorkflows.infraDeploy) },
        statements: [
          allow('UseCdkBootstrapRoles', ['sts:AssumeRole'], bootstrapRoleArns(env.account, env.region)),
        ],
      });
    }

    if (plan.transactionSearch.transactionSearch === 'create')
      this.transactionSearch(t, plan.transactionSearch.indexingPercentage);

    for (const [purpose, role] of Object.entries(this.roles)) {
      new CfnOutput(this, `${pascal(purpose)}RoleArn`, {
        value: role.roleArn,
        description: `Role GitHub Actions assumes to ${purpose}`,
      });
    }
    if (this.repository) new CfnOutput(this, 'RepositoryUri', { value: this.repository.repositoryUri });
    if (this.previewRepository)
      new CfnOutput(this, 'PreviewRepositoryUri', { value: this.previewRepository.repositoryUri });
  }

  /**
   * Transaction Search for the account, as https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Transaction-Search-Cloudformation.html
   * writes it: a CloudWatch Logs resource policy letting X-Ray write spans to `aws/spans` (and Application
   * Signals' group), then AWS::XRay::TransactionSearchConfig, which switches the account's span ingestion
   * to CloudWatch Logs. Both are retained: the setting is the account's (other applications' spans go
   * there too), so neither deleting this stack nor switching to `existing` turns it off.
   */
  private transactionSearch(t: Topology, indexingPercentage: number) {
    const { account, region, partition } = this;
    const policy = new logs.CfnResourcePolicy(this, 'TransactionSearchAccess', {
      policyName: t.shared.transactionSearchPolicy,
      policyDocument: this.toJsonString({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'TransactionSearchXRayAccess',
            Effect: 'Allow',
            Principal: { Service: 'xray.amazonaws.com' },
            Action: 'logs:PutLogEvents',
            Resource: [
              `arn:${partition}:logs:${region}:${account}:log-group:aws/spans:*`,
              `arn:${partition}:logs:${region}:${account}:log-group:/aws/application-signals/data:*`,
            ],
            Condition: {
              ArnLike: { 'aws:SourceArn': `arn:${partition}:xray:${region}:${account}:*` },
              StringEquals: { 'aws:SourceAccount': account },
            },
          },
        ],
      }),
    });
    policy.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const config = new xray.CfnTransactionSearchConfig(this, 'TransactionSearch', { indexingPercentage });
    config.addResourceDependency(policy);
    config.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }

  /** Pull requests: build into the preview repository, run `<app>_pr_*` runtimes tagged as previews. */
  private previewRole(t: Topology, plan: AccountPlan, host: Environment, provider: iam.IOidcProvider) {
    const previews = runtimeArns(plan.account, plan.region, t.shared.previewRuntimePrefix, true);
    const why =
      'Preview runtime ids are generated (<name>-<suffix>); the name prefix plus the preview tag condition is the narrowest scope IAM offers.';
    const tagged = { StringEquals: { [`aws:ResourceTag/${previewTag.key}`]: previewTag.value } };
    const tagging = { StringEquals: { [`aws:RequestTag/${previewTag.key}`]: previewTag.value } };
    return githubRole(this, 'PreviewRole', {
      roleName: t.shared.previewRole,
      description: `Creates, updates and deletes pull-request preview runtimes (${t.shared.previewRuntimePrefix}*)`,
      provider,
      subject: githubSubject(t.app, { pullRequest: true }),
      claimPatterns: { job_workflow_ref: fromPullRequests(t.app, githubWorkflows.preview) },
      statements: [
        ecrToken,
        allow('PushPreviewImages', ecrPush, [previewRepositoryArn(t)]),
        allow('ReadDevOutputs', ['ssm:GetParameter'], [ssmArn(host, host.names.outputsParameter)]),
        findRuntimeByName,
        allow(
          'CreateTaggedPreviewRuntimes',
          ['bedrock-agentcore:CreateAgentRuntime'],
          ['*'],
          'CreateAgentRuntime has no resource-level permissions (the id does not exist yet); the preview tag is required on the request.',
          tagging,
        ),
        allow('TagPreviewRuntimes', ['bedrock-agentcore:TagResource'], previews, why, tagging),
        allow(
          'ReadPreviewRuntimes',
          ['bedrock-agentcore:GetAgentRuntime', 'bedrock-agentcore:GetAgentRuntimeEndpoint'],
          previews,
          why,
        ),
        allow(
          'ChangeTaggedPreviewRuntimes',
          [
            'bedrock-agentcore:UpdateAgentRuntime',
            'bedrock-agentcore:DeleteAgentRuntime',
            'bedrock-agentcore:CreateAgentRuntimeEndpoint',
            'bedrock-agentcore:UpdateAgentRuntimeEndpoint',
            'bedrock-agentcore:DeleteAgentRuntimeEndpoint',
          ],
          previews,
          why,
          tagged,
        ),
        passExecutionRole(host),
        readTraces,
      ],
    });
  }

  /** The nightly sweep: list preview runtimes, read their tags, delete tagged ones; nothing else. */
  private sweepRole(t: Topology, provider: iam.IOidcProvider) {
    const { account, region } = t.registry;
    const previews = runtimeArns(account, region, t.shared.previewRuntimePrefix, true).slice(0, 1);
    const why = `Preview runtime ids are generated (<name>-<suffix>); ${t.shared.previewRuntimePrefix}* is the preview name prefix.`;
    return githubRole(this, 'SweepRole', {
      roleName: t.shared.sweepRole,
      description: `Deletes expired pull-request previews (${githubWorkflows.sweep}, scheduled or dispatched on ${t.app.github.mainBranch})`,
      provider,
      subject: githubSubject(t.app, { ref: `refs/heads/${t.app.github.mainBranch}` }),
      claims: { job_workflow_ref: fromMain(t.app, githubWorkflows.sweep) },
      statements: [
        findRuntimeByName,
        allow(
          'ReadPreviewRuntimes',
          ['bedrock-agentcore:GetAgentRuntime', 'bedrock-agentcore:ListTagsForResource'],
          previews,
          why,
        ),
        allow('DeleteTaggedPreviewRuntimes', ['bedrock-agentcore:DeleteAgentRuntime'], previews, why, {
          StringEquals: { [`aws:ResourceTag/${previewTag.key}`]: previewTag.value },
        }),
      ],
    });
  }

  /**
   * Pull requests' `cdk diff` and the scheduled drift check on main: look up this account's stacks of
   * this app, change nothing.
   */
  private diffRole(t: Topology, plan: AccountPlan, provider: iam.IOidcProvider) {
    const stacks = [plan.stackName, ...plan.deployed.map((e) => e.names.stack)].map(
      (name) => `arn:aws:cloudformation:${plan.region}:${plan.account}:stack/${name}/*`,
    );
    return githubRole(this, 'DiffRole', {
      roleName: t.shared.diffRole,
      description: `Read-only: pull requests' cdk diff and the drift check look up this account's ${t.app.app} stacks`,
      provider,
      subject: githubSubject(t.app, { pullRequest: true }),
      claimPatterns: { job_workflow_ref: fromPullRequests(t.app, githubWorkflows.infraDiff) },
      alsoTrusted: [
        {
          subject: githubSubject(t.app, { ref: `refs/heads/${t.app.github.mainBranch}` }),
          claims: { job_workflow_ref: fromMain(t.app, githubWorkflows.infraDrift) },
        },
      ],
      statements: [
        allow(
          'LookUpStacks',
          [
            'cloudformation:DescribeStacks',
            'cloudformation:GetTemplate',
            'cloudformation:GetTemplateSummary',
            'cloudformation:ListStackResources',
            'cloudformation:DescribeStackResources',
          ],
          stacks,
          'Stack ARNs end in a generated id; the stack names fix the stacks.',
        ),
      ],
    });
  }

  /** Release and rollback jobs of one environment: exactly the calls of contract §4 (deploy-<env>). */
  private deployRole(t: Topology, env: Environment, provider: iam.IOidcProvider) {
    const { names } = env;
    const [runtime, endpoints] = runtimeArns(env.account, env.region, names.runtime);
    return githubRole(this, `Deploy${pascal(env.name)}Role`, {
      roleName: names.deployRole,
      description: `Deploys, promotes and rolls back the ${env.name} runtime (release and rollback workflows on ${t.app.github.mainBranch}, environment ${env.name})`,
      provider,
      subject: githubSubject(t.app, { environment: env.name }),
      // Main only, and only the workflows that deploy: both are claims STS evaluates (docs/infra.md).
      claims: {
        ref: `refs/heads/${t.app.github.mainBranch}`,
        job_workflow_ref: fromMain(t.app, githubWorkflows.release, githubWorkflows.rollback),
      },
      statements: [
        allow('ReadStackOutputs', ['ssm:GetParameter'], [ssmArn(env, names.outputsParameter)]),
        findRuntimeByName,
        allow(
          'ListVersions',
          ['bedrock-agentcore:ListAgentRuntimeVersions'],
          ['*'],
          'ListAgentRuntimeVersions has no resource-level permissions; it lists version numbers only.',
        ),
        allow(
          'UpdateOwnRuntime',
          ['bedrock-agentcore:GetAgentRuntime', 'bedrock-agentcore:UpdateAgentRuntime'],
          [runtime],
          `The ${names.runtime} runtime id is generated (<name>-<suffix>); names allow no hyphen, so <name>-* matches this runtime only.`,
        ),
        allow(
          'MoveOwnEndpoints',
          ['bedrock-agentcore:GetAgentRuntimeEndpoint', 'bedrock-agentcore:UpdateAgentRuntimeEndpoint'],
          [runtime, endpoints],
          `Endpoint calls authorise on the runtime and the endpoint; the ${names.runtime} id is generated, so <name>-* and its endpoints match this runtime only.`,
        ),
        passExecutionRole(env),
        ecrToken,
        allow('ReadAndRetagReleaseImages', ecrRetag, [repositoryArn(t)]),
        allow(
          'RecordPromotion',
          ['ssm:PutParameter'],
          [names.imageParameter, names.releaseParameter, names.liveVersionParameter].map((p) =>
            ssmArn(env, p),
          ),
        ),
        allow(
          'ReadPromotionHistory',
          ['ssm:GetParameter', 'ssm:GetParameterHistory'],
          [names.releaseParameter, names.liveVersionParameter].map((p) => ssmArn(env, p)),
        ),
        readTraces,
        allow(
          'WatchAlarms',
          ['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory'],
          [`arn:aws:cloudwatch:${env.region}:${env.account}:alarm:${names.alarmPrefix}*`],
          `The watch step reads the ${env.name} health alarms, which all share the ${names.alarmPrefix} prefix.`,
        ),
        // cognito-idp:DescribeUserPoolClient on its own pool is granted by the environment stack,
        // which knows the pool's generated id.
      ],
    });
  }

  private releaseRepository(t: Topology): ecr.Repository {
    const moving = movingTags(t);
    const repo = new ecr.Repository(this, 'Repository', {
      repositoryName: t.shared.repository,
      imageScanOnPush: true,
      imageTagMutability: ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION,
      imageTagMutabilityExclusionFilters: moving.map((p) =>
        ecr.ImageTagMutabilityExclusionFilter.wildcard(p),
      ),
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        // A rule that selects an image shields it from lower-priority rules: the image a moving tag
        // points at (what an environment runs) is never expired.
        ...moving.map((tag, i) => ({
          rulePriority: i + 1,
          description: `never expire the image tagged ${tag}`,
          tagPatternList: [tag],
          maxImageCount: 1,
        })),
        {
          rulePriority: moving.length + 1,
          description: `keep the ${t.app.ecr.keepReleaseImages} most recent release images (rollback targets)`,
          tagStatus: ecr.TagStatus.ANY,
          maxImageCount: t.app.ecr.keepReleaseImages,
        },
      ],
    });
    // Environments in other accounts pull (execution role) and retag (deploy role) the same digests.
    for (const env of t.deployed.filter((e) => e.account !== t.registry.account)) {
      // Principals by condition, not by ARN: a policy naming a role that does not exist yet is rejected.
      const grant = (sid: string, role: string, actions: string[]) =>
        repo.addToResourcePolicy(
          new iam.PolicyStatement({
            sid: `${sid}${pascal(env.name)}`,
            principals: [new iam.AccountPrincipal(env.account)],
            actions,
            conditions: { ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${env.account}:role/${role}` } },
          }),
        );
      grant('RuntimePull', env.names.executionRole, ecrPull);
      grant('DeployReadRetag', env.names.deployRole, ecrRetag);
    }
    return repo;
  }

  /** Pull-request images: their own repository, so no pull request can write a release image. */
  private previewImages(t: Topology): ecr.Repository {
    return new ecr.Repository(this, 'PreviewRepository', {
      repositoryName: t.shared.previewRepository,
      imageScanOnPush: true,
      // A re-run of the same pull request commit pushes the same `pr-<n>-<sha>` tag again.
      imageTagMutability: ecr.TagMutability.MUTABLE,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          rulePriority: 1,
          description: `expire preview images after ${t.app.ecr.previewImageDays} days`,
          tagStatus: ecr.TagStatus.ANY,
          maxImageAge: Duration.days(t.app.ecr.previewImageDays),
        },
      ],
    });
  }
}

/** iam:PassRole on an environment's runtime execution role, to AgentCore only. */
function passExecutionRole(env: Environment): Justified {
  return allow(
    `PassExecutionRole${pascal(env.name)}`,
    ['iam:PassRole'],
    [`arn:aws:iam::${env.account}:role/${env.names.executionRole}`],
    undefined,
    { StringEquals: { 'iam:PassedToService': 'bedrock-agentcore.amazonaws.com' } },
  );
}

export function pascal(s: string): string {
  return s
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}
