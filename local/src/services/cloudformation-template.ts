import YAML from 'yaml';

/**
 * CloudFormation template processing: parameters, conditions, rules, intrinsic functions, outputs and
 * the order resources are created in. Pure functions over plain JSON; the provisioning engine supplies
 * what they cannot know (resource ids and attributes, exports, SSM parameter values).
 *
 * Reference: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html
 */

export interface Template {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Metadata?: Record<string, unknown>;
  Parameters?: Record<string, TemplateParameter>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Rules?: Record<
    string,
    { RuleCondition?: unknown; Assertions: { Assert: unknown; AssertDescription?: string }[] }
  >;
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<
    string,
    { Value: unknown; Description?: string; Condition?: string; Export?: { Name: unknown } }
  >;
  Transform?: unknown;
}

export interface TemplateParameter {
  Type: string;
  Default?: string | number;
  Description?: string;
  NoEcho?: boolean | string;
  AllowedValues?: string[];
  AllowedPattern?: string;
  MinLength?: number;
  MaxLength?: number;
}

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
  DeletionPolicy?: 'Delete' | 'Retain' | 'RetainExceptOnCreate' | 'Snapshot';
  UpdateReplacePolicy?: 'Delete' | 'Retain' | 'Snapshot';
  Metadata?: unknown;
}

/** A template error: CloudFormation answers these with a ValidationError naming the problem. */
export class TemplateError extends Error {}

/** What intrinsic functions resolve against. */
export interface Scope {
  /** Parameter values (lists for CommaDelimitedList / List<...>) and pseudo parameters. */
  refs: Record<string, unknown>;
  conditions: Record<string, boolean>;
  mappings?: Template['Mappings'];
  /** Ref of a resource: its physical id. */
  resourceRef(logicalId: string): unknown;
  /** Fn::GetAtt of a resource. */
  getAtt(logicalId: string, attribute: string): unknown;
  importValue(name: string): unknown;
}

/** Marks a property removed by `Fn::If` → `AWS::NoValue`. */
const NO_VALUE = Symbol('AWS::NoValue');

export const PSEUDO_PARAMETERS = [
  'AWS::AccountId',
  'AWS::Region',
  'AWS::Partition',
  'AWS::URLSuffix',
  'AWS::StackName',
  'AWS::StackId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
];

export function parseTemplate(body: string): Template {
  let t: Template;
  try {
    t = JSON.parse(body) as Template;
  } catch {
    // The CDK toolkit and this project send JSON; the bootstrap template is YAML with long-form intrinsics.
    t = parseYamlTemplate(body);
  }
  if (!t || typeof t !== 'object' || !t.Resources || typeof t.Resources !== 'object')
    throw new TemplateError('Template format error: At least one Resources member must be defined.');
  if (t.Transform)
    throw new TemplateError('Template format error: transforms are not supported by the local twin');
  return t;
}

function parseYamlTemplate(body: string): Template {
  try {
    return YAML.parse(body) as Template;
  } catch (e) {
    throw new TemplateError(`Template format error: ${(e as Error).message}`);
  }
}

