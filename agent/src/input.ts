import { createHash, randomUUID } from 'node:crypto';
import type { RunAgentInput } from '@ag-ui/core';
import { RunAgentInputSchema } from '@ag-ui/core/schemas';
import type { ContentBlock, Message, Tool as ToolSpec } from '@aws-sdk/client-bedrock-runtime';
import { decodeJwt, type JWTPayload } from 'jose';
import { z } from 'zod';

export const SESSION_HEADER = 'x-amzn-bedrock-agentcore-runtime-session-id';
export const REQUEST_ID_HEADER = 'x-amzn-bedrock-agentcore-runtime-request-id';

/** An error answered as `{ error: { code, message } }` with an HTTP status, before any stream starts. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A session id this container accepts: any non-empty printable ASCII up to 256 characters. AgentCore
 * checks its own rule (33–256) before the container sees an id; local clients send shorter ones
 * (`agentcore dev` sends `local-dev-session`). Memory ids have stricter rules: see memory.ts.
 */
const SESSION_ID = /^[\x20-\x7e]{1,256}$/;
const isSessionId = (id: string) => SESSION_ID.test(id);

const PromptBody = z.looseObject({
  prompt: z.string({ error: '"prompt" must be a string' }).refine((p) => p.trim().length > 0, {
    error: '"prompt" must not be empty',
  }),
});

/** What one invocation asks for, whichever body shape it came in. */
export interface Invocation {
  threadId?: string;
  runId: string;
  /** The body's `sessionId` (the official SDK server reads it when the header is absent). */
  bodySessionId?: string;
  /**
   * The user's new text: what memory records, the guardrail masks and the background model tags.
   * Empty when the run continues after tool results the client sent.
   */
  userText: string;
  /** The newest user text of the conversation: the long-term memory search query. */
  query: string;
  /** The message this run answers: tool results first (as Bedrock requires), then the new text. */
  current: Message;
  /** Client-supplied context (AG-UI `context`), placed in the current user message. */
  context?: string;
  /**
   * The conversation before `current` when the client sent it (it is authoritative then); undefined
   * when the client sent only the newest message, so the server's own history fills in.
   */
  history?: Message[];
  /** Tools the client declared (AG-UI frontend tools): offered to the model, executed by the client. */
  clientTools: ToolSpec[];
}

/** Bedrock's tool name rule. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Validate the body: a plain `{ "prompt": "..." }` or an AG-UI RunAgentInput. */
export function parseInvocation(body: unknown, serverToolNames: string[] = []): Invocation {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(
      400,
      'ValidationError',
      'The body must be a JSON object: {"prompt":"..."} or an AG-UI RunAgentInput',
    );
  }
  const bodySessionId = sessionIdOf(body);
  if ('prompt' in body) {
    const parsed = PromptBody.safeParse(body);
    if (!parsed.success) throw new HttpError(400, 'ValidationError', z.prettifyError(parsed.error));
    const text = parsed.data.prompt;
    return {
      runId: randomUUID(),
      bodySessionId,
      userText: text,
      query: text,
      current: { role: 'user', content: [{ text }] },
      clientTools: [],
    };
  }
  const parsed = RunAgentInputSchema.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(
      400,
      'ValidationError',
      `The body is not a valid AG-UI RunAgentInput (or {"prompt":"..."}):\n${z.prettifyError(parsed.error)}`,
    );
  }
  return { ...fromRunAgentInput(parsed.data as RunAgentInput, serverToolNames), bodySessionId };
}

function sessionIdOf(body: object): string | undefined {
  if (!('sessionId' in body) || body.sessionId === undefined) return undefined;
  const id = body.sessionId;
  if (typeof id !== 'string' || !isSessionId(id)) {
    throw new HttpError(
      400,
      'InvalidSessionId',
      `"sessionId" must be 1 to 256 printable ASCII characters (got ${typeof id === 'string' ? `${id.length} characters` : typeof id})`,
    );
  }
  return id;
}

