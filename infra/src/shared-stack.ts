import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { githubSubject, previewImageTagPattern, previewTag, type Environment } from '../../environments';
import { githubIssuer, githubRole, stsAudience } from './github-role';
import type { Justified } from './nag';
import { movingTags, repositoryArn, runtimeArns, type AccountPlan, type Topology } from './topology';

export interface SharedStackProps extends StackProps {
  topology: Topology;
  plan: AccountPlan;
}

const ecrPull = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'];
const ecrPush = [
  ...ecrPull,
  'ecr:DescribeImages',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
];
const runtimeRead = [
  'bedrock-agentcore:GetAgentRuntime',
  'bedrock-agentcore:ListAgentRuntimeVersions',
  'bedrock-agentcore:GetAgentRuntimeEndpoint',
  'bedrock-agentcore:ListAgentRuntimeEndpoints',
];

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

/**
 * Per account: the GitHub OIDC provider and one role per purpose; in the registry account also the one
 * ECR repository every environment runs images from.
 */
export class SharedStack extends Stack {
  readonly roles: Record<string, iam.Role> = {};
  readonly repository?: ecr.Repository;

  constructor(scope: Construct, id: string, props: SharedStackProps) {
    super(scope, id, props);
    const { topology: t, plan } = props;
    const app = t.app;
    const { account, region } = plan;
    const repoArn = repositoryArn(t);

    const provider = new iam.OidcProviderNative(this, 'GithubOidc', {
      url: `https://${githubIssuer}`,
      clientIds: [stsAudience],
    });

    if (plan.hostsRegistry) {
      this.repository = this.createRepository(t);
      this.roles.build = githubRole(this, 'BuildRole', {
        roleName: t.shared.buildRole,
        description: `Builds and pushes images from ${app.github.mainBranch}`,
        provider,
        subject: githubSubject(app, { ref: `refs/heads/${app.github.mainBranch}` }),
        statements: [ecrToken, allow('PushImages', ecrPush, [repoArn])],
      });
    }

    if (plan.preview && t.previewHost) {
      const previews = runtimeArns(account, region, t.shared.previewRuntimePrefix, true);
      const why =
        'Preview runtime ids are generated (<name>-<suffix>); the name prefix plus the preview tag condition is the narrowest scope IAM offers.';
      this.roles.preview = githubRole(this, 'PreviewRole', {
        roleName: t.shared.previewRole,
        description: `Creates, updates and deletes pull-request preview runtimes (${t.shared.previewRuntimePrefix}*)`,
        provider,
        subject: githubSubject(app, { pullRequest: true }),
        statements: [
          ecrToken,
          allow('PushPreviewImages', ecrPush, [repoArn]),
          allow(
            'CreateTaggedPreviewRuntimes',
            ['bedrock-agentcore:CreateAgentRuntime', 'bedrock-agentcore:TagResource'],
            previews,
            why,
            { StringEquals: { [`aws:RequestTag/${previewTag.key}`]: previewTag.value } },
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
            { StringEquals: { [`aws:ResourceTag/${previewTag.key}`]: previewTag.value } },
          ),
          allow('ReadPreviewRuntimes', runtimeRead, previews, why),
          ...runtimeOwnerStatements(t.previewHost),
        ],
      });
    }

    for (const env of plan.deployed) {
      this.roles[`deploy-${env.name}`] = githubRole(this, `Deploy${pascal(env.name)}Role`, {
        roleName: env.names.deployRole,
        description: `Deploys the ${env.name} environment (CDK and runtime updates)`,
        provider,
        subject: githubSubject(app, { environment: env.name }),
        // prod only from the main branch: STS evaluates GitHub's `ref` claim (see docs/infra.md).
        claims: env.name === 'prod' ? { ref: `refs/heads/${app.github.mainBranch}` } : undefined,
        statements: [
          ecrToken,
          allow('ReadAndRetagImages', [...ecrPull, 'ecr:DescribeImages', 'ecr:PutImage'], [repoArn]),
          allow(
            'UpdateOwnRuntime',
            [
              ...runtimeRead,
              'bedrock-agentcore:UpdateAgentRuntime',
              'bedrock-agentcore:UpdateAgentRuntimeEndpoint',
            ],
            runtimeArns(account, region, env.names.runtime),
            `The ${env.names.runtime} runtime id is generated (<name>-<suffix>); names allow no hyphen, so <name>-* matches this runtime only.`,
          ),
          allow(
            'RecordImage',
            ['ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:PutParameter'],
            [`arn:aws:ssm:${region}:${account}:parameter${env.names.imageParameter}`],
          ),
          allow(
            'WatchAlarms',
            ['cloudwatch:DescribeAlarms'],
            [`arn:aws:cloudwatch:${region}:${account}:alarm:${env.names.alarmPrefix}*`],
            `The watch step reads the ${env.name} alarms, which all share the ${env.names.alarmPrefix} prefix.`,
          ),
          allow(
            'CdkDeployViaBootstrapRoles',
            ['sts:AssumeRole'],
            [`arn:aws:iam::${account}:role/cdk-hnb659fds-*-${account}-${region}`],
            'cdk deploy assumes the bootstrap roles (deploy, file/image publishing, lookup) of this account and region.',
          ),
          ...runtimeOwnerStatements(env),
        ],
      });
    }

    for (const [purpose, role] of Object.entries(this.roles)) {
      new CfnOutput(this, `${pascal(purpose)}RoleArn`, {
        value: role.roleArn,
        description: `Role GitHub Actions assumes to ${purpose}`,
      });
    }
    if (this.repository) new CfnOutput(this, 'RepositoryUri', { value: this.repository.repositoryUri });
  }

