import { createHash } from 'node:crypto';
import { randomId } from '../core/ids';
import { jsonBody } from '../core/json-body';
import { AwsError, sendJson } from '../core/respond';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import { agentCoreDefaults } from '../runtime/options';
import type { TwinContext } from '../twin';
import { idempotentParameterMismatch, inputs, validateInput } from './agentcore-control-inputs';
import type { EcrApi, ResolvedImage } from './ecr';

const MAX_ENDPOINTS = 10;
const PENDING = ['CREATING', 'UPDATING'];
const NOT_CONFIG = ['agentRuntimeId', 'agentRuntimeName', 'clientToken', 'tags'];

type Status =
  'CREATING' | 'CREATE_FAILED' | 'UPDATING' | 'UPDATE_FAILED' | 'READY' | 'DELETING' | 'DELETE_FAILED';

/** A delete in progress: DELETING until `settlesAt`, then gone, or DELETE_FAILED when a fault says so. */
interface Deletion {
  status: 'DELETING' | 'DELETE_FAILED';
  settlesAt?: number;
  /** Set by an injected fault: the delete ends DELETE_FAILED with this reason instead of removing. */
  failsWith?: string;
  failureReason?: string;
}

/**
 * A failure to inject (tests, rehearsals): the next matching create/update settles to
 * CREATE_FAILED/UPDATE_FAILED, the next delete to DELETE_FAILED, with `failureReason`.
 */
export interface ControlFault {
  on: 'create' | 'update' | 'delete' | 'delete-endpoint';
  /** Only a runtime with this name (default: whichever comes next). */
  runtimeName?: string;
  failureReason: string;
  /** How long until the failure shows (default: the operation's configured delay). */
  afterMs?: number;
}

/** Everything UpdateAgentRuntime replaces: the request minus identifiers, tags and client token. */
export interface RuntimeConfig {
  agentRuntimeArtifact: { containerConfiguration: { containerUri: string } };
  roleArn: string;
  networkConfiguration: { networkMode: string; networkModeConfig?: unknown };
  lifecycleConfiguration: { idleRuntimeSessionTimeout: number; maxLifetime: number };
  description?: string;
  authorizerConfiguration?: {
    customJWTAuthorizer?: {
      discoveryUrl: string;
      allowedAudience?: string[];
      allowedClients?: string[];
      allowedScopes?: string[];
    };
  };
  requestHeaderConfiguration?: { requestHeaderAllowlist?: string[] };
  protocolConfiguration?: { serverProtocol: string };
  environmentVariables?: Record<string, string>;
  [other: string]: unknown;
}

export interface VersionRecord {
  version: string;
  config: RuntimeConfig;
  createdAt: string;
  status: Status;
  failureReason?: string;
  /** When a pending status settles (epoch ms) and what it settles to. */
  settlesAt?: number;
  settlesTo?: { status: Status; failureReason?: string };
  /** The image the containerUri named at create/update time (tags are not re-resolved later). */
  image?: ResolvedImage;
  /** DeleteAgentRuntime with this version: DELETING until then, then gone. */
  deletesAt?: number;
  /** Last time an endpoint pointed at it (epoch ms); inactive versions expire after the retention. */
  lastActiveAt?: number;
}

export interface EndpointRecord {
  name: string;
  id: string;
  description?: string;
  createdAt: string;
  lastUpdatedAt: string;
  status: Status;
  liveVersion?: string;
  targetVersion?: string;
  failureReason?: string;
  settlesAt?: number;
  deletion?: Deletion;
}

export interface RuntimeRecord {
  id: string;
  name: string;
  arn: string;
  createdAt: string;
  lastUpdatedAt: string;
  tags?: Record<string, string>;
  latestVersion: string;
  versions: Record<string, VersionRecord>;
  endpoints: Record<string, EndpointRecord>;
  deletion?: Deletion;
}

