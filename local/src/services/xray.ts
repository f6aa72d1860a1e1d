import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { checkInput, list, oneOf, pattern, range, text, validationError } from '../core/constraints';
import { randomId } from '../core/ids';
import { jsonBody } from '../core/json-body';
import { AwsError, sendJson } from '../core/respond';
import type { Router, TwinRequest } from '../core/router';
import type { TwinContext } from '../twin';
import type { LogsApi } from './logs';
import { decodeJson, decodeProtobuf, type OtlpSpan } from './otlp-decode';

/**
 * X-Ray with Transaction Search: spans arrive at the OTLP traces endpoint (`POST /v1/traces`,
 * SigV4 service `xray`), land in the account's `aws/spans` store, and are read back the way
 * Transaction Search offers it, StartTraceRetrieval + ListRetrievedTraces
 * (https://docs.aws.amazon.com/xray/latest/api/API_StartTraceRetrieval.html). Endpoint limits are
 * those of the CloudWatch OTLP endpoint page (CloudWatch-OTLPEndpoint.html).
 */
const MAX_UNCOMPRESSED_BYTES = 5 * 1024 * 1024;
const MAX_SPANS_PER_REQUEST = 10_000;
const MAX_SPAN_BYTES = 200 * 1024;
const MAX_FUTURE_MS = 2 * 3600_000;
const MAX_PAST_MS = 14 * 24 * 3600_000;
/** The twin keeps this many traces per account (oldest dropped first); AWS keeps them by log retention. */
const KEPT_TRACES = 2000;
/** A retrieval is RUNNING this long before it is COMPLETE (AWS runs it asynchronously). */
const RETRIEVAL_MS = 200;

interface Retrieval {
  traceIds: string[];
  startTime: number;
  endTime: number;
  startedAt: number;
}

/** `1-5f84c7a1-...` (X-Ray) or 32 hex digits (W3C/OTel) → 32 hex digits; undefined if neither. */
export function w3cTraceId(id: string): string | undefined {
  const xray = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/i.exec(id);
  if (xray) return (xray[1] + xray[2]).toLowerCase();
  return /^[0-9a-f]{32}$/i.test(id) ? id.toLowerCase() : undefined;
}
export const xrayTraceId = (w3c: string) => `1-${w3c.slice(0, 8)}-${w3c.slice(8)}`;

const nanos = (ns: string) => Number(BigInt(ns) / 1_000_000n);

const inputs = {
  StartTraceRetrieval: z
    .object({
      TraceIds: list(z.string(), 1, 100),
      StartTime: z.number(),
      EndTime: z.number(),
    })
    .passthrough(),
  ListRetrievedTraces: z
    .object({
      RetrievalToken: z.string().max(1020, 'Member must have length less than or equal to 1020'),
      TraceFormat: z.enum(['XRAY', 'OTEL']).optional(),
    })
    .passthrough(),
  UpdateTraceSegmentDestination: z
    .object({ Destination: oneOf(['XRay', 'CloudWatchLogs']).optional() })
    .passthrough(),
  UpdateIndexingRule: z
    .object({
      Name: text(1, 255),
      Rule: z.object({
        Probabilistic: z.object({ DesiredSamplingPercentage: range(0, 100, false) }),
      }),
    })
    .passthrough(),
  // API_PutResourcePolicy: name 1–128 `[\w+=,.@-]+`, document "up to 5kb".
  PutResourcePolicy: z
    .object({ PolicyName: text(1, 128).and(pattern('[\\w+=,.@-]+')), PolicyDocument: z.string() })
    .passthrough(),
  DeleteResourcePolicy: z.object({ PolicyName: text(1, 128) }).passthrough(),
};
/** "Each AWS account can have a maximum of 5 resource policies ... The maximum size of each resource policy is 5KB." */
const MAX_RESOURCE_POLICIES = 5;
const MAX_POLICY_BYTES = 5 * 1024;
/** Transaction Search's log group, which X-Ray creates when the destination becomes CloudWatchLogs. */
export const SPANS_LOG_GROUP = 'aws/spans';
const invalidInput = validationError('InvalidRequestException');

