import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  BedrockAgentCoreControlClient,
  CreateAgentRuntimeCommand,
  CreateAgentRuntimeEndpointCommand,
  CreateMemoryCommand,
  DeleteAgentRuntimeCommand,
  DeleteAgentRuntimeEndpointCommand,
  DeleteMemoryCommand,
  GetAgentRuntimeCommand,
  GetAgentRuntimeEndpointCommand,
  GetMemoryCommand,
  UpdateAgentRuntimeCommand,
  UpdateAgentRuntimeEndpointCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DeleteRepositoryPolicyCommand,
  ECRClient,
  PutImageTagMutabilityCommand,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import {
  type PutParameterCommandInput,
  DeleteParameterCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import {
  AttachRolePolicyCommand,
  CreateOpenIDConnectProviderCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  DeleteOpenIDConnectProviderCommand,
  DeletePolicyCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  DeleteResourcePolicyCommand as DeleteXrayResourcePolicyCommand,
  GetTraceSegmentDestinationCommand,
  ListResourcePoliciesCommand as ListXrayResourcePoliciesCommand,
  PutResourcePolicyCommand as PutXrayResourcePolicyCommand,
  UpdateIndexingRuleCommand,
  UpdateTraceSegmentDestinationCommand,
  XRayClient,
} from '@aws-sdk/client-xray';
import { denialMessage, type PolicyDocument } from '../iam/iam';
import type { TwinContext } from '../twin';
import type { CloudWatchApi } from './cloudwatch';
import type { register as registerCognito } from './cognito';
import type { GuardrailsApi } from './guardrail';
import type { DeliveryDestination, LogsApi } from './logs';
import { SPANS_LOG_GROUP } from './xray';
import type { PiiAction, PiiType } from './guardrail-policy';
import type { S3Api } from './s3';
import type { SsmApi } from './ssm';
import {
  resolveDynamicReferences as substituteDynamicReferences,
  TemplateError,
} from './cloudformation-template';

/** The twin's services the providers create resources in (in-process where the twin has no API for it). */
export interface ProviderDeps {
  s3: S3Api;
  ssm: SsmApi;
  cloudwatch: CloudWatchApi;
  cognito: ReturnType<typeof registerCognito>;
  guardrails: GuardrailsApi;
  logs: LogsApi;
}

/**
 * A failure the resource handler reports with a handler error code (AlreadyExists, NotFound, ...):
 * CloudFormation's event reads `Resource handler returned message: "<message>" (HandlerErrorCode: <code>)`.
 */
export class HandlerError extends Error {
  constructor(
    readonly handlerErrorCode: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ProviderContext {
  stackName: string;
  stackId: string;
  logicalId: string;
  /** The stack's service role (the bootstrap's CloudFormation execution role for CDK deployments). */
  roleArn?: string;
  /** Attributes of the resource being updated or deleted. */
  attributes?: Record<string, unknown>;
}

type Props = Record<string, unknown>;

/** One resource type: create / update / delete against the twin, with CloudFormation's replacement rules. */
export interface ResourceProvider {
  /**
   * Top-level properties whose change replaces the resource ("Update requires: Replacement" in the
   * resource's reference page). Without `update`, every change replaces.
   */
  replaceOn: string[];
  create(props: Props, c: ProviderContext): Promise<{ id: string; attributes: Record<string, unknown> }>;
  update?(id: string, props: Props, old: Props, c: ProviderContext): Promise<Record<string, unknown>>;
  delete(id: string, props: Props, c: ProviderContext): Promise<void>;
}

const WAIT_STEP_MS = 20;
const WAIT_LIMIT_MS = 60_000;

/** `Stack-Logical-RANDOM`, as CloudFormation names resources whose template gives no name. */
function generatedName(c: ProviderContext, max = 64, lower = false): string {
  const suffix = randomBytes(8).toString('hex').toUpperCase().slice(0, 12);
  const head = `${c.stackName}-${c.logicalId}`.slice(0, max - suffix.length - 1);
  const name = `${head}-${suffix}`;
  return lower ? name.toLowerCase() : name;
}

/** CloudFormation's PascalCase properties → the service API's camelCase members (maps keep their keys). */
function camel(value: unknown, keepKeys: string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => camel(v, keepKeys));
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k.charAt(0).toLowerCase() + k.slice(1),
      keepKeys.includes(k) ? v : camel(v, keepKeys),
    ]),
  );
}

