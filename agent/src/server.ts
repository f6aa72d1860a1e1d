import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { EventType, omitOptionalNulls, type BaseEvent } from '@ag-ui/core';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import express, { type NextFunction, type Request, type Response } from 'express';
import { priceOf } from '../../cost/model';
import { Agent } from './agent';
import { keepAliveHandler, warmUp } from './aws-http';
import { Background } from './background';
import type { Config } from './config';
import { Health } from './health';
import {
  actorIdFor,
  HttpError,
  parseInvocation,
  REQUEST_ID_HEADER,
  SESSION_HEADER,
  sessionIdFor,
} from './input';
import { Sessions } from './session';
import { TOOLS } from './tools';
import { createLogger, type Logger } from './telemetry/logger';
import { Metrics } from './telemetry/metrics';
import { Tracing } from './telemetry/tracing';

export interface AgentServerOptions {
  logger?: Logger;
  metrics?: Metrics;
  /** The /ping state, when the process answered /ping before this server was made (main.ts). */
  health?: Health;
}

export interface AgentServer {
  readonly app: express.Express;
  readonly health: Health;
  /** Its tracing: `tracing.ready` resolves once spans are exported. */
  readonly tracing: Tracing;

  /**
   * Listen on HOST:PORT (PORT 0 picks a free port), or take over `listening`, a server already bound
   * there; resolves with the base URL.
   */
  listen(listening?: Server): Promise<string>;
  /**
   * Stop taking new invocations (503), let in-flight runs finish, abort the rest, flush memory writes,
   * background work, spans and log lines, and close the server — all within `deadlineMs` (each stage
   * by its share, SHUTDOWN_SHARES), whatever the endpoints do. Resolves with what was dropped.
   */
  shutdown(deadlineMs?: number): Promise<ShutdownReport>;
}

/** What a shutdown cut short; `clean` when nothing. */
export interface ShutdownReport {
  clean: boolean;
  dropped: {
    /** In-flight runs aborted at their share of the deadline. */
    runs: number;
    memoryWrites: number;
    backgroundTasks: number;
    /** Spans not exported (endpoint down, refusing or too slow). */
    spans: number;
  };
}

/**
 * Where each shutdown stage must be done, as a fraction of the deadline from SIGTERM: answers get
 * most of it; what they leave behind (memory writes, background calls), spans and the log flush get
 * the rest. A stage that finishes early leaves its time to the next.
 */
const SHUTDOWN_SHARES = { runs: 0.7, abortedRuns: 0.75, memoryAndBackground: 0.85, spans: 0.95 };

/** How long an idle client connection stays open (see listen()). */
const KEEP_ALIVE_MS = 72_000;

/** Whether `work` settled before `deadline` (an epoch ms); it is not awaited past it. */
async function settlesBy(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), false))),
  ]);
  clearTimeout(timer);
  return settled;
}

class ShutdownError extends Error {
  override name = 'ShutdownError';
}

/**
 * AG-UI's protobuf media type (@ag-ui/proto's AGUI_MEDIA_TYPE; a test pins it to the library's). Named here
 * so that serving SSE never imports @ag-ui/encoder: its protobuf path validates every event with a zod
 * schema for each of AG-UI's event types, built when the module is imported (#16, cold start).
 */
export const AGUI_MEDIA_TYPE = 'application/vnd.ag-ui.event+proto';
const SSE_MEDIA_TYPE = 'text/event-stream';
const STREAM_TYPES = [SSE_MEDIA_TYPE, AGUI_MEDIA_TYPE];

/** How a run's events go out: as SSE strings, or as AG-UI protobuf frames. */
interface EventWriter {
  contentType: string;
  encode(event: BaseEvent): string | Uint8Array;
}

/**
 * An event as one SSE message, byte for byte what @ag-ui/encoder's `EventEncoder.encodeSSE` writes
 * (test: performance.test, every event of a run). Written as a string: Node encodes it to the socket as
 * UTF-8, with no Uint8Array per event.
 */
export const encodeSSE = (event: BaseEvent) =>
  `data: ${JSON.stringify(omitOptionalNulls(event, 'Event'))}\n\n`;
