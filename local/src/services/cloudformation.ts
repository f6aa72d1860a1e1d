import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { AwsError } from '../core/respond';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import type { TwinContext } from '../twin';
import { parseQueryInput, sendQueryResult } from './aws-query';
import { denialMessage } from '../iam/iam';
import {
  resourceProviders,
  withServiceRole,
  type ProviderDeps,
  type ResourceProvider,
} from './cloudformation-resources';
import {
  activeResources,
  checkRules,
  creationOrder,
  evaluateConditions,
  parameterRefs,
  parseTemplate,
  resolve,
  resolveParameters,
  TemplateError,
  type Scope,
  type Template,
  type TemplateResource,
} from './cloudformation-template';

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

interface ResourceRecord {
  LogicalResourceId: string;
  PhysicalResourceId: string;
  ResourceType: string;
  ResourceStatus: string;
  ResourceStatusReason?: string;
  Timestamp: string;
  /** Properties with intrinsics resolved, dynamic references not (CloudFormation compares these). */
  properties: Record<string, unknown>;
  attributes: Record<string, unknown>;
  deletionPolicy?: string;
  updateReplacePolicy?: string;
}

interface StackEvent {
  StackId: string;
  EventId: string;
  StackName: string;
  LogicalResourceId: string;
  PhysicalResourceId?: string;
  ResourceType: string;
  Timestamp: string;
  ResourceStatus: string;
  ResourceStatusReason?: string;
}

interface StackParameter {
  ParameterKey: string;
  ParameterValue?: string;
  UsePreviousValue?: string | boolean;
}

interface StackRecord {
  StackId: string;
  StackName: string;
  StackStatus: string;
  StackStatusReason?: string;
  CreationTime: string;
  LastUpdatedTime?: string;
  DeletionTime?: string;
  Description?: string;
  ChangeSetId?: string;
  RoleARN?: string;
  Capabilities: string[];
  Tags: { Key: string; Value: string }[];
  /** The template and parameter values of the last successful operation. */
  templateBody?: string;
  parameters: Record<string, string>;
  resolvedParameters: Record<string, string>;
  outputs: { OutputKey: string; OutputValue: string; Description?: string; ExportName?: string }[];
  /** Export names this stack imports (an export in use cannot be removed). */
  imports: string[];
  resources: Record<string, ResourceRecord>;
  events: StackEvent[];
}

interface ChangeRecord {
  Type: 'Resource';
  ResourceChange: {
    Action: 'Add' | 'Modify' | 'Remove';
    LogicalResourceId: string;
    PhysicalResourceId?: string;
    ResourceType: string;
    Replacement?: 'True' | 'False' | 'Conditional';
    Scope: string[];
    Details: unknown[];
  };
}

interface ChangeSetRecord {
  ChangeSetId: string;
  ChangeSetName: string;
  StackId: string;
  StackName: string;
  ChangeSetType: string;
  Description?: string;
  CreationTime: string;
  Status: string;
  StatusReason?: string;
  ExecutionStatus: string;
  templateBody: string;
  parameters: Record<string, string>;
  resolvedParameters: Record<string, string>;
  Capabilities: string[];
  Tags: { Key: string; Value: string }[];
  RoleARN?: string;
  Changes: ChangeRecord[];
}

interface CfnState {
  stacks: Record<string, StackRecord>;
  changeSets: Record<string, ChangeSetRecord>;
}

