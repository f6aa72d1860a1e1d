import { randomBytes } from 'node:crypto';
import { createValidatedPolicy, validateResourcePolicy } from '@cloud-copilot/iam-policy';
import { runSimulation, runUnsafeSimulation, type RunSimulationResults } from '@cloud-copilot/iam-simulate';
import { randomId } from '../core/ids';
import type { StateStore } from '../core/state';

/** A policy document as IAM stores it (parsed JSON). */
export type PolicyDocument = { Version?: string; Statement: unknown };

export interface RoleRecord {
  name: string;
  path: string;
  arn: string;
  roleId: string;
  trust: PolicyDocument;
  description?: string;
  maxSessionDuration: number;
  inline: Record<string, PolicyDocument>;
  attached: string[];
  createDate: string;
}

export interface ManagedPolicyRecord {
  name: string;
  path: string;
  arn: string;
  policyId: string;
  description?: string;
  document: PolicyDocument;
  createDate: string;
}

export interface OidcProviderRecord {
  arn: string;
  /** Issuer URL without `https://`, as IAM reports it. */
  url: string;
  clientIds: string[];
  thumbprints: string[];
  createDate: string;
}

interface AccountIam {
  roles: Record<string, RoleRecord>;
  policies: Record<string, ManagedPolicyRecord>;
  oidcProviders: Record<string, OidcProviderRecord>;
}

export interface SessionRecord {
  roleArn: string;
  assumedRoleArn: string;
  assumedRoleId: string;
  account: string;
  expiration: number;
  secretAccessKey: string;
  sessionPolicy?: PolicyDocument;
}

/** Who signed a request: an account's bootstrap admin user or an STS session of a role. */
export interface Identity {
  kind: 'user' | 'role-session';
  account: string;
  /** The principal ARN AWS names in errors and GetCallerIdentity. */
  arn: string;
  userId: string;
  roleArn?: string;
  sessionPolicy?: PolicyDocument;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const ADMIN_USER = 'twin-admin';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const ADMINISTRATOR_ACCESS = 'arn:aws:iam::aws:policy/AdministratorAccess';
export const READ_ONLY_ACCESS = 'arn:aws:iam::aws:policy/ReadOnlyAccess';

/**
 * AWS managed policies the twin knows. AdministratorAccess is AWS's document verbatim; ReadOnlyAccess
 * is the read subset of the services this project calls (AWS's own lists every service).
 */
export const AWS_MANAGED: Record<string, PolicyDocument> = {
  // https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCloudFormationReadOnlyAccess.html
  // (the CDK bootstrap's deploy role attaches it).
  'arn:aws:iam::aws:policy/AWSCloudFormationReadOnlyAccess': {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'cloudformation:Describe*',
          'cloudformation:BatchDescribe*',
          'cloudformation:EstimateTemplateCost',
          'cloudformation:Get*',
          'cloudformation:List*',
          'cloudformation:ValidateTemplate',
          'cloudformation:Detect*',
        ],
        Resource: '*',
      },
    ],
  },
  [ADMINISTRATOR_ACCESS]: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  },
  [READ_ONLY_ACCESS]: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'bedrock-agentcore:Get*',
          'bedrock-agentcore:List*',
          'cloudformation:Describe*',
          'cloudformation:Get*',
          'cloudformation:List*',
          'cloudwatch:Describe*',
          'cloudwatch:Get*',
          'cloudwatch:List*',
          'cognito-idp:Describe*',
          'cognito-idp:List*',
          'ecr:BatchCheckLayerAvailability',
          'ecr:BatchGetImage',
          'ecr:Describe*',
          'ecr:Get*',
          'ecr:List*',
          'iam:Get*',
          'iam:List*',
          'ssm:Describe*',
          'ssm:Get*',
          'ssm:List*',
        ],
        Resource: '*',
      },
    ],
  },
};

/** The bootstrap admin's access key: `AKIA` + `TWIN` + the account id, 20 characters like AWS's. */
export const adminAccessKey = (account: string) => `AKIATWIN${account}`;
const adminSecret = (account: string) => `twin-admin-secret-${account}`;
/** The bootstrap admin's key of an account: fixed, so tools in another process can act as it (`npm run trace`). */
export const adminCredentials = (account: string): Credentials => ({
  accessKeyId: adminAccessKey(account),
  secretAccessKey: adminSecret(account),
});

export type Decision =
  { allowed: true } | { allowed: false; reason: 'identity' | 'resource' | 'identity-deny' | 'resource-deny' };

