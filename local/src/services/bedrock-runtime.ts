import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsError, sendJson } from '../core/respond';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import { PromptCache, type CacheUsage } from '../model/prompt-cache';
import { scriptedTurn } from '../model/scripted';
import { countTokens } from '../model/tokens';
import type { ContentBlock, ConverseRequest, ModelTurn } from '../model/types';
import type { TwinContext } from '../twin';
import { eventFrame, exceptionFrame } from './bedrock-runtime-events';
import type { CloudWatchApi } from './cloudwatch';
import { parseConverseBody, validateConverse } from './bedrock-runtime-validate';
import type { GuardrailsApi, GuardedTurn } from './guardrail';

export interface BedrockOptions {
  /** Delay before the first streamed token (default 20 ms). */
  firstTokenDelayMs?: number;
  /** Delay between streamed deltas (default 5 ms). */
  interTokenDelayMs?: number;
  /**
   * Time one guardrail scan takes (default 20 ms): the input scan before the model runs, and in
   * ConverseStream's sync mode the scan of the buffered answer before its first chunk is sent.
   */
  guardrailScanMs?: number;
  /**
   * ConverseStream sync mode: how many chunks the guardrail buffers per scan (default 5). Bedrock
   * buffers "one or more response chunks" without saying how many; each window is released once the
   * model has written it and the scan is done.
   */
  guardrailSyncChunks?: number;
}

export type FaultType =
  | 'throttlingException'
  | 'internalServerException'
  | 'serviceUnavailableException'
  | 'modelStreamErrorException'
  | 'validationException';

export interface Fault {
  type: FaultType;
  /** How many requests fail (default 1). */
  count?: number;
  /** `request`: an HTTP error before any stream (the SDK retries throttling and 5xx); `stream`: an exception frame after the first delta. */
  at?: 'request' | 'stream';
}

export type StreamOutcome = 'completed' | 'aborted' | 'failed';

export interface ModelCall {
  requestId: string;
  operation: 'Converse' | 'ConverseStream';
  modelId: string;
  request: ConverseRequest;
  stopReason?: string;
  usage?: Usage;
  outcome?: StreamOutcome;
}

interface Usage extends Omit<CacheUsage, 'cacheDetails'> {
  outputTokens: number;
  totalTokens: number;
  cacheDetails?: CacheUsage['cacheDetails'];
}

/** Where each fault type surfaces when not told: throttling and unavailability before the stream, like the service. */
const DEFAULT_AT: Record<FaultType, 'request' | 'stream'> = {
  throttlingException: 'request',
  serviceUnavailableException: 'request',
  validationException: 'request',
  internalServerException: 'stream',
  modelStreamErrorException: 'stream',
};
const FAULT_STATUS: Record<FaultType, number> = {
  throttlingException: 429,
  serviceUnavailableException: 503,
  validationException: 400,
  internalServerException: 500,
  modelStreamErrorException: 424,
};
const FAULT_MESSAGE: Record<FaultType, string> = {
  throttlingException: 'Too many requests, please wait before trying again.',
  serviceUnavailableException: 'The service is temporarily unable to handle the request.',
  validationException: 'The local twin was told to reject this request.',
  internalServerException:
    'The system encountered an unexpected error during processing. Try your request again.',
  modelStreamErrorException: 'The model stream was interrupted by an error.',
};
/** `[twin-fault:throttlingException]` or `[twin-fault:internalServerException@stream]` in the last user text. */
const FAULT_TRIGGER = /\[twin-fault:(\w+)(?:@(request|stream))?\]/;

const pascal = (s: string) => s[0].toUpperCase() + s.slice(1);

/**
 * Bedrock Runtime: Converse and ConverseStream answered by the scripted model, with faults and stream
 * stats. Like Bedrock, every completed call publishes `AWS/Bedrock` `InputTokenCount`/`OutputTokenCount`
 * per `ModelId` (input without the cache tokens, as `usage.inputTokens`) to the twin's CloudWatch.
 */
