import type {
  ContentBlock,
  ConverseStreamCommandInput,
  Message,
  SystemContentBlock,
  Tool,
} from '@aws-sdk/client-bedrock-runtime';

const CACHE_POINT = { cachePoint: { type: 'default' } } as const;

export interface PromptParts {
  modelId: string;
  instructions: string;
  tools: Tool[];
  /** Tools the client declared (AG-UI frontend tools), after the cache point: they vary per client. */
  clientTools?: Tool[];
  /** Earlier turns, exactly as sent before (byte-stable). */
  history: Message[];
  /** Summary of turns no longer in `history`. */
  summary?: string;
  /** This turn's messages so far: the user message (with per-turn context), then tool rounds. */
  current: Message[];
  maxTokens: number;
  guardrail?: { id: string; version: string; streamMode: 'sync' | 'async' };
}

/**
 * The request layout that keeps the prefix cacheable across turns and users:
 * tools + cachePoint, system = [instructions, cachePoint], the history with a cachePoint appended to
 * its last message, then the current turn (which carries the per-turn memory context).
 */
export function buildRequest(p: PromptParts): ConverseStreamCommandInput {
  const system: SystemContentBlock[] = [{ text: p.instructions }, CACHE_POINT];
  return {
    modelId: p.modelId,
    toolConfig: { tools: [...p.tools, CACHE_POINT, ...(p.clientTools ?? [])] },
    system,
    messages: [...withCachePoint(withSummary(p.history, p.summary)), ...p.current],
    inferenceConfig: { maxTokens: p.maxTokens },
    ...(p.guardrail && {
      guardrailConfig: {
        guardrailIdentifier: p.guardrail.id,
        guardrailVersion: p.guardrail.version,
        streamProcessingMode: p.guardrail.streamMode,
        trace: 'enabled',
      },
    }),
  };
}

export const summaryText = (summary: string) => `Summary of the earlier conversation:\n${summary}`;

/** The summary opens the first history message (always a user message), keeping roles alternating. */
function withSummary(history: Message[], summary?: string): Message[] {
  if (!summary || history.length === 0) return history;
  const [first, ...rest] = history;
  return [{ ...first, content: [{ text: summaryText(summary) }, ...(first.content ?? [])] }, ...rest];
}

function withCachePoint(history: Message[]): Message[] {
  if (history.length === 0) return history;
  const last = history[history.length - 1];
  return [
    ...history.slice(0, -1),
    { ...last, content: [...(last.content ?? []), CACHE_POINT as ContentBlock] },
  ];
}

/** The user message of a turn: per-turn context (memory, client context) first, the question last. */
export function userMessage(text: string, context?: string): Message {
  return { role: 'user', content: context ? [{ text: context }, { text }] : [{ text }] };
}

/**
 * The message a run answers with its per-turn context: tool results stay first (Bedrock's models
 * require them to open the message that answers the calls), then the context, then the user's text.
 */
export function withContext(current: Message, context?: string): Message {
  if (!context) return current;
  const blocks = current.content ?? [];
  const results = blocks.filter((b) => b.toolResult);
  return { role: 'user', content: [...results, { text: context }, ...blocks.filter((b) => !b.toolResult)] };
}

/** Rough token count (4 bytes a token), used only to decide when to summarise. */
export const estimateTokens = (messages: Message[]) =>
  Math.ceil(Buffer.byteLength(JSON.stringify(messages)) / 4);