const SSE: EventWriter = { contentType: SSE_MEDIA_TYPE, encode: encodeSSE };

/** The protobuf writer, its modules (@ag-ui/encoder, @ag-ui/proto) imported the first time a client asks for it. */
let protobuf: Promise<EventWriter> | undefined;
const protobufWriter = () =>
  (protobuf ??= import('@ag-ui/encoder').then(({ EventEncoder }) => {
    const encoder = new EventEncoder({ accept: AGUI_MEDIA_TYPE });
    return { contentType: encoder.getContentType(), encode: (event) => encoder.encodeBinary(event) };
  }));
/** Names a client tool may not take: the agent runs these itself. */
const TOOL_NAMES = TOOLS.map((t) => t.name);

const sendError = (res: Response, status: number, code: string, message: string) =>
  res.status(status).json({ error: { code, message } });

/**
 * The memory and its client, or none without MEMORY_ID. Their modules (the AgentCore client, ~100 KB
 * of AWS SDK) are imported only then: an agent without memory never reads them (#16, cold start).
 * Through memory.ts alone, which makes the client: source and bundle resolve the SDK's packages
 * differently (a bundled CommonJS build's chunk exported only `default`), and a test starts the split
 * bundle with memory on (performance.test).
 */
async function createMemory(config: Config, log: Logger, tracing: Tracing) {
  if (!config.MEMORY_ID) return undefined;
  const { Memory, memoryClient } = await import('./memory');
  const client = memoryClient(config);
  return { client, memory: new Memory(client, config.MEMORY_ID, config, log, tracing) };
}