/**
 * IAM of every account in the twin: roles, managed policies, OIDC providers, the bootstrap admins
 * and STS sessions; and the evaluation of a request against them with @cloud-copilot/iam-simulate.
 */
export class Iam {
  private readonly state: {
    accounts: Record<string, AccountIam>;
    sessions: Record<string, SessionRecord>;
  };
  /** Decisions by request and policy revision: a policy change drops them all. */
  private readonly decisions = new Map<string, Promise<Decision>>();
  private revision = 0;

  constructor(
    store: StateStore,
    readonly accounts: readonly string[],
  ) {
    this.state = store.shared('iam', () => ({ accounts: {}, sessions: {} }));
  }

  /** The IAM of an account (created on first use: every 12-digit account exists, empty). */
  account(account: string): AccountIam {
    return (this.state.accounts[account] ??= { roles: {}, policies: {}, oidcProviders: {} });
  }

  /** Call after any change to a policy the evaluation reads (IAM or a resource policy). */
  changed() {
    this.revision++;
    this.decisions.clear();
  }

  adminCredentials(account: string): Credentials {
    if (!this.accounts.includes(account))
      throw new Error(
        `The twin has no account ${account}; start it with accounts: [...] including it (it has ${this.accounts.join(', ')})`,
      );
    return adminCredentials(account);
  }

  /** The identity an access key id stands for; undefined when the twin never issued it (or it expired). */
  identity(accessKeyId: string | undefined): Identity | undefined {
    if (!accessKeyId) return undefined;
    const admin = /^AKIATWIN(\d{12})$/.exec(accessKeyId);
    if (admin && this.accounts.includes(admin[1])) {
      return {
        kind: 'user',
        account: admin[1],
        arn: `arn:aws:iam::${admin[1]}:user/${ADMIN_USER}`,
        userId: `AIDATWIN${admin[1]}`,
      };
    }
    const session = this.state.sessions[accessKeyId];
    if (!session || session.expiration < Date.now()) return undefined;
    return {
      kind: 'role-session',
      account: session.account,
      arn: session.assumedRoleArn,
      userId: session.assumedRoleId,
      roleArn: session.roleArn,
      sessionPolicy: session.sessionPolicy,
    };
  }

  role(roleArn: string): RoleRecord | undefined {
    const m = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
    if (!m) return undefined;
    const role = this.account(m[1]).roles[m[2]];
    return role && role.arn === roleArn ? role : undefined;
  }

  /** Open an STS session for a role (trust already checked by the caller). */
  openSession(
    role: RoleRecord,
    sessionName: string,
    durationSeconds: number,
    sessionPolicy?: PolicyDocument,
  ) {
    const accessKeyId = `ASIA${randomId(16, UPPER)}`;
    const account = role.arn.split(':')[4];
    const session: SessionRecord = {
      roleArn: role.arn,
      assumedRoleArn: `arn:aws:sts::${account}:assumed-role/${role.name}/${sessionName}`,
      assumedRoleId: `${role.roleId}:${sessionName}`,
      account,
      expiration: Date.now() + durationSeconds * 1000,
      secretAccessKey: randomBytes(30).toString('base64'),
      ...(sessionPolicy && { sessionPolicy }),
    };
    this.state.sessions[accessKeyId] = session;
    return {
      session,
      credentials: {
        accessKeyId,
        secretAccessKey: session.secretAccessKey,
        sessionToken: randomBytes(96).toString('base64'),
      },
    };
  }

  /** The identity of a session of a role, for calls the twin makes on a service's behalf. */
  sessionIdentity(roleArn: string, sessionName: string): Identity {
    const role = this.role(roleArn)!;
    const account = roleArn.split(':')[4];
    return {
      kind: 'role-session',
      account,
      arn: `arn:aws:sts::${account}:assumed-role/${role.name}/${sessionName}`,
      userId: `${role.roleId}:${sessionName}`,
      roleArn,
    };
  }