/** The body as the client sent it: gzip undone (the endpoint accepts gzip and none), size checked. */
function otlpBody(req: TwinRequest): Buffer {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  let body = req.body;
  if (encoding === 'gzip') body = gunzipSync(body, { maxOutputLength: MAX_UNCOMPRESSED_BYTES + 1 });
  else if (encoding !== 'identity')
    throw new AwsError(
      'InvalidRequestException',
      `Unsupported Content-Encoding ${encoding}: use gzip or none`,
    );
  if (body.length > MAX_UNCOMPRESSED_BYTES)
    throw new AwsError('InvalidRequestException', 'The request is larger than 5 MB uncompressed', 413);
  return body;
}

/** Whether a CloudWatch Logs resource policy lets X-Ray write to `aws/spans` (Transaction Search's step 1). */
function letsXrayWriteSpans(policies: Record<string, string>): boolean {
  return Object.values(policies).some((text) => {
    const doc = JSON.parse(text) as { Statement?: Record<string, unknown>[] };
    return (doc.Statement ?? []).some((st) => {
      const services = [(st.Principal as { Service?: string | string[] } | undefined)?.Service ?? []].flat();
      const actions = [st.Action as string | string[]].flat();
      const resources = [st.Resource as string | string[]].flat();
      return (
        st.Effect === 'Allow' &&
        services.includes('xray.amazonaws.com') &&
        actions.some((a) => a === 'logs:PutLogEvents' || a === 'logs:*') &&
        resources.some((r) => r.includes(`:log-group:${SPANS_LOG_GROUP}:`) || r === '*')
      );
    });
  });
}

