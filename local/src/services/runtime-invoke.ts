import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AwsError } from '../core/respond';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import { cognitoOnTwin, JwtAuthorizer } from '../runtime/jwt-authorizer';
import { parseEmf } from '../runtime/emf';
import { agentCoreDefaults } from '../runtime/options';
import { StartError, Supervisor, instanceKey, type Instance, type LogLine } from '../runtime/supervisor';
import type { TwinContext } from '../twin';
import { dataPlaneInputs, validateInput } from './agentcore-control-inputs';
import type { AgentCoreControlApi, RuntimeRecord, VersionRecord } from './agentcore-control';
import type { CloudWatchApi } from './cloudwatch';
import type { EcrApi } from './ecr';

const SESSION = 'x-amzn-bedrock-agentcore-runtime-session-id';
const REQUEST_ID = 'x-amzn-bedrock-agentcore-runtime-request-id';
const USER_ID = 'x-amzn-bedrock-agentcore-runtime-user-id';
const TRACING = ['traceparent', 'tracestate', 'baggage', 'x-amzn-trace-id'];
const MISMATCH =
  "Authorization method mismatch. The agent is configured for a different authorization method than what was used in your request. Check the agent's authorization configuration and ensure your request uses the matching method (OAuth or SigV4)";

/**
 * AgentCore data plane: InvokeAgentRuntime and StopRuntimeSession. The qualifier picks an endpoint,
 * the endpoint its live version, the version its image, the image its bundle, which runs as a child
 * process (see runtime/supervisor.ts) that the request is relayed to, streaming.
 */
