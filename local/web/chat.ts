/**
 * The local chat page's client (bundled for the browser by serve.ts): @ag-ui/client's HttpAgent
 * posts to the page server's /invocations (proxied to the agent) and applies the streamed events to
 * its message list; we render that list on every change. The thread id (= AgentCore session id) and
 * the messages live in localStorage, so a reload shows the conversation and continues the session.
 */
import { HttpAgent, type AgentSubscriber } from '@ag-ui/client';
import type { Message } from '@ag-ui/core';

const STORE_KEY = 'agentcore-gitops.chat';
const SESSION_HEADER = 'X-Amzn-Bedrock-AgentCore-Runtime-Session-Id';

interface Notice {
  /** Shown after this message (undefined: at the top). */
  afterMessageId?: string;
  kind: 'guardrail' | 'error';
  text: string;
}

interface Saved {
  threadId: string;
  messages: Message[];
  notices: Notice[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const log = $<HTMLElement>('log');
const form = $<HTMLFormElement>('composer');
const input = $<HTMLInputElement>('prompt');
const send = $<HTMLButtonElement>('send');

function load(): Saved {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE_KEY) ?? 'null') as Saved | null;
    if (saved?.threadId) return { ...saved, notices: saved.notices ?? [] };
  } catch {
    // A corrupt entry starts a new chat rather than breaking the page.
  }
  // AgentCore session ids are 33-256 characters.
  return { threadId: `chat-${crypto.randomUUID()}`, messages: [], notices: [] };
}

const saved = load();
const notices = saved.notices;
const agent = new HttpAgent({
  url: '/invocations',
  threadId: saved.threadId,
  initialMessages: saved.messages,
  headers: { [SESSION_HEADER]: saved.threadId },
});

const save = () =>
  localStorage.setItem(
    STORE_KEY,
    JSON.stringify({ threadId: agent.threadId, messages: agent.messages, notices } satisfies Saved),
  );

function el(tag: string, className: string, text?: string) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : Array.isArray(content)
      ? content.map((part: { text?: unknown }) => (typeof part?.text === 'string' ? part.text : '')).join('')
      : '';

function render() {
  const results = new Map<string, string>();
  for (const m of agent.messages) if (m.role === 'tool') results.set(m.toolCallId, textOf(m.content));
  const nodes: HTMLElement[] = [];
  const noticesAfter = (id?: string) =>
    notices.filter((n) => n.afterMessageId === id).map((n) => el('div', `notice ${n.kind}`, n.text));
  nodes.push(...noticesAfter(undefined));
  for (const m of agent.messages) {
    if (m.role === 'user') nodes.push(el('div', 'msg user', textOf(m.content)));
    if (m.role === 'assistant') {
      const text = textOf(m.content);
      if (text) nodes.push(el('div', 'msg assistant', text));
      for (const call of m.toolCalls ?? []) {
        const box = el('div', 'tool');
        box.dataset.toolName = call.function.name;
        box.append(el('div', 'call', `⚙ ${call.function.name}(${call.function.arguments})`));
        const result = results.get(call.id);
        if (result !== undefined) box.append(el('div', 'result', `→ ${result}`));
        nodes.push(box);
      }
    }
    nodes.push(...noticesAfter(m.id));
  }
  log.replaceChildren(...nodes);
  log.scrollTop = log.scrollHeight;
  $('thread').textContent = agent.threadId;
}

const lastMessageId = () => agent.messages.at(-1)?.id;

const subscriber: AgentSubscriber = {
  onMessagesChanged: () => {
    render();
    save();
  },
  // The agent reports a guardrail intervention as a CUSTOM event; the answer itself is the guardrail's message.
  onCustomEvent: ({ event }) => {
    if (event.name !== 'guardrail') return;
    const value = (event.value ?? {}) as { blocked?: boolean };
    notices.push({
      afterMessageId: lastMessageId(),
      kind: 'guardrail',
      text: value.blocked
        ? 'Guardrail intervened: the request or answer was blocked'
        : 'Guardrail intervened: sensitive content was masked',
    });
  },
  onRunErrorEvent: ({ event }) => {
    notices.push({ afterMessageId: lastMessageId(), kind: 'error', text: `Run failed: ${event.message}` });
  },
};

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const prompt = input.value.trim();
  if (!prompt || agent.isRunning) return;
  input.value = '';
  send.disabled = true;
  agent.addMessage({ id: crypto.randomUUID(), role: 'user', content: prompt });
  try {
    await agent.runAgent({}, subscriber);
  } catch (err) {
    if (!notices.some((n) => n.kind === 'error' && n.afterMessageId === lastMessageId())) {
      notices.push({
        afterMessageId: lastMessageId(),
        kind: 'error',
        text: `Request failed: ${(err as Error).message}`,
      });
    }
  } finally {
    send.disabled = false;
    render();
    save();
    input.focus();
  }
});

$('new-chat').addEventListener('click', () => {
  localStorage.removeItem(STORE_KEY);
  location.reload();
});

render();