/** Parameter values for a stack: given, previous (UsePreviousValue) or default; SSM types looked up. */
export function resolveParameters(
  template: Template,
  given: { ParameterKey: string; ParameterValue?: string; UsePreviousValue?: boolean }[],
  previous: Record<string, string>,
  ssmValue: (name: string) => string | undefined,
): { values: Record<string, string>; resolved: Record<string, string> } {
  const declared = template.Parameters ?? {};
  for (const p of given)
    if (!(p.ParameterKey in declared))
      throw new TemplateError(`Parameters: [${p.ParameterKey}] do not exist in the template`);
  const values: Record<string, string> = {};
  const resolved: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, decl] of Object.entries(declared)) {
    const g = given.find((p) => p.ParameterKey === key);
    const value = g?.UsePreviousValue ? previous[key] : (g?.ParameterValue ?? previous[key] ?? decl.Default);
    if (value === undefined) {
      missing.push(key);
      continue;
    }
    values[key] = String(value);
    if (decl.AllowedValues && !decl.AllowedValues.map(String).includes(values[key]))
      throw new TemplateError(
        `Parameter '${key}' must be one of AllowedValues (${decl.AllowedValues.join(', ')}), got '${values[key]}'`,
      );
    if (decl.AllowedPattern && !new RegExp(`^(?:${decl.AllowedPattern})$`).test(values[key]))
      throw new TemplateError(`Parameter '${key}' must match pattern ${decl.AllowedPattern}`);
    const ssm = /^AWS::SSM::Parameter::Value<(.+)>$/.exec(decl.Type);
    if (ssm) {
      const v = ssmValue(values[key]);
      if (v === undefined)
        throw new TemplateError(
          `Unable to fetch parameters [${values[key]}] from parameter store for this account.`,
        );
      resolved[key] = v;
    }
  }
  if (missing.length) throw new TemplateError(`Parameters: [${missing.join(', ')}] must have values`);
  return { values, resolved };
}

/** The value a `Ref` to a parameter yields: its SSM value for SSM types, a list for list types. */
export function parameterRefs(
  template: Template,
  values: Record<string, string>,
  resolved: Record<string, string>,
): Record<string, unknown> {
  const refs: Record<string, unknown> = {};
  for (const [key, decl] of Object.entries(template.Parameters ?? {})) {
    const v = resolved[key] ?? values[key];
    refs[key] = /^(CommaDelimitedList|List<.+>)$/.test(decl.Type) ? v.split(',') : v;
  }
  return refs;
}

export function evaluateConditions(
  template: Template,
  scope: Omit<Scope, 'conditions'>,
): Record<string, boolean> {
  const conditions: Record<string, boolean> = {};
  const defs = template.Conditions ?? {};
  const visiting = new Set<string>();
  const evalCondition = (name: string): boolean => {
    if (name in conditions) return conditions[name];
    if (!(name in defs)) throw new TemplateError(`Template format error: Unresolved condition: ${name}`);
    if (visiting.has(name)) throw new TemplateError(`Template format error: circular condition ${name}`);
    visiting.add(name);
    conditions[name] = Boolean(resolve(defs[name], { ...scope, conditions: lazyConditions }));
    return conditions[name];
  };
  const lazyConditions = new Proxy({} as Record<string, boolean>, {
    get: (_, name: string) => evalCondition(name),
    has: (_, name: string) => name in defs,
  });
  for (const name of Object.keys(defs)) evalCondition(name);
  return conditions;
}

/** Rules' assertions (the CDK's CheckBootstrapVersion); throws the first failing AssertDescription. */
export function checkRules(template: Template, scope: Scope) {
  for (const [name, rule] of Object.entries(template.Rules ?? {})) {
    if (rule.RuleCondition !== undefined && !resolve(rule.RuleCondition, scope)) continue;
    for (const a of rule.Assertions ?? []) {
      if (!resolve(a.Assert, scope))
        throw new TemplateError(a.AssertDescription ?? `Template rule ${name} failed`);
    }
  }
}

/** Resolve every intrinsic function in `value`. */
export function resolve(value: unknown, scope: Scope): unknown {
  const out = resolveInner(value, scope);
  return out === NO_VALUE ? undefined : out;
}