export function registerRuntimeInvoke(
  router: Router,
  ctx: TwinContext,
  deps: { control: AgentCoreControlApi; ecr: EcrApi; cloudwatch: CloudWatchApi },
) {
  const options = agentCoreDefaults(ctx.options.agentcore);
  const supervisor = new Supervisor({
    startTimeoutMs: options.startTimeoutMs,
    logAgentOutput: options.logAgentOutput,
    // As CloudWatch Logs does for a runtime's log group: EMF lines become metrics.
    onLine: ({ line }) => {
      for (const p of parseEmf(line))
        for (const v of p.values) deps.cloudwatch.putMetric(p.namespace, p.name, v, p.dimensions, p.time);
    },
  });
  const authorizer = new JwtAuthorizer(cognitoOnTwin(() => ctx.url));
  const ownWorkDir = !ctx.state.dir;
  const workDir = ctx.state.dir
    ? path.join(ctx.state.dir, 'artifacts')
    : fs.mkdtempSync(path.join(os.tmpdir(), 'twin-artifacts-'));
  /** `${runtimeId}|${endpoint}|${sessionId}` → the instance key the session was first routed to. */
  const sessions = new Map<string, string>();

  ctx.onClose(async () => {
    await supervisor.close();
    if (ownWorkDir) fs.rmSync(workDir, { recursive: true, force: true });
  });
  deps.control.onRuntimeDeleted((rt) => void supervisor.stopWhere((i) => i.spec.runtimeId === rt.id));

  /** Write the version's bundle to a file once (by digest) so `node` can run it. */
  function artifactFile(version: VersionRecord): string {
    const image = version.image!;
    const file = path.join(workDir, image.bundleDigest.replace(':', '-'), image.bundleFileName);
    if (!fs.existsSync(file)) {
      const bytes = deps.ecr.blob(image.bundleDigest);
      if (!bytes)
        throw new AwsError(
          'RuntimeClientError',
          `The image layer ${image.bundleDigest} is no longer in the registry`,
          424,
        );
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, bytes);
    }
    return file;
  }

  /**
   * The version's variables, then the twin's endpoint and credentials (the runtime's AWS_REGION wins).
   * The agent signs as a session of the runtime's execution role, as on AgentCore, so that role's
   * policies govern its Bedrock and Memory calls; a role the twin does not know (tests that never
   * provision IAM) leaves it the runtime account's admin credentials.
   */
  function childEnv(version: VersionRecord): Record<string, string> {
    const region = version.config.environmentVariables?.AWS_REGION ?? ctx.region;
    const role = ctx.iam.role(version.config.roleArn);
    const credentials = role
      ? ctx.iam.openSession(role, 'agentcore-runtime', 43200).credentials
      : ctx.iam.adminCredentials(ctx.accountId);
    return {
      PATH: process.env.PATH ?? '',
      ...version.config.environmentVariables,
      ...ctx.env({ account: ctx.accountId, credentials }),
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
    };
  }

  async function acquire(rt: RuntimeRecord, version: VersionRecord): Promise<Instance> {
    const lifecycle = version.config.lifecycleConfiguration;
    try {
      return await supervisor.acquire({
        runtimeId: rt.id,
        version: version.version,
        label: `${rt.name} v${version.version}`,
        artifactPath: artifactFile(version),
        env: childEnv(version),
        idleTimeoutMs: lifecycle.idleRuntimeSessionTimeout * 1000 * options.lifecycleScale,
        maxLifetimeMs: lifecycle.maxLifetime * 1000 * options.lifecycleScale,
      });
    } catch (e) {
      if (e instanceof StartError) throw new AwsError('RuntimeClientError', e.message, 424);
      throw e;
    }
  }

  /** SigV4 for runtimes without an authorizer, a bearer JWT for runtimes with one; never the other. */
  async function authorize(req: TwinRequest, version: VersionRecord) {
    const auth = String(req.headers.authorization ?? '');
    const sigv4 = auth.startsWith('AWS4-HMAC-SHA256');
    const bearer = /^Bearer\s+(.+)$/i.exec(auth)?.[1];
    const jwt = version.config.authorizerConfiguration?.customJWTAuthorizer;
    if (jwt) {
      if (sigv4) throw new AwsError('AccessDeniedException', MISMATCH, 403);
      if (!bearer) throw new AwsError('UnauthorizedException', 'Missing Authentication Token', 401);
      await authorizer.verify(bearer, jwt);
    } else {
      if (bearer) throw new AwsError('AccessDeniedException', MISMATCH, 403);
      if (!sigv4) throw new AwsError('AccessDeniedException', 'Missing Authentication Token', 403);
    }
  }

  function headersFor(req: TwinRequest, version: VersionRecord, sessionId: string): http.OutgoingHttpHeaders {
    const headers: http.OutgoingHttpHeaders = {
      'content-type': req.headers['content-type'] ?? 'application/json',
      accept: req.headers.accept ?? 'application/json',
      'content-length': req.body.length,
      [SESSION]: sessionId,
      [REQUEST_ID]: randomUUID(),
    };
    const jwt = !!version.config.authorizerConfiguration?.customJWTAuthorizer;
    const allowed = (version.config.requestHeaderConfiguration?.requestHeaderAllowlist ?? []).map((h) =>
      h.toLowerCase(),
    );
    for (const name of [...TRACING, ...allowed, ...(jwt ? [] : [USER_ID])]) {
      if (name === 'authorization' && !jwt) continue;
      const value = req.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    return headers;
  }

  /** The runtime (by id, ARN or name) and what its `?qualifier=` endpoint serves; the caller authorized for it. */
  async function target(req: TwinRequest) {
    const qualifier = req.query.get('qualifier') ?? 'DEFAULT';
    const rt = deps.control.runtime(req.params.runtime);
    if (!rt)
      throw new AwsError('ResourceNotFoundException', `Agent runtime '${req.params.runtime}' not found`, 404);
    const resolved = deps.control.resolve(rt.id, qualifier);
    await authorize(req, resolved.version);
    return { rt, qualifier, resolved };
  }

  router.route('POST', '/runtimes/{runtime}/invocations', async (req: TwinRequest, res: TwinResponse) => {
    const { rt, qualifier, resolved } = await target(req);
    const sessionId = String(req.headers[SESSION] ?? randomUUID());
    validateInput(dataPlaneInputs.InvokeAgentRuntime, { runtimeSessionId: sessionId });

    // A session stays on the instance it started on while that instance lives (like a microVM).
    const sessionKey = `${rt.id}|${qualifier}|${sessionId}`;
    const bound = sessions.get(sessionKey);
    // Only that instance is awaited: another runtime's instance may still be starting.
    const pinned = bound ? await supervisor.get(bound) : undefined;
    const version = pinned ? (rt.versions[pinned.spec.version] ?? resolved.version) : resolved.version;
    const instance = await acquire(rt, version);
    instance.sessions.add(sessionId);
    sessions.set(sessionKey, instance.key);

    try {
      const upstream = http.request({
        host: '127.0.0.1',
        port: instance.port,
        method: 'POST',
        path: '/invocations',
        headers: headersFor(req, version, sessionId),
      });
      const abort = () => upstream.destroy(new Error('the caller disconnected'));
      req.signal.addEventListener('abort', abort, { once: true });
      upstream.end(req.body);
      const answer = await new Promise<http.IncomingMessage>((resolve, reject) =>
        upstream.once('response', resolve).once('error', reject),
      );
      const status = answer.statusCode ?? 502;
      if (status >= 400) {
        answer.resume();
        throw new AwsError(
          'RuntimeClientError',
          `Received error (${status}) from runtime. Please check your CloudWatch logs for more information.`,
          424,
        );
      }
      res.writeHead(status, {
        'content-type': answer.headers['content-type'] ?? 'application/octet-stream',
        [SESSION]: sessionId,
        'x-amzn-requestid': randomUUID(),
      });
      // Chunks go out as they arrive (SSE); a caller that disconnects tears down the upstream too.
      await pipeline(answer, res).catch(() => upstream.destroy());
      req.signal.removeEventListener('abort', abort);
    } catch (e) {
      if (e instanceof AwsError) throw e;
      throw new AwsError('RuntimeClientError', `The runtime did not answer: ${(e as Error).message}`, 424);
    } finally {
      supervisor.release(instance);
    }
  });

  router.route(
    'POST',
    '/runtimes/{runtime}/stopruntimesession',
    async (req: TwinRequest, res: TwinResponse) => {
      const { rt, qualifier } = await target(req);
      const sessionId = String(req.headers[SESSION] ?? '');
      const sessionKey = `${rt.id}|${qualifier}|${sessionId}`;
      const key = sessions.get(sessionKey);
      const instance = key ? await supervisor.get(key) : undefined;
      sessions.delete(sessionKey);
      if (!instance || !instance.sessions.has(sessionId)) {
        throw new AwsError(
          'ResourceNotFoundException',
          `Session '${sessionId}' not found on endpoint '${qualifier}' of agent runtime '${rt.id}'`,
          404,
        );
      }
      instance.sessions.delete(sessionId);
      // The instance is shared by the version's sessions: it stops when its last session does.
      if (instance.sessions.size === 0 && instance.inflight === 0) await supervisor.stop(instance.key);
      res.writeHead(200, { 'content-type': 'application/json', [SESSION]: sessionId });
      res.end('{}');
    },
  );

  return {
    /** Running agent processes: runtime id, version, pid, port, sessions, requests in flight. */
    async instances() {
      return (await supervisor.list()).map((i) => ({
        runtimeId: i.spec.runtimeId,
        version: i.spec.version,
        pid: i.pid,
        port: i.port,
        sessions: [...i.sessions],
        inflight: i.inflight,
        startedAt: new Date(i.startedAt).toISOString(),
      }));
    },
    /** Recent stdout/stderr lines of the agent processes (the last 1000 across all). */
    logs(filter: { runtimeId?: string; version?: string } = {}): LogLine[] {
      return supervisor.recentLogs(filter);
    },
    /** Stop the process of one runtime version (or all of a runtime's). */
    async stopInstances(runtimeId: string, version?: string) {
      if (version) await supervisor.stop(instanceKey(runtimeId, version));
      else await supervisor.stopWhere((i) => i.spec.runtimeId === runtimeId);
    },
  };
}

export type RuntimeInvokeApi = ReturnType<typeof registerRuntimeInvoke>;
