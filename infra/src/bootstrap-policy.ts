import type { Topology } from './topology';

/**
 * The CloudFormation execution policy for `cdk bootstrap --cloudformation-execution-policies`: what
 * CloudFormation needs to create, update and delete exactly the resource types this app's templates
 * contain (their resource handlers' permissions), instead of the default AdministratorAccess.
 * `npm run synth` writes it to `executionPolicyFile`; docs/infra.md shows create-policy → bootstrap.
 */
export const executionPolicyFile = 'infra/bootstrap/execution-policy.json';

/** CDK's default bootstrap qualifier (the `cdk-hnb659fds-*` roles). */
export const bootstrapQualifier = 'hnb659fds';

/** The bootstrap roles `cdk deploy` assumes in an account; only the infra roles may. */
export function bootstrapRoleArns(account: string, region: string): string[] {
  return ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map(
    (r) => `arn:aws:iam::${account}:role/cdk-${bootstrapQualifier}-${r}-role-${account}-${region}`,
  );
}

const tags = (service: string, list = 'ListTagsForResource') => [
  `${service}:TagResource`,
  `${service}:UntagResource`,
  `${service}:${list}`,
];

/** Per resource type: the calls its CloudFormation handlers make (create, read, update, delete, list). */
export const cloudFormationNeeds: Record<string, string[]> = {
  'AWS::Bedrock::Guardrail': [
    'bedrock:CreateGuardrail',
    'bedrock:GetGuardrail',
    'bedrock:UpdateGuardrail',
    'bedrock:DeleteGuardrail',
    'bedrock:ListGuardrails',
    ...tags('bedrock'),
  ],
  'AWS::Bedrock::GuardrailVersion': [
    'bedrock:CreateGuardrailVersion',
    'bedrock:GetGuardrail',
    'bedrock:DeleteGuardrail',
    'bedrock:ListGuardrails',
  ],
  'AWS::BedrockAgentCore::Runtime': [
    'bedrock-agentcore:CreateAgentRuntime',
    'bedrock-agentcore:GetAgentRuntime',
    'bedrock-agentcore:UpdateAgentRuntime',
    'bedrock-agentcore:DeleteAgentRuntime',
    'bedrock-agentcore:ListAgentRuntimes',
    'bedrock-agentcore:ListAgentRuntimeVersions',
    // A runtime gets a workload identity of its own.
    'bedrock-agentcore:CreateWorkloadIdentity',
    'bedrock-agentcore:GetWorkloadIdentity',
    'bedrock-agentcore:UpdateWorkloadIdentity',
    'bedrock-agentcore:DeleteWorkloadIdentity',
    'iam:PassRole',
    ...tags('bedrock-agentcore'),
  ],
  'AWS::BedrockAgentCore::RuntimeEndpoint': [
    'bedrock-agentcore:CreateAgentRuntimeEndpoint',
    'bedrock-agentcore:GetAgentRuntimeEndpoint',
    'bedrock-agentcore:UpdateAgentRuntimeEndpoint',
    'bedrock-agentcore:DeleteAgentRuntimeEndpoint',
    'bedrock-agentcore:ListAgentRuntimeEndpoints',
    'bedrock-agentcore:GetAgentRuntime',
    ...tags('bedrock-agentcore'),
  ],
  'AWS::BedrockAgentCore::Memory': [
    'bedrock-agentcore:CreateMemory',
    'bedrock-agentcore:GetMemory',
    'bedrock-agentcore:UpdateMemory',
    'bedrock-agentcore:DeleteMemory',
    'bedrock-agentcore:ListMemories',
    ...tags('bedrock-agentcore'),
  ],
  'AWS::Budgets::Budget': ['budgets:ModifyBudget', 'budgets:ViewBudget', ...tags('budgets')],
  'AWS::CloudWatch::Alarm': [
    'cloudwatch:PutMetricAlarm',
    'cloudwatch:DescribeAlarms',
    'cloudwatch:DeleteAlarms',
    ...tags('cloudwatch'),
  ],
  'AWS::CloudWatch::Dashboard': [
    'cloudwatch:PutDashboard',
    'cloudwatch:GetDashboard',
    'cloudwatch:DeleteDashboards',
    'cloudwatch:ListDashboards',
  ],
  'AWS::Cognito::UserPool': [
    'cognito-idp:CreateUserPool',
    'cognito-idp:DescribeUserPool',
    'cognito-idp:UpdateUserPool',
    'cognito-idp:DeleteUserPool',
    'cognito-idp:ListUserPools',
    'cognito-idp:SetUserPoolMfaConfig',
    'cognito-idp:GetUserPoolMfaConfig',
    'cognito-idp:AddCustomAttributes',
    ...tags('cognito-idp'),
  ],
  'AWS::Cognito::UserPoolClient': [
    'cognito-idp:CreateUserPoolClient',
    'cognito-idp:DescribeUserPoolClient',
    'cognito-idp:UpdateUserPoolClient',
    'cognito-idp:DeleteUserPoolClient',
  ],
  'AWS::Cognito::UserPoolDomain': [
    'cognito-idp:CreateUserPoolDomain',
    'cognito-idp:DescribeUserPoolDomain',
    'cognito-idp:UpdateUserPoolDomain',
    'cognito-idp:DeleteUserPoolDomain',
  ],
  'AWS::Cognito::UserPoolResourceServer': [
    'cognito-idp:CreateResourceServer',
    'cognito-idp:DescribeResourceServer',
    'cognito-idp:UpdateResourceServer',
    'cognito-idp:DeleteResourceServer',
  ],
  'AWS::ECR::Repository': [
    'ecr:CreateRepository',
    'ecr:DescribeRepositories',
    'ecr:DeleteRepository',
    'ecr:PutLifecyclePolicy',
    'ecr:GetLifecyclePolicy',
    'ecr:DeleteLifecyclePolicy',
    'ecr:SetRepositoryPolicy',
    'ecr:GetRepositoryPolicy',
    'ecr:DeleteRepositoryPolicy',
    'ecr:PutImageScanningConfiguration',
    'ecr:PutImageTagMutability',
    ...tags('ecr'),
  ],
  'AWS::IAM::OIDCProvider': [
    'iam:CreateOpenIDConnectProvider',
    'iam:GetOpenIDConnectProvider',
    'iam:DeleteOpenIDConnectProvider',
    'iam:AddClientIDToOpenIDConnectProvider',
    'iam:RemoveClientIDFromOpenIDConnectProvider',
    'iam:UpdateOpenIDConnectProviderThumbprint',
    'iam:TagOpenIDConnectProvider',
    'iam:UntagOpenIDConnectProvider',
    'iam:ListOpenIDConnectProviderTags',
  ],
  // Inline policies only: no iam:AttachRolePolicy, so no stack can attach AdministratorAccess.
  'AWS::IAM::Policy': ['iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy'],
  'AWS::IAM::Role': [
    'iam:CreateRole',
    'iam:GetRole',
    'iam:UpdateRole',
    'iam:UpdateRoleDescription',
    'iam:UpdateAssumeRolePolicy',
    'iam:DeleteRole',
    'iam:ListRolePolicies',
    'iam:ListAttachedRolePolicies',
    'iam:PutRolePolicy',
    'iam:GetRolePolicy',
    'iam:DeleteRolePolicy',
    'iam:TagRole',
    'iam:UntagRole',
    'iam:ListRoleTags',
  ],
  'AWS::KMS::Key': [
    'kms:CreateKey',
    'kms:DescribeKey',
    'kms:EnableKey',
    'kms:DisableKey',
    'kms:EnableKeyRotation',
    'kms:GetKeyRotationStatus',
    'kms:GetKeyPolicy',
    'kms:PutKeyPolicy',
    'kms:UpdateKeyDescription',
    'kms:ScheduleKeyDeletion',
    'kms:ListResourceTags',
    'kms:TagResource',
    'kms:UntagResource',
  ],
  // Logs and X-Ray: the calls of the CloudWatch Logs delivery pages' user permissions
  // (AWS-logs-infrastructure-V2-CloudWatchLogs.html, AWS-logs-infrastructure-V2-XRayTraces.html).
  'AWS::Logs::LogGroup': [
    'logs:CreateLogGroup',
    'logs:DescribeLogGroups',
    'logs:DeleteLogGroup',
    'logs:PutRetentionPolicy',
    'logs:DeleteRetentionPolicy',
    ...tags('logs'),
  ],
  'AWS::Logs::ResourcePolicy': [
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DeleteResourcePolicy',
  ],
  'AWS::Logs::DeliverySource': [
    'logs:PutDeliverySource',
    'logs:GetDeliverySource',
    'logs:DescribeDeliverySources',
    'logs:DeleteDeliverySource',
    // The service-level permission CloudWatch Logs checks on the resource that sends the logs.
    'bedrock-agentcore:AllowVendedLogDeliveryForResource',
    ...tags('logs'),
  ],
  'AWS::Logs::DeliveryDestination': [
    'logs:PutDeliveryDestination',
    'logs:GetDeliveryDestination',
    'logs:DescribeDeliveryDestinations',
    'logs:DeleteDeliveryDestination',
    'logs:PutDeliveryDestinationPolicy',
    'logs:GetDeliveryDestinationPolicy',
    'logs:DeleteDeliveryDestinationPolicy',
    // A CloudWatch Logs destination: the delivery adds itself to the log group's resource policy.
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
    // An X-Ray destination: likewise to X-Ray's resource policy.
    'xray:PutResourcePolicy',
    'xray:ListResourcePolicies',
    'xray:GetTraceSegmentDestination',
    ...tags('logs'),
  ],
  'AWS::Logs::Delivery': [
    'logs:CreateDelivery',
    'logs:GetDelivery',
    'logs:DescribeDeliveries',
    'logs:UpdateDeliveryConfiguration',
    'logs:DeleteDelivery',
    'logs:GetDeliverySource',
    'logs:GetDeliveryDestination',
    ...tags('logs'),
  ],
  'AWS::XRay::ResourcePolicy': [
    'xray:PutResourcePolicy',
    'xray:ListResourcePolicies',
    'xray:DeleteResourcePolicy',
  ],
  // The role Transaction Search's enabling page lists (CloudWatch-Transaction-Search-getting-started.html).
  'AWS::XRay::TransactionSearchConfig': [
    'xray:GetTraceSegmentDestination',
    'xray:UpdateTraceSegmentDestination',
    'xray:GetIndexingRules',
    'xray:UpdateIndexingRule',
    'logs:CreateLogGroup',
    'logs:CreateLogStream',
    'logs:PutRetentionPolicy',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'application-signals:StartDiscovery',
    'iam:CreateServiceLinkedRole',
    'iam:GetRole',
  ],
  'AWS::SNS::Topic': [
    'sns:CreateTopic',
    'sns:GetTopicAttributes',
    'sns:SetTopicAttributes',
    'sns:DeleteTopic',
    'sns:ListSubscriptionsByTopic',
    ...tags('sns'),
  ],
  'AWS::SNS::TopicPolicy': ['sns:SetTopicAttributes', 'sns:GetTopicAttributes'],
  'AWS::SSM::Parameter': [
    'ssm:PutParameter',
    'ssm:GetParameter',
    'ssm:GetParameters',
    'ssm:DeleteParameter',
    'ssm:AddTagsToResource',
    'ssm:RemoveTagsFromResource',
    'ssm:ListTagsForResource',
  ],
};

interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
}
export interface ExecutionPolicy {
  document: { Version: '2012-10-17'; Statement: Statement[] };
  coveredTypes: string[];
}

export class UncoveredResourceTypeError extends Error {}

/**
 * The policy document, one statement per service. IAM and SSM are limited to this app's names (every
 * role is `<app>-…`; parameters live under `/<app>/` and CDK's `/cdk-bootstrap/`); the other services'
 * create calls have no resource-level permissions or generated names, so they are limited by action.
 * `types` (the synthesized templates' resource types) must all be covered, else the error names them.
 */
export function executionPolicy(t: Topology, types: Iterable<string> = []): ExecutionPolicy {
  const missing = [...new Set(types)].filter((type) => !(type in cloudFormationNeeds));
  if (missing.length > 0)
    throw new UncoveredResourceTypeError(
      `the CDK execution policy does not cover ${missing.join(', ')}: add the calls CloudFormation makes for them to cloudFormationNeeds in infra/src/bootstrap-policy.ts`,
    );
  const byService = new Map<string, Set<string>>();
  for (const action of Object.values(cloudFormationNeeds).flat()) {
    const service = action.split(':')[0];
    byService.set(service, (byService.get(service) ?? new Set()).add(action));
  }
  const base = t.app.app.replaceAll('_', '-');
  const scoped: Record<string, string[]> = {
    iam: [
      `arn:aws:iam::*:role/${base}-*`,
      'arn:aws:iam::*:oidc-provider/token.actions.githubusercontent.com',
      // Transaction Search creates Application Signals' service-linked role (IAM refuses any change
      // to a service-linked role other than its creation and deletion by the service).
      'arn:aws:iam::*:role/aws-service-role/application-signals.cloudwatch.amazonaws.com/AWSServiceRoleForCloudWatchApplicationSignals',
    ],
    // Dynamic references ({{resolve:ssm:…}}) and the stacks' BootstrapVersion parameter are read too.
    ssm: [`arn:aws:ssm:*:*:parameter/${t.app.app}/*`, `arn:aws:ssm:*:*:parameter/cdk-bootstrap/*`],
  };
  const statements: Statement[] = [...byService]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, actions]) => ({
      Sid: service.replace(/[^a-zA-Z0-9]/g, ''),
      Effect: 'Allow' as const,
      Action: [...actions].sort(),
      Resource: scoped[service] ?? '*',
    }));
  return {
    document: { Version: '2012-10-17', Statement: statements },
    coveredTypes: Object.keys(cloudFormationNeeds),
  };
}