function resolveInner(value: unknown, scope: Scope): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveInner(v, scope)).filter((v) => v !== NO_VALUE);
  if (!value || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::') || keys[0] === 'Condition')) {
    const fn = keys[0];
    const arg = (value as Record<string, unknown>)[fn];
    // `{"Condition": "Name"}` is a condition reference only inside condition functions; a resource
    // property named Condition is not. Both shapes are rare; treat string-valued ones as references.
    if (fn === 'Condition' && typeof arg === 'string') return scope.conditions[arg];
    if (fn !== 'Condition') return intrinsic(fn, arg, scope);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const r = resolveInner(v, scope);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

function intrinsic(fn: string, arg: unknown, scope: Scope): unknown {
  const r = (v: unknown) => resolveInner(v, scope);
  const list = (v: unknown, n?: number): unknown[] => {
    if (!Array.isArray(v) || (n !== undefined && v.length !== n))
      throw new TemplateError(
        `Template error: ${fn} takes a list${n ? ` of ${n}` : ''}, got ${JSON.stringify(v)}`,
      );
    return v;
  };
  switch (fn) {
    case 'Ref': {
      const name = String(arg);
      if (name === 'AWS::NoValue') return NO_VALUE;
      if (name in scope.refs) return scope.refs[name];
      return scope.resourceRef(name);
    }
    case 'Fn::GetAtt': {
      const [id, ...attr] = typeof arg === 'string' ? arg.split('.') : list(arg, 2).map((a) => String(r(a)));
      return scope.getAtt(id, attr.join('.'));
    }
    case 'Fn::Join': {
      const [sep, items] = list(arg, 2);
      const values = r(items);
      if (!Array.isArray(values)) throw new TemplateError('Template error: Fn::Join needs a list of values');
      return values.map(String).join(String(sep));
    }
    case 'Fn::Select': {
      const [index, items] = list(arg, 2);
      const values = r(items) as unknown[];
      const i = Number(r(index));
      if (!Array.isArray(values) || !(i >= 0 && i < values.length))
        throw new TemplateError(
          `Template error: Fn::Select cannot select index ${i} of ${JSON.stringify(values)}`,
        );
      return values[i];
    }
    case 'Fn::Split': {
      const [sep, source] = list(arg, 2);
      return String(r(source)).split(String(sep));
    }
    case 'Fn::Sub':
      return substitute(arg, scope);
    case 'Fn::If': {
      const [cond, yes, no] = list(arg, 3);
      if (!(String(cond) in scope.conditions))
        throw new TemplateError(`Template format error: Unresolved condition: ${String(cond)}`);
      return scope.conditions[String(cond)] ? r(yes) : r(no);
    }
    case 'Fn::Equals': {
      const [a, b] = list(arg, 2).map(r);
      return JSON.stringify(a) === JSON.stringify(b) || String(a) === String(b);
    }
    case 'Fn::Not':
      return !r(list(arg, 1)[0]);
    case 'Fn::And':
      return list(arg).every((c) => r(c));
    case 'Fn::Or':
      return list(arg).some((c) => r(c));
    case 'Fn::Contains': {
      const [items, v] = list(arg, 2).map(r);
      return Array.isArray(items) && items.map(String).includes(String(v));
    }
    case 'Fn::ImportValue':
      return scope.importValue(String(r(arg)));
    case 'Fn::FindInMap': {
      const [map, top, second] = list(arg, 3).map((a) => String(r(a)));
      const v = scope.mappings?.[map]?.[top]?.[second];
      if (v === undefined)
        throw new TemplateError(`Template error: Fn::FindInMap found no ${map}.${top}.${second}`);
      return v;
    }
    case 'Fn::Base64':
      return Buffer.from(String(r(arg))).toString('base64');
    case 'Fn::GetAZs': {
      const region = String(r(arg) || scope.refs['AWS::Region']);
      return ['a', 'b', 'c'].map((z) => `${region}${z}`);
    }
    case 'Fn::Length':
      return (r(arg) as unknown[]).length;
    case 'Fn::ToJsonString':
      return JSON.stringify(r(arg));
    default:
      throw new TemplateError(`Template format error: ${fn} is not supported by the local twin`);
  }
}

/** `Fn::Sub`: `${Param}`, `${Resource}`, `${Resource.Attr}`, `${!Literal}`, and the variable map form. */
function substitute(arg: unknown, scope: Scope): string {
  const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
  const variables = Object.fromEntries(
    Object.entries((vars ?? {}) as Record<string, unknown>).map(([k, v]) => [k, resolveInner(v, scope)]),
  );
  return String(text).replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    if (name in variables) return String(variables[name]);
    if (name in scope.refs) return String(scope.refs[name]);
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::'))
      return String(scope.getAtt(name.slice(0, dot), name.slice(dot + 1)));
    return String(scope.resourceRef(name));
  });
}