function fromRunAgentInput(input: RunAgentInput, serverToolNames: string[]): Invocation {
  const conversation = toConversation(input.messages);
  const current = conversation.at(-1);
  if (!current || current.role !== 'user') {
    throw new HttpError(
      400,
      'ValidationError',
      current
        ? 'RunAgentInput.messages ends with an assistant message: there is nothing to answer (send the user message or the tool results to continue from)'
        : 'RunAgentInput.messages has no user message to answer',
    );
  }
  const userText = textsOf(current).join('\n');
  const query = conversation.findLast((m) => m.role === 'user' && textsOf(m).length > 0);
  const context = input.context.length
    ? `<client_context>\n${input.context.map((c) => `${c.description}: ${c.value}`).join('\n')}\n</client_context>`
    : undefined;
  return {
    threadId: input.threadId,
    runId: input.runId,
    userText,
    query: query ? textsOf(query).join('\n') : '',
    current,
    context,
    // A one-message run (a client that holds no history) lets the server's history fill in.
    history: conversation.length > 1 ? conversation.slice(0, -1) : undefined,
    clientTools: clientToolSpecs(input.tools, serverToolNames),
  };
}

const textsOf = (m: Message) => (m.content ?? []).flatMap((b) => (b.text === undefined ? [] : [b.text]));

function clientToolSpecs(tools: RunAgentInput['tools'], serverToolNames: string[]): ToolSpec[] {
  return tools.map((tool, i) => {
    if (!TOOL_NAME.test(tool.name)) {
      throw new HttpError(
        400,
        'ValidationError',
        `tools[${i}].name "${tool.name}" must be 1 to 64 letters, digits, _ or - (Bedrock's tool name rule)`,
      );
    }
    if (serverToolNames.includes(tool.name)) {
      throw new HttpError(
        400,
        'ValidationError',
        `tools[${i}].name "${tool.name}" is a tool this agent runs itself; give the client tool another name`,
      );
    }
    const schema = (tool.parameters as Record<string, unknown> | undefined) ?? {};
    return {
      toolSpec: {
        name: tool.name,
        description: tool.description || tool.name,
        inputSchema: { json: { type: 'object', properties: {}, ...schema } as never },
      },
    };
  });
}

/**
 * AG-UI messages → the Bedrock conversation they stand for, in the shape Converse accepts: roles
 * alternate (consecutive messages of one role are merged, losing nothing), it starts with a user
 * message, every toolUse is answered by a toolResult in the next message (a call the client left
 * unanswered gets an error result saying so), tool results come first in their message, and a result
 * without its call becomes text. System, developer, reasoning and activity messages are not part of it.
 */
export function toConversation(messages: RunAgentInput['messages']): Message[] {
  const out: Message[] = [];
  const push = (role: 'user' | 'assistant', content: ContentBlock[]) => {
    if (content.length === 0) return;
    const last = out.at(-1);
    if (last?.role === role) last.content = [...(last.content ?? []), ...content];
    else out.push({ role, content });
  };
  messages.forEach((m, i) => {
    if (m.role === 'user') {
      const text = textOf(m.content, `messages[${i}]`);
      if (text.trim()) push('user', [{ text }]);
    } else if (m.role === 'assistant') {
      const text = typeof m.content === 'string' ? m.content : '';
      push('assistant', [
        ...(text.trim() ? [{ text }] : []),
        ...(m.toolCalls ?? []).map((call) => ({
          toolUse: {
            toolUseId: call.id,
            name: call.function.name,
            input: argsOf(call.function.arguments) as never,
          },
        })),
      ]);
    } else if (m.role === 'tool') {
      push('user', [
        {
          toolResult: {
            toolUseId: m.toolCallId,
            content: [{ text: textOf(m.content, `messages[${i}]`) || '(empty result)' }],
            status: m.error ? 'error' : 'success',
          },
        },
      ]);
    }
  });
  while (out[0]?.role === 'assistant') out.shift();
  return out.map((message, i) => (message.role === 'user' ? pairResults(out[i - 1], message) : message));
}