/** The members of the runtime and endpoint requests, as they arrive on the wire. */
interface ControlInput {
  roleArn?: string;
  networkConfiguration?: RuntimeConfig['networkConfiguration'];
  description?: string;
  authorizerConfiguration?: RuntimeConfig['authorizerConfiguration'];
  requestHeaderConfiguration?: RuntimeConfig['requestHeaderConfiguration'];
  protocolConfiguration?: RuntimeConfig['protocolConfiguration'];
  environmentVariables?: Record<string, string>;
  agentRuntimeName?: string;
  agentRuntimeArtifact?: { containerConfiguration?: { containerUri?: string }; codeConfiguration?: unknown };
  lifecycleConfiguration?: { idleRuntimeSessionTimeout?: number; maxLifetime?: number };
  clientToken?: string;
  tags?: Record<string, string>;
  name?: string;
  agentRuntimeVersion?: string;
}

/** AgentCore control plane for runtimes, versions and endpoints (restJson1), with real status transitions. */
export function registerAgentCoreControl(router: Router, ctx: TwinContext, deps: { ecr: EcrApi }) {
  const options = agentCoreDefaults(ctx.options.agentcore);
  const state = ctx.state.get('agentcore-runtimes', () => ({
    runtimes: {} as Record<string, RuntimeRecord>,
    clientTokens: {} as Record<string, { hash: string; response: unknown }>,
  }));
  const deletedListeners: ((runtime: RuntimeRecord) => void)[] = [];
  // Tag-scoped policies (the preview role may only change runtimes tagged as previews) read these.
  ctx.resourcePolicies.registerTags('arn:aws:bedrock-agentcore:', (arn) => {
    const id = /:runtime\/([^/]+)/.exec(arn)?.[1];
    return id ? state.runtimes[id]?.tags : undefined;
  });
  const faults: ControlFault[] = [];
  const now = () => ctx.clock.now();
  const iso = (ms?: number) => ctx.clock.iso(ms);
  /** The first injected fault for this operation and runtime, removed so it fires once. */
  const takeFault = (on: ControlFault['on'], runtimeName: string) => {
    const i = faults.findIndex((f) => f.on === on && (!f.runtimeName || f.runtimeName === runtimeName));
    return i < 0 ? undefined : faults.splice(i, 1)[0];
  };
  /** Mark a delete started; it settles `delayMs` later (gone, or DELETE_FAILED when a fault is pending). */
  const startDeletion = (fault: ControlFault | undefined): Deletion => ({
    status: 'DELETING',
    settlesAt: now() + (fault?.afterMs ?? options.deleteDelayMs),
    ...(fault && { failsWith: fault.failureReason }),
  });
  /** Apply a due deletion: true when the resource is gone now. */
  const settleDeletion = (d: Deletion | undefined, t: number): boolean => {
    if (!d || d.settlesAt === undefined || d.settlesAt > t) return false;
    if (d.failsWith === undefined) return true;
    d.status = 'DELETE_FAILED';
    d.failureReason = d.failsWith;
    delete d.failsWith;
    delete d.settlesAt;
    return false;
  };
  const workloadArn = (name: string) =>
    `arn:aws:bedrock-agentcore:${ctx.region}:${ctx.accountId}:workload-identity-directory/default/workload-identity/${name}`;

  /**
   * Apply every transition whose time has come: statuses settle lazily, so they survive restarts.
   * Returns false when the runtime's delete has completed (it is removed from the state).
   */
  function settle(rt: RuntimeRecord): boolean {
    const t = now();
    if (settleDeletion(rt.deletion, t)) {
      delete state.runtimes[rt.id];
      for (const fn of deletedListeners) fn(rt);
      return false;
    }
    for (const v of Object.values(rt.versions)) {
      if (v.deletesAt !== undefined && v.deletesAt <= t) delete rt.versions[v.version];
    }
    for (const ep of Object.values(rt.endpoints)) {
      if (settleDeletion(ep.deletion, t)) delete rt.endpoints[ep.name];
    }
    for (const v of Object.values(rt.versions)) {
      if (v.settlesAt !== undefined && v.settlesAt <= t) {
        v.status = v.settlesTo!.status;
        if (v.settlesTo!.failureReason) v.failureReason = v.settlesTo!.failureReason;
        delete v.settlesAt;
        delete v.settlesTo;
      }
    }
    const ready = Object.values(rt.versions)
      .filter((v) => v.status === 'READY')
      .map((v) => Number(v.version));
    const newestReady = ready.length ? String(Math.max(...ready)) : undefined;
    const def = rt.endpoints.DEFAULT;
    const latest = rt.versions[rt.latestVersion];
    if (def) {
      // DEFAULT follows the newest version: rolling while it is pending, live once it is READY.
      if (PENDING.includes(latest.status)) {
        def.status = def.liveVersion ? 'UPDATING' : 'CREATING';
        def.targetVersion = latest.version;
      } else if (newestReady) {
        def.liveVersion = def.targetVersion = newestReady;
        def.status = 'READY';
      } else {
        def.status = 'CREATE_FAILED';
        def.failureReason = latest.failureReason;
      }
    }
    for (const ep of Object.values(rt.endpoints)) {
      if (ep.name === 'DEFAULT' || ep.deletion || ep.settlesAt === undefined || ep.settlesAt > t) continue;
      const target = rt.versions[ep.targetVersion!];
      if (target && PENDING.includes(target.status)) continue; // waits for its version
      if (target?.status === 'READY') {
        ep.liveVersion = ep.targetVersion;
        ep.status = 'READY';
        delete ep.failureReason;
      } else {
        ep.status = ep.status === 'CREATING' ? 'CREATE_FAILED' : 'UPDATE_FAILED';
        ep.failureReason = `Agent runtime version ${ep.targetVersion} is ${target?.status ?? 'deleted'}${target?.failureReason ? `: ${target.failureReason}` : ''}`;
        ep.targetVersion = ep.liveVersion;
      }
      delete ep.settlesAt;
      ep.lastUpdatedAt = iso();
    }
    expireInactiveVersions(rt, t);
    return true;
  }

  /**
   * AgentCore deletes versions that have been inactive for 45 days (quotas page). Active = the
   * latest (DEFAULT follows it) or any endpoint's live or target version.
   */
  function expireInactiveVersions(rt: RuntimeRecord, t: number) {
    const active = new Set<string>([rt.latestVersion]);
    for (const ep of Object.values(rt.endpoints)) {
      if (ep.liveVersion) active.add(ep.liveVersion);
      if (ep.targetVersion) active.add(ep.targetVersion);
    }
    for (const v of Object.values(rt.versions)) {
      if (active.has(v.version)) v.lastActiveAt = t;
      else if (t - (v.lastActiveAt ?? Date.parse(v.createdAt)) >= options.inactiveVersionRetentionMs)
        delete rt.versions[v.version];
    }
  }

  /** Changing a runtime that is being deleted (or whose delete failed) is a conflict. */
  function assertNotDeleting(rt: RuntimeRecord) {
    if (rt.deletion)
      throw new AwsError(
        'ConflictException',
        `Agent runtime '${rt.id}' is ${rt.deletion.status}; it cannot be changed`,
        409,
      );
  }

  function findRuntime(idOrArn: string): RuntimeRecord {
    const id = idOrArn.startsWith('arn:') ? idOrArn.slice(idOrArn.lastIndexOf('/') + 1) : idOrArn;
    const rt = state.runtimes[id];
    if (!rt || !settle(rt))
      throw new AwsError('ResourceNotFoundException', `Agent runtime '${idOrArn}' not found`, 404);
    return rt;
  }

  function findVersion(rt: RuntimeRecord, version: string | null | undefined): VersionRecord {
    const v = rt.versions[version ?? rt.latestVersion];
    if (!v)
      throw new AwsError(
        'ResourceNotFoundException',
        `Version ${version} of agent runtime '${rt.id}' not found`,
        404,
      );
    return v;
  }

  function findEndpoint(rt: RuntimeRecord, name: string): EndpointRecord {
    const ep = rt.endpoints[name];
    if (!ep)
      throw new AwsError(
        'ResourceNotFoundException',
        `Endpoint '${name}' of agent runtime '${rt.id}' not found`,
        404,
      );
    return ep;
  }

  // The model requires `reason` on every ValidationException; these are field checks too.
  const invalid = (message: string) =>
    new AwsError('ValidationException', message, 400, { reason: 'FieldValidationFailed' });

  function validateConfig(input: ControlInput): RuntimeConfig {
    const uri = input.agentRuntimeArtifact?.containerConfiguration?.containerUri;
    if (input.agentRuntimeArtifact?.codeConfiguration)
      throw invalid(
        'The local twin runs container artifacts only: use agentRuntimeArtifact.containerConfiguration.containerUri',
      );
    if (typeof uri !== 'string' || !uri)
      throw invalid('agentRuntimeArtifact.containerConfiguration.containerUri is required');
    if (typeof input.roleArn !== 'string' || !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(input.roleArn)) {
      throw invalid(
        `roleArn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got '${input.roleArn ?? ''}'`,
      );
    }
    const lifecycle = {
      idleRuntimeSessionTimeout: input.lifecycleConfiguration?.idleRuntimeSessionTimeout ?? 900,
      maxLifetime: input.lifecycleConfiguration?.maxLifetime ?? 28800,
    };
    if (lifecycle.idleRuntimeSessionTimeout > lifecycle.maxLifetime)
      throw invalid('lifecycleConfiguration.idleRuntimeSessionTimeout must not exceed maxLifetime');
    const env = input.environmentVariables ?? {};
    if (Object.keys(env).length > 50)
      throw invalid(`environmentVariables allows at most 50 variables, got ${Object.keys(env).length}`);
    const jwt = input.authorizerConfiguration?.customJWTAuthorizer;
    if (jwt && !/^.+\/\.well-known\/openid-configuration$/.test(jwt.discoveryUrl ?? '')) {
      throw invalid(
        `customJWTAuthorizer.discoveryUrl must end in /.well-known/openid-configuration, got '${jwt.discoveryUrl ?? ''}'`,
      );
    }
    const allow: string[] = input.requestHeaderConfiguration?.requestHeaderAllowlist ?? [];
    if (allow.length > 20)
      throw invalid(`requestHeaderAllowlist allows at most 20 headers, got ${allow.length}`);
    for (const h of allow) {
      const l = h.toLowerCase();
      if (
        l.startsWith('x-amz-') ||
        (l.startsWith('x-amzn-') && !l.startsWith('x-amzn-bedrock-agentcore-runtime-custom-'))
      ) {
        throw invalid(
          `requestHeaderAllowlist: '${h}' is not allowed (x-amz-* never, x-amzn-* only as X-Amzn-Bedrock-AgentCore-Runtime-Custom-*)`,
        );
      }
    }
    const rest = Object.fromEntries(Object.entries(input).filter(([k]) => !NOT_CONFIG.includes(k)));
    return {
      ...rest,
      networkConfiguration: input.networkConfiguration ?? { networkMode: 'PUBLIC' },
      lifecycleConfiguration: lifecycle,
    } as RuntimeConfig;
  }

  /** A new version whose status settles after the delay: READY, or *_FAILED if its image is unusable. */
  function newVersion(
    version: string,
    config: RuntimeConfig,
    pending: 'CREATING' | 'UPDATING',
    runtimeName: string,
  ): VersionRecord {
    const uri = config.agentRuntimeArtifact.containerConfiguration.containerUri;
    const failed = pending === 'CREATING' ? 'CREATE_FAILED' : 'UPDATE_FAILED';
    let image: ResolvedImage | undefined;
    let failureReason: string | undefined;
    try {
      image = deps.ecr.resolveImage(uri, config.roleArn);
      if (image.architecture !== 'arm64' || image.os !== 'linux') {
        failureReason = `Architecture incompatible for uri '${uri}'. Supported architectures: [arm64]`;
      }
    } catch (e) {
      failureReason = (e as Error).message;
    }
    const fault = takeFault(pending === 'CREATING' ? 'create' : 'update', runtimeName);
    failureReason ??= fault?.failureReason;
    const delay = pending === 'CREATING' ? options.createDelayMs : options.updateDelayMs;
    return {
      version,
      config,
      createdAt: iso(),
      status: pending,
      settlesAt: now() + (fault?.afterMs ?? delay),
      settlesTo: failureReason ? { status: failed, failureReason } : { status: 'READY' },
      ...(image && !failureReason && { image }),
    };
  }

  /** Same client token + same request → same answer (no second version); different request → conflict. */
  function idempotent(key: string | undefined, input: unknown, run: () => unknown) {
    if (!key) return run();
    const hash = createHash('sha256').update(JSON.stringify(input)).digest('hex');
    const seen = state.clientTokens[key];
    if (seen) {
      if (seen.hash !== hash) throw idempotentParameterMismatch();
      return seen.response;
    }
    const response = run();
    state.clientTokens[key] = { hash, response };
    return response;
  }

  const route = (
    method: string,
    path: string,
    status: number,
    fn: (req: TwinRequest, input: ControlInput) => unknown,
  ) =>
    router.route(method, path, (req: TwinRequest, res: TwinResponse) =>
      sendJson(res, status, fn(req, method === 'GET' || method === 'DELETE' ? {} : jsonBody(req))),
    );

  const versionSummary = (rt: RuntimeRecord, v: VersionRecord) => ({
    agentRuntimeArn: rt.arn,
    agentRuntimeId: rt.id,
    agentRuntimeVersion: v.version,
    agentRuntimeName: rt.name,
    description: v.config.description ?? '',
    lastUpdatedAt: v.createdAt,
    status: rt.deletion?.status ?? v.status,
  });

  const describeEndpoint = (rt: RuntimeRecord, ep: EndpointRecord) => ({
    name: ep.name,
    id: ep.id,
    agentRuntimeEndpointArn: `${rt.arn}/runtime-endpoint/${ep.name}`,
    agentRuntimeArn: rt.arn,
    status: ep.deletion?.status ?? ep.status,
    ...(ep.liveVersion && { liveVersion: ep.liveVersion }),
    ...(ep.targetVersion && { targetVersion: ep.targetVersion }),
    ...(ep.description && { description: ep.description }),
    ...((ep.deletion?.failureReason ?? ep.failureReason) && {
      failureReason: ep.deletion?.failureReason ?? ep.failureReason,
    }),
    createdAt: ep.createdAt,
    lastUpdatedAt: ep.lastUpdatedAt,
  });

  const page = <T>(items: T[], req: TwinRequest) => {
    const start = Number(req.query.get('nextToken') ?? 0) || 0;
    const size = Number(req.query.get('maxResults') ?? 100) || 100;
    return {
      items: items.slice(start, start + size),
      ...(start + size < items.length && { nextToken: String(start + size) }),
    };
  };

  route('PUT', '/runtimes/', 202, (_req, input) =>
    idempotent(input.clientToken && `create:${input.clientToken}`, input, () => {
      validateInput(inputs.CreateAgentRuntime, input);
      const name = input.agentRuntimeName!;
      if (Object.values(state.runtimes).some((r) => r.name === name))
        throw new AwsError(
          'ConflictException',
          `An agent runtime with the name '${name}' already exists`,
          409,
        );
      const config = validateConfig(input);
      const id = `${name}-${randomId(10)}`;
      const created = iso();
      const rt: RuntimeRecord = {
        id,
        name,
        arn: `arn:aws:bedrock-agentcore:${ctx.region}:${ctx.accountId}:runtime/${id}`,
        createdAt: created,
        lastUpdatedAt: created,
        ...(input.tags && { tags: input.tags }),
        latestVersion: '1',
        versions: { '1': newVersion('1', config, 'CREATING', name) },
        endpoints: {
          DEFAULT: {
            name: 'DEFAULT',
            id: `DEFAULT-${randomId(10)}`,
            createdAt: created,
            lastUpdatedAt: created,
            status: 'CREATING',
            targetVersion: '1',
          },
        },
      };
      state.runtimes[id] = rt;
      return {
        agentRuntimeArn: rt.arn,
        agentRuntimeId: id,
        agentRuntimeVersion: '1',
        createdAt: created,
        status: 'CREATING',
        workloadIdentityDetails: { workloadIdentityArn: workloadArn(name) },
      };
    }),
  );

  route('POST', '/runtimes/', 200, (req) => {
    const all = Object.values(state.runtimes)
      .filter(settle)
      .map((rt) => versionSummary(rt, rt.versions[rt.latestVersion]));
    const { items, nextToken } = page(all, req);
    return { agentRuntimes: items, ...(nextToken && { nextToken }) };
  });

  route('GET', '/runtimes/{agentRuntimeId}/', 200, (req) => {
    validateInput(inputs.GetAgentRuntime, {
      agentRuntimeId: req.params.agentRuntimeId,
      agentRuntimeVersion: req.query.get('version') ?? undefined,
    });
    const rt = findRuntime(req.params.agentRuntimeId);
    const v = findVersion(rt, req.query.get('version'));
    return {
      ...v.config,
      agentRuntimeArn: rt.arn,
      agentRuntimeName: rt.name,
      agentRuntimeId: rt.id,
      agentRuntimeVersion: v.version,
      createdAt: rt.createdAt,
      lastUpdatedAt: v.createdAt,
      status: rt.deletion?.status ?? v.status,
      ...((rt.deletion?.failureReason ?? v.failureReason) && {
        failureReason: rt.deletion?.failureReason ?? v.failureReason,
      }),
      workloadIdentityDetails: { workloadIdentityArn: workloadArn(rt.name) },
    };
  });

  route('PUT', '/runtimes/{agentRuntimeId}/', 202, (req, input) => {
    validateInput(inputs.UpdateAgentRuntime, { ...input, agentRuntimeId: req.params.agentRuntimeId });
    const rt = findRuntime(req.params.agentRuntimeId);
    return idempotent(input.clientToken && `update:${rt.id}:${input.clientToken}`, input, () => {
      assertNotDeleting(rt);
      const latest = rt.versions[rt.latestVersion];
      if (PENDING.includes(latest.status)) {
        throw new AwsError(
          'ConflictException',
          `Agent runtime '${rt.id}' is ${latest.status}; wait until it is READY or *_FAILED before updating it`,
          409,
        );
      }
      const config = validateConfig(input);
      const version = String(Math.max(...Object.keys(rt.versions).map(Number), Number(rt.latestVersion)) + 1);
      rt.versions[version] = newVersion(version, config, 'UPDATING', rt.name);
      rt.latestVersion = version;
      rt.lastUpdatedAt = iso();
      settle(rt);
      return {
        agentRuntimeArn: rt.arn,
        agentRuntimeId: rt.id,
        agentRuntimeVersion: version,
        createdAt: rt.createdAt,
        lastUpdatedAt: rt.lastUpdatedAt,
        status: 'UPDATING',
        workloadIdentityDetails: { workloadIdentityArn: workloadArn(rt.name) },
      };
    });
  });

  route('DELETE', '/runtimes/{agentRuntimeId}/', 202, (req) => {
    validateInput(inputs.DeleteAgentRuntime, {
      agentRuntimeId: req.params.agentRuntimeId,
      agentRuntimeVersion: req.query.get('version') ?? undefined,
      clientToken: req.query.get('clientToken') ?? undefined,
    });
    const rt = findRuntime(req.params.agentRuntimeId);
    const version = req.query.get('version');
    if (version) {
      const v = findVersion(rt, version);
      const inUse = Object.values(rt.endpoints).filter(
        (e) => e.liveVersion === version || e.targetVersion === version,
      );
      if (version === rt.latestVersion || inUse.length) {
        throw new AwsError(
          'ConflictException',
          `Version ${version} is ${version === rt.latestVersion ? 'the latest version' : `used by endpoint(s) ${inUse.map((e) => e.name).join(', ')}`} and cannot be deleted`,
          409,
        );
      }
      v.status = 'DELETING';
      v.deletesAt ??= now() + options.deleteDelayMs;
      return { status: 'DELETING', agentRuntimeId: rt.id, agentRuntimeVersion: v.version };
    }
    // Asynchronous, as AgentCore answers 202 DELETING: the runtime stays visible until the delete
    // settles. A repeated delete while DELETING answers the same; after DELETE_FAILED it retries.
    if (rt.deletion?.status !== 'DELETING') rt.deletion = startDeletion(takeFault('delete', rt.name));
    return { status: 'DELETING', agentRuntimeId: rt.id };
  });

  route('POST', '/runtimes/{agentRuntimeId}/versions/', 200, (req) => {
    validateInput(inputs.ListAgentRuntimeVersions, { agentRuntimeId: req.params.agentRuntimeId });
    const rt = findRuntime(req.params.agentRuntimeId);
    const all = Object.values(rt.versions)
      .sort((a, b) => Number(b.version) - Number(a.version))
      .map((v) => versionSummary(rt, v));
    const { items, nextToken } = page(all, req);
    return { agentRuntimes: items, ...(nextToken && { nextToken }) };
  });

  route('PUT', '/runtimes/{agentRuntimeId}/runtime-endpoints/', 202, (req, input) => {
    validateInput(inputs.CreateAgentRuntimeEndpoint, { ...input, agentRuntimeId: req.params.agentRuntimeId });
    const rt = findRuntime(req.params.agentRuntimeId);
    const key = input.clientToken && `endpoint:${rt.id}:${input.clientToken}`;
    return idempotent(key, input, () => createEndpoint(rt, input));
  });

  function createEndpoint(rt: RuntimeRecord, input: ControlInput) {
    assertNotDeleting(rt);
    const name = input.name!;
    if (rt.endpoints[name])
      throw new AwsError(
        'ConflictException',
        `An endpoint named '${name}' already exists for agent runtime '${rt.id}'`,
        409,
      );
    if (Object.keys(rt.endpoints).length >= MAX_ENDPOINTS) {
      throw new AwsError(
        'ServiceQuotaExceededException',
        `Agent runtime '${rt.id}' already has the maximum of ${MAX_ENDPOINTS} endpoints (DEFAULT included)`,
        402,
      );
    }
    const version = findVersion(rt, input.agentRuntimeVersion ?? rt.latestVersion).version;
    const created = iso();
    const ep: EndpointRecord = {
      name,
      id: `${name}-${randomId(10)}`,
      ...(input.description && { description: input.description }),
      createdAt: created,
      lastUpdatedAt: created,
      status: 'CREATING',
      targetVersion: version,
      settlesAt: now() + options.endpointReadyDelayMs,
    };
    rt.endpoints[name] = ep;
    return {
      targetVersion: version,
      agentRuntimeEndpointArn: `${rt.arn}/runtime-endpoint/${name}`,
      agentRuntimeArn: rt.arn,
      agentRuntimeId: rt.id,
      endpointName: name,
      status: 'CREATING',
      createdAt: created,
    };
  }

  route('POST', '/runtimes/{agentRuntimeId}/runtime-endpoints/', 200, (req) => {
    validateInput(inputs.ListAgentRuntimeVersions, { agentRuntimeId: req.params.agentRuntimeId });
    const rt = findRuntime(req.params.agentRuntimeId);
    const { items, nextToken } = page(
      Object.values(rt.endpoints).map((ep) => describeEndpoint(rt, ep)),
      req,
    );
    return { runtimeEndpoints: items, ...(nextToken && { nextToken }) };
  });

  route('GET', '/runtimes/{agentRuntimeId}/runtime-endpoints/{endpointName}/', 200, (req) => {
    validateInput(inputs.AgentRuntimeEndpoint, req.params);
    const rt = findRuntime(req.params.agentRuntimeId);
    return describeEndpoint(rt, findEndpoint(rt, req.params.endpointName));
  });

  route('PUT', '/runtimes/{agentRuntimeId}/runtime-endpoints/{endpointName}/', 202, (req, input) => {
    validateInput(inputs.UpdateAgentRuntimeEndpoint, { ...input, ...req.params });
    const rt = findRuntime(req.params.agentRuntimeId);
    const ep = findEndpoint(rt, req.params.endpointName);
    assertNotDeleting(rt);
    if (ep.deletion)
      throw new AwsError('ConflictException', `Endpoint '${ep.name}' is ${ep.deletion.status}`, 409);
    if (ep.name === 'DEFAULT' && input.agentRuntimeVersion)
      throw invalid(
        'The DEFAULT endpoint always follows the latest version and cannot be pointed at another one',
      );
    if (PENDING.includes(ep.status))
      throw new AwsError(
        'ConflictException',
        `Endpoint '${ep.name}' is ${ep.status}; wait until it is READY before updating it`,
        409,
      );
    if (input.description !== undefined) ep.description = input.description;
    if (input.agentRuntimeVersion) {
      ep.targetVersion = findVersion(rt, input.agentRuntimeVersion).version;
      ep.status = 'UPDATING';
      ep.settlesAt = now() + options.endpointReadyDelayMs;
    }
    ep.lastUpdatedAt = iso();
    const d = describeEndpoint(rt, ep);
    return {
      liveVersion: d.liveVersion,
      targetVersion: d.targetVersion,
      agentRuntimeEndpointArn: d.agentRuntimeEndpointArn,
      agentRuntimeArn: rt.arn,
      status: ep.status,
      createdAt: ep.createdAt,
      lastUpdatedAt: ep.lastUpdatedAt,
    };
  });

  route('DELETE', '/runtimes/{agentRuntimeId}/runtime-endpoints/{endpointName}/', 202, (req) => {
    validateInput(inputs.DeleteAgentRuntimeEndpoint, {
      ...req.params,
      clientToken: req.query.get('clientToken') ?? undefined,
    });
    const rt = findRuntime(req.params.agentRuntimeId);
    const ep = findEndpoint(rt, req.params.endpointName);
    if (ep.name === 'DEFAULT')
      throw invalid('The DEFAULT endpoint cannot be deleted on its own; delete the agent runtime instead');
    if (ep.deletion?.status !== 'DELETING')
      ep.deletion = startDeletion(takeFault('delete-endpoint', rt.name));
    return { status: 'DELETING', agentRuntimeId: rt.id, endpointName: ep.name };
  });

  return {
    /** A runtime by id, ARN or name, with statuses settled to now; undefined if there is none. */
    runtime(idArnOrName: string): RuntimeRecord | undefined {
      const rt = Object.values(state.runtimes).find(
        (r) => r.id === idArnOrName || r.arn === idArnOrName || r.name === idArnOrName,
      );
      return rt && settle(rt) ? rt : undefined;
    },
    /** Make the next matching create, update or delete fail after a while (see ControlFault). */
    injectFault(fault: ControlFault) {
      faults.push(fault);
    },
    /** For the data plane: the runtime, endpoint and version a qualifier selects, or the service's error. */
    resolve(idOrArn: string, qualifier = 'DEFAULT') {
      const rt = findRuntime(idOrArn);
      const ep = rt.endpoints[qualifier];
      if (!ep || ep.deletion?.status === 'DELETING')
        throw new AwsError(
          'ResourceNotFoundException',
          `Endpoint '${qualifier}' not found for agent runtime '${rt.id}'`,
          404,
        );
      const version = ep.liveVersion && rt.versions[ep.liveVersion];
      if (!version || version.status !== 'READY' || !version.image) {
        throw new AwsError(
          'ValidationException',
          `Endpoint '${qualifier}' of agent runtime '${rt.id}' has no READY version to serve (status ${ep.status})`,
          400,
        );
      }
      return { runtime: rt, endpoint: ep, version, image: version.image };
    },
    /** Called with a runtime when its delete completes (DELETING has settled and it is gone). */
    onRuntimeDeleted(fn: (runtime: RuntimeRecord) => void) {
      deletedListeners.push(fn);
    },
  };
}

export type AgentCoreControlApi = ReturnType<typeof registerAgentCoreControl>;
