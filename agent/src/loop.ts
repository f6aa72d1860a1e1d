import { randomUUID } from 'node:crypto';
import { EventType, type BaseEvent } from '@ag-ui/core';
import {
  ConverseStreamCommand,
  type BedrockRuntimeClient,
  type ContentBlock,
  type Message,
  type StopReason,
  type TokenUsage,
  type Tool as ToolSpec,
} from '@aws-sdk/client-bedrock-runtime';
import { addUsage, type Usage as BedrockUsage } from '../../cost/model';
import type { Config } from './config';
import { hasAction, verdicts } from './guardrail';
import { INSTRUCTIONS } from './instructions';
import { buildRequest } from './prompt';
import type { Logger } from './telemetry/logger';
import {
  ERROR_TYPE,
  GEN_AI,
  PROVIDER,
  SpanKind,
  Tracing,
  usageAttributes,
  type Span,
} from './telemetry/tracing';
import { runTool, type Tool, type ToolOutcome } from './tools';

/** Token counts in Bedrock's accounting (cache reads and writes beside inputTokens), all present. */
export type Usage = Required<BedrockUsage>;

/** A model call's `usage` block, absent counts as zero. */
export function usageOf(u: TokenUsage | undefined): Usage {
  return {
    inputTokens: u?.inputTokens ?? 0,
    outputTokens: u?.outputTokens ?? 0,
    cacheReadInputTokens: u?.cacheReadInputTokens ?? 0,
    cacheWriteInputTokens: u?.cacheWriteInputTokens ?? 0,
  };
}

export interface LoopInput {
  runtime: BedrockRuntimeClient;
  config: Config;
  tools: Tool[];
  toolSpecs: ToolSpec[];
  /** Tools the client declared: offered to the model; a call to one ends the run for the client to run. */
  clientTools?: ToolSpec[];
  history: Message[];
  summary?: string;
  user: Message;
  emit: (event: BaseEvent) => void;
  onFirstToken: () => void;
  /**
   * Called once the first model call has ended, with its guardrail trace (whose input assessment is
   * the user's message) and whether the guardrail blocked it.
   */
  onUserGuarded?: (trace: unknown, blocked: boolean) => void;
  signal: AbortSignal;
  log: Logger;
  /** A `chat <model>` span per model call, `execute_tool <name>` per tool call (none when absent). */
  tracing?: Tracing;
}

const NO_TRACING = new Tracing();

export interface LoopResult {
  /** Everything the user saw from the assistant in this turn. */
  answer: string;
  /** Messages to keep as this turn in the session history; empty when the guardrail blocked it. */
  turn: Message[];
  usage: Usage;
  toolCalls: number;
  stopReason?: StopReason | string;
  /** Calls of client tools the run ended on, for the client to execute (their ids, in order). */
  pendingToolCallIds: string[];
  guardrail: {
    intervened: boolean;
    blocked: boolean;
    /** Each policy's decision (type and action, never what matched), over every model call. */
    verdicts: { type?: string; action: string }[];
  };
}

const GUARDRAIL_FALLBACK = 'Sorry, I cannot help with that request.';

/**
 * One user turn: ConverseStream, stream text and tool calls as AG-UI events, run the tools, feed the
 * results back, until the model ends its turn or MAX_TOOL_STEPS tool rounds have run.
 */