/** A user message made to answer exactly the calls of the assistant message before it. */
function pairResults(previous: Message | undefined, message: Message): Message {
  const calls = (previous?.content ?? []).flatMap((b) => (b.toolUse ? [b.toolUse.toolUseId!] : []));
  const results: ContentBlock[] = [];
  const rest: ContentBlock[] = [];
  for (const block of message.content ?? []) {
    if (!block.toolResult) rest.push(block);
    else if (calls.includes(block.toolResult.toolUseId!)) results.push(block);
    else {
      const text = (block.toolResult.content ?? []).map((c) => c.text ?? '').join(' ');
      rest.push({ text: `(result of an earlier tool call ${block.toolResult.toolUseId}: ${text})` });
    }
  }
  const answered = new Set(results.map((b) => b.toolResult!.toolUseId));
  for (const id of calls) {
    if (answered.has(id)) continue;
    results.push({
      toolResult: {
        toolUseId: id,
        content: [{ text: 'The client sent no result for this call: the user went on without it.' }],
        status: 'error',
      },
    });
  }
  return { role: 'user', content: [...results, ...rest] };
}

function argsOf(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json || '{}');
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function textOf(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  const parts = content as { type: string; text?: string }[];
  const other = parts.find((p) => p.type !== 'text');
  if (other) {
    throw new HttpError(
      400,
      'UnsupportedContent',
      `${where} has a "${other.type}" part; this agent accepts text only`,
    );
  }
  return parts.map((p) => p.text ?? '').join('');
}

/**
 * The session: the AgentCore header; without it the AG-UI threadId, then the body's `sessionId`, then a
 * new one. A threadId that is not a usable id (over 256 characters, not ASCII) is hashed to one, so
 * the thread still keeps its session.
 */
export function sessionIdFor(
  header: string | undefined,
  threadId: string | undefined,
  bodySessionId?: string,
): string {
  if (header !== undefined) {
    if (!isSessionId(header)) {
      throw new HttpError(
        400,
        'InvalidSessionId',
        `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id must be 1 to 256 printable ASCII characters (got ${header.length} characters)`,
      );
    }
    return header;
  }
  if (threadId) {
    return isSessionId(threadId) ? threadId : `thread-${createHash('sha256').update(threadId).digest('hex')}`;
  }
  return bodySessionId ?? randomUUID();
}

/**
 * The memory actor of an app client calling for itself — the pipeline's smoke test, whose token comes
 * from the client-credentials grant and so names the client as its subject (`sub` = `client_id`). No
 * user's `sub` can equal it, so smoke runs never write into a user's memory.
 */
export const smokeActorId = (clientId: string) => `smoke-${clientId}`;

/**
 * The memory actor: the `sub` of the bearer JWT. The token was verified by AgentCore's JWT authorizer
 * before the request reached the container, so it is only decoded here. A token an app client got for
 * itself (client-credentials grant: its subject is the client, `sub` = `client_id`) is the pipeline's
 * smoke test: it gets the smoke actor, so smoke runs never write into a user's memory.
 */
export function actorIdFor(authorization: string | undefined, fallback: string): string {
  if (!authorization) return fallback;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!match) throw new HttpError(401, 'InvalidAuthorization', 'Authorization must be "Bearer <JWT>"');
  let claims: JWTPayload;
  try {
    claims = decodeJwt(match[1]);
  } catch {
    throw new HttpError(401, 'InvalidAuthorization', 'The bearer token is not a decodable JWT');
  }
  const { sub, client_id: clientId } = claims;
  if (typeof sub !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9\-_/:.@]*$/.test(sub)) {
    throw new HttpError(401, 'InvalidAuthorization', 'The bearer token has no usable "sub" claim');
  }
  return sub === clientId ? smokeActorId(sub) : sub;
}
