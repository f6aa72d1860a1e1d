import { randomUUID } from 'node:crypto';
import { validateIdentityPolicy, validateTrustPolicy, type ValidationError } from '@cloud-copilot/iam-policy';
import { randomId } from '../core/ids';
import { AwsError, xmlEscape } from '../core/respond';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import type { TwinContext } from '../twin';
import { AWS_MANAGED, type PolicyDocument, type RoleRecord } from './iam';

const NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const NAME = /^[\w+=,.@-]{1,64}$/;

const noSuchEntity = (message: string) => new AwsError('NoSuchEntity', message, 404);
const exists = (message: string) => new AwsError('EntityAlreadyExists', message, 409);

/** IAM returns policy documents URL-encoded (RFC 3986) inside its XML. */
const encodeDocument = (doc: PolicyDocument) => encodeURIComponent(JSON.stringify(doc));

function parseDocument(text: string | null, validate: (p: unknown) => ValidationError[]): PolicyDocument {
  let doc: PolicyDocument;
  try {
    doc = JSON.parse(text ?? '') as PolicyDocument;
  } catch {
    throw new AwsError('MalformedPolicyDocument', 'This policy contains invalid Json');
  }
  const errors = validate(doc);
  if (errors.length)
    throw new AwsError('MalformedPolicyDocument', errors.map((e) => `${e.path}: ${e.message}`).join('; '));
  return doc;
}

const member = (tag: string, items: string[]) =>
  `<${tag}>${items.map((i) => `<member>${i}</member>`).join('')}</${tag}>`;
/** `Name.member.1`, `Name.member.2`... of an awsQuery list parameter. */
const listParam = (p: URLSearchParams, name: string) => {
  const out: string[] = [];
  for (let i = 1; p.has(`${name}.member.${i}`); i++) out.push(p.get(`${name}.member.${i}`)!);
  return out;
};

/**
 * IAM (awsQuery, SigV4 service `iam`): the roles, policies and OIDC providers provisioning needs,
 * in the account of the caller. Evaluation of these policies is in iam.ts.
 */
