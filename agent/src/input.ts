import { randomUUID } from 'node:crypto';
import type { RunAgentInput } from '@ag-ui/core';
import { RunAgentInputSchema } from '@ag-ui/core/schemas';
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

/** AgentCore's rule for runtime session ids; printable ASCII so they are safe in memory ids and logs. */
const SESSION_ID = /^[\x21-\x7e]{33,256}$/;
const isSessionId = (id: string) => SESSION_ID.test(id);

const PromptBody = z.looseObject({
  prompt: z.string({ error: '"prompt" must be a string' }).refine((p) => p.trim().length > 0, {
    error: '"prompt" must not be empty',
  }),
});

export interface Turn {
  role: 'user' | 'assistant';
  text: string;
}

/** What one invocation asks for, whichever body shape it came in. */
export interface Invocation {
  threadId?: string;
  runId: string;
  userText: string;
  /** Client-supplied context (AG-UI `context`), placed in the current user message. */
  context?: string;
  /** Earlier user/assistant messages the client sent (used only when the server has no history). */
  earlier: Turn[];
}

/** Validate the body: a plain `{ "prompt": "..." }` or an AG-UI RunAgentInput. */
export function parseInvocation(body: unknown): Invocation {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(
      400,
      'ValidationError',
      'The body must be a JSON object: {"prompt":"..."} or an AG-UI RunAgentInput',
    );
  }
  if ('prompt' in body) {
    const parsed = PromptBody.safeParse(body);
    if (!parsed.success) throw new HttpError(400, 'ValidationError', z.prettifyError(parsed.error));
    return { runId: randomUUID(), userText: parsed.data.prompt, earlier: [] };
  }
  const parsed = RunAgentInputSchema.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(
      400,
      'ValidationError',
      `The body is not a valid AG-UI RunAgentInput (or {"prompt":"..."}):\n${z.prettifyError(parsed.error)}`,
    );
  }
  return fromRunAgentInput(parsed.data as RunAgentInput);
}

function fromRunAgentInput(input: RunAgentInput): Invocation {
  const messages = input.messages;
  const lastUser = messages.findLastIndex((m) => m.role === 'user');
  if (lastUser < 0)
    throw new HttpError(400, 'ValidationError', 'RunAgentInput.messages has no user message to answer');
  const userText = textOf(messages[lastUser].content, `messages[${lastUser}]`);
  if (!userText.trim())
    throw new HttpError(400, 'ValidationError', `messages[${lastUser}] (the last user message) is empty`);
  const earlier = messages.slice(0, lastUser).flatMap((m): Turn[] => {
    if (m.role !== 'user' && m.role !== 'assistant') return [];
    const text = typeof m.content === 'string' ? m.content : m.content ? textOf(m.content, 'message') : '';
    return text.trim() ? [{ role: m.role, text }] : [];
  });
  const context = input.context.length
    ? `<client_context>\n${input.context.map((c) => `${c.description}: ${c.value}`).join('\n')}\n</client_context>`
    : undefined;
  return { threadId: input.threadId, runId: input.runId, userText, context, earlier };
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

/** The session id: the AgentCore header, else a valid threadId, else a new one. */
export function sessionIdFor(header: string | undefined, threadId: string | undefined): string {
  if (header !== undefined) {
    if (!isSessionId(header)) {
      throw new HttpError(
        400,
        'InvalidSessionId',
        `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id must be 33 to 256 printable ASCII characters without spaces (got ${header.length} characters)`,
      );
    }
    return header;
  }
  if (threadId && isSessionId(threadId)) return threadId;
  return randomUUID();
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
