import { createHash } from 'node:crypto';
import { randomId } from '../core/ids';
import { jsonBody } from '../core/json-body';
import { AwsError, sendJson } from '../core/respond';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import { agentCoreDefaults } from '../runtime/options';
import type { TwinContext } from '../twin';
import type { EcrApi, ResolvedImage } from './ecr';

const NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,47}$/;
const MAX_ENDPOINTS = 10;
const PROTOCOLS = ['HTTP', 'MCP', 'A2A', 'AGUI'];
const PENDING = ['CREATING', 'UPDATING'];
const NOT_CONFIG = ['agentRuntimeId', 'agentRuntimeName', 'clientToken', 'tags'];

type Status = 'CREATING' | 'CREATE_FAILED' | 'UPDATING' | 'UPDATE_FAILED' | 'READY' | 'DELETING';

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

const iso = (ms = Date.now()) => new Date(ms).toISOString();

/** AgentCore control plane for runtimes, versions and endpoints (restJson1), with real status transitions. */
export function registerAgentCoreControl(router: Router, ctx: TwinContext, deps: { ecr: EcrApi }) {
  const options = agentCoreDefaults(ctx.options.agentcore);
  const state = ctx.state.get('agentcore-runtimes', () => ({
    runtimes: {} as Record<string, RuntimeRecord>,
    clientTokens: {} as Record<string, { hash: string; response: unknown }>,
  }));
  const deletedListeners: ((runtime: RuntimeRecord) => void)[] = [];
  const workloadArn = (name: string) =>
    `arn:aws:bedrock-agentcore:${ctx.region}:${ctx.accountId}:workload-identity-directory/default/workload-identity/${name}`;

  /** Apply every transition whose time has come: statuses settle lazily, so they survive restarts. */
  function settle(rt: RuntimeRecord) {
    const t = Date.now();
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
      if (ep.name === 'DEFAULT' || ep.settlesAt === undefined || ep.settlesAt > t) continue;
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
  }

  function findRuntime(idOrArn: string): RuntimeRecord {
    const id = idOrArn.startsWith('arn:') ? idOrArn.slice(idOrArn.lastIndexOf('/') + 1) : idOrArn;
    const rt = state.runtimes[id];
    if (!rt) throw new AwsError('ResourceNotFoundException', `Agent runtime '${idOrArn}' not found`, 404);
    settle(rt);
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

  const invalid = (message: string) => new AwsError('ValidationException', message);

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
    for (const [k, v] of Object.entries(lifecycle)) {
      if (!Number.isInteger(v) || v < 60 || v > 28800)
        throw invalid(`lifecycleConfiguration.${k} must be 60-28800 seconds, got ${v}`);
    }
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
    const protocol = input.protocolConfiguration?.serverProtocol;
    if (protocol !== undefined && !PROTOCOLS.includes(protocol))
      throw invalid(
        `protocolConfiguration.serverProtocol must be one of ${PROTOCOLS.join(', ')}, got '${protocol}'`,
      );
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
    return {
      version,
      config,
      createdAt: iso(),
      status: pending,
      settlesAt: Date.now() + options.readyDelayMs,
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
      if (seen.hash !== hash)
        throw new AwsError(
          'ConflictException',
          'The client token was already used with a different request; use a new clientToken',
          409,
        );
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
    status: v.status,
  });

  const describeEndpoint = (rt: RuntimeRecord, ep: EndpointRecord) => ({
    name: ep.name,
    id: ep.id,
    agentRuntimeEndpointArn: `${rt.arn}/runtime-endpoint/${ep.name}`,
    agentRuntimeArn: rt.arn,
    status: ep.status,
    ...(ep.liveVersion && { liveVersion: ep.liveVersion }),
    ...(ep.targetVersion && { targetVersion: ep.targetVersion }),
    ...(ep.description && { description: ep.description }),
    ...(ep.failureReason && { failureReason: ep.failureReason }),
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
      const name = String(input.agentRuntimeName ?? '');
      if (!NAME.test(name))
        throw invalid(
          `1 validation error detected: Value '${name}' at 'agentRuntimeName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47}`,
        );
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
        versions: { '1': newVersion('1', config, 'CREATING') },
        endpoints: {
          DEFAULT: {
            name: 'DEFAULT',
            id: `DEFAULT`,
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
    const all = Object.values(state.runtimes).map(
      (rt) => (settle(rt), versionSummary(rt, rt.versions[rt.latestVersion])),
    );
    const { items, nextToken } = page(all, req);
    return { agentRuntimes: items, ...(nextToken && { nextToken }) };
  });

  route('GET', '/runtimes/{agentRuntimeId}/', 200, (req) => {
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
      status: v.status,
      ...(v.failureReason && { failureReason: v.failureReason }),
      workloadIdentityDetails: { workloadIdentityArn: workloadArn(rt.name) },
    };
  });

  route('PUT', '/runtimes/{agentRuntimeId}/', 202, (req, input) => {
    const rt = findRuntime(req.params.agentRuntimeId);
    return idempotent(input.clientToken && `update:${rt.id}:${input.clientToken}`, input, () => {
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
      rt.versions[version] = newVersion(version, config, 'UPDATING');
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
      delete rt.versions[version];
      return { status: 'DELETING', agentRuntimeId: rt.id, agentRuntimeVersion: v.version };
    }
    delete state.runtimes[rt.id];
    for (const fn of deletedListeners) fn(rt);
    return { status: 'DELETING', agentRuntimeId: rt.id };
  });

  route('POST', '/runtimes/{agentRuntimeId}/versions/', 200, (req) => {
    const rt = findRuntime(req.params.agentRuntimeId);
    const all = Object.values(rt.versions)
      .sort((a, b) => Number(b.version) - Number(a.version))
      .map((v) => versionSummary(rt, v));
    const { items, nextToken } = page(all, req);
    return { agentRuntimes: items, ...(nextToken && { nextToken }) };
  });

  route('PUT', '/runtimes/{agentRuntimeId}/runtime-endpoints/', 202, (req, input) => {
    const rt = findRuntime(req.params.agentRuntimeId);
    const name = String(input.name ?? '');
    if (!NAME.test(name))
      throw invalid(
        `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47}`,
      );
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
      settlesAt: Date.now() + options.endpointReadyDelayMs,
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
  });

  route('POST', '/runtimes/{agentRuntimeId}/runtime-endpoints/', 200, (req) => {
    const rt = findRuntime(req.params.agentRuntimeId);
    const { items, nextToken } = page(
      Object.values(rt.endpoints).map((ep) => describeEndpoint(rt, ep)),
      req,
    );
    return { runtimeEndpoints: items, ...(nextToken && { nextToken }) };
  });

  route('GET', '/runtimes/{agentRuntimeId}/runtime-endpoints/{endpointName}/', 200, (req) => {
    const rt = findRuntime(req.params.agentRuntimeId);
    return describeEndpoint(rt, findEndpoint(rt, req.params.endpointName));
  });

  route('PUT', '/runtimes/{agentRuntimeId}/runtime-endpoints/{endpointName}/', 202, (req, input) => {
    const rt = findRuntime(req.params.agentRuntimeId);
    const ep = findEndpoint(rt, req.params.endpointName);
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
      ep.settlesAt = Date.now() + options.endpointReadyDelayMs;
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
    const rt = findRuntime(req.params.agentRuntimeId);
    const ep = findEndpoint(rt, req.params.endpointName);
    if (ep.name === 'DEFAULT')
      throw invalid('The DEFAULT endpoint cannot be deleted on its own; delete the agent runtime instead');
    delete rt.endpoints[ep.name];
    return { status: 'DELETING', agentRuntimeId: rt.id, endpointName: ep.name };
  });

  return {
    /** A runtime by id, ARN or name, with statuses settled to now; undefined if there is none. */
    runtime(idArnOrName: string): RuntimeRecord | undefined {
      const rt = Object.values(state.runtimes).find(
        (r) => r.id === idArnOrName || r.arn === idArnOrName || r.name === idArnOrName,
      );
      if (rt) settle(rt);
      return rt;
    },
    /** For the data plane: the runtime, endpoint and version a qualifier selects, or the service's error. */
    resolve(idOrArn: string, qualifier = 'DEFAULT') {
      const rt = findRuntime(idOrArn);
      const ep = rt.endpoints[qualifier];
      if (!ep)
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
    /** Called with a runtime right after DeleteAgentRuntime removed it. */
    onRuntimeDeleted(fn: (runtime: RuntimeRecord) => void) {
      deletedListeners.push(fn);
    },
  };
}

export type AgentCoreControlApi = ReturnType<typeof registerAgentCoreControl>;