export async function runLoop(input: LoopInput): Promise<LoopResult> {
  const { config, emit, log } = input;
  const usage: Usage = { inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheWriteInputTokens: 0 };
  const current: Message[] = [input.user];
  const answer: string[] = [];
  const guardrail: LoopResult['guardrail'] = { intervened: false, blocked: false, verdicts: [] };
  let toolCalls = 0;

  const clientTools = new Set((input.clientTools ?? []).map((t) => t.toolSpec?.name));
  const finish = (turn: Message[], stopReason?: string, pendingToolCallIds: string[] = []): LoopResult => ({
    answer: answer.join('\n'),
    turn,
    usage,
    toolCalls,
    stopReason,
    pendingToolCallIds,
    guardrail,
  });

  for (let round = 0; ; round++) {
    const step = await chatSpan(input, (span) => streamStep(input, current, usage, span));
    const blocked = guardrailBlocked(step);
    if (round === 0) input.onUserGuarded?.(step.trace, blocked);
    guardrail.verdicts.push(...verdicts(step.trace));
    // An empty answer cannot be sent back to Bedrock as history, so such a turn is not kept.
    if (step.content.length === 0) return finish([], step.stopReason);
    current.push({ role: 'assistant', content: step.content });
    if (step.text) answer.push(step.text);

    if (step.stopReason === 'guardrail_intervened' || step.guardrailBlocked || step.anonymised) {
      guardrail.intervened = true;
      guardrail.blocked ||= blocked;
      log.warn(
        { stopReason: step.stopReason, blocked, verdicts: verdicts(step.trace) },
        'guardrail intervened',
      );
      if (blocked) {
        if (!step.text) {
          emitText(emit, randomUUID(), GUARDRAIL_FALLBACK);
          answer.push(GUARDRAIL_FALLBACK);
        }
        // A blocked exchange stays out of history and memory, or every later turn would replay it.
        return finish([], step.stopReason);
      }
    }
    if (step.stopReason !== 'tool_use' || step.toolUses.length === 0) {
      if (step.stopReason === 'max_tokens') {
        log.warn({ maxTokens: config.MAX_OUTPUT_TOKENS }, 'answer cut at max tokens');
      }
      return finish(current, step.stopReason);
    }
    if (round >= config.MAX_TOOL_STEPS) {
      const text = `I stopped after ${config.MAX_TOOL_STEPS} rounds of tool calls without reaching an answer. Please narrow the question and ask again.`;
      log.warn({ maxToolSteps: config.MAX_TOOL_STEPS }, 'tool step limit reached');
      emitText(emit, randomUUID(), text);
      answer.push(text);
      return finish(keepable(current, answer.join('\n')), 'tool_step_limit');
    }

    toolCalls += step.toolUses.length;
    const pending = step.toolUses.filter((use) => clientTools.has(use.name));
    const results = await Promise.all(
      step.toolUses
        .filter((use) => !clientTools.has(use.name))
        .map(async (use) => {
          const outcome = await (input.tracing ?? NO_TRACING).inSpan(
            `execute_tool ${use.name}`,
            SpanKind.INTERNAL,
            {
              [GEN_AI.operation]: 'execute_tool',
              [GEN_AI.toolName]: use.name,
              [GEN_AI.toolCallId]: use.id,
              [GEN_AI.toolType]: 'function',
            },
            async (span) => {
              const out = await invokeTool(input, use.name, use.input, log);
              if (out.status === 'error') span.setAttribute(ERROR_TYPE, 'tool_error');
              return out;
            },
          );
          log.info({ tool: use.name, toolCallId: use.id, status: outcome.status }, 'tool call');
          emit({
            type: EventType.TOOL_CALL_RESULT,
            messageId: randomUUID(),
            toolCallId: use.id,
            content: outcome.text,
            role: 'tool',
          } as BaseEvent);
          return {
            toolResult: { toolUseId: use.id, content: [{ text: outcome.text }], status: outcome.status },
          };
        }),
    );
    // Client tools run in the client: the run ends here (AG-UI's frontend tool pattern) and the next
    // run brings their results, beside these server results, in the conversation it sends.
    if (pending.length > 0) {
      if (results.length > 0) current.push({ role: 'user', content: results });
      return finish(
        current,
        step.stopReason,
        pending.map((use) => use.id),
      );
    }
    current.push({ role: 'user', content: results });
    input.signal.throwIfAborted();
  }
}