export function registerIam(router: Router, ctx: TwinContext) {
  const iam = ctx.iam;
  const here = () => iam.account(ctx.accountId);
  const form = (req: TwinRequest) => new URLSearchParams(req.body.toString('utf8'));

  const reply = (res: TwinResponse, action: string, result = '') => {
    const text =
      `<${action}Response xmlns="${NS}">` +
      (result ? `<${action}Result>${result}</${action}Result>` : '') +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
    res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const op = (
    action: string,
    fn: (p: URLSearchParams) => string | void,
    mutates = !/^(Get|List)/.test(action),
  ) =>
    router.action(action, (req, res) => {
      const result = fn(form(req)) ?? '';
      if (mutates) iam.changed();
      reply(res, action, result);
    });

  const role = (name: string | null): RoleRecord => {
    const r = here().roles[name ?? ''];
    if (!r) throw noSuchEntity(`The role with name ${name} cannot be found.`);
    return r;
  };
  const roleXml = (r: RoleRecord) =>
    `<Path>${xmlEscape(r.path)}</Path><RoleName>${xmlEscape(r.name)}</RoleName><RoleId>${r.roleId}</RoleId>` +
    `<Arn>${xmlEscape(r.arn)}</Arn><CreateDate>${r.createDate}</CreateDate>` +
    `<AssumeRolePolicyDocument>${encodeDocument(r.trust)}</AssumeRolePolicyDocument>` +
    (r.description ? `<Description>${xmlEscape(r.description)}</Description>` : '') +
    `<MaxSessionDuration>${r.maxSessionDuration}</MaxSessionDuration>`;

  op('CreateRole', (p) => {
    const name = p.get('RoleName') ?? '';
    if (!NAME.test(name))
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value '${name}' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`,
      );
    if (here().roles[name]) throw exists(`Role with name ${name} already exists.`);
    const path = p.get('Path') ?? '/';
    const r: RoleRecord = {
      name,
      path,
      arn: `arn:aws:iam::${ctx.accountId}:role${path}${name}`,
      roleId: `AROA${randomId(17, UPPER)}`,
      trust: parseDocument(p.get('AssumeRolePolicyDocument'), validateTrustPolicy),
      ...(p.get('Description') && { description: p.get('Description')! }),
      maxSessionDuration: Number(p.get('MaxSessionDuration') ?? 3600),
      inline: {},
      attached: [],
      createDate: new Date().toISOString(),
    };
    here().roles[name] = r;
    return `<Role>${roleXml(r)}</Role>`;
  });
  op('GetRole', (p) => `<Role>${roleXml(role(p.get('RoleName')))}</Role>`);
  op('ListRoles', () => {
    const roles = Object.values(here().roles).map((r) => roleXml(r));
    return `${member('Roles', roles)}<IsTruncated>false</IsTruncated>`;
  });
  op('DeleteRole', (p) => {
    const r = role(p.get('RoleName'));
    if (Object.keys(r.inline).length || r.attached.length)
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409);
    delete here().roles[r.name];
  });
  op('UpdateAssumeRolePolicy', (p) => {
    role(p.get('RoleName')).trust = parseDocument(p.get('PolicyDocument'), validateTrustPolicy);
  });

  op('PutRolePolicy', (p) => {
    const name = p.get('PolicyName') ?? '';
    // PutRolePolicy's PolicyName is 1-128 characters (role names are 1-64).
    if (!/^[\w+=,.@-]{1,128}$/.test(name))
      throw new AwsError('ValidationError', `Invalid policy name '${name}'`);
    role(p.get('RoleName')).inline[name] = parseDocument(p.get('PolicyDocument'), validateIdentityPolicy);
  });
  const inline = (p: URLSearchParams) => {
    const r = role(p.get('RoleName'));
    const name = p.get('PolicyName') ?? '';
    const doc = r.inline[name];
    if (!doc) throw noSuchEntity(`The role policy with name ${name} cannot be found.`);
    return { r, name, doc };
  };
  op('GetRolePolicy', (p) => {
    const { r, name, doc } = inline(p);
    return `<RoleName>${xmlEscape(r.name)}</RoleName><PolicyName>${xmlEscape(name)}</PolicyName><PolicyDocument>${encodeDocument(doc)}</PolicyDocument>`;
  });
  op('DeleteRolePolicy', (p) => {
    const { r, name } = inline(p);
    delete r.inline[name];
  });
  op(
    'ListRolePolicies',
    (p) =>
      `${member('PolicyNames', Object.keys(role(p.get('RoleName')).inline).map(xmlEscape))}<IsTruncated>false</IsTruncated>`,
  );

  const policyName = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
  op('AttachRolePolicy', (p) => {
    const r = role(p.get('RoleName'));
    const arn = p.get('PolicyArn') ?? '';
    if (!iam.managedPolicy(arn)) throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
    if (!r.attached.includes(arn)) r.attached.push(arn);
  });
  op('DetachRolePolicy', (p) => {
    const r = role(p.get('RoleName'));
    const arn = p.get('PolicyArn') ?? '';
    if (!r.attached.includes(arn)) throw noSuchEntity(`Policy ${arn} was not found.`);
    r.attached = r.attached.filter((a) => a !== arn);
  });
  op('ListAttachedRolePolicies', (p) => {
    const items = role(p.get('RoleName')).attached.map(
      (arn) =>
        `<PolicyName>${xmlEscape(policyName(arn))}</PolicyName><PolicyArn>${xmlEscape(arn)}</PolicyArn>`,
    );
    return `${member('AttachedPolicies', items)}<IsTruncated>false</IsTruncated>`;
  });

  /** Customer managed policies of this account, and AWS managed ones (read-only). */
  const policy = (arn: string | null) => {
    const own = here().policies[arn ?? ''];
    if (own) return own;
    const aws = AWS_MANAGED[arn ?? ''];
    if (aws)
      return {
        name: policyName(arn!),
        path: '/',
        arn: arn!,
        policyId: `ANPA${Buffer.from(arn!).toString('hex').slice(-17).toUpperCase()}`,
        document: aws,
        createDate: '2015-02-06T18:39:46Z',
      };
    throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
  };
  const attachments = (arn: string) =>
    Object.values(here().roles).filter((r) => r.attached.includes(arn)).length;
  const policyXml = (pol: ReturnType<typeof policy>) =>
    `<PolicyName>${xmlEscape(pol.name)}</PolicyName><PolicyId>${pol.policyId}</PolicyId><Arn>${xmlEscape(pol.arn)}</Arn>` +
    `<Path>${xmlEscape(pol.path)}</Path><DefaultVersionId>v1</DefaultVersionId><AttachmentCount>${attachments(pol.arn)}</AttachmentCount>` +
    `<PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount><IsAttachable>true</IsAttachable>` +
    `<CreateDate>${pol.createDate}</CreateDate><UpdateDate>${pol.createDate}</UpdateDate>`;

  op('CreatePolicy', (p) => {
    const name = p.get('PolicyName') ?? '';
    const path = p.get('Path') ?? '/';
    const arn = `arn:aws:iam::${ctx.accountId}:policy${path}${name}`;
    if (!/^[\w+=,.@-]{1,128}$/.test(name))
      throw new AwsError('ValidationError', `Invalid policy name '${name}'`);
    if (here().policies[arn])
      throw exists(`A policy called ${name} already exists. Duplicate names are not allowed.`);
    here().policies[arn] = {
      name,
      path,
      arn,
      policyId: `ANPA${randomId(17, UPPER)}`,
      ...(p.get('Description') && { description: p.get('Description')! }),
      document: parseDocument(p.get('PolicyDocument'), validateIdentityPolicy),
      createDate: new Date().toISOString(),
    };
    return `<Policy>${policyXml(policy(arn))}</Policy>`;
  });
  op('GetPolicy', (p) => `<Policy>${policyXml(policy(p.get('PolicyArn')))}</Policy>`);
  op('GetPolicyVersion', (p) => {
    const pol = policy(p.get('PolicyArn'));
    const version = p.get('VersionId');
    if (version !== 'v1') throw noSuchEntity(`Policy ${pol.arn} version ${version} does not exist.`);
    return `<PolicyVersion><Document>${encodeDocument(pol.document)}</Document><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>${pol.createDate}</CreateDate></PolicyVersion>`;
  });
  op('DeletePolicy', (p) => {
    const arn = p.get('PolicyArn') ?? '';
    if (!here().policies[arn]) throw noSuchEntity(`Policy ${arn} was not found.`);
    if (attachments(arn))
      throw new AwsError('DeleteConflict', 'Cannot delete a policy attached to entities.', 409);
    delete here().policies[arn];
  });

  const provider = (arn: string | null) => {
    const found = here().oidcProviders[arn ?? ''];
    if (!found) throw noSuchEntity(`OpenIDConnect Provider not found for arn ${arn}`);
    return found;
  };
  op('CreateOpenIDConnectProvider', (p) => {
    const url = (p.get('Url') ?? '').replace(/^https:\/\//, '');
    if (!url) throw new AwsError('ValidationError', 'Url must be an https:// URL');
    const arn = `arn:aws:iam::${ctx.accountId}:oidc-provider/${url}`;
    if (here().oidcProviders[arn]) throw exists(`Provider with url https://${url} already exists.`);
    here().oidcProviders[arn] = {
      arn,
      url,
      clientIds: listParam(p, 'ClientIDList'),
      thumbprints: listParam(p, 'ThumbprintList'),
      createDate: new Date().toISOString(),
    };
    return `<OpenIDConnectProviderArn>${xmlEscape(arn)}</OpenIDConnectProviderArn>`;
  });
  op('GetOpenIDConnectProvider', (p) => {
    const o = provider(p.get('OpenIDConnectProviderArn'));
    return (
      `<Url>${xmlEscape(o.url)}</Url>${member('ClientIDList', o.clientIds.map(xmlEscape))}` +
      `${member('ThumbprintList', o.thumbprints.map(xmlEscape))}<CreateDate>${o.createDate}</CreateDate>`
    );
  });
  op('DeleteOpenIDConnectProvider', (p) => {
    delete here().oidcProviders[provider(p.get('OpenIDConnectProviderArn')).arn];
  });
}
