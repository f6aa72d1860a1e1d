import { z } from 'zod';
import { checkInput, oneOf, pattern, text, validationError } from '../core/constraints';
import { randomId } from '../core/ids';
import { AwsError } from '../core/respond';
import type { TwinContext } from '../twin';

/**
 * CloudWatch Logs, the part the stacks provision: log groups with retention, account resource
 * policies, and vended-log deliveries (delivery source → delivery → delivery destination,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-vended-logs-permissions-V2.html).
 * In-process only: nothing in the project calls the CloudWatch Logs API but CloudFormation, whose
 * providers check IAM for each call themselves. State is per account, like the real service.
 */

/** AWS::Logs::LogGroup RetentionInDays / PutRetentionPolicy retentionInDays. */
export const retentionDays = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
/** "An account can have up to 10 resource policies per AWS Region" (API_PutResourcePolicy). */
export const MAX_RESOURCE_POLICIES = 10;

/**
 * Which AgentCore resources deliver which log types: a runtime its application logs, usage logs
 * (observability-runtime-metrics.html "Resource usage metrics and logs") and spans; a memory its
 * application logs and spans (observability-configure.html: "memory spans and logs require enablement").
 */
const deliverableLogTypes: Record<string, string[]> = {
  runtime: ['APPLICATION_LOGS', 'USAGE_LOGS', 'TRACES'],
  memory: ['APPLICATION_LOGS', 'TRACES'],
};

export interface LogGroup {
  name: string;
  arn: string;
  retentionInDays?: number;
  creationTime: number;
}
export interface DeliverySource {
  name: string;
  arn: string;
  resourceArn: string;
  logType: string;
  service: string;
}
export interface DeliveryDestination {
  name: string;
  arn: string;
  deliveryDestinationType: 'CWL' | 'XRAY' | 'S3' | 'FH';
  destinationResourceArn?: string;
}
export interface Delivery {
  id: string;
  arn: string;
  deliverySourceName: string;
  deliveryDestinationArn: string;
  deliveryDestinationType: string;
}

// Constraints of the CloudWatch Logs model (logs-2014-03-28) for the members the twin takes.
const inputs = {
  logGroupName: text(1, 512).and(pattern('[\\.\\-_/#A-Za-z0-9]+')),
  retentionInDays: z
    .number()
    .refine((d) => retentionDays.includes(d), `Member must satisfy enum value set: [${retentionDays}]`),
  policyName: text(1, 255),
  policyDocument: text(1, 5120),
  deliveryName: text(1, 60).and(pattern('[\\w-]*')),
  logType: text(1, 255).and(pattern('[\\w]*')),
  deliveryDestinationType: oneOf(['S3', 'CWL', 'FH', 'XRAY']),
};
const invalid = validationError('ValidationException');
const check = <T>(schema: z.ZodType<T>, value: unknown, member: string): T =>
  checkInput(z.object({ [member]: schema }), { [member]: value }, invalid)[member] as T;