/** One model call as a GenAI `chat` client span: model, token usage, finish reason, time to first token. */
function chatSpan(input: LoopInput, fn: (span: Span) => Promise<StepResult>): Promise<StepResult> {
  const { config } = input;
  return (input.tracing ?? NO_TRACING).inSpan(
    `chat ${config.MODEL_ID}`,
    SpanKind.CLIENT,
    {
      [GEN_AI.operation]: 'chat',
      [GEN_AI.provider]: PROVIDER,
      [GEN_AI.requestModel]: config.MODEL_ID,
      [GEN_AI.requestMaxTokens]: config.MAX_OUTPUT_TOKENS,
      ...(config.GUARDRAIL_ID && { 'aws.bedrock.guardrail.id': config.GUARDRAIL_ID }),
    },
    async (span) => {
      const step = await fn(span);
      span.setAttributes({
        [GEN_AI.responseModel]: config.MODEL_ID,
        [GEN_AI.finishReasons]: step.stopReason ? [step.stopReason] : [],
        [GEN_AI.toolCallId]: step.toolUses.map((t) => t.id),
        'aws.bedrock.guardrail.action': step.guardrailBlocked
          ? 'BLOCKED'
          : step.anonymised
            ? 'ANONYMIZED'
            : step.stopReason === 'guardrail_intervened'
              ? 'INTERVENED'
              : 'NONE',
      });
      return step;
    },
  );
}

async function invokeTool(input: LoopInput, name: string, args: unknown, log: Logger): Promise<ToolOutcome> {
  if (args === undefined) return { status: 'error', text: `The input for ${name} was not valid JSON` };
  try {
    return await runTool(name, args, { signal: input.signal }, input.tools);
  } catch (e) {
    log.error({ err: e, tool: name }, 'tool failed unexpectedly');
    return { status: 'error', text: `${name} failed unexpectedly; try another way or tell the user` };
  }
}

/** A turn that did not end normally is kept as question + visible answer, so tool calls never dangle. */
function keepable(current: Message[], answer: string): Message[] {
  return [current[0], { role: 'assistant', content: [{ text: answer }] }];
}

/** Masking (PII anonymised) lets the turn go on; any other intervention is a block. */
function guardrailBlocked(step: StepResult): boolean {
  return step.guardrailBlocked || (step.stopReason === 'guardrail_intervened' && !step.anonymised);
}

interface StepResult {
  content: ContentBlock[];
  text: string;
  toolUses: { id: string; name: string; input: unknown }[];
  stopReason?: StopReason | string;
  guardrailBlocked: boolean;
  anonymised: boolean;
  trace?: unknown;
}

type OpenBlock =
  | { kind: 'text'; messageId: string; text: string; ended: boolean }
  | { kind: 'tool'; id: string; name: string; json: string; ended: boolean };