async function waitFor<T>(
  what: string,
  poll: () => Promise<T>,
  done: (v: T) => boolean | string,
): Promise<T> {
  const until = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const v = await poll();
    const d = done(v);
    if (typeof d === 'string') throw new Error(d);
    if (d) return v;
    if (Date.now() > until) throw new Error(`${what} did not stabilize within ${WAIT_LIMIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
  }
}

/**
 * A resource CloudFormation keeps a record of but the twin has no service for (SNS, KMS, Budgets,
 * dashboards, ...): a physical id and attributes as the real type reports them, nothing else.
 */
function recordOnly(
  replaceOn: string[],
  make: (props: Props, c: ProviderContext) => { id: string; attributes?: Record<string, unknown> },
): ResourceProvider {
  return {
    replaceOn,
    create: async (props, c) => {
      const { id, attributes = {} } = make(props, c);
      return { id, attributes };
    },
    update: async (id, props, _old, c) => make(props, { ...c }).attributes ?? c.attributes ?? {},
    delete: async () => {},
  };
}

/** CloudFormation's session of a stack's service role, as ARNs and errors name it. */
const SESSION_NAME = 'AWSCloudFormation';
const SESSION_SECONDS = 3600;
const actingRole = new AsyncLocalStorage<string | undefined>();

/**
 * Run a stack operation's provider calls as CloudFormation does with a service role: every call under
 * a session of `roleArn` (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html);
 * undefined runs them as the account's admin.
 */
export function withServiceRole<T>(roleArn: string | undefined, fn: () => Promise<T>): Promise<T> {
  return actingRole.run(roleArn, fn);
}

/**
 * What the handlers of the types the twin serves in-process call, per operation (the `handlers`
 * permissions of each type's CloudFormation resource schema, the calls that change something), and
 * the ARN they act on. Checked under the service role before the in-process change.
 */
interface InProcessNeeds {
  create: string[];
  update: string[];
  delete: string[];
  resource: (props: Record<string, unknown>, id: string | undefined, c: ProviderContext) => string;
  /** The resource's own policy, where its service requires one to let IAM policies apply (KMS keys). */
  resourcePolicy?: (props: Record<string, unknown>) => PolicyDocument | undefined;
}

/** Stands in for a name or id the service generates when the resource is created (IAM needs an ARN). */
const NEW = 'new-resource';

export function resourceProviders(ctx: TwinContext, deps: ProviderDeps) {
  const arn = (service: string, resource: string, region: string = ctx.region) =>
    `arn:aws:${service}:${region}:${ctx.accountId}:${resource}`;

  // The providers call the twin's own APIs with the real SDK clients, signed with a session of the
  // stack's service role when it has one (the CDK bootstrap's CloudFormation execution role), so the
  // twin's IAM evaluates every call against that role's policies; without one, as the account's admin
  // (CloudFormation would use a session of the caller's credentials: not modelled, docs/twin.md).
  const clients = new Map<
    string,
    {
      expires: number;
      ssm: SSMClient;
      ecr: ECRClient;
      agentcore: BedrockAgentCoreControlClient;
      iam: IAMClient;
      xray: XRayClient;
    }
  >();
  const sdk = () => {
    const account = ctx.accountId;
    const role = actingRole.getStore();
    const key = role ?? `admin:${account}`;
    let c = clients.get(key);
    if (!c || c.expires < Date.now()) {
      for (const client of Object.values(c ?? {})) if (typeof client === 'object') client.destroy();
      let credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
      if (role) {
        const record = ctx.iam.role(role);
        if (!record) throw new Error(`Role ${role} is invalid or cannot be assumed`);
        credentials = ctx.iam.openSession(record, SESSION_NAME, SESSION_SECONDS).credentials;
      } else {
        const env = ctx.env({ account });
        credentials = {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }),
        };
      }
      const config = { endpoint: ctx.url, region: ctx.region, credentials, maxAttempts: 1 };
      c = {
        // Renewed a minute before the session ends (a stack operation never takes that long here).
        expires: role ? Date.now() + (SESSION_SECONDS - 60) * 1000 : Infinity,
        ssm: new SSMClient(config),
        ecr: new ECRClient(config),
        agentcore: new BedrockAgentCoreControlClient(config),
        iam: new IAMClient(config),
        xray: new XRayClient(config),
      };
      clients.set(key, c);
    }
    return c;
  };

  /**
   * Providers the twin serves in-process (no API call through its authorizer) check here what their
   * resource handler would call, under the service role: the same AccessDenied the API would give.
   */
  async function allowed(action: string, resource: string, resourcePolicy?: PolicyDocument) {
    const role = actingRole.getStore();
    if (!role) return;
    const identity = ctx.iam.sessionIdentity(role, SESSION_NAME);
    const authorize = (on: string) =>
      ctx.iam.authorize({
        identity,
        action,
        resource: on,
        resourceAccount: ctx.accountId,
        resourcePolicy,
        context: { 'aws:RequestedRegion': ctx.region },
      });
    // An action without resource-level permissions (bedrock:CreateGuardrail) is evaluated on '*'.
    const decision = await authorize(resource).catch((e: Error) => {
      if (/no\.resource\.types/.test(e.message)) return authorize('*');
      throw e;
    });
    if (!decision.allowed) {
      const e = new Error(denialMessage(identity.arn, action, resource, decision));
      e.name = 'AccessDeniedException';
      throw e;
    }
  }
  /** One check per action, in order; the first denial fails the operation. */
  const allowedAll = async (actions: string[], resource: string, resourcePolicy?: PolicyDocument) => {
    for (const action of actions) await allowed(action, resource, resourcePolicy);
  };

  /** RepositoryPolicyText (a JSON object in templates, or its text) → SetRepositoryPolicy; removed → DeleteRepositoryPolicy. */
  const putRepositoryPolicy = async (repositoryName: string, policy: unknown) => {
    if (policy === undefined) {
      await sdk()
        .ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName }))
        .catch((e: Error) => {
          if (e.name !== 'RepositoryPolicyNotFoundException') throw e;
        });
      return;
    }
    const policyText = typeof policy === 'string' ? policy : JSON.stringify(policy);
    await sdk().ecr.send(new SetRepositoryPolicyCommand({ repositoryName, policyText }));
  };
  /** PolicyDocument is a JSON string in AWS::XRay::ResourcePolicy (CDK renders it with Fn::Join). */
  const putXrayPolicy = (name: string, p: Props) =>
    sdk().xray.send(
      new PutXrayResourcePolicyCommand({ PolicyName: name, PolicyDocument: documentText(p.PolicyDocument) }),
    );
  /** IndexingPercentage → the Default indexing rule's sampling percentage (left as it is when unset). */
  const putIndexing = async (p: Props) => {
    if (p.IndexingPercentage === undefined) return;
    await sdk().xray.send(
      new UpdateIndexingRuleCommand({
        Name: 'Default',
        Rule: { Probabilistic: { DesiredSamplingPercentage: Number(p.IndexingPercentage) } },
      }),
    );
  };
  ctx.onClose(() => {
    for (const c of clients.values())
      for (const client of Object.values(c)) if (typeof client === 'object') client.destroy();
  });

  const providers: Record<string, ResourceProvider> = {
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucket.html
    'AWS::S3::Bucket': {
      replaceOn: ['BucketName', 'ObjectLockEnabled'],
      async create(p, c) {
        const name = String(p.BucketName ?? generatedName(c, 63, true));
        deps.s3.createBucket(name);
        return {
          id: name,
          attributes: {
            Arn: `arn:aws:s3:::${name}`,
            DomainName: `${name}.s3.amazonaws.com`,
            RegionalDomainName: `${name}.s3.${ctx.region}.amazonaws.com`,
            DualStackDomainName: `${name}.s3.dualstack.${ctx.region}.amazonaws.com`,
            WebsiteURL: `http://${name}.s3-website-${ctx.region}.amazonaws.com`,
          },
        };
      },
      // Encryption, versioning, lifecycle and access blocks are not modelled by the twin's S3.
      update: async (_id, _p, _old, c) => c.attributes ?? {},
      delete: async (id) => deps.s3.deleteBucket(id),
    },
    'AWS::S3::BucketPolicy': recordOnly(['Bucket'], (p) => ({ id: String(p.Bucket) })),

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ssm-parameter.html
    'AWS::SSM::Parameter': {
      replaceOn: ['Name'],
      async create(p, c) {
        const name = String(p.Name ?? `CFN-${c.logicalId}-${randomBytes(6).toString('hex').toUpperCase()}`);
        const exists = deps.ssm.get(name) !== undefined;
        if (exists) throw new Error(`${name} already exists in stack ${c.stackId}`);
        await sdk().ssm.send(new PutParameterCommand(parameterInput(name, p, false)));
        return { id: name, attributes: { Type: p.Type, Value: p.Value } };
      },
      async update(id, p) {
        await sdk().ssm.send(new PutParameterCommand(parameterInput(id, p, true)));
        return { Type: p.Type, Value: p.Value };
      },
      async delete(id) {
        await sdk()
          .ssm.send(new DeleteParameterCommand({ Name: id }))
          .catch((e: Error) => {
            if (e.name !== 'ParameterNotFound') throw e;
          });
      },
    },

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecr-repository.html
    'AWS::ECR::Repository': {
      replaceOn: ['RepositoryName', 'EncryptionConfiguration'],
      async create(p, c) {
        const name = String(p.RepositoryName ?? generatedName(c, 256, true));
        await sdk().ecr.send(
          new CreateRepositoryCommand({
            repositoryName: name,
            ...mutabilityInput(p),
          }),
        );
        await putRepositoryPolicy(name, p.RepositoryPolicyText);
        return { id: name, attributes: repositoryAttributes(name) };
      },
      async update(id, p, old) {
        if (
          p.ImageTagMutability !== old.ImageTagMutability ||
          !same(p.ImageTagMutabilityExclusionFilters, old.ImageTagMutabilityExclusionFilters)
        )
          await sdk().ecr.send(
            new PutImageTagMutabilityCommand({
              repositoryName: id,
              imageTagMutability: 'MUTABLE',
              ...mutabilityInput(p),
            }),
          );
        if (!same(p.RepositoryPolicyText, old.RepositoryPolicyText))
          await putRepositoryPolicy(id, p.RepositoryPolicyText);
        // LifecyclePolicy and scanning are kept by CloudFormation only (the twin's ECR has no such API).
        return repositoryAttributes(id);
      },
      async delete(id, p) {
        await sdk().ecr.send(
          new DeleteRepositoryCommand({
            repositoryName: id,
            force: p.EmptyOnDelete === true || p.EmptyOnDelete === 'true',
          }),
        );
      },
    },

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-bedrockagentcore-runtime.html
    'AWS::BedrockAgentCore::Runtime': {
      replaceOn: ['AgentRuntimeName'],
      async create(p) {
        const out = await sdk().agentcore.send(
          new CreateAgentRuntimeCommand({
            agentRuntimeName: String(p.AgentRuntimeName),
            ...runtimeInput(p),
          } as never),
        );
        const id = out.agentRuntimeId!;
        // A runtime that never became READY is removed, as CloudFormation's handler cleans up a failed create.
        const attributes = await runtimeReady(id).catch(async (e: Error) => {
          await sdk()
            .agentcore.send(new DeleteAgentRuntimeCommand({ agentRuntimeId: id }))
            .catch(() => {});
          throw e;
        });
        return { id, attributes };
      },
      async update(id, p) {
        await sdk().agentcore.send(
          new UpdateAgentRuntimeCommand({ agentRuntimeId: id, ...runtimeInput(p) } as never),
        );
        return runtimeReady(id);
      },
      async delete(id) {
        await sdk().agentcore.send(new DeleteAgentRuntimeCommand({ agentRuntimeId: id }));
      },
    },

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-bedrockagentcore-runtimeendpoint.html
    'AWS::BedrockAgentCore::RuntimeEndpoint': {
      replaceOn: ['AgentRuntimeId', 'Name'],
      async create(p) {
        const runtimeId = String(p.AgentRuntimeId);
        await sdk().agentcore.send(
          new CreateAgentRuntimeEndpointCommand({
            agentRuntimeId: runtimeId,
            name: String(p.Name),
            ...(p.AgentRuntimeVersion !== undefined && {
              agentRuntimeVersion: String(p.AgentRuntimeVersion),
            }),
            ...(p.Description !== undefined && { description: String(p.Description) }),
          }),
        );
        const attributes = await endpointReady(runtimeId, String(p.Name));
        return { id: String(attributes.AgentRuntimeEndpointArn), attributes };
      },
      async update(_id, p) {
        await sdk().agentcore.send(
          new UpdateAgentRuntimeEndpointCommand({
            agentRuntimeId: String(p.AgentRuntimeId),
            endpointName: String(p.Name),
            ...(p.AgentRuntimeVersion !== undefined && {
              agentRuntimeVersion: String(p.AgentRuntimeVersion),
            }),
            ...(p.Description !== undefined && { description: String(p.Description) }),
          }),
        );
        return endpointReady(String(p.AgentRuntimeId), String(p.Name));
      },
      async delete(_id, p) {
        await sdk()
          .agentcore.send(
            new DeleteAgentRuntimeEndpointCommand({
              agentRuntimeId: String(p.AgentRuntimeId),
              endpointName: String(p.Name),
            }),
          )
          .catch((e: Error) => {
            // Deleting the runtime first took its endpoints with it.
            if (e.name !== 'ResourceNotFoundException') throw e;
          });
      },
    },

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-bedrockagentcore-memory.html
    'AWS::BedrockAgentCore::Memory': {
      // The twin's Memory has no UpdateMemory: every change replaces it (real Memory updates most properties in place).
      replaceOn: [],
      async create(p) {
        const out = await sdk().agentcore.send(
          new CreateMemoryCommand({ ...(camel(p) as object), clientToken: randomUUID() } as never),
        );
        const id = out.memory!.id!;
        const memory = await waitFor(
          `Memory ${id}`,
          () => sdk().agentcore.send(new GetMemoryCommand({ memoryId: id })),
          (m) =>
            m.memory?.status === 'FAILED'
              ? `Memory ${id} failed: ${m.memory.failureReason}`
              : m.memory?.status === 'ACTIVE',
        );
        return {
          id,
          attributes: { MemoryId: id, MemoryArn: memory.memory!.arn, Status: memory.memory!.status },
        };
      },
      async delete(id) {
        await sdk().agentcore.send(new DeleteMemoryCommand({ memoryId: id, clientToken: randomUUID() }));
      },
    },

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-bedrock-guardrail.html
    'AWS::Bedrock::Guardrail': {
      replaceOn: [],
      async create(p) {
        const id = randomBytes(6).toString('hex');
        deps.guardrails.put(guardrailConfig(id, 'DRAFT', p));
        return {
          id: guardrailArn(id),
          attributes: { GuardrailId: id, GuardrailArn: guardrailArn(id), Version: 'DRAFT', Status: 'READY' },
        };
      },
      async update(_physical, p, _old, c) {
        const id = String(c.attributes!.GuardrailId);
        deps.guardrails.put(guardrailConfig(id, 'DRAFT', p));
        return c.attributes!;
      },
      // The twin's guardrails live in memory and have no delete: the DRAFT stays until the twin restarts.
      delete: async () => {},
    },
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-bedrock-guardrailversion.html
    'AWS::Bedrock::GuardrailVersion': {
      replaceOn: ['Description', 'GuardrailIdentifier'],
      async create(p) {
        const id = String(p.GuardrailIdentifier).split('/').at(-1)!;
        const draft = deps.guardrails.get(id, 'DRAFT');
        if (!draft) throw new Error(`Guardrail ${p.GuardrailIdentifier} does not exist`);
        let n = 1;
        while (deps.guardrails.get(id, String(n))) n++;
        deps.guardrails.put({ ...draft, version: String(n) });
        return {
          // Ref of a GuardrailVersion is `<guardrail-id>|<version>`.
          id: `${id}|${n}`,
          attributes: { GuardrailId: id, GuardrailArn: guardrailArn(id), Version: String(n) },
        };
      },
      delete: async () => {},
    },

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cognito-userpool.html
    'AWS::Cognito::UserPool': {
      replaceOn: ['UsernameAttributes', 'AliasAttributes', 'Schema'],
      async create(p, c) {
        const id = deps.cognito.createUserPool(String(p.UserPoolName ?? generatedName(c, 128)));
        return { id, attributes: userPoolAttributes(id) };
      },
      // The twin's pool models clients, scopes and tokens; its other settings are CloudFormation's record only.
      update: async (id) => userPoolAttributes(id),
      delete: async (id) => deps.cognito.deleteUserPool(id),
    },
    'AWS::Cognito::UserPoolResourceServer': {
      replaceOn: ['Identifier', 'UserPoolId'],
      async create(p) {
        deps.cognito.createResourceServer(String(p.UserPoolId), String(p.Identifier), scopeNames(p));
        return { id: String(p.Identifier), attributes: {} };
      },
      async update(_id, p) {
        deps.cognito.createResourceServer(String(p.UserPoolId), String(p.Identifier), scopeNames(p));
        return {};
      },
      delete: async (_id, p) => deps.cognito.deleteResourceServer(String(p.UserPoolId), String(p.Identifier)),
    },
    'AWS::Cognito::UserPoolClient': {
      replaceOn: ['UserPoolId', 'GenerateSecret'],
      async create(p) {
        const { clientId, clientSecret } = deps.cognito.createClient(String(p.UserPoolId), clientOptions(p));
        return {
          id: clientId,
          attributes: { ClientId: clientId, ClientSecret: clientSecret, Name: p.ClientName },
        };
      },
      async update(id, p, _old, c) {
        deps.cognito.updateClient(String(p.UserPoolId), id, clientOptions(p));
        return { ...c.attributes, Name: p.ClientName };
      },
      delete: async (id, p) => deps.cognito.deleteClient(String(p.UserPoolId), id),
    },
    // The twin serves every pool's token endpoint under its own URL; the domain is a record.
    'AWS::Cognito::UserPoolDomain': recordOnly(['Domain', 'UserPoolId'], (p) => ({
      id: String(p.Domain),
      attributes: { CloudFrontDistribution: 'd111111abcdef8.cloudfront.net' },
    })),

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html
    'AWS::CloudWatch::Alarm': {
      replaceOn: ['AlarmName'],
      async create(p, c) {
        const name = String(p.AlarmName ?? generatedName(c, 255));
        deps.cloudwatch.putAlarm({ ...(p as object), AlarmName: name } as never);
        return { id: name, attributes: { Arn: arn('cloudwatch', `alarm:${name}`) } };
      },
      async update(id, p, _old, c) {
        // PutMetricAlarm on an existing alarm keeps its state.
        const current = deps.cloudwatch.alarm(id);
        deps.cloudwatch.putAlarm({
          ...(p as object),
          AlarmName: id,
          ...(current && { StateValue: current.StateValue, StateReason: current.StateReason }),
        } as never);
        return c.attributes ?? {};
      },
      delete: async (id) => deps.cloudwatch.deleteAlarm(id),
    },

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-loggroup.html
    'AWS::Logs::LogGroup': {
      replaceOn: ['LogGroupName'],
      async create(p, c) {
        const name = String(p.LogGroupName ?? generatedName(c, 512));
        if (deps.logs.logGroup(name)) throw alreadyExists('AWS::Logs::LogGroup', name);
        const group = deps.logs.createLogGroup(name, retentionOf(p));
        return { id: name, attributes: { Arn: group.arn } };
      },
      async update(id, p, old, c) {
        if (p.RetentionInDays !== old.RetentionInDays) deps.logs.putRetention(id, retentionOf(p));
        return c.attributes ?? {};
      },
      async delete(id) {
        if (deps.logs.logGroup(id)) deps.logs.deleteLogGroup(id);
      },
    },
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-resourcepolicy.html
    'AWS::Logs::ResourcePolicy': {
      replaceOn: ['PolicyName'],
      async create(p) {
        const name = String(p.PolicyName);
        if (name in deps.logs.resourcePolicies()) throw alreadyExists('AWS::Logs::ResourcePolicy', name);
        deps.logs.putResourcePolicy(name, documentText(p.PolicyDocument));
        return { id: name, attributes: {} };
      },
      async update(id, p) {
        deps.logs.putResourcePolicy(id, documentText(p.PolicyDocument));
        return {};
      },
      async delete(id) {
        if (id in deps.logs.resourcePolicies()) deps.logs.deleteResourcePolicy(id);
      },
    },
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-deliverysource.html
    'AWS::Logs::DeliverySource': {
      replaceOn: ['Name'],
      async create(p) {
        const name = String(p.Name);
        if (deps.logs.deliverySource(name)) throw alreadyExists('AWS::Logs::DeliverySource', name);
        // CloudWatch Logs also checks the sending service's own permission on the resource.
        await allowed('bedrock-agentcore:AllowVendedLogDeliveryForResource', String(p.ResourceArn));
        return {
          id: name,
          attributes: sourceAttributes(
            deps.logs.putDeliverySource(name, String(p.ResourceArn), String(p.LogType)),
          ),
        };
      },
      async update(id, p) {
        return sourceAttributes(deps.logs.putDeliverySource(id, String(p.ResourceArn), String(p.LogType)));
      },
      async delete(id) {
        if (deps.logs.deliverySource(id)) deps.logs.deleteDeliverySource(id);
      },
    },
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-deliverydestination.html
    'AWS::Logs::DeliveryDestination': {
      replaceOn: ['Name', 'DeliveryDestinationType', 'DestinationResourceArn', 'OutputFormat'],
      async create(p) {
        const name = String(p.Name);
        if (deps.logs.deliveryDestination(name)) throw alreadyExists('AWS::Logs::DeliveryDestination', name);
        const d = deps.logs.putDeliveryDestination(
          name,
          String(p.DeliveryDestinationType ?? 'CWL') as DeliveryDestination['deliveryDestinationType'],
          p.DestinationResourceArn === undefined ? undefined : String(p.DestinationResourceArn),
        );
        return { id: name, attributes: { Arn: d.arn, DeliveryDestinationType: d.deliveryDestinationType } };
      },
      update: async (_id, _p, _old, c) => c.attributes ?? {},
      async delete(id) {
        if (deps.logs.deliveryDestination(id)) deps.logs.deleteDeliveryDestination(id);
      },
    },
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-delivery.html
    'AWS::Logs::Delivery': {
      replaceOn: ['DeliverySourceName', 'DeliveryDestinationArn'],
      async create(p) {
        const source = deps.logs.deliverySource(String(p.DeliverySourceName));
        // CreateDelivery authorises on the source and the destination (Service Authorization Reference).
        if (source) await allowed('logs:CreateDelivery', source.arn);
        await allowed('logs:CreateDelivery', String(p.DeliveryDestinationArn));
        const d = deps.logs.createDelivery(String(p.DeliverySourceName), String(p.DeliveryDestinationArn));
        return {
          id: d.id,
          attributes: { DeliveryId: d.id, Arn: d.arn, DeliveryDestinationType: d.deliveryDestinationType },
        };
      },
      update: async (_id, _p, _old, c) => c.attributes ?? {},
      async delete(id) {
        if (deps.logs.deliveries().some((d) => d.id === id)) deps.logs.deleteDelivery(id);
      },
    },
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-xray-resourcepolicy.html
    'AWS::XRay::ResourcePolicy': {
      replaceOn: ['PolicyName'],
      async create(p) {
        const name = String(p.PolicyName);
        const existing = await sdk().xray.send(new ListXrayResourcePoliciesCommand({}));
        if (existing.ResourcePolicies?.some((x) => x.PolicyName === name))
          throw alreadyExists('AWS::XRay::ResourcePolicy', name);
        await putXrayPolicy(name, p);
        return { id: name, attributes: {} };
      },
      async update(id, p) {
        await putXrayPolicy(id, p);
        return {};
      },
      async delete(id) {
        await sdk().xray.send(new DeleteXrayResourcePolicyCommand({ PolicyName: id }));
      },
    },
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-xray-transactionsearchconfig.html
    // One per account: creating it turns Transaction Search on, which the handler refuses where it is
    // already on ("Make sure Transaction Search is disabled before you enable using AWS CDK or AWS
    // CloudFormation", CloudWatch-Transaction-Search-Cloudformation.html). Its message then is "null".
    'AWS::XRay::TransactionSearchConfig': {
      replaceOn: [],
      async create(p) {
        const current = await sdk().xray.send(new GetTraceSegmentDestinationCommand({}));
        if (current.Destination === 'CloudWatchLogs') throw new HandlerError('AlreadyExists', 'null');
        // The enabling role's permissions on Transaction Search's log group (the page's role).
        await allowed('logs:CreateLogGroup', arn('logs', `log-group:${SPANS_LOG_GROUP}`));
        await sdk().xray.send(new UpdateTraceSegmentDestinationCommand({ Destination: 'CloudWatchLogs' }));
        await putIndexing(p);
        return { id: ctx.accountId, attributes: { AccountId: ctx.accountId } };
      },
      async update(_id, p, _old, c) {
        await putIndexing(p);
        return c.attributes ?? {};
      },
      // Deleting it turns Transaction Search off again (the destination back to X-Ray). The stacks
      // retain it, so this runs only for a template that does not.
      async delete() {
        await sdk().xray.send(new UpdateTraceSegmentDestinationCommand({ Destination: 'XRay' }));
      },
    },

    // Types the twin has no service for: CloudFormation records only (docs/twin.md lists them).
    'AWS::CloudWatch::Dashboard': recordOnly(['DashboardName'], (p, c) => ({
      id: String(p.DashboardName ?? generatedName(c, 255)),
    })),
    'AWS::SNS::Topic': recordOnly(['TopicName', 'FifoTopic'], (p, c) => {
      const name = String(p.TopicName ?? generatedName(c, 256));
      return { id: arn('sns', name), attributes: { TopicArn: arn('sns', name), TopicName: name } };
    }),
    'AWS::SNS::TopicPolicy': recordOnly([], (_p, c) => ({ id: generatedName(c) })),
    'AWS::KMS::Key': {
      replaceOn: ['KeySpec', 'MultiRegion'],
      async create() {
        const id = randomUUID();
        return { id, attributes: { Arn: arn('kms', `key/${id}`), KeyId: id } };
      },
      update: async (_id, _p, _old, c) => c.attributes ?? {},
      delete: async () => {},
    },
    'AWS::KMS::Alias': recordOnly(['AliasName'], (p) => ({ id: String(p.AliasName) })),
    'AWS::Budgets::Budget': recordOnly(['Budget'], (p, c) => ({
      id: String((p.Budget as Props | undefined)?.BudgetName ?? generatedName(c, 100)),
    })),

    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html
    'AWS::IAM::Role': {
      replaceOn: ['RoleName', 'Path'],
      async create(p, c) {
        const name = String(p.RoleName ?? generatedName(c, 64));
        const out = await sdk().iam.send(
          new CreateRoleCommand({
            RoleName: name,
            Path: String(p.Path ?? '/'),
            AssumeRolePolicyDocument: JSON.stringify(p.AssumeRolePolicyDocument),
            ...(p.Description !== undefined && { Description: String(p.Description) }),
            ...(p.MaxSessionDuration !== undefined && { MaxSessionDuration: Number(p.MaxSessionDuration) }),
          }),
        );
        // A role whose policies fail to attach is removed again, as CloudFormation's handler cleans up.
        await syncRolePolicies(name, p, {}).catch(async (e: Error) => {
          await syncRolePolicies(name, {}, p).catch(() => {});
          await sdk()
            .iam.send(new DeleteRoleCommand({ RoleName: name }))
            .catch(() => {});
          throw e;
        });
        return { id: name, attributes: { Arn: out.Role!.Arn, RoleId: out.Role!.RoleId } };
      },
      async update(id, p, old, c) {
        if (!same(p.AssumeRolePolicyDocument, old.AssumeRolePolicyDocument))
          await sdk().iam.send(
            new UpdateAssumeRolePolicyCommand({
              RoleName: id,
              PolicyDocument: JSON.stringify(p.AssumeRolePolicyDocument),
            }),
          );
        await syncRolePolicies(id, p, old);
        return c.attributes ?? {};
      },
      async delete(id, p) {
        await syncRolePolicies(id, {}, p);
        await sdk().iam.send(new DeleteRoleCommand({ RoleName: id }));
      },
    },
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-policy.html
    'AWS::IAM::Policy': {
      replaceOn: [],
      async create(p, c) {
        await putInline(p, {});
        return {
          id: `${c.stackName.slice(0, 5)}-${String(p.PolicyName).slice(0, 5)}-${idFor(c.logicalId).slice(0, 12)}`,
          attributes: {},
        };
      },
      async update(_id, p, old) {
        await putInline(p, old);
        return {};
      },
      delete: async (_id, p) => putInline({}, p),
    },
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-managedpolicy.html
    'AWS::IAM::ManagedPolicy': {
      replaceOn: ['ManagedPolicyName', 'Path', 'Description'],
      async create(p, c) {
        const out = await sdk().iam.send(
          new CreatePolicyCommand({
            PolicyName: String(p.ManagedPolicyName ?? generatedName(c, 128)),
            Path: String(p.Path ?? '/'),
            PolicyDocument: JSON.stringify(p.PolicyDocument),
            ...(p.Description !== undefined && { Description: String(p.Description) }),
          }),
        );
        const arn = out.Policy!.Arn!;
        await attach(arn, list(p.Roles), []);
        return { id: arn, attributes: { PolicyArn: arn, PolicyId: out.Policy!.PolicyId } };
      },
      async update(id, p, old, c) {
        if (!same(p.PolicyDocument, old.PolicyDocument))
          throw new Error(
            `Changing the document of managed policy ${id} needs iam:CreatePolicyVersion, which the twin's IAM does not implement`,
          );
        await attach(id, list(p.Roles), list(old.Roles));
        return c.attributes ?? {};
      },
      async delete(id, p) {
        await attach(id, [], list(p.Roles));
        await sdk().iam.send(new DeletePolicyCommand({ PolicyArn: id }));
      },
    },
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-oidcprovider.html
    'AWS::IAM::OIDCProvider': {
      // The twin's IAM has no UpdateOpenIDConnectProviderThumbprint / client-id calls: every change replaces.
      replaceOn: [],
      async create(p) {
        const out = await sdk().iam.send(
          new CreateOpenIDConnectProviderCommand({
            Url: String(p.Url),
            ClientIDList: list(p.ClientIdList),
            ThumbprintList: list(p.ThumbprintList),
          }),
        );
        return { id: out.OpenIDConnectProviderArn!, attributes: { Arn: out.OpenIDConnectProviderArn } };
      },
      async delete(id) {
        await sdk().iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: id }));
      },
    },
  };

  const arnOf = (service: string, resource: string) => arn(service, resource);
  const poolArn = (p: Props) => arnOf('cognito-idp', `userpool/${String(p.UserPoolId)}`);
  const named = (p: Props, key: string, c: ProviderContext, id?: string) =>
    id ?? String(p[key] ?? `${c.stackName}-${c.logicalId}-${NEW}`);
  const inProcess: Record<string, InProcessNeeds> = {
    'AWS::S3::Bucket': {
      create: ['s3:CreateBucket'],
      update: [],
      delete: ['s3:DeleteBucket'],
      resource: (p, id, c) => `arn:aws:s3:::${named(p, 'BucketName', c, id).toLowerCase()}`,
    },
    'AWS::S3::BucketPolicy': {
      create: ['s3:PutBucketPolicy'],
      update: ['s3:PutBucketPolicy'],
      delete: ['s3:DeleteBucketPolicy'],
      resource: (p) => `arn:aws:s3:::${String(p.Bucket)}`,
    },
    'AWS::Bedrock::Guardrail': {
      create: ['bedrock:CreateGuardrail'],
      update: ['bedrock:UpdateGuardrail'],
      delete: ['bedrock:DeleteGuardrail'],
      // CreateGuardrail has no resource-level permissions.
      resource: (_p, id) => id ?? '*',
    },
    'AWS::Bedrock::GuardrailVersion': {
      create: ['bedrock:CreateGuardrailVersion'],
      update: [],
      delete: ['bedrock:DeleteGuardrail'],
      resource: (p) => arnOf('bedrock', `guardrail/${String(p.GuardrailIdentifier).split('/').at(-1)}`),
    },
    'AWS::Cognito::UserPool': {
      // CreateUserPool has no resource-level permissions.
      create: ['cognito-idp:CreateUserPool'],
      update: ['cognito-idp:UpdateUserPool'],
      delete: ['cognito-idp:DeleteUserPool'],
      resource: (_p, id) => (id ? arnOf('cognito-idp', `userpool/${id}`) : '*'),
    },
    'AWS::Cognito::UserPoolResourceServer': {
      create: ['cognito-idp:CreateResourceServer'],
      update: ['cognito-idp:UpdateResourceServer'],
      delete: ['cognito-idp:DeleteResourceServer'],
      resource: poolArn,
    },
    'AWS::Cognito::UserPoolClient': {
      create: ['cognito-idp:CreateUserPoolClient'],
      update: ['cognito-idp:UpdateUserPoolClient'],
      delete: ['cognito-idp:DeleteUserPoolClient'],
      resource: poolArn,
    },
    'AWS::Cognito::UserPoolDomain': {
      create: ['cognito-idp:CreateUserPoolDomain'],
      update: ['cognito-idp:UpdateUserPoolDomain'],
      delete: ['cognito-idp:DeleteUserPoolDomain'],
      resource: poolArn,
    },
    'AWS::CloudWatch::Alarm': {
      create: ['cloudwatch:PutMetricAlarm'],
      update: ['cloudwatch:PutMetricAlarm'],
      delete: ['cloudwatch:DeleteAlarms'],
      resource: (p, id, c) => arnOf('cloudwatch', `alarm:${named(p, 'AlarmName', c, id)}`),
    },
    'AWS::CloudWatch::Dashboard': {
      create: ['cloudwatch:PutDashboard'],
      update: ['cloudwatch:PutDashboard'],
      delete: ['cloudwatch:DeleteDashboards'],
      resource: (p, id, c) =>
        `arn:aws:cloudwatch::${ctx.accountId}:dashboard/${named(p, 'DashboardName', c, id)}`,
    },
    'AWS::SNS::Topic': {
      create: ['sns:CreateTopic'],
      update: ['sns:SetTopicAttributes'],
      delete: ['sns:DeleteTopic'],
      resource: (p, id, c) => id ?? arnOf('sns', named(p, 'TopicName', c)),
    },
    'AWS::SNS::TopicPolicy': {
      create: ['sns:SetTopicAttributes'],
      update: ['sns:SetTopicAttributes'],
      delete: ['sns:SetTopicAttributes'],
      resource: (p) => list<string>(p.Topics)[0] ?? '*',
    },
    'AWS::KMS::Key': {
      // CreateKey has no resource-level permissions; deleting a key schedules its deletion.
      create: ['kms:CreateKey'],
      update: ['kms:PutKeyPolicy'],
      delete: ['kms:ScheduleKeyDeletion'],
      resource: (_p, id) => (id ? arnOf('kms', `key/${id}`) : '*'),
      // KMS applies IAM policies only where the key policy lets the account's IAM decide.
      resourcePolicy: (p) => p.KeyPolicy as PolicyDocument | undefined,
    },
    'AWS::KMS::Alias': {
      create: ['kms:CreateAlias'],
      update: ['kms:UpdateAlias'],
      delete: ['kms:DeleteAlias'],
      resource: (p) => arnOf('kms', String(p.AliasName)),
    },
    'AWS::Logs::LogGroup': {
      create: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'],
      update: ['logs:PutRetentionPolicy'],
      delete: ['logs:DeleteLogGroup'],
      resource: (p, id, c) => arnOf('logs', `log-group:${named(p, 'LogGroupName', c, id)}`),
    },
    'AWS::Logs::ResourcePolicy': {
      // Account resource policies have no resource type: `*`.
      create: ['logs:PutResourcePolicy'],
      update: ['logs:PutResourcePolicy'],
      delete: ['logs:DeleteResourcePolicy'],
      resource: () => '*',
    },
    'AWS::Logs::DeliverySource': {
      create: ['logs:PutDeliverySource'],
      update: ['logs:PutDeliverySource'],
      delete: ['logs:DeleteDeliverySource'],
      resource: (p, id) => arnOf('logs', `delivery-source:${id ?? String(p.Name)}`),
    },
    'AWS::Logs::DeliveryDestination': {
      create: ['logs:PutDeliveryDestination'],
      update: ['logs:PutDeliveryDestination'],
      delete: ['logs:DeleteDeliveryDestination'],
      resource: (p, id) => arnOf('logs', `delivery-destination:${id ?? String(p.Name)}`),
    },
    'AWS::Logs::Delivery': {
      create: [],
      update: [],
      delete: ['logs:DeleteDelivery'],
      resource: (_p, id) => arnOf('logs', `delivery:${id ?? NEW}`),
    },
    'AWS::Budgets::Budget': {
      create: ['budgets:ModifyBudget'],
      update: ['budgets:ModifyBudget'],
      delete: ['budgets:ModifyBudget'],
      resource: (p, id, c) =>
        `arn:aws:budgets::${ctx.accountId}:budget/${id ?? String((p.Budget as Props | undefined)?.BudgetName ?? `${c.stackName}-${NEW}`)}`,
    },
  };
  for (const [type, needs] of Object.entries(inProcess)) {
    const provider = providers[type];
    providers[type] = {
      ...provider,
      create: async (p, c) => {
        await allowedAll(needs.create, needs.resource(p, undefined, c), needs.resourcePolicy?.(p));
        return provider.create(p, c);
      },
      ...(provider.update && {
        update: async (id, p, old, c) => {
          await allowedAll(needs.update, needs.resource(p, id, c), needs.resourcePolicy?.(p));
          return provider.update!(id, p, old, c);
        },
      }),
      delete: async (id, p, c) => {
        await allowedAll(needs.delete, needs.resource(p, id, c), needs.resourcePolicy?.(p));
        return provider.delete(id, p, c);
      },
    };
  }

  /** A role's inline `Policies` and `ManagedPolicyArns` brought from `old` to `p`. */
  async function syncRolePolicies(role: string, p: Props, old: Props) {
    const inline = (v: Props) =>
      new Map(list<Props>(v.Policies).map((x) => [String(x.PolicyName), x.PolicyDocument]));
    const next = inline(p);
    for (const [name, doc] of next)
      if (!same(doc, inline(old).get(name)))
        await sdk().iam.send(
          new PutRolePolicyCommand({ RoleName: role, PolicyName: name, PolicyDocument: JSON.stringify(doc) }),
        );
    for (const name of inline(old).keys())
      if (!next.has(name))
        await sdk().iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: name }));
    const managed = list<string>(p.ManagedPolicyArns);
    const before = list<string>(old.ManagedPolicyArns);
    for (const arn of managed.filter((a) => !before.includes(a)))
      await sdk().iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: arn }));
    for (const arn of before.filter((a) => !managed.includes(a)))
      await sdk().iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: arn }));
  }

  /** AWS::IAM::Policy: the inline policy on each of its roles (Groups and Users are not modelled). */
  async function putInline(p: Props, old: Props) {
    if (p.Groups !== undefined || p.Users !== undefined)
      throw new Error('AWS::IAM::Policy on Groups or Users is not modelled by the twin (roles only)');
    const roles = list<string>(p.Roles);
    for (const role of roles)
      await sdk().iam.send(
        new PutRolePolicyCommand({
          RoleName: role,
          PolicyName: String(p.PolicyName),
          PolicyDocument: JSON.stringify(p.PolicyDocument),
        }),
      );
    for (const role of list<string>(old.Roles))
      if (!roles.includes(role) || old.PolicyName !== p.PolicyName)
        await sdk()
          .iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: String(old.PolicyName) }))
          .catch(ignoreMissing);
  }

  async function attach(policyArn: string, roles: string[], before: string[]) {
    for (const role of roles.filter((r) => !before.includes(r)))
      await sdk().iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: policyArn }));
    for (const role of before.filter((r) => !roles.includes(r)))
      await sdk()
        .iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: policyArn }))
        .catch(ignoreMissing);
  }

  async function runtimeReady(id: string): Promise<Record<string, unknown>> {
    const rt = await waitFor(
      `Agent runtime ${id}`,
      () => sdk().agentcore.send(new GetAgentRuntimeCommand({ agentRuntimeId: id })),
      (r) =>
        r.status?.endsWith('_FAILED')
          ? `Agent runtime ${id} is ${r.status}: ${(r as { failureReason?: string }).failureReason ?? 'no reason given'}`
          : r.status === 'READY',
    );
    return {
      AgentRuntimeId: rt.agentRuntimeId,
      AgentRuntimeArn: rt.agentRuntimeArn,
      AgentRuntimeVersion: rt.agentRuntimeVersion,
      Status: rt.status,
    };
  }

  async function endpointReady(runtimeId: string, name: string): Promise<Record<string, unknown>> {
    const ep = await waitFor(
      `Endpoint ${name} of ${runtimeId}`,
      () =>
        sdk().agentcore.send(
          new GetAgentRuntimeEndpointCommand({ agentRuntimeId: runtimeId, endpointName: name }),
        ),
      (e) =>
        e.status?.endsWith('_FAILED')
          ? `Endpoint ${name} is ${e.status}: ${e.failureReason}`
          : e.status === 'READY',
    );
    return {
      AgentRuntimeEndpointArn: ep.agentRuntimeEndpointArn,
      AgentRuntimeArn: ep.agentRuntimeArn,
      LiveVersion: ep.liveVersion,
      TargetVersion: ep.targetVersion,
      Status: ep.status,
      Id: ep.id,
    };
  }

  const repositoryAttributes = (name: string) => ({
    Arn: arn('ecr', `repository/${name}`),
    RepositoryUri: `${ctx.accountId}.dkr.ecr.${ctx.region}.amazonaws.com/${name}`,
  });
  const userPoolAttributes = (id: string) => ({
    UserPoolId: id,
    Arn: arn('cognito-idp', `userpool/${id}`),
    ProviderName: `cognito-idp.${ctx.region}.amazonaws.com/${id}`,
    ProviderURL: `https://cognito-idp.${ctx.region}.amazonaws.com/${id}`,
  });
  const guardrailArn = (id: string) => arn('bedrock', `guardrail/${id}`);

  /** SSM values for parameters of type AWS::SSM::Parameter::Value<...> (read when the change set is made). */
  const ssmValue = (name: string) => deps.ssm.get(name);

  /** `{{resolve:ssm:...}}` in resolved properties, read through the SSM API right before the provider runs. */
  async function resolveDynamicReferences(props: Props): Promise<Props> {
    const refs = [...JSON.stringify(props).matchAll(/\{\{resolve:ssm:([^}:]+)(?::(\d+))?\}\}/g)];
    const values = new Map<string, string>();
    for (const [, name, version] of refs) {
      const key = `${name}:${version ?? ''}`;
      if (values.has(key)) continue;
      try {
        if (version) {
          const h = await sdk().ssm.send(new GetParameterHistoryCommand({ Name: name, MaxResults: 50 }));
          const v = h.Parameters?.find((p) => p.Version === Number(version))?.Value;
          if (v !== undefined) values.set(key, v);
        } else {
          const p = await sdk().ssm.send(new GetParameterCommand({ Name: name }));
          values.set(key, p.Parameter!.Value!);
        }
      } catch (e) {
        if ((e as Error).name !== 'ParameterNotFound') throw e;
      }
    }
    return substituteDynamicReferences(props, (name, version) =>
      values.get(`${name}:${version ?? ''}`),
    ) as Props;
  }

  return {
    /** The provider of a type; an unknown type fails the change set with a clear message. */
    providerFor(type: string): ResourceProvider {
      const p = providers[type];
      if (!p)
        throw new TemplateError(
          `Template format error: Unrecognized resource types: [${type}] (the local twin provisions ${Object.keys(providers).sort().join(', ')})`,
        );
      return p;
    },
    resolveDynamicReferences,
    ssmValue,
    types: () => Object.keys(providers),
  };
}