const TERMINAL_FAILED = ['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'DELETE_FAILED', 'UPDATE_ROLLBACK_FAILED'];
const IN_PROGRESS = /_IN_PROGRESS$/;
const validation = (message: string) => new AwsError('ValidationError', message);
const now = () => new Date().toISOString();
const ANSWER_WITHIN_MS = 3000;
const NO_CHANGES =
  "The submitted information didn't contain changes. Submit different information to create a change set.";

/**
 * AWS CloudFormation (awsQuery, XML): the API the CDK toolkit deploys through. Stacks are provisioned
 * asynchronously by the resource providers in cloudformation-resources.ts, which create the twin's
 * own resources (runtimes, repositories, parameters, pools, alarms, ...).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/Welcome.html
 */
export function registerCloudFormation(router: Router, ctx: TwinContext, deps: ProviderDeps) {
  const state = ctx.state.get<CfnState>('cloudformation', () => ({ stacks: {}, changeSets: {} }));
  const { providerFor, resolveDynamicReferences, ssmValue } = resourceProviders(ctx, deps);
  /** Operations running now, so close() can wait for them and tests can await a settled stack. */
  const running = new Set<Promise<void>>();
  ctx.onClose(async () => {
    await Promise.allSettled([...running]);
  });

  const live = () => Object.values(state.stacks).filter((s) => s.StackStatus !== 'DELETE_COMPLETE');
  /** A stack by name or id; deleted stacks only by id, as CloudFormation does. */
  function findStack(nameOrId: string): StackRecord | undefined {
    return state.stacks[nameOrId] ?? live().find((s) => s.StackName === nameOrId);
  }
  function stack(nameOrId: string): StackRecord {
    const s = findStack(nameOrId);
    if (!s) throw validation(`Stack with id ${nameOrId} does not exist`);
    return s;
  }
  function changeSet(nameOrId: string, stackName?: string): ChangeSetRecord {
    const cs =
      state.changeSets[nameOrId] ??
      Object.values(state.changeSets).find(
        (c) =>
          c.ChangeSetName === nameOrId && stackName && (c.StackName === stackName || c.StackId === stackName),
      );
    if (!cs) throw new AwsError('ChangeSetNotFound', `ChangeSet [${nameOrId}] does not exist`, 404);
    return cs;
  }

  function exportsMap(except?: string): Map<string, { value: string; stackId: string }> {
    const map = new Map<string, { value: string; stackId: string }>();
    for (const s of live())
      if (s.StackId !== except)
        for (const o of s.outputs)
          if (o.ExportName) map.set(o.ExportName, { value: o.OutputValue, stackId: s.StackId });
    return map;
  }

  function event(s: StackRecord, e: Partial<StackEvent> & { ResourceStatus: string }) {
    s.events.push({
      StackId: s.StackId,
      StackName: s.StackName,
      EventId: randomUUID(),
      LogicalResourceId: s.StackName,
      PhysicalResourceId: s.StackId,
      ResourceType: 'AWS::CloudFormation::Stack',
      Timestamp: now(),
      ...e,
    });
  }
  function setStatus(s: StackRecord, status: string, reason?: string) {
    s.StackStatus = status;
    s.StackStatusReason = reason;
    event(s, { ResourceStatus: status, ...(reason && { ResourceStatusReason: reason }) });
    ctx.state.save();
  }

  function baseRefs(s: Pick<StackRecord, 'StackName' | 'StackId'>): Record<string, unknown> {
    return {
      'AWS::AccountId': ctx.accountId,
      'AWS::Region': ctx.region,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': s.StackName,
      'AWS::StackId': s.StackId,
      'AWS::NotificationARNs': [],
    };
  }

  /** The scope intrinsics resolve in; `resources` supplies Ref/GetAtt (a symbolic one for change sets). */
  function scopeFor(
    s: Pick<StackRecord, 'StackName' | 'StackId'>,
    template: Template,
    parameters: Record<string, string>,
    resolved: Record<string, string>,
    resources: Pick<Scope, 'resourceRef' | 'getAtt'>,
    imports?: string[],
  ): Scope {
    const refs = { ...baseRefs(s), ...parameterRefs(template, parameters, resolved) };
    const partial = {
      refs,
      mappings: template.Mappings,
      ...resources,
      importValue: (name: string) => {
        const e = exportsMap(s.StackId).get(name);
        if (!e) throw new TemplateError(`No export named ${name} found.`);
        imports?.push(name);
        return e.value;
      },
    };
    return { ...partial, conditions: evaluateConditions(template, partial) };
  }

  /** Resource references stay symbolic: a change set compares what the template says, not ids. */
  const symbolic: Pick<Scope, 'resourceRef' | 'getAtt'> = {
    resourceRef: (id) => `{{Ref:${id}}}`,
    getAtt: (id, attr) => `{{GetAtt:${id}.${attr}}}`,
  };

  function describedProperties(
    s: Pick<StackRecord, 'StackName' | 'StackId'>,
    template: Template,
    parameters: Record<string, string>,
    resolved: Record<string, string>,
  ) {
    const scope = scopeFor(s, template, parameters, resolved, symbolic, []);
    const active = activeResources(template, scope.conditions);
    return {
      scope,
      active,
      props: Object.fromEntries(
        Object.entries(active).map(([id, r]) => [
          id,
          resolve(r.Properties ?? {}, scope) as Record<string, unknown>,
        ]),
      ),
    };
  }

  /** What a change set would do, resource by resource. */
  function computeChanges(s: StackRecord, cs: ChangeSetRecord): ChangeRecord[] {
    const template = parseTemplate(cs.templateBody);
    const next = describedProperties(s, template, cs.parameters, cs.resolvedParameters);
    const order = creationOrder(next.active);
    for (const r of Object.values(next.active)) providerFor(r.Type); // unknown types fail the change set
    const prev = s.templateBody
      ? describedProperties(s, parseTemplate(s.templateBody), s.parameters, s.resolvedParameters)
      : undefined;
    const changes: ChangeRecord[] = [];
    const replaced = new Set<string>();
    for (const id of order) {
      const r = next.active[id];
      const old = s.resources[id];
      if (!old || !prev?.props[id]) {
        changes.push(change('Add', id, r.Type));
        continue;
      }
      const provider = providerFor(r.Type);
      const changed = changedProperties(prev.props[id], next.props[id]);
      const dependsOnReplaced = [...replaced].some((d) => JSON.stringify(next.props[id]).includes(`:${d}`));
      if (!changed.length && !dependsOnReplaced && old.ResourceType === r.Type) continue;
      const replacement =
        old.ResourceType !== r.Type || changed.some((p) => requiresReplacement(provider, p))
          ? 'True'
          : dependsOnReplaced
            ? 'Conditional'
            : 'False';
      if (replacement === 'True') replaced.add(id);
      changes.push({
        Type: 'Resource',
        ResourceChange: {
          ...change('Modify', id, r.Type, old.PhysicalResourceId).ResourceChange,
          Replacement: replacement,
          Scope: ['Properties'],
          Details: changed.map((name) => ({
            Target: {
              Attribute: 'Properties',
              Name: name,
              RequiresRecreation: requiresReplacement(provider, name) ? 'Always' : 'Never',
            },
            Evaluation: 'Static',
            ChangeSource: 'DirectModification',
          })),
        },
      });
    }
    for (const [id, old] of Object.entries(s.resources))
      if (!(id in next.active)) changes.push(change('Remove', id, old.ResourceType, old.PhysicalResourceId));
    return changes;
  }

  // ---------------------------------------------------------------- provisioning

  /**
   * Run a stack operation in the background, as CloudFormation does, but answer the request only once
   * it has finished or ANSWER_WITHIN_MS passed: the toolkit polls every 5 s after its first look, so a
   * stack already settled at that look saves whole poll intervals. Events still show every transition.
   */
  async function track(p: Promise<void>) {
    running.add(p);
    void p.finally(() => running.delete(p));
    await Promise.race([p, new Promise((r) => setTimeout(r, ANSWER_WITHIN_MS).unref())]);
  }

  async function execute(s: StackRecord, cs: ChangeSetRecord) {
    const creating = cs.ChangeSetType === 'CREATE';
    const op = creating ? 'CREATE' : 'UPDATE';
    const template = parseTemplate(cs.templateBody);
    const previous = { ...s.resources };
    const journal: { id: string; kind: 'created' | 'updated' | 'replaced'; old?: ResourceRecord }[] = [];
    const imports: string[] = [];
    const scope = scopeFor(s, template, cs.parameters, cs.resolvedParameters, resourceScope(s), imports);
    const active = activeResources(template, scope.conditions);
    let failed: { id: string; reason: string } | undefined;
    s.RoleARN = cs.RoleARN ?? s.RoleARN;
    s.Capabilities = cs.Capabilities;
    s.Tags = cs.Tags;
    if (creating) s.templateBody = cs.templateBody;
    setStatus(s, `${op}_IN_PROGRESS`, 'User Initiated');

    for (const id of creationOrder(active)) {
      const def = active[id];
      const existing = s.resources[id];
      let properties: Record<string, unknown>;
      try {
        properties = resolve(def.Properties ?? {}, scope) as Record<string, unknown>;
      } catch (e) {
        failed = { id, reason: (e as Error).message };
        resourceEvent(
          s,
          id,
          def.Type,
          `${existing ? 'UPDATE' : 'CREATE'}_FAILED`,
          existing?.PhysicalResourceId,
          failed.reason,
        );
        break;
      }
      if (
        existing &&
        existing.ResourceType === def.Type &&
        isDeepStrictEqual(existing.properties, properties)
      ) {
        Object.assign(existing, policies(def));
        continue;
      }
      const provider = providerFor(def.Type);
      const replace =
        !!existing &&
        (existing.ResourceType !== def.Type ||
          changedProperties(existing.properties, properties).some((p) => requiresReplacement(provider, p)));
      const status = existing ? 'UPDATE' : 'CREATE';
      resourceEvent(
        s,
        id,
        def.Type,
        `${status}_IN_PROGRESS`,
        existing?.PhysicalResourceId,
        replace
          ? 'Requested update requires the creation of a new physical resource; hence creating one.'
          : undefined,
      );
      try {
        const input = await resolveDynamicReferences(properties);
        if (!existing || replace) {
          const created = await provider.create(input, providerContext(s, id));
          s.resources[id] = record(
            id,
            def,
            created.id,
            properties,
            created.attributes,
            status === 'UPDATE' ? 'UPDATE_COMPLETE' : 'CREATE_COMPLETE',
          );
          journal.push({ id, kind: replace ? 'replaced' : 'created', old: existing });
        } else {
          const attributes = await provider.update!(existing.PhysicalResourceId, input, existing.properties, {
            ...providerContext(s, id),
            attributes: existing.attributes,
          });
          s.resources[id] = record(
            id,
            def,
            existing.PhysicalResourceId,
            properties,
            { ...existing.attributes, ...attributes },
            'UPDATE_COMPLETE',
          );
          journal.push({ id, kind: 'updated', old: existing });
        }
        resourceEvent(s, id, def.Type, `${status}_COMPLETE`, s.resources[id].PhysicalResourceId);
      } catch (e) {
        failed = { id, reason: handlerMessage(e) };
        resourceEvent(s, id, def.Type, `${status}_FAILED`, existing?.PhysicalResourceId, failed.reason);
        break;
      }
    }

    if (!failed) {
      try {
        s.outputs = outputs(s, template, scope);
      } catch (e) {
        failed = { id: s.StackName, reason: (e as Error).message };
      }
    }
    if (failed) return rollback(s, op, failed, journal, previous);

    const previousTemplate = s.templateBody;
    s.templateBody = cs.templateBody;
    s.parameters = cs.parameters;
    s.resolvedParameters = cs.resolvedParameters;
    s.Description = template.Description;
    s.imports = imports;
    if (!creating) {
      setStatus(s, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      // Removed resources, then the old copies of replaced ones, dependents first.
      const removed = Object.values(previous).filter((r) => !(r.LogicalResourceId in active));
      for (const r of reverseOrder(removed, previousTemplate)) {
        await deleteResource(s, r, r.deletionPolicy);
        delete s.resources[r.LogicalResourceId];
      }
      for (const j of journal.filter((j) => j.kind === 'replaced').reverse())
        await deleteResource(s, j.old!, j.old!.updateReplacePolicy);
    }
    s.LastUpdatedTime = creating ? undefined : now();
    setStatus(s, `${op}_COMPLETE`);
  }

  async function rollback(
    s: StackRecord,
    op: 'CREATE' | 'UPDATE',
    failed: { id: string; reason: string },
    journal: { id: string; kind: string; old?: ResourceRecord }[],
    previous: Record<string, ResourceRecord>,
  ) {
    const prefix = op === 'CREATE' ? 'ROLLBACK' : 'UPDATE_ROLLBACK';
    setStatus(
      s,
      `${prefix}_IN_PROGRESS`,
      `The following resource(s) failed to ${op.toLowerCase()}: [${failed.id}]. Rollback requested by user.`,
    );
    let rollbackFailed = false;
    for (const j of [...journal].reverse()) {
      const current = s.resources[j.id];
      try {
        if (j.kind === 'updated') {
          resourceEvent(s, j.id, current.ResourceType, 'UPDATE_IN_PROGRESS', current.PhysicalResourceId);
          const input = await resolveDynamicReferences(j.old!.properties);
          await providerFor(current.ResourceType).update!(
            current.PhysicalResourceId,
            input,
            current.properties,
            {
              ...providerContext(s, j.id),
              attributes: current.attributes,
            },
          );
          s.resources[j.id] = { ...j.old!, ResourceStatus: 'UPDATE_COMPLETE', Timestamp: now() };
          resourceEvent(s, j.id, current.ResourceType, 'UPDATE_COMPLETE', current.PhysicalResourceId);
        } else {
          // Retain keeps even what this operation created (RetainExceptOnCreate does not); the new copy
          // of a replaced resource goes.
          const retain = j.kind === 'created' && current.deletionPolicy === 'Retain';
          await deleteResource(s, current, retain ? 'Retain' : 'Delete');
          if (j.old) s.resources[j.id] = j.old;
          else delete s.resources[j.id];
        }
      } catch (e) {
        rollbackFailed = true;
        resourceEvent(
          s,
          j.id,
          current.ResourceType,
          'DELETE_FAILED',
          current.PhysicalResourceId,
          (e as Error).message,
        );
      }
    }
    // Resources that failed before anything was created leave no record; the rest are as before.
    for (const id of Object.keys(s.resources))
      if (!(id in previous) && !journal.some((j) => j.id === id)) delete s.resources[id];
    setStatus(s, `${prefix}_${rollbackFailed ? 'FAILED' : 'COMPLETE'}`);
  }

  async function destroy(s: StackRecord) {
    setStatus(s, 'DELETE_IN_PROGRESS', 'User Initiated');
    const all = Object.values(s.resources);
    for (const r of reverseOrder(all, s.templateBody)) {
      try {
        await deleteResource(s, r, r.deletionPolicy);
        delete s.resources[r.LogicalResourceId];
      } catch (e) {
        setStatus(
          s,
          'DELETE_FAILED',
          `The following resource(s) failed to delete: [${r.LogicalResourceId}]. ${(e as Error).message}`,
        );
        return;
      }
    }
    s.outputs = [];
    s.DeletionTime = now();
    setStatus(s, 'DELETE_COMPLETE');
  }

  async function deleteResource(s: StackRecord, r: ResourceRecord, policy = 'Delete') {
    if (policy === 'Retain' || policy === 'RetainExceptOnCreate') {
      resourceEvent(s, r.LogicalResourceId, r.ResourceType, 'DELETE_SKIPPED', r.PhysicalResourceId);
      return;
    }
    resourceEvent(s, r.LogicalResourceId, r.ResourceType, 'DELETE_IN_PROGRESS', r.PhysicalResourceId);
    try {
      await providerFor(r.ResourceType).delete(r.PhysicalResourceId, r.properties, {
        ...providerContext(s, r.LogicalResourceId),
        attributes: r.attributes,
      });
    } catch (e) {
      resourceEvent(
        s,
        r.LogicalResourceId,
        r.ResourceType,
        'DELETE_FAILED',
        r.PhysicalResourceId,
        (e as Error).message,
      );
      throw e;
    }
    resourceEvent(s, r.LogicalResourceId, r.ResourceType, 'DELETE_COMPLETE', r.PhysicalResourceId);
  }

  /** Dependents before what they depend on, by the dependency order of the template that made them. */
  function reverseOrder(records: ResourceRecord[], templateBody: string | undefined): ResourceRecord[] {
    const order = templateBody ? creationOrder(parseTemplate(templateBody).Resources) : [];
    const rank = (id: string) => {
      const i = order.indexOf(id);
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    return [...records].sort((a, b) => rank(b.LogicalResourceId) - rank(a.LogicalResourceId));
  }

  function resourceScope(s: StackRecord): Pick<Scope, 'resourceRef' | 'getAtt'> {
    return {
      resourceRef: (id) => {
        const r = s.resources[id];
        if (!r)
          throw new TemplateError(
            `Template format error: Unresolved resource dependencies [${id}] in the Resources block of the template`,
          );
        return r.PhysicalResourceId;
      },
      getAtt: (id, attr) => {
        const r = s.resources[id];
        if (!r)
          throw new TemplateError(
            `Template error: instance of Fn::GetAtt references undefined resource ${id}`,
          );
        if (!(attr in r.attributes))
          throw new TemplateError(
            `Template error: resource ${id} (${r.ResourceType}) does not support attribute ${attr}`,
          );
        return r.attributes[attr];
      },
    };
  }

  function outputs(s: StackRecord, template: Template, scope: Scope): StackRecord['outputs'] {
    const taken = exportsMap(s.StackId);
    return Object.entries(template.Outputs ?? {})
      .filter(([, o]) => o.Condition === undefined || scope.conditions[o.Condition])
      .map(([key, o]) => {
        const exportName = o.Export ? String(resolve(o.Export.Name, scope)) : undefined;
        if (exportName && taken.has(exportName))
          throw new TemplateError(
            `Export with name ${exportName} is already exported by stack ${stackNameOf(taken.get(exportName)!.stackId)}`,
          );
        const value = resolve(o.Value, scope);
        return {
          OutputKey: key,
          OutputValue: Array.isArray(value) ? value.join(',') : String(value),
          ...(o.Description && { Description: o.Description }),
          ...(exportName && { ExportName: exportName }),
        };
      });
  }
  const stackNameOf = (id: string) => state.stacks[id]?.StackName ?? id;

  /**
   * A service role must trust cloudformation.amazonaws.com, and whoever names it must be allowed to
   * pass it (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html).
   */
  async function checkServiceRole(req: TwinRequest, roleArn: string) {
    const role = ctx.iam.role(roleArn);
    if (!role || !trustsCloudFormation(role.trust))
      throw validation(`Role ${roleArn} is invalid or cannot be assumed`);
    const identity = ctx.iam.identity(req.accessKeyId);
    if (!identity) return;
    const decision = await ctx.iam.authorize({
      identity,
      action: 'iam:PassRole',
      resource: roleArn,
      resourceAccount: role.arn.split(':')[4],
      context: { 'iam:PassedToService': 'cloudformation.amazonaws.com' },
    });
    if (!decision.allowed)
      throw new AwsError('AccessDenied', denialMessage(identity.arn, 'iam:PassRole', roleArn, decision), 403);
  }

  function providerContext(s: StackRecord, logicalId: string) {
    return { stackName: s.StackName, stackId: s.StackId, logicalId, roleArn: s.RoleARN };
  }

  function resourceEvent(
    s: StackRecord,
    logicalId: string,
    type: string,
    status: string,
    physicalId?: string,
    reason?: string,
  ) {
    event(s, {
      LogicalResourceId: logicalId,
      PhysicalResourceId: physicalId ?? '',
      ResourceType: type,
      ResourceStatus: status,
      ...(reason && { ResourceStatusReason: reason }),
    });
    const r = s.resources[logicalId];
    if (r && !status.startsWith('DELETE_COMPLETE')) {
      r.ResourceStatus = status;
      r.ResourceStatusReason = reason;
      r.Timestamp = now();
    }
    ctx.state.save();
  }

  // ---------------------------------------------------------------- API

  const action = (name: string, fn: (input: Record<string, unknown>, req: TwinRequest) => unknown) =>
    router.action(name, async (req: TwinRequest, res: TwinResponse) => {
      // awsQuery actions share one router table; another awsQuery service may own the same name.
      if (req.service && req.service !== 'cloudformation')
        throw new AwsError('InvalidAction', `The action ${name} is not valid for service ${req.service}`);
      let result: unknown;
      try {
        result = await fn(parseQueryInput(req.body), req);
      } catch (e) {
        if (e instanceof TemplateError) throw validation(e.message);
        throw e;
      }
      sendQueryResult(res, name, NS, result ?? {});
    });

  const describeStack = (s: StackRecord) => ({
    StackId: s.StackId,
    StackName: s.StackName,
    ChangeSetId: s.ChangeSetId,
    Description: s.Description,
    Parameters: Object.entries(s.parameters).map(([k, v]) => ({
      ParameterKey: k,
      ParameterValue: v,
      ...(s.resolvedParameters[k] !== undefined && { ResolvedValue: s.resolvedParameters[k] }),
    })),
    CreationTime: s.CreationTime,
    DeletionTime: s.DeletionTime,
    LastUpdatedTime: s.LastUpdatedTime,
    StackStatus: s.StackStatus,
    StackStatusReason: s.StackStatusReason,
    DisableRollback: false,
    NotificationARNs: [],
    Capabilities: s.Capabilities,
    Outputs: s.outputs,
    RoleARN: s.RoleARN,
    Tags: s.Tags,
    EnableTerminationProtection: false,
    DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
  });

  action('DescribeStacks', (input) => {
    const name = input.StackName as string | undefined;
    return { Stacks: (name ? [stack(name)] : live()).map(describeStack) };
  });

  action('ListStacks', (input) => {
    const filter = listOf<string>(input.StackStatusFilter);
    return {
      StackSummaries: Object.values(state.stacks)
        .filter((s) => !filter.length || filter.includes(s.StackStatus))
        .map((s) => ({
          StackId: s.StackId,
          StackName: s.StackName,
          TemplateDescription: s.Description,
          CreationTime: s.CreationTime,
          LastUpdatedTime: s.LastUpdatedTime,
          DeletionTime: s.DeletionTime,
          StackStatus: s.StackStatus,
          StackStatusReason: s.StackStatusReason,
          DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
        })),
    };
  });

  action('GetTemplate', (input) => {
    if (input.ChangeSetName) {
      const cs = changeSet(String(input.ChangeSetName), input.StackName as string);
      return { TemplateBody: cs.templateBody, StagesAvailable: ['Original', 'Processed'] };
    }
    const s = stack(String(input.StackName ?? ''));
    // A stack still in REVIEW_IN_PROGRESS has no template yet (the toolkit reads it as empty).
    return { TemplateBody: s.templateBody, StagesAvailable: ['Original', 'Processed'] };
  });

  action('GetTemplateSummary', async (input) => {
    const body = input.StackName ? stack(String(input.StackName)).templateBody : await templateBodyOf(input);
    const t = parseTemplate(body ?? '');
    const iam = Object.values(t.Resources).some((r) => r.Type.startsWith('AWS::IAM::'));
    return {
      Parameters: Object.entries(t.Parameters ?? {}).map(([k, p]) => ({
        ParameterKey: k,
        DefaultValue: p.Default === undefined ? undefined : String(p.Default),
        ParameterType: p.Type,
        NoEcho: String(p.NoEcho ?? false) === 'true',
        Description: p.Description,
        ...(p.AllowedValues && { ParameterConstraints: { AllowedValues: p.AllowedValues } }),
      })),
      Description: t.Description,
      ...(iam && {
        Capabilities: ['CAPABILITY_IAM'],
        CapabilitiesReason: 'The template contains IAM resources',
      }),
      ResourceTypes: [...new Set(Object.values(t.Resources).map((r) => r.Type))],
      Version: t.AWSTemplateFormatVersion,
      Metadata: t.Metadata ? JSON.stringify(t.Metadata) : undefined,
      DeclaredTransforms: [],
    };
  });

  /** TemplateBody, or TemplateURL pointing at the twin's S3 (path- or virtual-hosted style). */
  async function templateBodyOf(input: Record<string, unknown>): Promise<string> {
    if (typeof input.TemplateBody === 'string') return input.TemplateBody;
    if (typeof input.TemplateURL === 'string') {
      const u = new URL(input.TemplateURL);
      const host = /^(.+)\.s3[.-]/.exec(u.hostname);
      const path = decodeURIComponent(u.pathname).replace(/^\//, '');
      const [bucket, key] = host
        ? [host[1], path]
        : [path.slice(0, path.indexOf('/')), path.slice(path.indexOf('/') + 1)];
      try {
        return deps.s3.getObject(bucket, key).toString('utf8');
      } catch {
        throw validation(
          `TemplateURL must be a supported URL: ${input.TemplateURL} is not an object in the twin's S3`,
        );
      }
    }
    throw validation('Either Template URL or Template Body must be specified.');
  }

  action('CreateChangeSet', async (input, req) => {
    const stackName = String(input.StackName ?? '');
    if (input.RoleARN) await checkServiceRole(req, String(input.RoleARN));
    const name = String(input.ChangeSetName ?? '');
    const type = String(input.ChangeSetType ?? 'UPDATE');
    if (type !== 'CREATE' && type !== 'UPDATE')
      throw validation(`ChangeSetType ${type} is not supported by the local twin`);
    let s = findStack(stackName);
    if (type === 'CREATE' && s && s.StackStatus !== 'REVIEW_IN_PROGRESS')
      throw new AwsError('AlreadyExistsException', `Stack [${stackName}] already exists`);
    if (type === 'UPDATE' && !s) throw validation(`Stack [${stackName}] does not exist`);
    if (s && IN_PROGRESS.test(s.StackStatus) && s.StackStatus !== 'REVIEW_IN_PROGRESS')
      throw validation(`Stack:${s.StackId} is in ${s.StackStatus} state and can not be updated.`);
    if (s && TERMINAL_FAILED.includes(s.StackStatus))
      throw validation(`Stack:${s.StackId} is in ${s.StackStatus} state and can not be updated.`);
    const body = await templateBodyOf(input);
    const template = parseTemplate(body);
    const given = listOf<StackParameter>(input.Parameters);
    const { values, resolved } = resolveParameters(
      template,
      given.map((p) => ({ ...p, UsePreviousValue: String(p.UsePreviousValue) === 'true' })),
      s?.parameters ?? {},
      ssmValue,
    );
    const stackId =
      s?.StackId ??
      `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:stack/${stackName}/${randomUUID()}`;
    checkRules(
      template,
      scopeFor({ StackName: stackName, StackId: stackId }, template, values, resolved, symbolic),
    );
    const capabilities = listOf<string>(input.Capabilities);
    const needsIam = Object.values(template.Resources).some((r) => r.Type.startsWith('AWS::IAM::'));
    if (needsIam && !capabilities.some((c) => c === 'CAPABILITY_IAM' || c === 'CAPABILITY_NAMED_IAM'))
      throw new AwsError('InsufficientCapabilitiesException', 'Requires capabilities : [CAPABILITY_IAM]');
    if (!s) {
      s = {
        StackId: stackId,
        StackName: stackName,
        StackStatus: 'REVIEW_IN_PROGRESS',
        StackStatusReason: 'User Initiated',
        CreationTime: now(),
        Capabilities: [],
        Tags: [],
        parameters: {},
        resolvedParameters: {},
        outputs: [],
        imports: [],
        resources: {},
        events: [],
      };
      state.stacks[stackId] = s;
      event(s, { ResourceStatus: 'REVIEW_IN_PROGRESS', ResourceStatusReason: 'User Initiated' });
    }
    const id = `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:changeSet/${name}/${randomUUID()}`;
    const cs: ChangeSetRecord = {
      ChangeSetId: id,
      ChangeSetName: name,
      StackId: s.StackId,
      StackName: s.StackName,
      ChangeSetType: type,
      Description: input.Description as string | undefined,
      CreationTime: now(),
      Status: 'CREATE_PENDING',
      ExecutionStatus: 'UNAVAILABLE',
      templateBody: body,
      parameters: values,
      resolvedParameters: resolved,
      Capabilities: capabilities,
      Tags: listOf<StackRecord['Tags'][number]>(input.Tags),
      RoleARN: input.RoleARN as string | undefined,
      Changes: [],
    };
    state.changeSets[id] = cs;
    // Computed before answering: CloudFormation reports CREATE_PENDING first, but a change set the
    // caller sees already settled saves the toolkit a 5-second poll.
    try {
      cs.Changes = computeChanges(s, cs);
      const same =
        !cs.Changes.length &&
        s.templateBody === cs.templateBody &&
        isDeepStrictEqual(s.parameters, cs.parameters) &&
        isDeepStrictEqual(s.Tags, cs.Tags);
      if (same) Object.assign(cs, { Status: 'FAILED', StatusReason: NO_CHANGES });
      else Object.assign(cs, { Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE' });
    } catch (e) {
      Object.assign(cs, { Status: 'FAILED', StatusReason: (e as Error).message });
    }
    return { Id: id, StackId: s.StackId };
  });

  action('DescribeChangeSet', (input) => {
    const cs = changeSet(String(input.ChangeSetName ?? ''), input.StackName as string);
    return {
      ChangeSetName: cs.ChangeSetName,
      ChangeSetId: cs.ChangeSetId,
      StackId: cs.StackId,
      StackName: cs.StackName,
      Description: cs.Description,
      Parameters: Object.entries(cs.parameters).map(([k, v]) => ({ ParameterKey: k, ParameterValue: v })),
      CreationTime: cs.CreationTime,
      ExecutionStatus: cs.ExecutionStatus,
      Status: cs.Status,
      StatusReason: cs.StatusReason,
      NotificationARNs: [],
      RollbackConfiguration: {},
      Capabilities: cs.Capabilities,
      Tags: cs.Tags,
      Changes: cs.Changes,
      IncludeNestedStacks: false,
    };
  });

  action('ListChangeSets', (input) => {
    const s = stack(String(input.StackName ?? ''));
    return {
      Summaries: Object.values(state.changeSets)
        .filter((c) => c.StackId === s.StackId)
        .map((c) => ({
          StackId: c.StackId,
          StackName: c.StackName,
          ChangeSetId: c.ChangeSetId,
          ChangeSetName: c.ChangeSetName,
          ExecutionStatus: c.ExecutionStatus,
          Status: c.Status,
          StatusReason: c.StatusReason,
          CreationTime: c.CreationTime,
          Description: c.Description,
        })),
    };
  });

  action('ExecuteChangeSet', async (input) => {
    const cs = changeSet(String(input.ChangeSetName ?? ''), input.StackName as string);
    if (cs.ExecutionStatus !== 'AVAILABLE')
      throw new AwsError(
        'InvalidChangeSetStatus',
        `ChangeSet [${cs.ChangeSetId}] cannot be executed in its current status of [${cs.Status}]`,
      );
    const s = stack(cs.StackId);
    cs.ExecutionStatus = 'EXECUTE_IN_PROGRESS';
    s.ChangeSetId = cs.ChangeSetId;
    // Other change sets of the stack are stale once one runs.
    for (const other of Object.values(state.changeSets))
      if (other.StackId === s.StackId && other !== cs) delete state.changeSets[other.ChangeSetId];
    await track(
      (async () => {
        try {
          // The change set's service role, else the one the stack keeps from earlier operations.
          await withServiceRole(cs.RoleARN ?? s.RoleARN, () => execute(s, cs));
        } catch (e) {
          setStatus(
            s,
            cs.ChangeSetType === 'CREATE' ? 'ROLLBACK_FAILED' : 'UPDATE_ROLLBACK_FAILED',
            (e as Error).message,
          );
        }
        cs.ExecutionStatus = /FAILED|ROLLBACK/.test(s.StackStatus) ? 'EXECUTE_FAILED' : 'EXECUTE_COMPLETE';
        delete state.changeSets[cs.ChangeSetId];
        ctx.state.save();
      })(),
    );
    return {};
  });

  action('DeleteChangeSet', (input) => {
    const name = String(input.ChangeSetName ?? '');
    // CloudFormation accepts deleting a change set that does not exist as long as its stack does (the
    // CDK toolkit deletes `cdk-deploy-change-set` before every deployment of an existing stack).
    if (!name.startsWith('arn:') && input.StackName) {
      const stack = findStack(String(input.StackName));
      if (!stack || stack.StackStatus === 'DELETE_COMPLETE')
        throw validation(`Stack [${String(input.StackName)}] does not exist`);
      const exists = Object.values(state.changeSets).some(
        (c) => c.ChangeSetName === name && (c.StackName === input.StackName || c.StackId === input.StackName),
      );
      if (!exists) return {};
    }
    const cs = changeSet(name, input.StackName as string);
    if (cs.ExecutionStatus === 'EXECUTE_IN_PROGRESS')
      throw new AwsError(
        'InvalidChangeSetStatus',
        `ChangeSet [${cs.ChangeSetId}] is being executed and cannot be deleted`,
      );
    delete state.changeSets[cs.ChangeSetId];
    return {};
  });

  action('DeleteStack', async (input, req) => {
    const s = findStack(String(input.StackName ?? ''));
    if (!s || s.StackStatus === 'DELETE_COMPLETE') return {};
    if (s.StackStatus === 'DELETE_IN_PROGRESS') return {};
    for (const o of s.outputs) {
      const user = live().find((other) => other !== s && other.imports.includes(o.ExportName ?? '\0'));
      if (user)
        throw validation(`Export ${o.ExportName} cannot be deleted as it is in use by ${user.StackName}`);
    }
    if (input.RoleARN) {
      await checkServiceRole(req, String(input.RoleARN));
      s.RoleARN = String(input.RoleARN);
    }
    for (const c of Object.values(state.changeSets))
      if (c.StackId === s.StackId) delete state.changeSets[c.ChangeSetId];
    await track(withServiceRole(s.RoleARN, () => destroy(s)));
    return {};
  });

  action('DescribeStackEvents', (input) => {
    const s = stack(String(input.StackName ?? ''));
    const events = [...s.events].reverse();
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const page = events.slice(start, start + 100);
    return { StackEvents: page, ...(start + 100 < events.length && { NextToken: String(start + 100) }) };
  });

  action('DescribeStackResources', (input) => {
    const s = stack(String(input.StackName ?? ''));
    return {
      StackResources: Object.values(s.resources)
        .filter((r) => !input.LogicalResourceId || r.LogicalResourceId === input.LogicalResourceId)
        .map((r) => ({ ...resourceView(s, r), Timestamp: r.Timestamp })),
    };
  });

  /** A stack resource as DescribeStackResource(s) show it (each adds its own timestamp member). */
  const resourceView = (s: StackRecord, r: StackRecord['resources'][string]) => ({
    StackName: s.StackName,
    StackId: s.StackId,
    LogicalResourceId: r.LogicalResourceId,
    PhysicalResourceId: r.PhysicalResourceId,
    ResourceType: r.ResourceType,
    ResourceStatus: r.ResourceStatus,
    ResourceStatusReason: r.ResourceStatusReason,
    DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
  });

  action('DescribeStackResource', (input) => {
    const s = stack(String(input.StackName ?? ''));
    const r = s.resources[String(input.LogicalResourceId ?? '')];
    if (!r) throw validation(`Resource ${input.LogicalResourceId} does not exist for stack ${s.StackName}`);
    return { StackResourceDetail: { ...resourceView(s, r), LastUpdatedTimestamp: r.Timestamp } };
  });

  action('ListStackResources', (input) => {
    const s = stack(String(input.StackName ?? ''));
    return {
      StackResourceSummaries: Object.values(s.resources).map((r) => ({
        LogicalResourceId: r.LogicalResourceId,
        PhysicalResourceId: r.PhysicalResourceId,
        ResourceType: r.ResourceType,
        LastUpdatedTimestamp: r.Timestamp,
        ResourceStatus: r.ResourceStatus,
        ResourceStatusReason: r.ResourceStatusReason,
        DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
      })),
    };
  });

  action('ListExports', () => ({
    Exports: [...exportsMap()].map(([Name, e]) => ({ ExportingStackId: e.stackId, Name, Value: e.value })),
  }));

  action('ListImports', (input) => {
    const name = String(input.ExportName ?? '');
    const users = live().filter((s) => s.imports.includes(name));
    if (!users.length) throw validation(`Export '${name}' is not imported by any stack.`);
    return { Imports: users.map((s) => s.StackName) };
  });

  return {
    /** Resolves when every running stack operation has finished. */
    settled: async () => {
      while (running.size) await Promise.allSettled([...running]);
    },
    stack: (name: string) => findStack(name),
  };
}

export type CloudFormationApi = ReturnType<typeof registerCloudFormation>;

/** awsQuery sends an empty list as `Name=` (an empty string). */
/** A policy document that lets CloudFormation assume the role (sts:AssumeRole by the service principal). */
function trustsCloudFormation(trust: { Statement: unknown }): boolean {
  const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return list(trust.Statement as Record<string, unknown>[]).some((st) => {
    const principal = st.Principal as { Service?: string | string[] } | undefined;
    return (
      st.Effect === 'Allow' &&
      list(principal?.Service).includes('cloudformation.amazonaws.com') &&
      list(st.Action as string | string[]).some((a) => a === 'sts:AssumeRole' || a === 'sts:*' || a === '*')
    );
  });
}

/**
 * A resource handler's failure as CloudFormation reports it in the event; an AccessDenied names the
 * action and the role's session, with the handler error code.
 */
function handlerMessage(e: unknown): string {
  const error = e as Error;
  if (/^AccessDenied/.test(error.name))
    return `Resource handler returned message: "${error.message} (Service: ${serviceOf(error.message)}, Status Code: 403)" (HandlerErrorCode: AccessDenied)`;
  const code = (error as { handlerErrorCode?: string }).handlerErrorCode;
  if (code) return `Resource handler returned message: "${error.message}" (HandlerErrorCode: ${code})`;
  return error.message;
}
const serviceOf = (message: string) => /perform: ([\w-]+):/.exec(message)?.[1] ?? 'unknown';

function listOf<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

function change(
  action: 'Add' | 'Modify' | 'Remove',
  id: string,
  type: string,
  physicalId?: string,
): ChangeRecord {
  return {
    Type: 'Resource',
    ResourceChange: {
      Action: action,
      LogicalResourceId: id,
      ...(physicalId && { PhysicalResourceId: physicalId }),
      ResourceType: type,
      Scope: [],
      Details: [],
    },
  };
}

/** Top-level property names whose values differ. */
export function changedProperties(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => !isDeepStrictEqual(a[k], b[k]))
    .sort();
}

function requiresReplacement(provider: ResourceProvider, property: string): boolean {
  return !provider.update || provider.replaceOn.includes(property);
}

function policies(def: TemplateResource) {
  return { deletionPolicy: def.DeletionPolicy, updateReplacePolicy: def.UpdateReplacePolicy };
}

function record(
  id: string,
  def: TemplateResource,
  physicalId: string,
  properties: Record<string, unknown>,
  attributes: Record<string, unknown>,
  status: string,
): ResourceRecord {
  return {
    LogicalResourceId: id,
    PhysicalResourceId: physicalId,
    ResourceType: def.Type,
    ResourceStatus: status,
    Timestamp: now(),
    properties,
    attributes,
    ...policies(def),
  };
}