async function streamStep(
  input: LoopInput,
  current: Message[],
  usage: Usage,
  span: Span,
): Promise<StepResult> {
  const started = performance.now();
  let firstChunk = false;
  const onFirstToken = () => {
    if (!firstChunk) {
      firstChunk = true;
      span.setAttribute(GEN_AI.timeToFirstChunk, (performance.now() - started) / 1000);
    }
    input.onFirstToken();
  };
  const { config, emit } = input;
  const request = buildRequest({
    modelId: config.MODEL_ID,
    instructions: INSTRUCTIONS,
    tools: input.toolSpecs,
    clientTools: input.clientTools,
    history: input.history,
    summary: input.summary,
    current,
    maxTokens: config.MAX_OUTPUT_TOKENS,
    guardrail: config.GUARDRAIL_ID
      ? {
          id: config.GUARDRAIL_ID,
          version: config.GUARDRAIL_VERSION ?? 'DRAFT',
          streamMode: config.GUARDRAIL_STREAM_MODE,
        }
      : undefined,
  });
  const response = await input.runtime.send(new ConverseStreamCommand(request), {
    abortSignal: input.signal,
  });

  const stepMessageId = randomUUID();
  const blocks = new Map<number, OpenBlock>();
  const result: StepResult = {
    content: [],
    text: '',
    toolUses: [],
    guardrailBlocked: false,
    anonymised: false,
  };
  const close = (block: OpenBlock) => {
    if (block.ended) return;
    block.ended = true;
    emit(
      block.kind === 'text'
        ? ({ type: EventType.TEXT_MESSAGE_END, messageId: block.messageId } as BaseEvent)
        : ({ type: EventType.TOOL_CALL_END, toolCallId: block.id } as BaseEvent),
    );
  };
  const closeAll = () => [...blocks.keys()].sort((a, b) => a - b).forEach((i) => close(blocks.get(i)!));

  try {
    for await (const event of response.stream ?? []) {
      if (event.contentBlockStart?.start?.toolUse) {
        const index = event.contentBlockStart.contentBlockIndex ?? blocks.size;
        const { toolUseId = randomUUID(), name = 'unknown' } = event.contentBlockStart.start.toolUse;
        onFirstToken();
        closeAll(); // one open message or tool call at a time keeps every AG-UI client happy
        blocks.set(index, { kind: 'tool', id: toolUseId, name, json: '', ended: false });
        emit({
          type: EventType.TOOL_CALL_START,
          toolCallId: toolUseId,
          toolCallName: name,
          parentMessageId: stepMessageId,
        } as BaseEvent);
      } else if (event.contentBlockDelta) {
        const index = event.contentBlockDelta.contentBlockIndex ?? 0;
        const delta = event.contentBlockDelta.delta;
        const text = delta?.text;
        if (text) {
          let block = blocks.get(index);
          if (!block) {
            // Bedrock sends no contentBlockStart for text: the first delta opens the message.
            onFirstToken();
            closeAll();
            block = {
              kind: 'text',
              messageId: blocks.size === 0 ? stepMessageId : `${stepMessageId}-${index}`,
              text: '',
              ended: false,
            };
            blocks.set(index, block);
            emit({
              type: EventType.TEXT_MESSAGE_START,
              messageId: block.messageId,
              role: 'assistant',
            } as BaseEvent);
          }
          if (block.kind === 'text' && !block.ended) {
            block.text += text;
            emit({
              type: EventType.TEXT_MESSAGE_CONTENT,
              messageId: block.messageId,
              delta: text,
            } as BaseEvent);
          }
        } else if (delta?.toolUse?.input) {
          const block = blocks.get(index);
          if (block?.kind === 'tool' && !block.ended) {
            block.json += delta.toolUse.input;
            emit({
              type: EventType.TOOL_CALL_ARGS,
              toolCallId: block.id,
              delta: delta.toolUse.input,
            } as BaseEvent);
          }
        }
      } else if (event.contentBlockStop) {
        const block = blocks.get(event.contentBlockStop.contentBlockIndex ?? 0);
        if (block) close(block);
      } else if (event.messageStop) {
        result.stopReason = event.messageStop.stopReason;
      } else if (event.metadata) {
        const callUsage = usageOf(event.metadata.usage);
        Object.assign(usage, addUsage(usage, callUsage));
        span.setAttributes(usageAttributes(callUsage));
        const trace = event.metadata.trace?.guardrail;
        if (trace) {
          result.trace = trace;
          result.guardrailBlocked ||= hasAction(trace, 'BLOCKED');
          result.anonymised ||= hasAction(trace, 'ANONYMIZED');
        }
      }
    }
    // An aborted HTTP/2 stream can end the iteration quietly instead of throwing.
    input.signal.throwIfAborted();
  } finally {
    // Close what is open so the AG-UI stream stays well-formed even when the model stream fails.
    closeAll();
  }

  for (const [, block] of [...blocks.entries()].sort(([a], [b]) => a - b)) {
    if (block.kind === 'text') {
      result.content.push({ text: block.text });
      result.text += block.text;
    } else {
      const parsed = parseJson(block.json);
      result.content.push({
        toolUse: { toolUseId: block.id, name: block.name, input: (parsed ?? {}) as never },
      });
      result.toolUses.push({ id: block.id, name: block.name, input: parsed });
    }
  }
  return result;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function emitText(emit: LoopInput['emit'], messageId: string, text: string) {
  emit({ type: EventType.TEXT_MESSAGE_START, messageId, role: 'assistant' } as BaseEvent);
  emit({ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: text } as BaseEvent);
  emit({ type: EventType.TEXT_MESSAGE_END, messageId } as BaseEvent);
}