/** CloudFormation's AlreadyExists for a name the account already uses. */
const alreadyExists = (type: string, id: string) =>
  new HandlerError('AlreadyExists', `Resource of type '${type}' with identifier '${id}' already exists.`);
const retentionOf = (p: Props) => (p.RetentionInDays === undefined ? undefined : Number(p.RetentionInDays));
/** A policy document property: a JSON string, or an object the template wrote inline. */
const documentText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const sourceAttributes = (s: { arn: string; resourceArn: string; service: string }) => ({
  Arn: s.arn,
  ResourceArns: [s.resourceArn],
  Service: s.service,
});

/** CloudFormation's ImageTagMutabilityExclusionFilter{Type,Value} → the API's { filterType, filter }. */
function mutabilityInput(p: Props) {
  const filters = (p.ImageTagMutabilityExclusionFilters ?? []) as Props[];
  return {
    ...(p.ImageTagMutability !== undefined && { imageTagMutability: p.ImageTagMutability as 'MUTABLE' }),
    ...(filters.length && {
      imageTagMutabilityExclusionFilters: filters.map((f) => ({
        filterType: f.ImageTagMutabilityExclusionFilterType as 'WILDCARD',
        filter: String(f.ImageTagMutabilityExclusionFilterValue),
      })),
    }),
  };
}

