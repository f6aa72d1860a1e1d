import { arnAccount, inAccount } from '../core/accounts';
import { AwsError } from '../core/respond';
import type { TwinRequest } from '../core/router';
import type { TwinContext } from '../twin';
import { OPERATIONS, UNSIGNED } from './actions';
import { denialMessage, type Identity, type PolicyDocument } from './iam';

/**
 * Services that keep resource-based policies, or tags that tag-scoped policies test with
 * `aws:ResourceTag/<key>`, register a lookup by ARN prefix here.
 */
export class ResourcePolicies {
  private readonly lookups: { prefix: string; policy: (arn: string) => PolicyDocument | undefined }[] = [];
  private readonly tagLookups: {
    prefix: string;
    tags: (arn: string) => Record<string, string> | undefined;
  }[] = [];

  register(prefix: string, policy: (arn: string) => PolicyDocument | undefined) {
    this.lookups.push({ prefix, policy });
  }

  registerTags(prefix: string, tags: (arn: string) => Record<string, string> | undefined) {
    this.tagLookups.push({ prefix, tags });
  }

  /** The policy of the resource an ARN names, read in the resource's account. */
  get(arn: string, account: string): PolicyDocument | undefined {
    const lookup = this.lookups.find((l) => arn.startsWith(l.prefix));
    return lookup && inAccount(account, () => lookup.policy(arn));
  }

  /** The resource's tags as the `aws:ResourceTag/<key>` condition keys IAM evaluates. */
  tagContext(arn: string, account: string): Record<string, string> {
    const lookup = this.tagLookups.find((l) => arn.startsWith(l.prefix));
    const tags = lookup && inAccount(account, () => lookup.tags(arn));
    return Object.fromEntries(Object.entries(tags ?? {}).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
  }
}

/** awsQuery services (IAM, STS) name errors without the `Exception` suffix. */
const isQuery = (req: TwinRequest) =>
  String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');

/**
 * Authenticates and authorises a request before its handler runs, and tells in which account the
 * handler acts (the addressed resource's). The bearer-JWT path of InvokeAgentRuntime is not IAM's:
 * the runtime's authorizer checks it (services/runtime-invoke.ts).
 */
export class Authorizer {
  constructor(private readonly ctx: TwinContext) {}

  /** The identity that signed a request; unsigned requests have none. Unknown keys are refused. */
  identify(req: TwinRequest): Identity | undefined {
    if (!req.accessKeyId) return undefined;
    const identity = this.ctx.iam.identity(req.accessKeyId);
    if (identity) return identity;
    // AWS answers an unknown or expired key before looking at the operation.
    throw isQuery(req)
      ? new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403)
      : new AwsError(
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
          403,
        );
  }

  async authorize(req: TwinRequest, key: string): Promise<string> {
    const identity = this.identify(req);
    const checksFor = OPERATIONS[key] as (typeof OPERATIONS)[string] | undefined;
    const account = identity?.account ?? this.ctx.defaultAccount;
    if (!identity) {
      // Unsigned: the twin's own public endpoints (OIDC discovery, token endpoints), STS web-identity
      // federation, and the runtime's bearer-JWT path; they act in the addressed resource's account.
      const checks = checksFor ? checksFor({ req, account, region: this.ctx.region }) : [];
      if (checks.length && !UNSIGNED.has(key)) {
        throw isQuery(req)
          ? new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403)
          : new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
      }
      return (checks[0] && arnAccount(checks[0].resource)) ?? account;
    }
    if (!checksFor) {
      throw new AwsError(
        isQuery(req) ? 'AccessDenied' : 'AccessDeniedException',
        `The local twin has no IAM action mapped for ${key}, so it refuses it for ${identity.arn}; map it in local/src/iam/actions.ts`,
        403,
      );
    }
    const checks = checksFor({ req, account, region: this.ctx.region });
    for (const check of checks) {
      const resourceAccount = arnAccount(check.resource) ?? account;
      const resourcePolicy =
        check.resource === '*' ? undefined : this.ctx.resourcePolicies.get(check.resource, resourceAccount);
      const decision = await this.ctx.iam.authorize({
        identity,
        action: check.action,
        resource: check.resource,
        resourceAccount,
        resourcePolicy,
        context: {
          'aws:RequestedRegion': this.ctx.region,
          ...(check.resource === '*'
            ? {}
            : this.ctx.resourcePolicies.tagContext(check.resource, resourceAccount)),
          ...check.context,
        },
      });
      if (!decision.allowed) {
        throw new AwsError(
          isQuery(req) ? 'AccessDenied' : 'AccessDeniedException',
          denialMessage(identity.arn, check.action, check.resource, decision),
          403,
        );
      }
    }
    return (checks[0] && arnAccount(checks[0].resource)) ?? account;
  }
}
