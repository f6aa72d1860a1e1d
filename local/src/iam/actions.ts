import { jsonBody } from '../core/json-body';
import type { TwinRequest } from '../core/router';

/**
 * What IAM checks for each operation the twin serves: the action and the resource ARN the Service
 * Authorization Reference names for it (https://docs.aws.amazon.com/service-authorization/latest/reference/),
 * plus extra actions AWS checks for the same call (iam:PassRole on CreateAgentRuntime's roleArn,
 * bedrock:ApplyGuardrail when Converse names a guardrail). Actions whose reference lists no resource
 * type take `*`. The first check's ARN names the account that owns the addressed resource: the
 * handler runs in that account (core/accounts.ts).
 *
 * Keys: REST routes `METHOD /path/{pattern}` as registered; JSON protocols the `x-amz-target`;
 * query protocols the `Action`. An operation missing here is refused for every signed caller.
 */
export interface Check {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

export interface CheckInput {
  req: TwinRequest;
  /** The caller's account (the default account for unsigned requests). */
  account: string;
  region: string;
}

type Checks = (input: CheckInput) => Check[];

const json = (r: CheckInput) => jsonBody<Record<string, unknown>>(r.req);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** `registryId` of the request (another account's registry) or the caller's own. */
const registry = (r: CheckInput) => str(json(r).registryId) || r.account;
const repositoryArn = (r: CheckInput, name = str(json(r).repositoryName)) =>
  `arn:aws:ecr:${r.region}:${registry(r)}:repository/${name}`;
const ecr =
  (action: string): Checks =>
  (r) => [{ action: `ecr:${action}`, resource: repositoryArn(r) }];

const parameterArn = (r: CheckInput, name: string) =>
  `arn:aws:ssm:${r.region}:${r.account}:parameter/${name.replace(/^\//, '')}`;

const alarmArn = (r: CheckInput, name: string) => `arn:aws:cloudwatch:${r.region}:${r.account}:alarm:${name}`;

/** A runtime named by id (caller's account) or by ARN (the ARN's account). */
const runtimeArn = (r: CheckInput, idOrArn: string) =>
  idOrArn.startsWith('arn:')
    ? idOrArn
    : `arn:aws:bedrock-agentcore:${r.region}:${r.account}:runtime/${idOrArn}`;
const runtime =
  (action: string, endpoint?: (r: CheckInput) => string | undefined): Checks =>
  (r) => {
    const arn = runtimeArn(r, r.req.params.agentRuntimeId ?? r.req.params.runtime);
    const ep = endpoint?.(r);
    return [{ action: `bedrock-agentcore:${action}`, resource: ep ? `${arn}/runtime-endpoint/${ep}` : arn }];
  };
const memory =
  (action: string): Checks =>
  (r) => [
    {
      action: `bedrock-agentcore:${action}`,
      resource: `arn:aws:bedrock-agentcore:${r.region}:${r.account}:memory/${r.req.params.memoryId}`,
    },
  ];
const anyResource =
  (action: string): Checks =>
  () => [{ action, resource: '*' }];

/** Tags on a create request as `aws:RequestTag/<key>` and `aws:TagKeys`, for tag-scoped policies. */
const requestTags = (tags: unknown): Record<string, string | string[]> => {
  if (!tags || typeof tags !== 'object') return {};
  const entries = Object.entries(tags as Record<string, string>);
  return {
    ...Object.fromEntries(entries.map(([k, v]) => [`aws:RequestTag/${k}`, String(v)])),
    'aws:TagKeys': entries.map(([k]) => k),
  };
};

/** iam:PassRole, checked when a runtime is created or updated with an execution role. */
const passRole = (roleArn: unknown, service = 'bedrock-agentcore.amazonaws.com'): Check[] =>
  typeof roleArn === 'string' && roleArn
    ? [
        {
          action: 'iam:PassRole',
          resource: roleArn,
          context: { 'iam:PassedToService': service },
        },
      ]
    : [];

/** Bedrock model ids: cross-region inference profiles carry a geography prefix. */
const PROFILE = /^(us|eu|apac|global|us-gov|jp|au|ca)\./;
function modelChecks(r: CheckInput, action: string): Check[] {
  const modelId = decodeURIComponent(r.req.params.modelId);
  if (modelId.startsWith('arn:')) return [{ action, resource: modelId }];
  const foundation = `arn:aws:bedrock:${r.region}::foundation-model/${modelId.replace(PROFILE, '')}`;
  // An inference profile needs the profile and the foundation model it routes to (the twin checks
  // the model in the request's region; AWS checks every destination region of the profile).
  const profile = PROFILE.test(modelId)
    ? [{ action, resource: `arn:aws:bedrock:${r.region}:${r.account}:inference-profile/${modelId}` }]
    : [];
  const guardrail = (json(r).guardrailConfig as { guardrailIdentifier?: string } | undefined)
    ?.guardrailIdentifier;
  return [
    ...profile,
    { action, resource: foundation },
    ...(guardrail ? [{ action: 'bedrock:ApplyGuardrail', resource: guardrailArn(r, guardrail) }] : []),
  ];
}
const guardrailArn = (r: CheckInput, id: string) =>
  id.startsWith('arn:') ? id : `arn:aws:bedrock:${r.region}:${r.account}:guardrail/${id}`;

const form = (r: CheckInput) => new URLSearchParams(r.req.body.toString('utf8'));
/** A stack by name or ARN, in the caller's account. */
const stackArn = (r: CheckInput) => {
  const name = form(r).get('StackName') ?? '';
  return name.startsWith('arn:')
    ? name
    : `arn:aws:cloudformation:${r.region}:${r.account}:stack/${name || '*'}/*`;
};
/**
 * S3's path-style routes match any path no other service claimed; only requests signed for s3 are S3
 * operations. Others get no checks here and the S3 handler answers UnknownOperationException.
 */
const isS3 = (r: CheckInput) => r.req.service === 's3';
/** S3 ARNs carry no account; the twin's buckets belong to the caller's account (aws:ResourceAccount). */
const owner = (r: CheckInput) => ({ 'aws:ResourceAccount': r.account });
const s3Object =
  (action: string): Checks =>
  (r) =>
    isS3(r)
      ? [{ action, resource: `arn:aws:s3:::${r.req.params.bucket}/${r.req.params.key}`, context: owner(r) }]
      : [];
const s3Bucket =
  (action: (r: CheckInput) => string): Checks =>
  (r) =>
    isS3(r)
      ? [{ action: action(r), resource: `arn:aws:s3:::${r.req.params.bucket}`, context: owner(r) }]
      : [];
/** GET on a bucket: GetBucketLocation, GetBucketEncryption or ListObjectsV2, by query parameter. */
const s3BucketAction = (r: CheckInput) =>
  r.req.query.has('location')
    ? 's3:GetBucketLocation'
    : r.req.query.has('encryption')
      ? 's3:GetEncryptionConfiguration'
      : 's3:ListBucket';
/** IAM ARNs carry the path given at creation; calls by name only (GetRole...) address the `/` path. */
const iamArn = (r: CheckInput, kind: string, nameParam: string) =>
  `arn:aws:iam::${r.account}:${kind}${form(r).get('Path') ?? '/'}${form(r).get(nameParam) ?? ''}`;
const role =
  (action: string): Checks =>
  (r) => [{ action: `iam:${action}`, resource: iamArn(r, 'role', 'RoleName') }];
const policyArnParam =
  (action: string): Checks =>
  (r) => [{ action: `iam:${action}`, resource: form(r).get('PolicyArn') ?? '' }];
const oidcArnParam =
  (action: string): Checks =>
  (r) => [{ action: `iam:${action}`, resource: form(r).get('OpenIDConnectProviderArn') ?? '' }];

const ECR = 'AmazonEC2ContainerRegistry_V20150921';
const SSM = 'AmazonSSM';
const CW = 'GraniteServiceVersion20100801';

export const OPERATIONS: Record<string, Checks> = {
  // ---- ECR (awsJson1_1) ----
  [`${ECR}.CreateRepository`]: ecr('CreateRepository'),
  [`${ECR}.PutImageTagMutability`]: ecr('PutImageTagMutability'),
  [`${ECR}.DescribeRepositories`]: (r) => {
    const names = (json(r).repositoryNames as string[] | undefined) ?? ['*'];
    return names.map((n) => ({ action: 'ecr:DescribeRepositories', resource: repositoryArn(r, n) }));
  },
  [`${ECR}.DeleteRepository`]: ecr('DeleteRepository'),
  [`${ECR}.GetAuthorizationToken`]: anyResource('ecr:GetAuthorizationToken'),
  [`${ECR}.BatchCheckLayerAvailability`]: ecr('BatchCheckLayerAvailability'),
  [`${ECR}.InitiateLayerUpload`]: ecr('InitiateLayerUpload'),
  [`${ECR}.UploadLayerPart`]: ecr('UploadLayerPart'),
  [`${ECR}.CompleteLayerUpload`]: ecr('CompleteLayerUpload'),
  [`${ECR}.PutImage`]: ecr('PutImage'),
  [`${ECR}.BatchGetImage`]: ecr('BatchGetImage'),
  [`${ECR}.DescribeImages`]: ecr('DescribeImages'),
  [`${ECR}.ListImages`]: ecr('ListImages'),
  [`${ECR}.BatchDeleteImage`]: ecr('BatchDeleteImage'),
  [`${ECR}.SetRepositoryPolicy`]: ecr('SetRepositoryPolicy'),
  [`${ECR}.GetRepositoryPolicy`]: ecr('GetRepositoryPolicy'),
  [`${ECR}.DeleteRepositoryPolicy`]: ecr('DeleteRepositoryPolicy'),

  // ---- SSM (awsJson1_1) ----
  [`${SSM}.PutParameter`]: (r) => [
    { action: 'ssm:PutParameter', resource: parameterArn(r, str(json(r).Name)) },
  ],
  [`${SSM}.GetParameter`]: (r) => [
    { action: 'ssm:GetParameter', resource: parameterArn(r, str(json(r).Name)) },
  ],
  [`${SSM}.GetParameters`]: (r) =>
    ((json(r).Names as string[] | undefined) ?? []).map((n) => ({
      action: 'ssm:GetParameters',
      resource: parameterArn(r, n),
    })),
  [`${SSM}.DeleteParameter`]: (r) => [
    { action: 'ssm:DeleteParameter', resource: parameterArn(r, str(json(r).Name)) },
  ],
  [`${SSM}.GetParameterHistory`]: (r) => [
    { action: 'ssm:GetParameterHistory', resource: parameterArn(r, str(json(r).Name)) },
  ],

  // ---- CloudWatch (awsJson1_0, query-compatible) ----
  [`${CW}.PutMetricData`]: anyResource('cloudwatch:PutMetricData'),
  [`${CW}.ListMetrics`]: anyResource('cloudwatch:ListMetrics'),
  [`${CW}.GetMetricData`]: anyResource('cloudwatch:GetMetricData'),
  [`${CW}.DescribeAlarms`]: (r) => {
    const input = json(r);
    const names = (input.AlarmNames as string[] | undefined) ?? [];
    const prefix = str(input.AlarmNamePrefix);
    return (names.length ? names : [`${prefix}*`]).map((n) => ({
      action: 'cloudwatch:DescribeAlarms',
      resource: alarmArn(r, n),
    }));
  },
  [`${CW}.SetAlarmState`]: (r) => [
    { action: 'cloudwatch:SetAlarmState', resource: alarmArn(r, str(json(r).AlarmName)) },
  ],
  [`${CW}.DescribeAlarmHistory`]: (r) => [
    { action: 'cloudwatch:DescribeAlarmHistory', resource: alarmArn(r, str(json(r).AlarmName) || '*') },
  ],

  // ---- X-Ray (restJson1) and its OTLP traces endpoint: no resource types, so `*` ----
  // The OTLP endpoint authorises xray:PutSpans (CloudWatch OTLP endpoint getting-started IAM policy).
  'POST /v1/traces': anyResource('xray:PutSpans'),
  'POST /StartTraceRetrieval': anyResource('xray:StartTraceRetrieval'),
  'POST /ListRetrievedTraces': anyResource('xray:ListRetrievedTraces'),
  // X-Ray defines no resource types for these (Service Authorization Reference): `*`.
  'POST /GetTraceSegmentDestination': anyResource('xray:GetTraceSegmentDestination'),
  'POST /UpdateTraceSegmentDestination': anyResource('xray:UpdateTraceSegmentDestination'),
  'POST /GetIndexingRules': anyResource('xray:GetIndexingRules'),
  'POST /UpdateIndexingRule': anyResource('xray:UpdateIndexingRule'),
  'POST /PutResourcePolicy': anyResource('xray:PutResourcePolicy'),
  'POST /ListResourcePolicies': anyResource('xray:ListResourcePolicies'),
  'POST /DeleteResourcePolicy': anyResource('xray:DeleteResourcePolicy'),

  // ---- Cognito (awsJson1_1) ----
  'AWSCognitoIdentityProviderService.DescribeUserPoolClient': (r) => [
    {
      action: 'cognito-idp:DescribeUserPoolClient',
      resource: `arn:aws:cognito-idp:${r.region}:${r.account}:userpool/${str(json(r).UserPoolId)}`,
    },
  ],

  // ---- Bedrock Runtime (restJson1) ----
  'POST /model/{modelId}/converse': (r) => modelChecks(r, 'bedrock:InvokeModel'),
  'POST /model/{modelId}/converse-stream': (r) => modelChecks(r, 'bedrock:InvokeModelWithResponseStream'),
  'POST /guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply': (r) => [
    {
      action: 'bedrock:ApplyGuardrail',
      resource: guardrailArn(r, decodeURIComponent(r.req.params.guardrailIdentifier)),
    },
  ],

  // ---- AgentCore control plane: runtimes (restJson1) ----
  'PUT /runtimes/': (r) => [
    { action: 'bedrock-agentcore:CreateAgentRuntime', resource: '*', context: requestTags(json(r).tags) },
    ...passRole(json(r).roleArn),
  ],
  'POST /runtimes/': anyResource('bedrock-agentcore:ListAgentRuntimes'),
  'GET /runtimes/{agentRuntimeId}/': runtime('GetAgentRuntime'),
  'PUT /runtimes/{agentRuntimeId}/': (r) => [
    ...runtime('UpdateAgentRuntime')(r),
    ...passRole(json(r).roleArn),
  ],
  'DELETE /runtimes/{agentRuntimeId}/': runtime('DeleteAgentRuntime'),
  'POST /runtimes/{agentRuntimeId}/versions/': anyResource('bedrock-agentcore:ListAgentRuntimeVersions'),
  'PUT /runtimes/{agentRuntimeId}/runtime-endpoints/': runtime('CreateAgentRuntimeEndpoint'),
  'POST /runtimes/{agentRuntimeId}/runtime-endpoints/': anyResource(
    'bedrock-agentcore:ListAgentRuntimeEndpoints',
  ),
  'GET /runtimes/{agentRuntimeId}/runtime-endpoints/{endpointName}/': runtime(
    'GetAgentRuntimeEndpoint',
    (r) => r.req.params.endpointName,
  ),
  'PUT /runtimes/{agentRuntimeId}/runtime-endpoints/{endpointName}/': runtime(
    'UpdateAgentRuntimeEndpoint',
    (r) => r.req.params.endpointName,
  ),
  'DELETE /runtimes/{agentRuntimeId}/runtime-endpoints/{endpointName}/': runtime(
    'DeleteAgentRuntimeEndpoint',
    (r) => r.req.params.endpointName,
  ),

  // ---- AgentCore data plane: runtimes (restJson1; the bearer-JWT path is the authorizer's, not IAM's) ----
  'POST /runtimes/{runtime}/invocations': runtime('InvokeAgentRuntime'),
  'POST /runtimes/{runtime}/stopruntimesession': runtime('StopRuntimeSession'),

  // ---- AgentCore Memory: control plane ----
  'POST /memories/create': anyResource('bedrock-agentcore:CreateMemory'),
  'GET /memories/{memoryId}/details': memory('GetMemory'),
  'POST /memories/': anyResource('bedrock-agentcore:ListMemories'),
  'DELETE /memories/{memoryId}/delete': memory('DeleteMemory'),
  // ---- AgentCore Memory: data plane ----
  'POST /memories/{memoryId}/events': memory('CreateEvent'),
  'GET /memories/{memoryId}/actor/{actorId}/sessions/{sessionId}/events/{eventId}': memory('GetEvent'),
  'DELETE /memories/{memoryId}/actor/{actorId}/sessions/{sessionId}/events/{eventId}': memory('DeleteEvent'),
  'POST /memories/{memoryId}/actor/{actorId}/sessions/{sessionId}': memory('ListEvents'),
  'POST /memories/{memoryId}/actor/{actorId}/sessions': memory('ListSessions'),
  'POST /memories/{memoryId}/actors': memory('ListActors'),
  'POST /memories/{memoryId}/retrieve': memory('RetrieveMemoryRecords'),
  'POST /memories/{memoryId}/memoryRecords': memory('ListMemoryRecords'),
  'GET /memories/{memoryId}/memoryRecord/{memoryRecordId}': memory('GetMemoryRecord'),
  'DELETE /memories/{memoryId}/memoryRecords/{memoryRecordId}': memory('DeleteMemoryRecord'),

  // ---- IAM (awsQuery) ----
  CreateRole: role('CreateRole'),
  GetRole: role('GetRole'),
  DeleteRole: role('DeleteRole'),
  UpdateAssumeRolePolicy: role('UpdateAssumeRolePolicy'),
  ListRoles: (r) => [{ action: 'iam:ListRoles', resource: `arn:aws:iam::${r.account}:role/*` }],
  PutRolePolicy: role('PutRolePolicy'),
  GetRolePolicy: role('GetRolePolicy'),
  DeleteRolePolicy: role('DeleteRolePolicy'),
  ListRolePolicies: role('ListRolePolicies'),
  AttachRolePolicy: role('AttachRolePolicy'),
  DetachRolePolicy: role('DetachRolePolicy'),
  ListAttachedRolePolicies: role('ListAttachedRolePolicies'),
  CreatePolicy: (r) => [{ action: 'iam:CreatePolicy', resource: iamArn(r, 'policy', 'PolicyName') }],
  GetPolicy: policyArnParam('GetPolicy'),
  GetPolicyVersion: policyArnParam('GetPolicyVersion'),
  DeletePolicy: policyArnParam('DeletePolicy'),
  CreateOpenIDConnectProvider: (r) => [
    {
      action: 'iam:CreateOpenIDConnectProvider',
      resource: `arn:aws:iam::${r.account}:oidc-provider/${(form(r).get('Url') ?? '').replace(/^https:\/\//, '')}`,
    },
  ],
  GetOpenIDConnectProvider: oidcArnParam('GetOpenIDConnectProvider'),
  DeleteOpenIDConnectProvider: oidcArnParam('DeleteOpenIDConnectProvider'),

  // ---- CloudFormation (awsQuery): stack-addressed actions on the stack, listings on * ----
  ...Object.fromEntries(
    [
      'DescribeStacks',
      'GetTemplate',
      'CreateChangeSet',
      'DescribeChangeSet',
      'ListChangeSets',
      'ExecuteChangeSet',
      'DeleteChangeSet',
      'DeleteStack',
      'DescribeStackEvents',
      'DescribeStackResources',
      'DescribeStackResource',
      'ListStackResources',
    ].map((action): [string, Checks] => [
      action,
      (r) => [
        { action: `cloudformation:${action}`, resource: stackArn(r) },
        // A stack operation with a service role passes it to CloudFormation.
        ...(action === 'CreateChangeSet' || action === 'DeleteStack'
          ? passRole(form(r).get('RoleARN'), 'cloudformation.amazonaws.com')
          : []),
      ],
    ]),
  ),
  GetTemplateSummary: anyResource('cloudformation:GetTemplateSummary'),
  ListStacks: anyResource('cloudformation:ListStacks'),
  ListExports: anyResource('cloudformation:ListExports'),
  ListImports: anyResource('cloudformation:ListImports'),

  // ---- S3 (restXml, path-style): what the CDK toolkit stages templates and assets with ----
  'PUT /{bucket}/{key+}': s3Object('s3:PutObject'),
  'GET /{bucket}/{key+}': s3Object('s3:GetObject'),
  'HEAD /{bucket}/{key+}': s3Object('s3:GetObject'),
  'DELETE /{bucket}/{key+}': s3Object('s3:DeleteObject'),
  'HEAD /{bucket}': s3Bucket(() => 's3:ListBucket'),
  'GET /{bucket}': s3Bucket(s3BucketAction),
  'GET /{bucket}/': s3Bucket(s3BucketAction),

  // ---- STS (awsQuery) ----
  // GetCallerIdentity needs no permission (AWS: "No permissions are required"); AssumeRole is
  // authorised by the STS handler itself (identity policy + trust policy, sts.ts).
  GetCallerIdentity: () => [],
  AssumeRole: () => [],
};

/**
 * Operations that reach their handler unsigned: STS web-identity federation (AWS serves it to
 * unauthenticated callers) and the runtime data plane, whose handler accepts a bearer JWT for
 * runtimes with an authorizer and refuses anything else itself.
 */
export const UNSIGNED = new Set([
  'AssumeRoleWithWebIdentity',
  'POST /runtimes/{runtime}/invocations',
  'POST /runtimes/{runtime}/stopruntimesession',
]);