function parameterInput(name: string, p: Props, overwrite: boolean): PutParameterCommandInput {
  if (p.Type !== 'String' && p.Type !== 'StringList')
    throw new Error(`AWS::SSM::Parameter Type must be String or StringList, got ${String(p.Type)}`);
  return {
    Name: name,
    Value: String(p.Value),
    Type: p.Type as PutParameterCommandInput['Type'],
    Overwrite: overwrite,
    ...(p.Description !== undefined && { Description: String(p.Description) }),
    ...(p.DataType !== undefined && { DataType: String(p.DataType) }),
  };
}

function runtimeInput(p: Props) {
  const input = camel(
    pick(p, [
      'AgentRuntimeArtifact',
      'RoleArn',
      'NetworkConfiguration',
      'Description',
      'AuthorizerConfiguration',
      'RequestHeaderConfiguration',
      'LifecycleConfiguration',
      'EnvironmentVariables',
    ]),
    ['EnvironmentVariables'],
  ) as Props;
  // CloudFormation's ProtocolConfiguration is the protocol name; the API takes { serverProtocol }.
  if (p.ProtocolConfiguration !== undefined)
    input.protocolConfiguration = { serverProtocol: p.ProtocolConfiguration };
  return input;
}

function guardrailConfig(id: string, version: string, p: Props) {
  const filters = ((p.ContentPolicyConfig as Props | undefined)?.FiltersConfig ?? []) as Props[];
  const pii = ((p.SensitiveInformationPolicyConfig as Props | undefined)?.PiiEntitiesConfig ?? []) as Props[];
  return {
    id,
    version,
    blockedInputMessage: p.BlockedInputMessaging as string | undefined,
    blockedOutputMessage: p.BlockedOutputsMessaging as string | undefined,
    promptAttack: filters.some((f) => f.Type === 'PROMPT_ATTACK' && f.InputStrength !== 'NONE'),
    pii: Object.fromEntries(pii.map((e) => [e.Type as PiiType, e.Action as PiiAction])),
  };
}

const scopeNames = (p: Props) => ((p.Scopes ?? []) as Props[]).map((s) => String(s.ScopeName));
const clientOptions = (p: Props) => ({
  name: String(p.ClientName ?? ''),
  scopes: ((p.AllowedOAuthScopes ?? []) as unknown[]).map(String),
  generateSecret: p.GenerateSecret === true || p.GenerateSecret === 'true',
});

function pick(p: Props, keys: string[]): Props {
  return Object.fromEntries(keys.filter((k) => p[k] !== undefined).map((k) => [k, p[k]]));
}
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const list = <T = string>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
/** Deleting what is already gone is done. */
const ignoreMissing = (e: Error) => {
  if (e.name !== 'NoSuchEntityException') throw e;
};
/** A stable 17-character upper-case id from a name, like IAM's unique ids. */
const idFor = (name: string) =>
  Buffer.from(name)
    .toString('base64')
    .replace(/[^A-Z0-9]/gi, '')
    .toUpperCase()
    .padEnd(17, 'X')
    .slice(0, 17);