export function registerXray(router: Router, ctx: TwinContext, deps: { logs: LogsApi }) {
  /** Spans by trace id (32 hex), per account: the twin's `aws/spans` log group. */
  const traces = () => ctx.state.get<Record<string, OtlpSpan[]>>('xray-spans', () => ({}));
  const retrievals = () => ctx.state.get<Record<string, Retrieval>>('xray-retrievals', () => ({}));

  router.route('POST', '/v1/traces', (req, res) => {
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      .trim();
    const body = otlpBody(req);
    let spans: OtlpSpan[];
    try {
      if (type === 'application/x-protobuf') spans = decodeProtobuf(body);
      else if (type === 'application/json') spans = decodeJson(body.toString('utf8'));
      else
        throw new AwsError(
          'UnsupportedMediaTypeException',
          `Content-Type ${type || '(none)'} is not OTLP: send application/x-protobuf or application/json`,
          415,
        );
    } catch (e) {
      if (e instanceof AwsError) throw e;
      throw new AwsError(
        'InvalidRequestException',
        `The OTLP body could not be decoded: ${(e as Error).message}`,
      );
    }
    if (spans.length > MAX_SPANS_PER_REQUEST)
      throw new AwsError('InvalidRequestException', `${spans.length} spans in one request; at most 10,000`);
    const now = ctx.clock.now();
    for (const s of spans) {
      const t = nanos(s.startTimeUnixNano);
      if (t > now + MAX_FUTURE_MS || t < now - MAX_PAST_MS)
        throw new AwsError(
          'InvalidRequestException',
          `Span ${s.spanId} starts ${new Date(t).toISOString()}: spans must be within 14 days in the past and 2 hours in the future`,
        );
    }
    const store = traces();
    let rejected = 0;
    for (const s of spans) {
      if (
        !/^[0-9a-f]{32}$/.test(s.traceId) ||
        !/^[0-9a-f]{16}$/.test(s.spanId) ||
        Buffer.byteLength(JSON.stringify(s)) > MAX_SPAN_BYTES
      ) {
        rejected++;
        continue;
      }
      store[s.traceId] = [...(store[s.traceId] ?? []), s];
    }
    const ids = Object.keys(store);
    for (const old of ids.slice(0, Math.max(0, ids.length - KEPT_TRACES))) delete store[old];
    // ExportTraceServiceResponse: empty on full success, partial_success naming what was dropped.
    const partial = rejected
      ? { rejectedSpans: String(rejected), errorMessage: 'spans over 200 KB or with invalid ids' }
      : undefined;
    if (type === 'application/json') return sendJson(res, 200, partial ? { partialSuccess: partial } : {});
    res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 });
    res.end();
  });

  router.route('POST', '/StartTraceRetrieval', (req, res) => {
    const input = checkInput(inputs.StartTraceRetrieval, jsonBody(req), invalidInput);
    const traceIds = input.TraceIds.map((id) => {
      const w3c = w3cTraceId(id);
      if (!w3c) throw new AwsError('InvalidRequestException', `Invalid trace id ${id}`);
      return w3c;
    });
    if (input.EndTime < input.StartTime)
      throw new AwsError('InvalidRequestException', 'EndTime must not be before StartTime');
    const token = randomId(64);
    retrievals()[token] = {
      traceIds,
      startTime: input.StartTime * 1000,
      endTime: input.EndTime * 1000,
      startedAt: ctx.clock.now(),
    };
    sendJson(res, 200, { RetrievalToken: token });
  });

  router.route('POST', '/ListRetrievedTraces', (req, res) => {
    const input = checkInput(inputs.ListRetrievedTraces, jsonBody(req), invalidInput);
    const retrieval = retrievals()[input.RetrievalToken];
    if (!retrieval) throw new AwsError('ResourceNotFoundException', 'Retrieval token not found', 404);
    const format = input.TraceFormat ?? 'XRAY';
    if (format !== 'OTEL')
      throw new AwsError(
        'NotImplemented',
        'The local twin returns retrieved traces in TraceFormat OTEL only (X-Ray segment documents are not implemented)',
        501,
      );
    // Like AWS: an empty answer until the retrieval has completed.
    if (ctx.clock.now() < retrieval.startedAt + RETRIEVAL_MS)
      return sendJson(res, 200, { RetrievalStatus: 'RUNNING', TraceFormat: format, Traces: [] });
    const store = traces();
    const found = retrieval.traceIds.flatMap((id) => {
      const spans = (store[id] ?? []).filter((s) => {
        const t = nanos(s.startTimeUnixNano);
        return t >= retrieval.startTime && t <= retrieval.endTime;
      });
      if (spans.length === 0) return [];
      const start = Math.min(...spans.map((s) => nanos(s.startTimeUnixNano)));
      const end = Math.max(...spans.map((s) => nanos(s.endTimeUnixNano)));
      return [
        {
          Id: xrayTraceId(id),
          Duration: (end - start) / 1000,
          Spans: spans.map((s) => ({ Id: s.spanId, Document: JSON.stringify(s) })),
        },
      ];
    });
    sendJson(res, 200, { RetrievalStatus: 'COMPLETE', TraceFormat: format, Traces: found });
  });

  // Transaction Search is the account's trace segment destination: XRay (off, the default) or CloudWatchLogs.
  const destination = () =>
    ctx.state.get<{ Destination: 'XRay' | 'CloudWatchLogs'; Status: 'PENDING' | 'ACTIVE' }>(
      'xray-destination',
      () => ({ Destination: 'XRay', Status: 'ACTIVE' }),
    );
  const indexing = () => ctx.state.get<Record<string, number>>('xray-indexing-rules', () => ({ Default: 1 }));
  const resourcePolicies = () =>
    ctx.state.get<Record<string, { PolicyName: string; PolicyDocument: string; PolicyRevisionId: string }>>(
      'xray-resource-policies',
      () => ({}),
    );

  router.route('POST', '/GetTraceSegmentDestination', (_req, res) => {
    sendJson(res, 200, { ...destination() });
  });
  router.route('POST', '/UpdateTraceSegmentDestination', (req, res) => {
    const input = checkInput(inputs.UpdateTraceSegmentDestination, jsonBody(req), invalidInput);
    const to = input.Destination ?? 'XRay';
    // The enabling pages make the Logs resource policy step 1: without it X-Ray cannot write aws/spans.
    if (to === 'CloudWatchLogs') {
      if (!letsXrayWriteSpans(deps.logs.resourcePolicies()))
        throw new AwsError(
          'InvalidRequestException',
          'X-Ray is not allowed to write to the aws/spans log group: put a CloudWatch Logs resource policy that allows xray.amazonaws.com logs:PutLogEvents on it first (the local twin words this error)',
        );
      if (!deps.logs.logGroup(SPANS_LOG_GROUP)) deps.logs.createLogGroup(SPANS_LOG_GROUP);
    }
    // The switch completes asynchronously on AWS (PENDING, then ACTIVE); the twin completes it at once.
    Object.assign(destination(), { Destination: to, Status: 'ACTIVE' });
    sendJson(res, 200, { ...destination() });
  });
  router.route('POST', '/GetIndexingRules', (_req, res) => {
    sendJson(res, 200, {
      IndexingRules: Object.entries(indexing()).map(([Name, percent]) => ({
        Name,
        Rule: { Probabilistic: { DesiredSamplingPercentage: percent } },
      })),
    });
  });
  router.route('POST', '/UpdateIndexingRule', (req, res) => {
    const input = checkInput(inputs.UpdateIndexingRule, jsonBody(req), invalidInput);
    if (!(input.Name in indexing()))
      throw new AwsError('ResourceNotFoundException', `Indexing rule ${input.Name} not found`, 404);
    indexing()[input.Name] = input.Rule.Probabilistic.DesiredSamplingPercentage;
    sendJson(res, 200, {
      IndexingRule: {
        Name: input.Name,
        Rule: { Probabilistic: { DesiredSamplingPercentage: indexing()[input.Name] } },
      },
    });
  });
  router.route('POST', '/PutResourcePolicy', (req, res) => {
    const input = checkInput(inputs.PutResourcePolicy, jsonBody(req), invalidInput);
    if (Buffer.byteLength(input.PolicyDocument) > MAX_POLICY_BYTES)
      throw new AwsError(
        'PolicySizeLimitExceededException',
        'Exceeded the maximum size for a resource policy (5 KB).',
      );
    try {
      JSON.parse(input.PolicyDocument);
    } catch {
      throw new AwsError('MalformedPolicyDocumentException', 'Invalid policy document: not JSON');
    }
    const store = resourcePolicies();
    if (!store[input.PolicyName] && Object.keys(store).length >= MAX_RESOURCE_POLICIES)
      throw new AwsError(
        'PolicyCountLimitExceededException',
        'Exceeded the maximum number of resource policies for a target AWS account (5).',
      );
    const revision = String(Number(store[input.PolicyName]?.PolicyRevisionId ?? 0) + 1);
    store[input.PolicyName] = {
      PolicyName: input.PolicyName,
      PolicyDocument: input.PolicyDocument,
      PolicyRevisionId: revision,
    };
    sendJson(res, 200, {
      ResourcePolicy: { ...store[input.PolicyName], LastUpdatedTime: ctx.clock.now() / 1000 },
    });
  });
  router.route('POST', '/ListResourcePolicies', (_req, res) => {
    sendJson(res, 200, { ResourcePolicies: Object.values(resourcePolicies()) });
  });
  router.route('POST', '/DeleteResourcePolicy', (req, res) => {
    const input = checkInput(inputs.DeleteResourcePolicy, jsonBody(req), invalidInput);
    delete resourcePolicies()[input.PolicyName];
    sendJson(res, 200, {});
  });

  return {
    /** The account's trace segment destination (Transaction Search is on when it is CloudWatchLogs). */
    traceSegmentDestination: () => ({ ...destination() }),
    /** The spans of a trace in the current account (32 hex or X-Ray id), for tests and `npm run trace`. */
    spans(traceId: string): OtlpSpan[] {
      const id = w3cTraceId(traceId);
      return id ? [...(traces()[id] ?? [])] : [];
    },
    /** Trace ids whose spans carry this session id, newest first. */
    tracesOfSession(sessionId: string): string[] {
      return Object.entries(traces())
        .filter(([, spans]) => spans.some((s) => s.attributes['session.id'] === sessionId))
        .sort(([, a], [, b]) => nanos(b[0].startTimeUnixNano) - nanos(a[0].startTimeUnixNano))
        .map(([id]) => id);
    },
  };
}