  /**
   * The synchronous evaluation, for checks the twin makes inside a handler (a runtime's image pull).
   * No session policy: such identities are the twin's own sessions, which have none.
   */
  authorizeSync(
    identity: Identity,
    action: string,
    resource: string,
    resourceAccount: string,
    resourcePolicy?: PolicyDocument,
  ): Decision {
    const result = runUnsafeSimulation(
      {
        request: {
          principal: identity.arn,
          action,
          resource: { resource, accountId: resourceAccount },
          contextVariables: {
            'aws:PrincipalAccount': identity.account,
            'aws:PrincipalArn': identity.roleArn ?? identity.arn,
          },
        },
        identityPolicies: this.identityPolicies(identity),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        // Named: the unvalidated engine reads the resource policy's name and has none otherwise.
        resourcePolicy:
          resourcePolicy &&
          createValidatedPolicy(resourcePolicy, validateResourcePolicy, { name: 'resource-policy' }),
      },
      {},
    );
    return result === 'Allowed'
      ? { allowed: true }
      : { allowed: false, reason: resourceAccount === identity.account ? 'identity' : 'resource' };
  }

  /** A managed policy's document: AWS managed ones by ARN, customer managed from their account. */
  managedPolicy(arn: string): PolicyDocument | undefined {
    if (AWS_MANAGED[arn]) return AWS_MANAGED[arn];
    const account = arn.split(':')[4];
    return account ? this.account(account).policies[arn]?.document : undefined;
  }

  /** The identity-based policies of a principal: inline, then attached managed. */
  identityPolicies(identity: Identity): { name: string; policy: PolicyDocument }[] {
    if (identity.kind === 'user')
      return [{ name: 'AdministratorAccess', policy: AWS_MANAGED[ADMINISTRATOR_ACCESS] }];
    const role = this.role(identity.roleArn!);
    if (!role) return [];
    return [
      ...Object.entries(role.inline).map(([name, policy]) => ({ name, policy })),
      ...role.attached.flatMap((arn) => {
        const policy = this.managedPolicy(arn);
        return policy ? [{ name: arn, policy }] : [];
      }),
    ];
  }

  /** Evaluate one request (action on resource) for an identity, as AWS's policy evaluation logic does. */
  authorize(request: {
    identity: Identity;
    action: string;
    resource: string;
    resourceAccount: string;
    resourcePolicy?: PolicyDocument;
    context?: Record<string, string | string[]>;
  }): Promise<Decision> {
    const { identity, action, resource, resourceAccount, resourcePolicy } = request;
    const context: Record<string, string | string[]> = {
      'aws:PrincipalAccount': identity.account,
      'aws:PrincipalArn': identity.roleArn ?? identity.arn,
      'aws:PrincipalType': identity.kind === 'user' ? 'User' : 'AssumedRole',
      'aws:userid': identity.userId,
      ...request.context,
    };
    const key = JSON.stringify([
      this.revision,
      identity.arn,
      action,
      resource,
      resourceAccount,
      resourcePolicy,
      context,
    ]);
    let decision = this.decisions.get(key);
    if (!decision) {
      decision = runSimulation(
        {
          request: {
            principal: identity.arn,
            action,
            resource: { resource, accountId: resourceAccount },
            contextVariables: context,
          },
          identityPolicies: this.identityPolicies(identity),
          sessionPolicy: identity.sessionPolicy,
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          resourcePolicy,
        },
        {},
      ).then((result) => decide(result, action, resource));
      this.decisions.set(key, decision);
    }
    return decision;
  }
}

function decide(result: RunSimulationResults, action: string, resource: string): Decision {
  if (result.resultType === 'error')
    throw new Error(`the twin could not evaluate ${action} on ${resource}: ${result.errors.message}`);
  if (result.overallResult === 'Allowed') return { allowed: true };
  const analysis = result.resultType === 'single' ? result.result.analysis : result.results[0]?.analysis;
  if (analysis?.identityAnalysis?.result === 'ExplicitlyDenied')
    return { allowed: false, reason: 'identity-deny' };
  if (analysis?.resourceAnalysis?.result === 'ExplicitlyDenied')
    return { allowed: false, reason: 'resource-deny' };
  if (analysis && !analysis.sameAccount && analysis.identityAnalysis?.result === 'Allowed')
    return { allowed: false, reason: 'resource' };
  return { allowed: false, reason: 'identity' };
}

/** AWS's AccessDenied message for a denial. */
export function denialMessage(
  principal: string,
  action: string,
  resource: string,
  decision: Decision,
): string {
  const head = `User: ${principal} is not authorized to perform: ${action} on resource: ${resource}`;
  if (decision.allowed) return head;
  switch (decision.reason) {
    case 'identity-deny':
      return `${head} with an explicit deny in an identity-based policy`;
    case 'resource-deny':
      return `${head} with an explicit deny in a resource-based policy`;
    case 'resource':
      return `${head} because no resource-based policy allows the ${action} action`;
    default:
      return `${head} because no identity-based policy allows the ${action} action`;
  }
}
