import { randomUUID } from 'node:crypto';
import type {
  BedrockRuntimeClient,
  ContentBlock,
  ConverseStreamCommandInput,
  Message,
  SystemContentBlock,
  Tool,
} from '@aws-sdk/client-bedrock-runtime';

const CACHE_POINT = { cachePoint: { type: 'default' } } as const;

/** A middleware of the Bedrock client's stack (types from the client: @smithy/types is not a direct dependency). */
type ClientMiddleware = Parameters<BedrockRuntimeClient['middlewareStack']['addRelativeTo']>[0];
/** What a build-step middleware receives (the HTTP request, serialised, not yet measured nor signed). */
interface BuildArgs {
  input: object;
  request?: { body?: unknown; headers: Record<string, string> };
}

/**
 * What every ConverseStream request of a process starts with — the instructions and the agent's tool
 * specs, each followed by its cache point (~9 KB) — serialised to JSON once per process instead of by
 * the SDK on every model call (its serialiser writes each string byte by byte in JavaScript). The
 * request carries a placeholder for each (a random token per process: no message can forge it); the
 * middleware, installed on the Bedrock client, puts the bytes in the body before it is measured and
 * signed. The body is byte-identical to the SDK's own serialisation (agent/test/prompt.test.ts).
 */
export class StaticPrefix {
  /** The placeholders buildRequest puts in the request. */
  readonly system: SystemContentBlock[];
  readonly tools: Tool[];
  private readonly token = `agentcore-gitops-static-prefix-${randomUUID()}`;
  /** [placeholder as the SDK serialises it, the serialised blocks], for system and tools. */
  private readonly swaps: [Buffer, Buffer][];

  constructor(instructions: string, tools: Tool[]) {
    const system = `${this.token}-system`;
    const tool = `${this.token}-tools`;
    this.system = [{ text: system }];
    this.tools = [{ toolSpec: { name: tool } } as Tool];
    const json = (v: unknown) => Buffer.from(JSON.stringify(v));
    this.swaps = [
      [json([{ text: system }]), json([{ text: instructions }, CACHE_POINT])],
      [json({ toolSpec: { name: tool } }), json([...tools.map(inSdkOrder), CACHE_POINT]).subarray(1, -1)],
    ];
  }

  /** Put the prefix in every request `client` makes with these placeholders (once per client). */
  install(client: BedrockRuntimeClient): void {
    client.middlewareStack.addRelativeTo(this.middleware, {
      name: `staticPrefix-${this.token}`,
      relation: 'before',
      toMiddleware: 'contentLengthMiddleware',
    });
  }

  private readonly middleware = ((next: (args: BuildArgs) => Promise<unknown>) => (args: BuildArgs) => {
    const input = args.input as ConverseStreamCommandInput;
    const request = args.request;
    if (input.system?.[0]?.text?.startsWith(this.token) && request?.body !== undefined) {
      // A view of the SDK's bytes (Buffer.from(bytes) would call its valueOf, which decodes them to a string).
      const sent = request.body as Uint8Array | string;
      let body =
        typeof sent === 'string'
          ? Buffer.from(sent)
          : Buffer.from(sent.buffer, sent.byteOffset, sent.byteLength);
      for (const [placeholder, bytes] of this.swaps) {
        const at = body.indexOf(placeholder);
        // Never send a placeholder to the model: a body the SDK wrote differently is an error to fix here.
        if (at < 0) throw new Error(`StaticPrefix: placeholder not found in the serialised request`);
        body = Buffer.concat([body.subarray(0, at), bytes, body.subarray(at + placeholder.length)]);
      }
      request.body = body;
      if (request.headers['content-length'] !== undefined)
        request.headers['content-length'] = String(body.length);
    }
    return next(args);
  }) as unknown as ClientMiddleware;
}

/** A tool spec with its members in the order the SDK's serialiser writes them (its schema's order). */
function inSdkOrder(tool: Tool): Tool {
  if (!tool.toolSpec) return tool;
  const { name, inputSchema, description, ...rest } = tool.toolSpec;
  return { toolSpec: { name, inputSchema, description, ...rest } } as Tool;
}

export interface PromptParts {
  modelId: string;
  instructions: string;
  tools: Tool[];
  /** The instructions and tools serialised once (its client must have it installed); else serialised per call. */
  prefix?: StaticPrefix;
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
  const system: SystemContentBlock[] = p.prefix?.system ?? [{ text: p.instructions }, CACHE_POINT];
  const tools = p.prefix?.tools ?? [...p.tools, CACHE_POINT];
  return {
    modelId: p.modelId,
    toolConfig: { tools: [...tools, ...(p.clientTools ?? [])] },
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