/** Logical ids of the resources `value` references through Ref, Fn::GetAtt and Fn::Sub. */
export function referencedResources(value: unknown, resources: Record<string, unknown>): Set<string> {
  const found = new Set<string>();
  const visit = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    for (const [k, arg] of Object.entries(v)) {
      if (k === 'Ref' && typeof arg === 'string' && arg in resources) found.add(arg);
      else if (k === 'Fn::GetAtt') {
        const id = typeof arg === 'string' ? arg.split('.')[0] : (arg as unknown[])[0];
        if (typeof id === 'string' && id in resources) found.add(id);
      } else if (k === 'Fn::Sub') {
        const text = Array.isArray(arg) ? arg[0] : arg;
        for (const m of String(text).matchAll(/\$\{([^}!][^}.]*)[^}]*\}/g))
          if (m[1] in resources) found.add(m[1]);
      }
      visit(arg);
    }
  };
  visit(value);
  return found;
}

/** Resources in creation order: dependencies (DependsOn and references) first. */
export function creationOrder(resources: Record<string, TemplateResource>): string[] {
  const deps = dependencies(resources);
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting')
      throw new TemplateError(`Circular dependency between resources: [${[...path, id].join(', ')}]`);
    state.set(id, 'visiting');
    for (const d of deps[id]) visit(d, [...path, id]);
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of Object.keys(resources).sort()) visit(id, []);
  return order;
}

export function dependencies(resources: Record<string, TemplateResource>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [id, r] of Object.entries(resources)) {
    const explicit = r.DependsOn === undefined ? [] : [r.DependsOn].flat();
    for (const d of explicit)
      if (!(d in resources))
        throw new TemplateError(
          `Template format error: Unresolved resource dependencies [${d}] in the Resources block of the template`,
        );
    out[id] = [...new Set([...explicit, ...referencedResources(r.Properties ?? {}, resources)])].filter(
      (d) => d !== id,
    );
  }
  return out;
}

/** The resources whose Condition holds. */
export function activeResources(template: Template, conditions: Record<string, boolean>) {
  return Object.fromEntries(
    Object.entries(template.Resources).filter(([, r]) => {
      if (r.Condition === undefined) return true;
      if (!(r.Condition in conditions))
        throw new TemplateError(`Template format error: Unresolved condition: ${r.Condition}`);
      return conditions[r.Condition];
    }),
  );
}

/** `{{resolve:ssm:name}}` / `{{resolve:ssm:name:version}}` inside strings, resolved at provisioning time. */
export function resolveDynamicReferences(
  value: unknown,
  ssm: (name: string, version?: number) => string | undefined,
): unknown {
  if (typeof value === 'string')
    return value.replace(/\{\{resolve:([a-z-]+):([^}]*)\}\}/g, (_, service: string, ref: string) => {
      if (service !== 'ssm')
        throw new TemplateError(
          `Dynamic reference {{resolve:${service}:...}} is not supported by the local twin (only ssm)`,
        );
      const m = /^(.+?)(?::(\d+))?$/.exec(ref)!;
      const v = ssm(m[1], m[2] ? Number(m[2]) : undefined);
      if (v === undefined)
        throw new TemplateError(
          `Parameter ${m[1]}${m[2] ? ` version ${m[2]}` : ''} not found in SSM Parameter Store`,
        );
      return v;
    });
  if (Array.isArray(value)) return value.map((v) => resolveDynamicReferences(v, ssm));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveDynamicReferences(v, ssm)]));
  return value;
}
