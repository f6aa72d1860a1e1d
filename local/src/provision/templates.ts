import { CloudAssembly, CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';
import {
  CreateRepositoryCommand,
  ECRClient,
  RepositoryAlreadyExistsException,
  SetRepositoryPolicyCommand,
  type ImageTagMutability,
} from '@aws-sdk/client-ecr';
import {
  AttachRolePolicyCommand,
  CreateOpenIDConnectProviderCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  EntityAlreadyExistsException,
  IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';

/** One synthesized stack: where it deploys and its CloudFormation template. */
export interface SynthesizedStack {
  name: string;
  account: string;
  region: string;
  template: { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
}

/**
 * Every stack's template in a cloud assembly of the CDK app (`cdk synth`; tests share one per run:
 * infra/test/assembly.ts), in dependency order, as CloudFormation deployments through the toolkit run.
 */
export function assemblyStacks(assembly: string): SynthesizedStack[] {
  return inDependencyOrder(new CloudAssembly(assembly).stacks);
}

function inDependencyOrder(stacks: CloudFormationStackArtifact[]): SynthesizedStack[] {
  const ordered: CloudFormationStackArtifact[] = [];
  const visit = (s: CloudFormationStackArtifact) => {
    if (ordered.includes(s)) return;
    for (const d of s.dependencies) if (d instanceof CloudFormationStackArtifact) visit(d);
    ordered.push(s);
  };
  stacks.forEach(visit);
  return ordered.map((s) => ({
    name: s.stackName,
    account: s.environment.account,
    region: s.environment.region,
    template: s.template as SynthesizedStack['template'],
  }));
}

/** The twin as the provisioner needs it: its URL, region and each account's admin credentials. */
export interface ProvisionTarget {
  url: string;
  context: { region: string };
  credentials(account: string): { accessKeyId: string; secretAccessKey: string };
}

export interface ProvisionOptions {
  /**
   * Values of `Fn::GetAtt` on resources the provisioner does not create (a guardrail's ARN...), from
   * whoever created them; a statement that needs one it cannot get is skipped and reported.
   */
  attribute?: (
    stack: SynthesizedStack,
    logicalId: string,
    attribute: string,
    resource: { Type: string; Properties?: Record<string, unknown> } | undefined,
  ) => string | undefined;
}

export interface ProvisionReport {
  /** `stack/LogicalId Type name-or-arn` per resource created or updated. */
  created: string[];
  /** Resources of types it does not provision, and policy statements it could not resolve. */
  skipped: string[];
}

/** The resource types it provisions, in dependency order (a role needs its provider, a policy its role). */
const ORDER = [
  'AWS::IAM::OIDCProvider',
  'AWS::ECR::Repository',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
];

class Unresolvable extends Error {}

/**
 * Create, in each stack's account and through the twin's own IAM and ECR APIs (real SDK clients
 * signed as that account's admin), the identities and registries the synthesized templates declare:
 * the GitHub OIDC provider, roles with trust, inline and managed policies, managed policies, ECR
 * repositories with their repository policies. Generic over these types; nothing is named per role.
 * Stands in for CloudFormation until the infra GitOps issue deploys the templates with the CDK toolkit.
 */
export async function provisionFromTemplates(
  twin: ProvisionTarget,
  stacks: SynthesizedStack[],
  options: ProvisionOptions = {},
): Promise<ProvisionReport> {
  const report: ProvisionReport = { created: [], skipped: [] };
  for (const stack of stacks) {
    const config = {
      endpoint: twin.url,
      region: stack.region,
      credentials: twin.credentials(stack.account),
      maxAttempts: 1,
    };
    const iam = new IAMClient(config);
    const ecr = new ECRClient(config);
    const resources = Object.entries(stack.template.Resources ?? {});
    /** `Ref` and `Fn::GetAtt` values of the resources created so far. */
    const refs = new Map<string, string>();
    const attrs = new Map<string, string>();

    const resolve = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(resolve);
      if (!value || typeof value !== 'object') return value;
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 1) {
        const [fn, arg] = entries[0];
        if (fn === 'Ref') return ref(String(arg));
        if (fn === 'Fn::GetAtt') {
          const [id, attr] = Array.isArray(arg) ? arg : String(arg).split('.');
          return getAtt(String(id), String(attr));
        }
        if (fn === 'Fn::Join') {
          const [sep, parts] = arg as [string, unknown[]];
          return (resolve(parts) as unknown[]).map(String).join(sep);
        }
        if (fn === 'Fn::Sub') {
          const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
          return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) =>
            name in vars
              ? String(resolve(vars[name]))
              : name.includes('.')
                ? getAtt(name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1))
                : ref(name),
          );
        }
        if (fn === 'Fn::Select') {
          const [index, list] = arg as [number, unknown];
          return (resolve(list) as unknown[])[Number(index)];
        }
        if (fn === 'Fn::Split') {
          const [sep, text] = arg as [string, unknown];
          return String(resolve(text)).split(sep);
        }
        if (fn.startsWith('Fn::')) throw new Unresolvable(`${fn} is not resolved by the provisioner`);
      }
      return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
    };
    const ref = (name: string): string => {
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::AccountId': stack.account,
        'AWS::Region': stack.region,
        'AWS::URLSuffix': 'amazonaws.com',
        'AWS::StackName': stack.name,
      };
      const value = pseudo[name] ?? refs.get(name);
      if (value === undefined) throw new Unresolvable(`Ref ${name} (not created by the provisioner)`);
      return value;
    };
    const getAtt = (id: string, attr: string): string => {
      const value =
        attrs.get(`${id}.${attr}`) ?? options.attribute?.(stack, id, attr, stack.template.Resources?.[id]);
      if (value === undefined)
        throw new Unresolvable(`Fn::GetAtt ${id}.${attr} (not created by the provisioner)`);
      return value;
    };
    /** A policy document with the statements it can resolve; the others are reported. */
    const document = (id: string, doc: unknown): object => {
      const d = doc as { Version?: string; Statement?: unknown[] };
      const statements = (d.Statement ?? []).flatMap((s, i) => {
        try {
          return [resolve(s)];
        } catch (e) {
          if (!(e instanceof Unresolvable)) throw e;
          const sid = (s as { Sid?: string }).Sid ?? `#${i}`;
          report.skipped.push(`${stack.name}/${id} statement ${sid}: ${e.message}`);
          return [];
        }
      });
      return { Version: d.Version ?? '2012-10-17', Statement: statements };
    };
    const created = (id: string, type: string, what: string) =>
      report.created.push(`${stack.name}/${id} ${type} ${what}`);
    const ignoreExisting = async (fn: () => Promise<unknown>, existing: new (...a: never[]) => Error) => {
      try {
        await fn();
        return true;
      } catch (e) {
        if (e instanceof existing) return false;
        throw e;
      }
    };

    for (const [id, r] of resources)
      if (!ORDER.includes(r.Type)) report.skipped.push(`${stack.name}/${id} ${r.Type}: type not provisioned`);

    const repositoryPolicies: (() => Promise<unknown>)[] = [];
    for (const type of ORDER) {
      for (const [id, r] of resources.filter(([, res]) => res.Type === type)) {
        const p = r.Properties ?? {};
        if (type === 'AWS::IAM::OIDCProvider') {
          const url = String(resolve(p.Url));
          const arn = `arn:aws:iam::${stack.account}:oidc-provider/${url.replace(/^https:\/\//, '')}`;
          await ignoreExisting(
            () =>
              iam.send(
                new CreateOpenIDConnectProviderCommand({
                  Url: url,
                  ClientIDList: resolve(p.ClientIdList ?? []) as string[],
                  ThumbprintList: resolve(p.ThumbprintList ?? []) as string[],
                }),
              ),
            EntityAlreadyExistsException,
          );
          refs.set(id, arn);
          attrs.set(`${id}.Arn`, arn);
          created(id, type, arn);
        } else if (type === 'AWS::IAM::ManagedPolicy') {
          const name = String(resolve(p.ManagedPolicyName ?? `${stack.name}-${id}`));
          const arn = `arn:aws:iam::${stack.account}:policy${String(resolve(p.Path ?? '/'))}${name}`;
          await ignoreExisting(
            () =>
              iam.send(
                new CreatePolicyCommand({
                  PolicyName: name,
                  Path: String(resolve(p.Path ?? '/')),
                  PolicyDocument: JSON.stringify(document(id, p.PolicyDocument)),
                }),
              ),
            EntityAlreadyExistsException,
          );
          refs.set(id, arn);
          attrs.set(`${id}.PolicyArn`, arn);
          created(id, type, arn);
          for (const roleName of resolve(p.Roles ?? []) as string[])
            await iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn }));
        } else if (type === 'AWS::IAM::Role') {
          // CloudFormation names an unnamed role `<stack>-<logicalId>-<suffix>`; the twin drops the suffix.
          const name = String(resolve(p.RoleName ?? `${stack.name}-${id}`.slice(0, 64)));
          const rolePath = String(resolve(p.Path ?? '/'));
          const trust = JSON.stringify(document(id, p.AssumeRolePolicyDocument));
          const fresh = await ignoreExisting(
            () =>
              iam.send(
                new CreateRoleCommand({
                  RoleName: name,
                  Path: rolePath,
                  AssumeRolePolicyDocument: trust,
                  ...(p.Description !== undefined && { Description: String(resolve(p.Description)) }),
                  ...(p.MaxSessionDuration !== undefined && {
                    MaxSessionDuration: Number(p.MaxSessionDuration),
                  }),
                }),
              ),
            EntityAlreadyExistsException,
          );
          if (!fresh)
            await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: trust }));
          for (const inline of (p.Policies ?? []) as { PolicyName: unknown; PolicyDocument: unknown }[])
            await iam.send(
              new PutRolePolicyCommand({
                RoleName: name,
                PolicyName: String(resolve(inline.PolicyName)),
                PolicyDocument: JSON.stringify(document(id, inline.PolicyDocument)),
              }),
            );
          for (const arn of resolve(p.ManagedPolicyArns ?? []) as string[])
            await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: arn }));
          const arn = `arn:aws:iam::${stack.account}:role${rolePath}${name}`;
          refs.set(id, name);
          attrs.set(`${id}.Arn`, arn);
          created(id, type, arn);
        } else if (type === 'AWS::IAM::Policy') {
          const name = String(resolve(p.PolicyName));
          const doc = JSON.stringify(document(id, p.PolicyDocument));
          for (const roleName of resolve(p.Roles ?? []) as string[]) {
            await iam.send(
              new PutRolePolicyCommand({ RoleName: roleName, PolicyName: name, PolicyDocument: doc }),
            );
            created(id, type, `${roleName}/${name}`);
          }
        } else if (type === 'AWS::ECR::Repository') {
          const name = String(resolve(p.RepositoryName ?? `${stack.name}-${id}`.toLowerCase()));
          const filters = (p.ImageTagMutabilityExclusionFilters ?? []) as {
            ImageTagMutabilityExclusionFilterType: string;
            ImageTagMutabilityExclusionFilterValue: string;
          }[];
          await ignoreExisting(
            () =>
              ecr.send(
                new CreateRepositoryCommand({
                  repositoryName: name,
                  imageTagMutability: (p.ImageTagMutability as ImageTagMutability | undefined) ?? 'MUTABLE',
                  ...(filters.length && {
                    imageTagMutabilityExclusionFilters: filters.map((f) => ({
                      filterType: f.ImageTagMutabilityExclusionFilterType as 'WILDCARD',
                      filter: f.ImageTagMutabilityExclusionFilterValue,
                    })),
                  }),
                }),
              ),
            RepositoryAlreadyExistsException,
          );
          // The policy may name roles of this stack: set it once they exist.
          if (p.RepositoryPolicyText)
            repositoryPolicies.push(() =>
              ecr.send(
                new SetRepositoryPolicyCommand({
                  repositoryName: name,
                  policyText: JSON.stringify(document(id, p.RepositoryPolicyText)),
                }),
              ),
            );
          const arn = `arn:aws:ecr:${stack.region}:${stack.account}:repository/${name}`;
          refs.set(id, name);
          attrs.set(`${id}.Arn`, arn);
          attrs.set(`${id}.RepositoryUri`, `${stack.account}.dkr.ecr.${stack.region}.amazonaws.com/${name}`);
          created(id, type, arn);
        }
      }
    }
    for (const set of repositoryPolicies) await set();
  }
  return report;
}
