/**
 * Reads the synthesized templates the way AWS would see them once deployed: intrinsic functions
 * resolved to concrete names and ARNs (generated ids become `<logicalId>`), and every IAM role with
 * its trust policy and the identity policies attached to it from any stack.
 */
export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}
export interface DeployedTemplate {
  template: CfnTemplate;
  account: string;
  region: string;
  stackName?: string;
}

export type PolicyDocument = { Version?: string; Statement: Record<string, unknown>[] };

export interface DeployedRole {
  name: string;
  arn: string;
  account: string;
  trust: PolicyDocument;
  policies: { name: string; policy: PolicyDocument }[];
}

/** Physical id of a generated resource: its logical id (what a test needs is a stable, distinct value). */
function physicalRef(t: DeployedTemplate, id: string): string {
  const r = t.template.Resources[id];
  if (!r) throw new Error(`Ref to unknown resource ${id}`);
  const p = r.Properties ?? {};
  switch (r.Type) {
    case 'AWS::IAM::Role':
      return String(p.RoleName ?? id);
    case 'AWS::IAM::OIDCProvider':
      return `arn:aws:iam::${t.account}:oidc-provider/${String(p.Url).replace('https://', '')}`;
    case 'AWS::ECR::Repository':
      return String(p.RepositoryName ?? id);
    case 'AWS::Cognito::UserPool':
      return `${t.region}_${id}`;
    case 'AWS::SSM::Parameter':
      return String(p.Name ?? id);
    default:
      return id;
  }
}

function attribute(t: DeployedTemplate, id: string, attr: string): string {
  const r = t.template.Resources[id];
  if (!r) throw new Error(`GetAtt of unknown resource ${id}`);
  const ref = physicalRef(t, id);
  const at = `${t.region}:${t.account}`;
  if (attr === 'Arn' || attr.endsWith('Arn')) {
    switch (r.Type) {
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${t.account}:role/${ref}`;
      case 'AWS::ECR::Repository':
        return `arn:aws:ecr:${at}:repository/${ref}`;
      case 'AWS::Cognito::UserPool':
        return `arn:aws:cognito-idp:${at}:userpool/${ref}`;
      default:
        return `arn:aws:${r.Type.split('::')[1].toLowerCase()}:${at}:${id}`;
    }
  }
  return `${id}.${attr}`;
}

/** Resolve Ref, Fn::GetAtt, Fn::Join, Fn::Sub and pseudo parameters in `value`. */
export function resolve(t: DeployedTemplate, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(t, v));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const [k] = keys;
    const v = o[k];
    if (k === 'Ref') {
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::AccountId': t.account,
        'AWS::Region': t.region,
        'AWS::URLSuffix': 'amazonaws.com',
      };
      return pseudo[v as string] ?? physicalRef(t, v as string);
    }
    if (k === 'Fn::GetAtt') {
      const [id, attr] = Array.isArray(v) ? (v as string[]) : String(v).split('.');
      return attribute(t, id, attr);
    }
    if (k === 'Fn::Join') {
      const [sep, parts] = v as [string, unknown[]];
      return (resolve(t, parts) as unknown[]).map(String).join(sep);
    }
    if (k === 'Fn::Sub') {
      const [text, vars = {}] = Array.isArray(v) ? (v as [string, Record<string, unknown>]) : [v as string];
      return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
        if (name in vars) return String(resolve(t, vars[name]));
        const [id, attr] = name.split('.');
        return attr ? attribute(t, id, attr) : String(resolve(t, { Ref: id }));
      });
    }
  }
  return Object.fromEntries(keys.map((k) => [k, resolve(t, o[k])]));
}

/** Every IAM role the templates create, with the policies any template attaches to it (by name). */
export function deployedRoles(templates: DeployedTemplate[]): DeployedRole[] {
  const roles = new Map<string, DeployedRole>();
  for (const t of templates) {
    for (const [id, r] of Object.entries(t.template.Resources)) {
      if (r.Type !== 'AWS::IAM::Role') continue;
      const p = resolve(t, r.Properties) as Record<string, unknown>;
      if (p.ManagedPolicyArns) throw new Error(`${id}: managed policies are not modelled here`);
      const name = String(p.RoleName ?? id);
      const arn = `arn:aws:iam::${t.account}:role/${name}`;
      const inline = ((p.Policies as { PolicyName: string; PolicyDocument: PolicyDocument }[]) ?? []).map(
        (x) => ({ name: x.PolicyName, policy: x.PolicyDocument }),
      );
      roles.set(arn, {
        name,
        arn,
        account: t.account,
        trust: p.AssumeRolePolicyDocument as PolicyDocument,
        policies: inline,
      });
    }
  }
  for (const t of templates) {
    for (const [id, r] of Object.entries(t.template.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy') continue;
      const p = resolve(t, r.Properties) as { Roles: string[]; PolicyDocument: PolicyDocument };
      for (const roleName of p.Roles) {
        const role = roles.get(`arn:aws:iam::${t.account}:role/${roleName}`);
        if (!role) throw new Error(`${id} attaches to ${roleName}, which no template creates`);
        role.policies.push({ name: id, policy: p.PolicyDocument });
      }
    }
  }
  return [...roles.values()];
}

/** The resource policy of the ECR repository named `name`, resolved. */
export function repositoryPolicy(templates: DeployedTemplate[], name: string): PolicyDocument | undefined {
  for (const t of templates)
    for (const r of Object.values(t.template.Resources))
      if (r.Type === 'AWS::ECR::Repository' && r.Properties?.RepositoryName === name)
        return resolve(t, r.Properties.RepositoryPolicyText) as PolicyDocument | undefined;
  return undefined;
}