  private createRepository(t: Topology): ecr.Repository {
    const moving = movingTags(t);
    const repo = new ecr.Repository(this, 'Repository', {
      repositoryName: t.shared.repository,
      imageScanOnPush: true,
      imageTagMutability: ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION,
      imageTagMutabilityExclusionFilters: [...moving, previewImageTagPattern].map((p) =>
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
          description: `expire preview images after ${t.app.ecr.previewImageDays} days`,
          tagPatternList: [previewImageTagPattern],
          maxImageAge: Duration.days(t.app.ecr.previewImageDays),
        },
        {
          rulePriority: moving.length + 2,
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
      grant('DeployReadRetag', env.names.deployRole, [...ecrPull, 'ecr:DescribeImages', 'ecr:PutImage']);
    }
    return repo;
  }
}

/** What a role that runs an environment's runtime needs: find it, pass its execution role, read its outputs and smoke client. */
function runtimeOwnerStatements(env: Environment): Justified[] {
  const { account, region } = env;
  const n = pascal(env.name);
  return [
    allow(
      `FindRuntimeByName${n}`,
      ['bedrock-agentcore:ListAgentRuntimes'],
      ['*'],
      'ListAgentRuntimes has no resource-level permissions; it reveals names and ids only.',
    ),
    allow(
      `PassExecutionRole${n}`,
      ['iam:PassRole'],
      [`arn:aws:iam::${account}:role/${env.names.executionRole}`],
      undefined,
      { StringEquals: { 'iam:PassedToService': 'bedrock-agentcore.amazonaws.com' } },
    ),
    allow(
      `ReadStackOutputs${n}`,
      ['cloudformation:DescribeStacks'],
      [`arn:aws:cloudformation:${region}:${account}:stack/${env.names.stack}/*`],
      `Stack ARNs end in a generated id; the name ${env.names.stack} fixes the stack.`,
    ),
    allow(
      `ReadSmokeClientSecret${n}`,
      ['cognito-idp:DescribeUserPoolClient'],
      [`arn:aws:cognito-idp:${region}:${account}:userpool/*`],
      'The smoke client secret is read at run time instead of being stored; user pool ids are generated, so the pool cannot be named in advance.',
    ),
  ];
}

export function pascal(s: string): string {
  return s
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}
