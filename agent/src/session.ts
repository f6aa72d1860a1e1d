import type { Message } from '@aws-sdk/client-bedrock-runtime';

/** A conversation as this process knows it: finished turns, exactly as they were sent to the model. */
export class Session {
  /** Each turn is the list of messages it added (user, assistant, tool results, ...). */
  turns: Message[][] = [];
  /** Summary of turns that were dropped from the prompt to keep it within budget. */
  summary?: string;
  /** Whether history was rebuilt from memory (or found empty) for this process. */
  loaded = false;
  busy = false;
  summarising = false;

  constructor(
    readonly id: string,
    readonly actorId: string,
  ) {}

  messages(): Message[] {
    return this.turns.flat();
  }
}

/**
 * Sessions by actor and id (one user can never continue another's session), least recently used
 * evicted first so a long-lived process stays bounded.
 */
export class Sessions {
  private readonly map = new Map<string, Session>();

  constructor(private readonly capacity = 1000) {}

  get(id: string, actorId: string): Session {
    const key = `${actorId}\n${id}`;
    let session = this.map.get(key);
    if (session) this.map.delete(key);
    else session = new Session(id, actorId);
    this.map.set(key, session);
    for (const [k, s] of this.map) {
      if (this.map.size <= this.capacity) break;
      if (!s.busy) this.map.delete(k);
    }
    return session;
  }
}

/** One text message of a conversation as memory events hold it. */
export interface Turn {
  role: 'user' | 'assistant';
  text: string;
}

/** A tool-result message continues the turn whose assistant message made the calls. */
const continuesTurn = (m: Message) => (m.content ?? []).some((b) => b.toolResult);

/**
 * A conversation (alternating roles, starting with a user message) → turns: each starts at a user
 * message that is not the continuation of a tool call, so a summary never separates a call from its
 * result.
 */
export function turnsOf(messages: Message[]): Message[][] {
  const turns: Message[][] = [];
  for (const m of messages) {
    if (m.role === 'user' && !continuesTurn(m)) turns.push([m]);
    else if (turns.length) turns.at(-1)!.push(m);
  }
  return turns;
}

/**
 * Earlier text messages (from memory events or the client) → history turns. Each turn starts with a
 * user message; consecutive messages of one role (a question whose answer was never written) are merged
 * so roles alternate, as Bedrock requires. A leading answer and a trailing unanswered question are
 * dropped: the current message follows the history.
 */
export function toTurns(earlier: Turn[]): Message[][] {
  const messages: Message[] = [];
  for (const { role, text } of earlier) {
    const last = messages[messages.length - 1];
    if (last?.role === role) last.content = [...(last.content ?? []), { text }];
    else if (messages.length > 0 || role === 'user') messages.push({ role, content: [{ text }] });
  }
  if (messages[messages.length - 1]?.role === 'user') messages.pop();
  const turns: Message[][] = [];
  for (let i = 0; i + 1 < messages.length; i += 2) turns.push([messages[i], messages[i + 1]]);
  return turns;
}