export function registerLogs(ctx: TwinContext) {
  const groups = () => ctx.state.get<Record<string, LogGroup>>('logs-groups', () => ({}));
  const policies = () => ctx.state.get<Record<string, string>>('logs-resource-policies', () => ({}));
  const sources = () => ctx.state.get<Record<string, DeliverySource>>('logs-delivery-sources', () => ({}));
  const destinations = () =>
    ctx.state.get<Record<string, DeliveryDestination>>('logs-delivery-destinations', () => ({}));
  const deliveries = () => ctx.state.get<Record<string, Delivery>>('logs-deliveries', () => ({}));
  const arn = (resource: string) => `arn:aws:logs:${ctx.region}:${ctx.accountId}:${resource}`;
  const notFound = (what: string) => new AwsError('ResourceNotFoundException', `${what} does not exist.`);

  return {
    /** CreateLogGroup (+ PutRetentionPolicy): a name already taken is ResourceAlreadyExistsException. */
    createLogGroup(name: string, retentionInDays?: number): LogGroup {
      check(inputs.logGroupName, name, 'logGroupName');
      if (retentionInDays !== undefined) check(inputs.retentionInDays, retentionInDays, 'retentionInDays');
      if (groups()[name])
        throw new AwsError('ResourceAlreadyExistsException', 'The specified log group already exists');
      const group = { name, arn: arn(`log-group:${name}:*`), retentionInDays, creationTime: ctx.clock.now() };
      groups()[name] = group;
      return group;
    },
    /** PutRetentionPolicy, or DeleteRetentionPolicy with undefined (events never expire). */
    putRetention(name: string, retentionInDays: number | undefined) {
      const group = groups()[name];
      if (!group) throw notFound('The specified log group');
      if (retentionInDays !== undefined) check(inputs.retentionInDays, retentionInDays, 'retentionInDays');
      groups()[name] = { ...group, retentionInDays };
    },
    deleteLogGroup(name: string) {
      if (!groups()[name]) throw notFound('The specified log group');
      delete groups()[name];
    },
    logGroup: (name: string): LogGroup | undefined => groups()[name],
    logGroups: (): LogGroup[] => Object.values(groups()),

    /** PutResourcePolicy (create or update by name), at most MAX_RESOURCE_POLICIES per account and region. */
    putResourcePolicy(policyName: string, policyDocument: string) {
      check(inputs.policyName, policyName, 'policyName');
      check(inputs.policyDocument, policyDocument, 'policyDocument');
      try {
        JSON.parse(policyDocument);
      } catch {
        throw new AwsError('InvalidParameterException', 'Policy document is not valid JSON');
      }
      if (!(policyName in policies()) && Object.keys(policies()).length >= MAX_RESOURCE_POLICIES)
        throw new AwsError('LimitExceededException', 'Resource limit exceeded.');
      policies()[policyName] = policyDocument;
    },
    deleteResourcePolicy(policyName: string) {
      if (!(policyName in policies())) throw notFound('Policy with the specified name');
      delete policies()[policyName];
    },
    resourcePolicies: (): Record<string, string> => ({ ...policies() }),

    /**
     * PutDeliverySource: only resources of services that vend logs, with a log type they deliver;
     * `service` is the ARN's service, as the API reports it.
     */
    putDeliverySource(name: string, resourceArn: string, logType: string): DeliverySource {
      check(inputs.deliveryName, name, 'name');
      check(inputs.logType, logType, 'logType');
      const m = /^arn:aws:([\w-]+):[\w-]+:\d{12}:([\w-]+)\/[\w-]+$/.exec(resourceArn);
      const [service, kind] = m ? [m[1], m[2]] : [];
      const types = service === 'bedrock-agentcore' ? deliverableLogTypes[kind!] : undefined;
      if (!types)
        throw new AwsError(
          'ValidationException',
          `Resource ${resourceArn} cannot be configured as a delivery source (the local twin knows AgentCore runtimes and memories)`,
        );
      if (!types.includes(logType))
        throw new AwsError(
          'ValidationException',
          `Log type ${logType} is not supported for ${kind} resources of ${service}: use one of ${types.join(', ')}`,
        );
      const existing = sources()[name];
      if (existing && (existing.resourceArn !== resourceArn || existing.logType !== logType))
        throw new AwsError(
          'ConflictException',
          `Delivery source ${name} already exists for another resource or log type`,
        );
      const source = { name, arn: arn(`delivery-source:${name}`), resourceArn, logType, service: service! };
      sources()[name] = source;
      return source;
    },
    deleteDeliverySource(name: string) {
      if (!sources()[name]) throw notFound(`Delivery source ${name}`);
      if (Object.values(deliveries()).some((d) => d.deliverySourceName === name))
        throw new AwsError(
          'ConflictException',
          `Delivery source ${name} is used by a delivery: delete it first`,
        );
      delete sources()[name];
    },
    deliverySource: (name: string): DeliverySource | undefined => sources()[name],

    /** PutDeliveryDestination: a CWL destination names an existing log group; XRAY names nothing. */
    putDeliveryDestination(
      name: string,
      deliveryDestinationType: DeliveryDestination['deliveryDestinationType'],
      destinationResourceArn?: string,
    ): DeliveryDestination {
      check(inputs.deliveryName, name, 'name');
      check(inputs.deliveryDestinationType, deliveryDestinationType, 'deliveryDestinationType');
      if (deliveryDestinationType === 'CWL') {
        const group = /:log-group:([^:]+)/.exec(destinationResourceArn ?? '')?.[1];
        if (!group || !groups()[group])
          throw new AwsError(
            'ValidationException',
            `destinationResourceArn ${destinationResourceArn ?? '(none)'} is not an existing log group`,
          );
      } else if (deliveryDestinationType === 'XRAY' && destinationResourceArn)
        throw new AwsError(
          'ValidationException',
          'An XRAY delivery destination takes no destinationResourceArn',
        );
      else if (deliveryDestinationType !== 'XRAY')
        throw new AwsError(
          'ValidationException',
          `The local twin delivers to CWL and XRAY destinations only, not ${deliveryDestinationType}`,
        );
      const destination = {
        name,
        arn: arn(`delivery-destination:${name}`),
        deliveryDestinationType,
        ...(destinationResourceArn && { destinationResourceArn }),
      };
      destinations()[name] = destination;
      return destination;
    },
    deleteDeliveryDestination(name: string) {
      const d = destinations()[name];
      if (!d) throw notFound(`Delivery destination ${name}`);
      if (Object.values(deliveries()).some((x) => x.deliveryDestinationArn === d.arn))
        throw new AwsError(
          'ConflictException',
          `Delivery destination ${name} is used by a delivery: delete it first`,
        );
      delete destinations()[name];
    },
    deliveryDestination: (name: string): DeliveryDestination | undefined => destinations()[name],

    /**
     * CreateDelivery: both ends must exist, traces go to X-Ray and logs to the other destinations
     * (AWS-logs-infrastructure-V2-XRayTraces.html), one delivery per source–destination pair.
     */
    createDelivery(deliverySourceName: string, deliveryDestinationArn: string): Delivery {
      check(inputs.deliveryName, deliverySourceName, 'deliverySourceName');
      const source = sources()[deliverySourceName];
      if (!source) throw notFound(`Delivery source ${deliverySourceName}`);
      const destination = Object.values(destinations()).find((d) => d.arn === deliveryDestinationArn);
      if (!destination) throw notFound(`Delivery destination ${deliveryDestinationArn}`);
      if ((source.logType === 'TRACES') !== (destination.deliveryDestinationType === 'XRAY'))
        throw new AwsError(
          'ValidationException',
          `A ${source.logType} delivery source cannot deliver to a ${destination.deliveryDestinationType} destination: traces go to XRAY, logs to CWL, S3 or FH`,
        );
      const taken = Object.values(deliveries()).some(
        (d) =>
          d.deliverySourceName === deliverySourceName && d.deliveryDestinationArn === deliveryDestinationArn,
      );
      if (taken)
        throw new AwsError(
          'ConflictException',
          `A delivery from ${deliverySourceName} to ${destination.name} already exists`,
        );
      const id = randomId(16);
      const delivery = {
        id,
        arn: arn(`delivery:${id}`),
        deliverySourceName,
        deliveryDestinationArn,
        deliveryDestinationType: destination.deliveryDestinationType,
      };
      deliveries()[id] = delivery;
      return delivery;
    },
    deleteDelivery(id: string) {
      if (!deliveries()[id]) throw notFound(`Delivery ${id}`);
      delete deliveries()[id];
    },
    deliveries: (): Delivery[] => Object.values(deliveries()),
  };
}

export type LogsApi = ReturnType<typeof registerLogs>;