export function register(
  router: Router,
  ctx: TwinContext,
  guardrails: GuardrailsApi,
  cloudwatch: Pick<CloudWatchApi, 'putMetric'>,
) {
  const config = {
    firstTokenDelayMs: 20,
    interTokenDelayMs: 5,
    guardrailScanMs: 20,
    guardrailSyncChunks: 5,
    ...ctx.options.bedrock,
  };
  const cache = new PromptCache();
  const faults: Required<Fault>[] = [];
  const counts = { started: 0, completed: 0, aborted: 0, failed: 0 };
  const calls: ModelCall[] = [];
  const events = new EventEmitter();

  function takeFault(req: ConverseRequest): Required<Fault> | undefined {
    const lastText = (req.messages?.at(-1)?.content ?? []).map((b) => b.text ?? '').join('\n');
    const m = FAULT_TRIGGER.exec(lastText);
    if (m) {
      if (!(m[1] in DEFAULT_AT))
        throw new AwsError(
          'ValidationException',
          `Unknown twin fault type '${m[1]}'. Use one of: ${Object.keys(DEFAULT_AT).join(', ')}.`,
        );
      const type = m[1] as FaultType;
      return { type, count: 1, at: (m[2] as 'request' | 'stream') ?? DEFAULT_AT[type] };
    }
    const next = faults[0];
    if (next && --next.count <= 0) faults.shift();
    return next && { ...next };
  }

  /** Parse, validate, apply faults due before the model runs, guard the input, and run the model. */
  function prepare(req: TwinRequest, operation: ModelCall['operation']) {
    const modelId = req.params.modelId;
    const body = parseConverseBody(req.body);
    validateConverse(modelId, body);
    const guard = guardrails.forConverse(body.guardrailConfig, operation);
    const fault = takeFault(body);
    if (fault && (fault.at === 'request' || operation === 'Converse')) {
      throw new AwsError(pascal(fault.type), FAULT_MESSAGE[fault.type], FAULT_STATUS[fault.type]);
    }
    const call: ModelCall = { requestId: randomUUID(), operation, modelId, request: body };
    calls.push(call);
    if (calls.length > 200) calls.shift();

    const guarded: GuardedTurn = guard
      ? guard.run(body, scriptedTurn)
      : { turn: scriptedTurn(body), input: body };
    const turn = limitTokens(guarded.turn, body.inferenceConfig?.maxTokens);
    const cached = cache.account(modelId, body);
    const outputTokens =
      turn.kind === 'text' ? countTokens(turn.text) : countTokens(turn.name + JSON.stringify(turn.input));
    const usage: Usage = {
      inputTokens: cached.inputTokens,
      outputTokens,
      totalTokens:
        cached.inputTokens + cached.cacheReadInputTokens + cached.cacheWriteInputTokens + outputTokens,
      cacheReadInputTokens: cached.cacheReadInputTokens,
      cacheWriteInputTokens: cached.cacheWriteInputTokens,
      ...(cached.cacheDetails.length ? { cacheDetails: cached.cacheDetails } : {}),
    };
    const stopReason = guarded.stopReason ?? (turn.kind === 'toolUse' ? 'tool_use' : turn.stopReason);
    Object.assign(call, { usage, stopReason });
    return {
      call,
      turn,
      usage,
      stopReason,
      trace: guarded.trace,
      fault,
      guardMode: guard?.mode,
      scanOutput: guarded.scanOutput,
    };
  }

  function publishTokens(modelId: string, usage: Usage) {
    const dimensions = [{ Name: 'ModelId', Value: modelId }];
    cloudwatch.putMetric('AWS/Bedrock', 'InputTokenCount', usage.inputTokens, dimensions);
    cloudwatch.putMetric('AWS/Bedrock', 'OutputTokenCount', usage.outputTokens, dimensions);
  }

  async function converse(req: TwinRequest, res: TwinResponse) {
    const started = Date.now();
    const { call, turn, usage, stopReason, trace, guardMode } = prepare(req, 'Converse');
    const deltas = turn.kind === 'text' ? chunkText(turn.text) : [];
    // Guarded: the input scan before the model, the output scan before the answer.
    const scans = guardMode ? (turn.kind === 'text' ? 2 : 1) : 0;
    await pause(
      config.firstTokenDelayMs + config.interTokenDelayMs * deltas.length + config.guardrailScanMs * scans,
      req.signal,
    );
    const content: ContentBlock[] =
      turn.kind === 'text'
        ? [{ text: turn.text }]
        : [{ toolUse: { toolUseId: turn.toolUseId, name: turn.name, input: turn.input } }];
    call.outcome = 'completed';
    publishTokens(call.modelId, usage);
    sendJson(res, 200, {
      output: { message: { role: 'assistant', content } },
      stopReason,
      usage,
      metrics: { latencyMs: Date.now() - started },
      ...(trace ? { trace: { guardrail: trace } } : {}),
    });
  }

  async function converseStream(req: TwinRequest, res: TwinResponse) {
    const started = Date.now();
    const prepared = prepare(req, 'ConverseStream');
    const { call, turn, usage, trace, fault, guardMode, scanOutput } = prepared;
    let stopReason = prepared.stopReason;
    // Aborted when the client goes away before our own end() (HTTP/1 close or HTTP/2 reset; see twin.ts).
    const signal = req.signal;
    res.writeHead(200, {
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amzn-requestid': call.requestId,
    });
    counts.started++;
    let outcome: StreamOutcome | undefined;
    const finish = (o: StreamOutcome) => {
      if (outcome) return;
      outcome = call.outcome = o;
      counts[o]++;
      events.emit('streamEnd', { requestId: call.requestId, modelId: call.modelId, outcome: o });
    };
    signal.addEventListener('abort', () => finish('aborted'), { once: true });
    const send = (frame: Uint8Array) => !signal.aborted && (res as NodeJS.WritableStream).write(frame);
    const end = (o: StreamOutcome) => {
      if (signal.aborted) return;
      finish(o);
      res.end();
    };

    const frames: (() => Uint8Array)[] = [];
    const texts = turn.kind === 'text' ? chunkText(turn.text) : [];
    if (turn.kind === 'text') {
      for (const text of texts) {
        frames.push(() => eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text } }));
      }
    } else {
      const start = { toolUse: { toolUseId: turn.toolUseId, name: turn.name } };
      frames.push(() => eventFrame('contentBlockStart', { contentBlockIndex: 0, start }));
      for (const input of chunkJson(JSON.stringify(turn.input))) {
        frames.push(() =>
          eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input } } }),
        );
      }
    }

    // The input is scanned before the model runs, in both modes.
    await pause((guardMode ? config.guardrailScanMs : 0) + config.firstTokenDelayMs, signal);
    send(eventFrame('messageStart', { role: 'assistant' }));
    // Sync mode holds each window of chunks back until the model has written it and the scan is done,
    // then releases it at once. (What it masks or blocks was decided on the whole answer.)
    const window = guardMode === 'sync' && turn.kind === 'text' ? Math.max(1, config.guardrailSyncChunks) : 0;
    let delivered = '';
    for (const [i, frame] of frames.entries()) {
      if (window && i % window === 0) {
        const written = Math.min(window, frames.length - i) - (i === 0 ? 1 : 0);
        await pause(config.interTokenDelayMs * written + config.guardrailScanMs, signal);
      } else if (!window && i > 0) await pause(config.interTokenDelayMs, signal);
      send(frame());
      if (fault && i === 0) {
        send(exceptionFrame(fault.type, FAULT_MESSAGE[fault.type]));
        return end('failed');
      }
      // Async mode: the chunk is out before its scan; a blocking hit stops the chunks after it.
      delivered += texts[i] ?? '';
      if (scanOutput?.(delivered)) {
        stopReason = 'guardrail_intervened';
        call.stopReason = stopReason;
        break;
      }
    }
    send(eventFrame('contentBlockStop', { contentBlockIndex: 0 }));
    send(eventFrame('messageStop', { stopReason }));
    const metrics = { latencyMs: Date.now() - started };
    send(eventFrame('metadata', { usage, metrics, ...(trace ? { trace: { guardrail: trace } } : {}) }));
    if (!signal.aborted) publishTokens(call.modelId, usage);
    end('completed');
  }

  router.route('POST', '/model/{modelId}/converse', converse);
  router.route('POST', '/model/{modelId}/converse-stream', converseStream);

  return {
    /** Fail the next request(s); see `Fault` for where each type surfaces. */
    failNext(fault: Fault) {
      faults.push({ count: 1, at: DEFAULT_AT[fault.type], ...fault });
    },
    /** Change the streaming delays (e.g. per test). */
    configure(options: BedrockOptions) {
      Object.assign(config, options);
    },
    /** ConverseStream counts: started, completed, aborted by the client, failed by an injected exception. */
    stats: () => ({ ...counts }),
    /** The recent model calls (newest last), with what the twin answered. */
    calls: (): readonly ModelCall[] => calls,
    /** Emits `streamEnd` with `{ requestId, modelId, outcome }`. */
    events,
    /** Forget every prompt-cache entry. */
    clearCache: () => cache.clear(),
  };
}

export type BedrockApi = ReturnType<typeof register>;

/** Deltas of about three words, as a model streams them. */
function chunkText(text: string): string[] {
  const words = text.match(/\s*\S+/g) ?? [text];
  const chunks: string[] = [];
  for (let i = 0; i < words.length; i += 3) chunks.push(words.slice(i, i + 3).join(''));
  return chunks;
}

/** Tool input arrives as partial JSON strings that only parse once joined. */
function chunkJson(json: string): string[] {
  const size = Math.max(8, Math.ceil(json.length / 3));
  const parts: string[] = [];
  for (let i = 0; i < json.length; i += size) parts.push(json.slice(i, i + size));
  return parts;
}

function limitTokens(turn: ModelTurn, maxTokens: number | undefined): ModelTurn {
  if (turn.kind !== 'text' || !maxTokens || countTokens(turn.text) <= maxTokens) return turn;
  const cut = Buffer.from(turn.text, 'utf8')
    .subarray(0, maxTokens * 4)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return { kind: 'text', text: cut, stopReason: 'max_tokens' };
}

async function pause(ms: number, signal: AbortSignal) {
  if (ms <= 0 || signal.aborted) return;
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}
