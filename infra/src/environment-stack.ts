import { createHash } from 'node:crypto';
import path from 'node:path';
import {
  CfnDynamicReference,
  CfnDynamicReferenceService,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import * as bedrock from 'aws-cdk-lib/aws-bedrock';
import * as agentcore from 'aws-cdk-lib/aws-bedrockagentcore';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { SpendAlarms } from '../../cost/cdk';
import {
  agentMetricNames,
  exportName,
  memoryNamespaces,
  metricsNamespace,
  runtimeLogGroup,
  type Environment,
  stackOutputKeys,
  type StackOutputKey,
} from '../../environments';
import { loadPrices } from '../../environments/prices';
import { runtimeSpec } from '../../environments/runtime-spec';
import { modelArns } from './models';
import { acknowledge, acknowledgeWildcards, type Justified } from './nag';
import { previewRepositoryArn, repositoryArn, type Topology } from './topology';

export interface EnvironmentStackProps extends StackProps {
  environment: Environment;
  topology: Topology;
}

/** Runtime metric dimensions for the endpoint clients call (*unverified*, see docs/infra.md). */
export function runtimeMetricDimensions(runtimeName: string, endpoint: string, runtimeArn: string) {
  return { Operation: 'InvokeAgentRuntime', Name: `${runtimeName}::${endpoint}`, Resource: runtimeArn };
}

/**
 * One environment: Cognito, guardrail, memory, the AgentCore runtime with its `live` endpoint, alarms
 * and a dashboard. The runtime's image comes from the environment's SSM parameter, which the pipeline
 * owns, so `cdk deploy` never changes which image runs.
 */
export class EnvironmentStack extends Stack {
  readonly runtime: agentcore.Runtime;
  readonly alarms: cloudwatch.Alarm[] = [];
  /** Full names of the alarms (all start with `names.alarmPrefix`). */
  readonly alarmNames: string[] = [];
  private executionRoleStatements: Justified[] = [];

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    super(scope, id, props);
    const { environment: env, topology: t } = props;
    const { names } = env;
    const hostsPreviews = t.previewHost?.name === env.name;
    // prices.yaml next to the environment's file (so `-c environmentsDir=...` brings its own prices).
    const prices = loadPrices(path.join(path.dirname(env.file), 'prices.yaml'));

    const executionRole = this.executionRole(env, t, hostsPreviews);
    const auth = this.cognito(env);
    const guardrail = this.guardrail(env);
    executionRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ApplyGuardrail',
        actions: ['bedrock:ApplyGuardrail'],
        resources: [guardrail.guardrail.attrGuardrailArn],
      }),
    );

    const memory = new agentcore.Memory(this, 'Memory', {
      memoryName: names.memory,
      description: `Conversation events and long-term records of ${names.runtime}`,
      expirationDuration: Duration.days(env.memory.expiryDays),
      memoryStrategies: [
        agentcore.MemoryStrategy.usingSemantic({
          strategyName: 'facts',
          namespaces: [memoryNamespaces.semantic],
        }),
        agentcore.MemoryStrategy.usingUserPreference({
          strategyName: 'preferences',
          namespaces: [memoryNamespaces.userPreference],
        }),
        agentcore.MemoryStrategy.usingSummarization({
          strategyName: 'summaries',
          namespaces: [memoryNamespaces.summary],
        }),
      ],
    });
    memory.grantRead(executionRole);
    memory.grantWrite(executionRole);

    // `{{resolve:ssm:<name>}}`: CloudFormation reads the parameter (the last image the pipeline promoted)
    // whenever it creates or updates the runtime, so a stack update re-uses it instead of reverting.
    const image = new CfnDynamicReference(CfnDynamicReferenceService.SSM, names.imageParameter).toString();
    // The one runtime configuration (environments/runtime-spec.ts) previews and the rehearsal use too.
    const spec = runtimeSpec(env, {
      executionRoleArn: executionRole.roleArn,
      discoveryUrl: auth.discoveryUrl,
      allowedClients: [auth.userClient.userPoolClientId, auth.machineClient.userPoolClientId],
      guardrailId: guardrail.guardrail.attrGuardrailId,
      guardrailVersion: guardrail.version.attrVersion,
      memoryId: memory.memoryId,
      prices,
    });
    const jwt = spec.authorizerConfiguration.customJWTAuthorizer!;
    const logGroup = (id: string, logGroupName: string) =>
      new logs.LogGroup(this, id, {
        logGroupName,
        retention: env.observability.logRetentionDays as logs.RetentionDays,
        // Kept when the stack is deleted, but not when its first creation rolls back: a retained group
        // would make the next attempt fail with "already exists".
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
    this.runtime = new agentcore.Runtime(this, 'Runtime', {
      runtimeName: names.runtime,
      description: `${t.app.app} agent (${env.name})`,
      agentRuntimeArtifact: agentcore.AgentRuntimeArtifact.fromImageUri(image),
      executionRole,
      protocolConfiguration: agentcore.ProtocolType.of(spec.protocolConfiguration.serverProtocol!),
      authorizerConfiguration: agentcore.RuntimeAuthorizerConfiguration.usingJWT(
        jwt.discoveryUrl!,
        jwt.allowedClients,
      ),
      requestHeaderConfiguration: {
        allowlistedHeaders: spec.requestHeaderConfiguration.requestHeaderAllowlist,
      },
      lifecycleConfiguration: {
        idleRuntimeSessionTimeout: Duration.seconds(spec.lifecycleConfiguration.idleRuntimeSessionTimeout!),
        maxLifetime: Duration.seconds(spec.lifecycleConfiguration.maxLifetime!),
      },
      environmentVariables: spec.environmentVariables,
      // The runtime's own telemetry through CloudWatch vended-log deliveries (AWS::Logs::Delivery*):
      // its spans to X-Ray (with Transaction Search on, into `aws/spans` beside the agent's own), its
      // application and usage logs to log groups with this environment's retention.
      tracingEnabled: true,
      loggingConfigs: [
        {
          logType: agentcore.LogType.APPLICATION_LOGS,
          destination: agentcore.LoggingDestination.cloudWatchLogs(
            logGroup('ApplicationLogs', names.applicationLogGroup),
          ),
        },
        {
          logType: agentcore.LogType.USAGE_LOGS,
          destination: agentcore.LoggingDestination.cloudWatchLogs(
            logGroup('UsageLogs', names.usageLogGroup),
          ),
        },
      ],
    });
    // `live` serves the version promote recorded in `liveVersionParameter`, resolved like the image, so
    // a `cdk deploy` that touches the endpoint keeps what the pipeline promoted (docs/infra.md).
    const liveVersion = new CfnDynamicReference(
      CfnDynamicReferenceService.SSM,
      names.liveVersionParameter,
    ).toString();
    const live = this.runtime.addEndpoint(env.runtime.liveEndpoint, { version: liveVersion });
    // AgentCore creates an endpoint's output log group on its first session, without retention; the
    // stack creates both (DEFAULT, the candidate, and live) right after the runtime, before any traffic.
    for (const endpoint of new Set(['DEFAULT', env.runtime.liveEndpoint]))
      logGroup(`RuntimeLogs${endpoint}`, runtimeLogGroup(this.runtime.agentRuntimeId, endpoint));
    this.acknowledgeExecutionRole(executionRole, env);
    Validations.of(this.runtime).acknowledge({
      id: 'Annotation::aws-cdk-lib.aws-bedrockagentcore:containerUriValidationSkipped',
      reason:
        'The image URI is an SSM dynamic reference resolved by CloudFormation; the pipeline validates the image before writing the parameter.',
    });
    acknowledge(
      auth.pool,
      'COG8',
      'Threat protection (Plus plan) is billed per user; the pool serves operators and a smoke-test client, with MFA required and self sign-up off.',
    );

    const topic = this.alarmTopic(env);
    this.createAlarms(env, topic);
    new SpendAlarms(this, 'Spend', { environment: env, prices, topic, metricsNamespace });
    this.dashboard(env);

    const outputs: Record<StackOutputKey, string> = {
      RuntimeId: this.runtime.agentRuntimeId,
      RuntimeArn: this.runtime.agentRuntimeArn,
      LiveEndpointName: live.endpointName,
      ExecutionRoleArn: executionRole.roleArn,
      MemoryId: memory.memoryId,
      GuardrailId: guardrail.guardrail.attrGuardrailId,
      GuardrailVersion: guardrail.version.attrVersion,
      UserPoolId: auth.pool.userPoolId,
      DiscoveryUrl: auth.discoveryUrl,
      UserClientId: auth.userClient.userPoolClientId,
      MachineClientId: auth.machineClient.userPoolClientId,
      InvokeScope: names.invokeScope,
      TokenEndpoint: auth.tokenEndpoint,
      AlarmTopicArn: topic.topicArn,
      AlarmNamePrefix: names.alarmPrefix,
    };
    for (const [key, value] of Object.entries(outputs) as [StackOutputKey, string][]) {
      new CfnOutput(this, `Output${key}`, { key, value, exportName: exportName(names, key) });
    }
    new StackOutputsParameter(this, 'OutputsParameter', { parameterName: names.outputsParameter, outputs });

    // The pipeline reads the smoke client's secret with DescribeUserPoolClient: only this pool's. The
    // roles live in the shared stack (deployed first); the pool id is known here.
    const smokeClientReaders = [names.deployRole, ...(hostsPreviews ? [t.shared.previewRole] : [])];
    new iam.Policy(this, 'ReadSmokeClient', {
      roles: smokeClientReaders.map((name) => iam.Role.fromRoleName(this, `Reader-${name}`, name)),
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadSmokeClient',
          actions: ['cognito-idp:DescribeUserPoolClient'],
          resources: [auth.pool.userPoolArn],
        }),
      ],
    });
  }

  private executionRole(env: Environment, t: Topology, hostsPreviews: boolean): iam.Role {
    const runtimeArn = (pattern: string) =>
      `arn:aws:bedrock-agentcore:${env.region}:${env.account}:runtime/${pattern}`;
    const runtimes = [runtimeArn(`${env.names.runtime}-*`)];
    if (hostsPreviews) runtimes.push(runtimeArn(`${t.shared.previewRuntimePrefix}*`));
    const role = new iam.Role(this, 'ExecutionRole', {
      roleName: env.names.executionRole,
      description: `AgentCore runtime execution role of ${env.names.runtime}${hostsPreviews ? ' and its previews' : ''}`,
      assumedBy: new iam.ServicePrincipal('bedrock-agentcore.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': env.account },
          ArnLike: { 'aws:SourceArn': runtimes },
        },
      }),
    });
    const models = [...new Set([env.models.primary, env.models.background])];
    const statements: Justified[] = [
      {
        statement: new iam.PolicyStatement({
          sid: 'InvokeModels',
          actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
          resources: models.flatMap((m) => modelArns(m, env.account, env.region)),
        }),
        wildcardReason:
          'A cross-region inference profile routes to the same foundation model in any region of its geography; the model id is fixed, only the region is open.',
      },
      {
        // AgentCore pulls the image as this role: the runtime-permissions page lists these three.
        // Previews run pull-request images from the preview repository with the same role.
        statement: new iam.PolicyStatement({
          sid: 'PullImage',
          actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          resources: hostsPreviews ? [repositoryArn(t), previewRepositoryArn(t)] : [repositoryArn(t)],
        }),
      },
      {
        // The agent exports its spans to the X-Ray OTLP endpoint (https://xray.<region>.amazonaws.com/v1/traces),
        // which authorises xray:PutSpans; PutSpansForIndexing lets Transaction Search index them.
        statement: new iam.PolicyStatement({
          sid: 'ExportTraces',
          actions: ['xray:PutSpans', 'xray:PutSpansForIndexing'],
          resources: ['*'],
        }),
        wildcardReason:
          'X-Ray defines no resource types: xray:PutSpans and xray:PutSpansForIndexing take only "*".',
      },
      {
        statement: new iam.PolicyStatement({
          sid: 'RegistryToken',
          actions: ['ecr:GetAuthorizationToken'],
          resources: ['*'],
        }),
        wildcardReason:
          'ecr:GetAuthorizationToken has no resource-level permissions; the token grants nothing beyond the PullImage statement.',
      },
    ];
    for (const { statement } of statements) role.addToPolicy(statement);
    this.executionRoleStatements = statements;
    return role;
  }

  /** Wildcards of the execution role: ours are justified per statement, the Runtime L2's defaults here. */
  private acknowledgeExecutionRole(role: iam.Role, env: Environment) {
    const policy = role.node.findChild('DefaultPolicy');
    acknowledgeWildcards(policy, this, this.executionRoleStatements);
    const at = `<AWS::Partition>:logs:${env.region}:${env.account}:log-group`;
    const l2Defaults: Record<string, string> = {
      '*': 'X-Ray segment/sampling APIs and ecr:GetAuthorizationToken have no resource-level permissions; cloudwatch:PutMetricData is limited by a cloudwatch:namespace condition (Runtime L2 defaults).',
      [`arn:${at}:/aws/bedrock-agentcore/runtimes/*`]:
        'AgentCore names log groups /aws/bedrock-agentcore/runtimes/<runtimeId>-<endpoint>; the id is generated (Runtime L2 default).',
      [`arn:${at}:/aws/bedrock-agentcore/runtimes/*:log-stream:*`]:
        'Log streams of the runtime log groups are created per session with generated names (Runtime L2 default).',
      [`arn:${at}:*`]:
        'logs:DescribeLogGroups authorises against all log groups of the account (Runtime L2 default).',
      [`arn:<AWS::Partition>:bedrock-agentcore:${env.region}:${env.account}:workload-identity-directory/default/workload-identity/*`]:
        'Workload identities are created by AgentCore per runtime with generated names (Runtime L2 default).',
    };
    for (const [resource, reason] of Object.entries(l2Defaults))
      acknowledge(policy, `IAM5[Resource::${resource}]`, reason);
  }

  private cognito(env: Environment) {
    const pool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: env.names.userPool,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 12,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const [serverId, scopeName] = env.names.invokeScope.split('/');
    const scope = new cognito.ResourceServerScope({ scopeName, scopeDescription: 'Invoke the agent' });
    const server = pool.addResourceServer('ResourceServer', { identifier: serverId, scopes: [scope] });
    const userClient = pool.addClient('UserClient', {
      userPoolClientName: `${env.names.userPool}-users`,
      authFlows: { userSrp: true },
      generateSecret: false,
      disableOAuth: true,
    });
    const machineClient = pool.addClient('MachineClient', {
      userPoolClientName: `${env.names.userPool}-smoke`,
      generateSecret: true,
      authFlows: {},
      oAuth: {
        flows: { clientCredentials: true },
        scopes: [cognito.OAuthScope.resourceServer(server, scope)],
      },
    });
    const domain = pool.addDomain('Domain', { cognitoDomain: { domainPrefix: env.names.userPoolDomain } });
    return {
      pool,
      userClient,
      machineClient,
      discoveryUrl: `https://cognito-idp.${env.region}.amazonaws.com/${pool.userPoolId}/.well-known/openid-configuration`,
      tokenEndpoint: `${domain.baseUrl()}/oauth2/token`,
    };
  }

  private guardrail(env: Environment) {
    const guardrail = new bedrock.CfnGuardrail(this, 'Guardrail', {
      name: env.names.guardrail,
      description: `Input and output guardrail of ${env.names.runtime}`,
      blockedInputMessaging: env.guardrail.blockedInputMessage,
      blockedOutputsMessaging: env.guardrail.blockedOutputMessage,
      contentPolicyConfig: {
        // Prompt-attack filtering applies to input only; its output strength must be NONE.
        filtersConfig: [{ type: 'PROMPT_ATTACK', inputStrength: 'HIGH', outputStrength: 'NONE' }],
      },
      sensitiveInformationPolicyConfig: {
        piiEntitiesConfig: Object.entries(env.guardrail.pii).map(([type, action]) => ({ type, action })),
      },
    });
    // A version is immutable: a changed configuration needs a new one. The description carries a hash of
    // the configuration, so any change replaces this resource and publishes a new numbered version; the
    // old one is retained because the `live` endpoint may still run a runtime version that uses it.
    const configHash = createHash('sha256').update(JSON.stringify(env.guardrail)).digest('hex').slice(0, 12);
    const version = new bedrock.CfnGuardrailVersion(this, 'GuardrailVersion', {
      guardrailIdentifier: guardrail.attrGuardrailId,
      description: `configuration ${configHash}`,
    });
    version.applyRemovalPolicy(RemovalPolicy.RETAIN);
    return { guardrail, version };
  }

  private alarmTopic(env: Environment): sns.Topic {
    // CloudWatch cannot publish to a topic encrypted with the AWS-managed aws/sns key: use a key it may use.
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: `Encrypts ${env.names.alarmTopic}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': env.account } },
      }),
    );
    return new sns.Topic(this, 'AlarmTopic', {
      topicName: env.names.alarmTopic,
      masterKey: key,
      enforceSSL: true,
    });
  }

  private createAlarms(env: Environment, topic: sns.Topic) {
    const a = env.alarms;
    const dims = runtimeMetricDimensions(
      env.names.runtime,
      env.runtime.liveEndpoint,
      this.runtime.agentRuntimeArn,
    );
    const fiveMinutes = Duration.minutes(5);
    const runtimeMetric = (metricName: string, statistic: string) =>
      this.runtime.metric(metricName, { statistic, period: fiveMinutes, dimensionsMap: dims });
    const add = (
      suffix: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      description: string,
      op = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    ) => {
      const alarmName = `${env.names.alarmPrefix}${suffix}`;
      const alarm = new cloudwatch.Alarm(this, `Alarm-${suffix}`, {
        alarmName,
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: op,
        evaluationPeriods: 1,
        // No data means no traffic: not a failure.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new cwActions.SnsAction(topic));
      alarm.addOkAction(new cwActions.SnsAction(topic));
      this.alarms.push(alarm);
      this.alarmNames.push(alarmName);
    };
    const gte = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    add(
      'latency-p95',
      runtimeMetric('Latency', 'p95'),
      a.latencyP95Ms,
      `p95 runtime latency above ${a.latencyP95Ms} ms`,
    );
    add(
      'system-errors',
      runtimeMetric('SystemErrors', 'Sum'),
      a.systemErrorsPer5Min,
      `${a.systemErrorsPer5Min}+ system errors in 5 minutes`,
      gte,
    );
    add(
      'throttles',
      runtimeMetric('Throttles', 'Sum'),
      a.throttlesPer5Min,
      `${a.throttlesPer5Min}+ throttles in 5 minutes`,
      gte,
    );
    // Tokens this environment's agent used (its own metrics, dimension Environment), not the account's
    // per-model totals, which previews and other callers share.
    const agentMetric = (metricName: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: metricsNamespace,
        metricName,
        dimensionsMap: { Environment: env.name },
        statistic,
        period,
      });
    add(
      'input-tokens',
      agentMetric(agentMetricNames.inputTokens, 'Sum', Duration.hours(1)),
      a.inputTokensPerHour,
      `more than ${a.inputTokensPerHour} input tokens in an hour (the ${env.name} agent, all models)`,
    );
    add(
      'output-tokens',
      agentMetric(agentMetricNames.outputTokens, 'Sum', Duration.hours(1)),
      a.outputTokensPerHour,
      `more than ${a.outputTokensPerHour} output tokens in an hour (the ${env.name} agent, all models)`,
    );
    add(
      'time-to-first-token-p95',
      agentMetric(agentMetricNames.timeToFirstToken, 'p95', fiveMinutes),
      a.timeToFirstTokenP95Ms,
      `p95 time to first token above ${a.timeToFirstTokenP95Ms} ms`,
    );
  }

  private dashboard(env: Environment) {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: env.names.dashboard });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    );
    dashboard.addWidgets(
      ...this.alarms.map(
        (alarm, i) =>
          new cloudwatch.GraphWidget({
            title: this.alarmNames[i],
            left: [alarm.metric],
            leftAnnotations: [alarm.toAnnotation()],
            width: 8,
          }),
      ),
    );
  }
}

/**
 * The stack's outputs as one JSON SSM parameter (contract §1): every action reads them with one
 * ssm:GetParameter instead of values copied into GitHub variables.
 */
export class StackOutputsParameter extends Construct {
  readonly parameter: ssm.StringParameter;

  constructor(
    scope: Construct,
    id: string,
    props: { parameterName: string; outputs: Record<StackOutputKey, string> },
  ) {
    super(scope, id);
    const missing = stackOutputKeys.filter((k) => !(k in props.outputs));
    if (missing.length > 0) throw new Error(`stack outputs parameter lacks ${missing.join(', ')}`);
    this.parameter = new ssm.StringParameter(this, 'Parameter', {
      parameterName: props.parameterName,
      description: 'Outputs of this stack as JSON (read by the pipeline)',
      stringValue: Stack.of(this).toJsonString(props.outputs),
    });
  }
}