export async function createAgentServer(
  config: Config,
  options: AgentServerOptions = {},
): Promise<AgentServer> {
  const log = options.logger ?? createLogger(config.LOG_LEVEL, config.AGENT_ENV);
  const metrics = options.metrics ?? new Metrics(config.METRICS_NAMESPACE, config.AGENT_ENV);
  const tracing = new Tracing({ captureContent: config.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT });
  // Endpoints come from the standard AWS_ENDPOINT_URL* variables; throttling is retried with backoff.
  const runtime = new BedrockRuntimeClient({
    region: config.AWS_REGION,
    maxAttempts: config.MODEL_MAX_ATTEMPTS,
    requestHandler: keepAliveHandler({
      connectMs: config.AWS_CONNECT_TIMEOUT_MS,
      idleMs: config.MODEL_IDLE_TIMEOUT_MS,
    }),
  });
  // The first answer signs at once instead of resolving credentials and region on its own time.
  warmUp(runtime).catch((e: Error) =>
    log.warn({ err: e }, 'Bedrock client: credentials or region not resolved ahead of the first call'),
  );
  const { client: memoryClient, memory } = (await createMemory(config, log, tracing)) ?? {};
  if (!memory) log.info('MEMORY_ID is not set: memory is off (no events written, no records retrieved)');
  if (!config.MODEL_PRICES) {
    log.warn(
      'MODEL_PRICES is not set: answers are not priced (no EstimatedCostUsd/CacheSavingsUsd metrics); the stack sets it from environments/prices.yaml',
    );
  }
  const background = new Background(
    runtime,
    config.BACKGROUND_MODEL_ID,
    metrics,
    config.MODEL_PRICES && priceOf(config.MODEL_PRICES, config.BACKGROUND_MODEL_ID),
    tracing,
  );
  const agent = new Agent({ config, runtime, memory, background, metrics, tracing });
  const sessions = new Sessions();
  const health = options.health ?? new Health();
  const runs = new Map<Promise<void>, AbortController>();
  let draining = false;
  let server: Server | undefined;

  const app = express();
  app.disable('x-powered-by');

  app.get('/ping', (_req, res) => health.answer(res));

  app.post(
    '/invocations',
    (req, res, next) => {
      if (draining)
        return sendError(res, 503, 'ShuttingDown', 'The agent is shutting down; retry on a new session');
      if (!req.headers['content-type']) {
        return sendError(
          res,
          415,
          'UnsupportedMediaType',
          'Send the body as JSON with Content-Type: application/json',
        );
      }
      if (!req.is('application/json')) {
        return sendError(
          res,
          415,
          'UnsupportedMediaType',
          `Content-Type must be application/json (got ${req.headers['content-type']})`,
        );
      }
      if (!req.accepts(STREAM_TYPES)) {
        return sendError(res, 406, 'NotAcceptable', 'The answer is an SSE stream: accept text/event-stream');
      }
      next();
    },
    express.json({ limit: config.MAX_BODY_BYTES, strict: false }),
    async (req, res) => {
      const startedAt = Date.now();
      // SSE unless the client prefers AG-UI protobuf by name (a bare */* gets SSE, which curl can show).
      const writer = req.accepts(STREAM_TYPES) === AGUI_MEDIA_TYPE ? await protobufWriter() : SSE;
      const requestId = req.header(REQUEST_ID_HEADER) || randomUUID();
      const invocation = parseInvocation(req.body, TOOL_NAMES);
      const sessionId = sessionIdFor(
        req.header(SESSION_HEADER),
        invocation.threadId,
        invocation.bodySessionId,
      );
      const actorId = actorIdFor(req.header('authorization'), config.DEFAULT_ACTOR_ID);
      const session = sessions.get(sessionId, actorId);

      res.status(200);
      res.setHeader('Content-Type', writer.contentType);
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('X-Accel-Buffering', 'no');
      res.setHeader(SESSION_HEADER, sessionId);
      if (session.busy) {
        // One run at a time per session. Refused as a stream of one RUN_ERROR (an AG-UI client shows it;
        // HttpAgent throws on a non-2xx status before reading any event), not as HTTP 409.
        log.warn({ sessionId, requestId, actorId }, 'session busy: refusing a second invocation');
        const refusal = {
          type: EventType.RUN_ERROR,
          code: 'SessionBusy',
          message: 'Another invocation is streaming on this session; retry when it has finished',
          timestamp: Date.now(),
        } as BaseEvent;
        return res.end(writer.encode(refusal));
      }
      session.busy = true;
      health.begin();
      const runLog = log.child({ sessionId, requestId, actorId });
      runLog.info({ runId: invocation.runId, chars: invocation.userText.length }, 'invocation');

      const controller = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) {
          runLog.warn('client disconnected; aborting the run');
          controller.abort(new Error('The client disconnected'));
        }
      });
      const emit = (event: BaseEvent) => {
        if (res.writableEnded || res.destroyed) return;
        res.write(writer.encode({ ...event, timestamp: Date.now() }));
      };
      const run = agent
        .run({
          invocation,
          session,
          threadId: invocation.threadId ?? sessionId,
          requestId,
          startedAt,
          emit,
          signal: controller.signal,
          log: runLog,
          traceContext: tracing.extract(req.headers),
        })
        .catch((e) => runLog.error({ err: e }, 'run crashed'))
        .finally(() => {
          session.busy = false;
          health.end();
          runs.delete(run);
          res.end();
        });
      runs.set(run, controller);
      // RUN_STARTED, written as the run began, carries the headers in the same packet; this sends them
      // at once if a run ever starts without it.
      if (!res.headersSent) res.flushHeaders();
    },
  );

  app.all('/invocations', (req, res) =>
    sendError(
      res.setHeader('Allow', 'POST'),
      405,
      'MethodNotAllowed',
      `${req.method} /invocations: use POST`,
    ),
  );
  app.all('/ping', (req, res) =>
    sendError(res.setHeader('Allow', 'GET'), 405, 'MethodNotAllowed', `${req.method} /ping: use GET`),
  );
  app.use((req, res) =>
    sendError(
      res,
      404,
      'NotFound',
      `No route for ${req.method} ${req.path}; use POST /invocations or GET /ping`,
    ),
  );
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message);
    // body-parser errors carry a type and a status.
    const e = err as Error & { type?: string; status?: number; limit?: number };
    if (e.type === 'entity.too.large') {
      return sendError(res, 413, 'PayloadTooLarge', `The body is larger than the limit of ${e.limit} bytes`);
    }
    if (e.type === 'entity.parse.failed')
      return sendError(res, 400, 'InvalidJson', `The body is not valid JSON: ${e.message}`);
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
      return sendError(res, 415, 'UnsupportedMediaType', e.message);
    }
    if (e.status && e.status >= 400 && e.status < 500)
      return sendError(res, e.status, 'BadRequest', e.message);
    log.error({ err }, 'unhandled error');
    return sendError(res, 500, 'InternalError', 'The agent failed to handle the request');
  });

  return {
    app,
    health,
    tracing,
    listen: (listening?: Server) =>
      new Promise((resolve, reject) => {
        const listened = (s: Server) => {
          // Node closes an idle connection after 5 s; the official SDK server (Fastify) after 72 s, longer
          // than a load balancer's usual 60 s idle timeout, so a proxy that keeps connections to the agent
          // never reuses one the agent is closing. Shutdown closes idle connections itself.
          s.keepAliveTimeout = KEEP_ALIVE_MS;
          const { port } = s.address() as AddressInfo;
          log.info(
            { host: config.HOST, port, modelId: config.MODEL_ID, env: config.AGENT_ENV },
            'agent listening',
          );
          resolve(`http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`);
          // After listening: the SDK loads while the first request can already be served.
          void tracing.start(config, log);
        };
        if (listening) {
          listening.removeAllListeners('request');
          listening.on('request', app);
          server = listening;
          return listened(listening);
        }
        const s = app.listen(config.PORT, config.HOST, (error?: Error) =>
          error ? reject(error) : listened(s),
        );
        server = s;
      }),
    async shutdown(deadlineMs = config.SHUTDOWN_DEADLINE_MS) {
      const startedAt = Date.now();
      const by = (share: number) => startedAt + deadlineMs * share;
      draining = true;
      log.info({ inFlight: runs.size, deadlineMs }, 'shutting down: draining in-flight runs');
      const dropped = { runs: 0, memoryWrites: 0, backgroundTasks: 0, spans: 0 };
      const allRuns = () => Promise.all(runs.keys());

      if (!(await settlesBy(allRuns(), by(SHUTDOWN_SHARES.runs)))) {
        dropped.runs = runs.size;
        log.warn({ inFlight: runs.size }, 'shutdown deadline reached: aborting in-flight runs');
        for (const controller of runs.values())
          controller.abort(new ShutdownError('The agent is shutting down'));
        // An aborted run still awaits what ignores its signal (its memory writes); not past its share.
        await settlesBy(allRuns(), by(SHUTDOWN_SHARES.abortedRuns));
      }
      const leftBehind = Promise.all([memory?.flush(), background.idle()]);
      if (!(await settlesBy(leftBehind, by(SHUTDOWN_SHARES.memoryAndBackground)))) {
        dropped.memoryWrites = memory?.pendingWrites ?? 0;
        dropped.backgroundTasks = background.pendingTasks;
      }
      // Cuts the calls still waiting on an endpoint (their failures are logged).
      runtime.destroy();
      memoryClient?.destroy();
      dropped.spans = await tracing.shutdown(by(SHUTDOWN_SHARES.spans) - Date.now());
      // Idle connections close now; one whose last events (a RUN_ERROR just written) are still corked
      // for this tick closes once they are out, a turn of the event loop later. Cutting every connection
      // at once lost them. Whatever is still open at the deadline is cut then.
      const closed = new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
        setImmediate(() => server?.closeIdleConnections());
      });
      if (!(await settlesBy(closed, by(1)))) server?.closeAllConnections();
      const clean = Object.values(dropped).every((n) => n === 0);
      const tookMs = Date.now() - startedAt;
      if (clean) log.info({ tookMs }, 'shut down');
      else log.warn({ tookMs, dropped }, 'shut down');
      // Log lines still queued for a reader of stdout that is not reading are lost at exit.
      if (!(await settlesBy(new Promise((resolve) => log.flush(resolve)), by(1))))
        process.stderr.write(
          'shutdown: log lines still queued for stdout were dropped (its reader is not reading)\n',
        );
      return { clean, dropped };
    },
  };
}
