import { describe, expect, it } from 'vitest';
import { HttpError, parseInvocation, toConversation } from '../src/input';
import { memoryIds } from '../src/memory';
import { turnsOf } from '../src/session';

type AgUiMessages = Parameters<typeof toConversation>[0];

const call = (id: string, name: string, args = '{}') => ({
  id,
  type: 'function' as const,
  function: { name, arguments: args },
});

describe('toConversation (AG-UI messages → a conversation Bedrock accepts)', () => {
  it('merges consecutive user messages and drops a leading assistant message', () => {
    const messages: AgUiMessages = [
      { id: 'a0', role: 'assistant', content: 'Hi! How can I help?' },
      { id: 'u1', role: 'user', content: 'My name is Ada.' },
      { id: 'u2', role: 'user', content: 'What is my name?' },
    ];
    expect(toConversation(messages)).toEqual([
      { role: 'user', content: [{ text: 'My name is Ada.' }, { text: 'What is my name?' }] },
    ]);
  });

  it('pairs tool results with their calls; results first in their message, then any new text', () => {
    const messages: AgUiMessages = [
      { id: 'u1', role: 'user', content: 'chart Tokyo' },
      { id: 'a1', role: 'assistant', toolCalls: [call('t1', 'show_chart', '{"city":"Tokyo"}')] },
      { id: 'r1', role: 'tool', toolCallId: 't1', content: 'shown' },
      { id: 'u2', role: 'user', content: 'thanks' },
    ];
    expect(toConversation(messages)).toEqual([
      { role: 'user', content: [{ text: 'chart Tokyo' }] },
      {
        role: 'assistant',
        content: [{ toolUse: { toolUseId: 't1', name: 'show_chart', input: { city: 'Tokyo' } } }],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 't1', content: [{ text: 'shown' }], status: 'success' } },
          { text: 'thanks' },
        ],
      },
    ]);
  });

  it('answers a call the client left unanswered with an error result, and keeps an orphan result as text', () => {
    const messages: AgUiMessages = [
      { id: 'u1', role: 'user', content: 'chart Tokyo' },
      { id: 'a1', role: 'assistant', content: 'Showing it.', toolCalls: [call('t1', 'show_chart')] },
      { id: 'u2', role: 'user', content: 'never mind' },
      { id: 'r9', role: 'tool', toolCallId: 't9', content: 'late' },
    ];
    const [, assistant, next] = toConversation(messages);
    expect(assistant.content).toEqual([
      { text: 'Showing it.' },
      { toolUse: { toolUseId: 't1', name: 'show_chart', input: {} } },
    ]);
    expect(next.content).toEqual([
      {
        toolResult: {
          toolUseId: 't1',
          content: [{ text: expect.stringMatching(/no result/) }],
          status: 'error',
        },
      },
      { text: 'never mind' },
      { text: '(result of an earlier tool call t9: late)' },
    ]);
  });
});

describe('parseInvocation', () => {
  const input = (messages: unknown[], extra: object = {}) => ({
    threadId: 't',
    runId: 'r',
    messages,
    ...extra,
  });

  it('a one-message run leaves the history to the server; more messages bring the client’s', () => {
    expect(parseInvocation(input([{ id: 'u', role: 'user', content: 'hi' }])).history).toBeUndefined();
    const two = parseInvocation(
      input([
        { id: 'u', role: 'user', content: 'hi' },
        { id: 'a', role: 'assistant', content: 'hello' },
        { id: 'u2', role: 'user', content: 'again' },
      ]),
    );
    expect(two.history).toHaveLength(2);
    expect(two.userText).toBe('again');
  });

  it('a trailing tool result is the message to answer (no new user text), the query is the last question', () => {
    const parsed = parseInvocation(
      input([
        { id: 'u', role: 'user', content: 'chart Tokyo' },
        { id: 'a', role: 'assistant', toolCalls: [call('t1', 'show_chart')] },
        { id: 'r', role: 'tool', toolCallId: 't1', content: 'shown' },
      ]),
    );
    expect(parsed.userText).toBe('');
    expect(parsed.query).toBe('chart Tokyo');
    expect(parsed.current.content).toEqual([
      { toolResult: { toolUseId: 't1', content: [{ text: 'shown' }], status: 'success' } },
    ]);
  });

  it.each([
    [
      'a conversation ending with the assistant',
      input([
        { id: 'u', role: 'user', content: 'hi' },
        { id: 'a', role: 'assistant', content: 'hello' },
      ]),
      /ends with an assistant message/,
    ],
    [
      'a client tool named like a server tool',
      input([{ id: 'u', role: 'user', content: 'hi' }], {
        tools: [{ name: 'calculator', description: 'x', parameters: {} }],
      }),
      /runs itself/,
    ],
    [
      'a client tool name Bedrock refuses',
      input([{ id: 'u', role: 'user', content: 'hi' }], {
        tools: [{ name: 'show chart', description: 'x', parameters: {} }],
      }),
      /letters, digits/,
    ],
  ])('rejects %s with a 400 that says why', (_name, body, message) => {
    let error: unknown;
    try {
      parseInvocation(body, ['calculator']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 400, message: expect.stringMatching(message) });
  });
});

describe('turnsOf', () => {
  it('starts a turn at each question, never at a tool result', () => {
    const q = { role: 'user' as const, content: [{ text: 'q' }] };
    const use = {
      role: 'assistant' as const,
      content: [{ toolUse: { toolUseId: 't', name: 'x', input: {} } }],
    };
    const result = { role: 'user' as const, content: [{ toolResult: { toolUseId: 't', content: [] } }] };
    const a = { role: 'assistant' as const, content: [{ text: 'a' }] };
    expect(turnsOf([q, use, result, a, q, a])).toEqual([
      [q, use, result, a],
      [q, a],
    ]);
  });
});

describe('memoryIds', () => {
  it('keeps ids Memory accepts and maps the others to a stable digest', () => {
    expect(memoryIds({ actorId: 'user-1', sessionId: 'local-dev-session' })).toEqual({
      actorId: 'user-1',
      sessionId: 'local-dev-session',
    });
    const mapped = memoryIds({ actorId: 'ada@example.com', sessionId: 'chat:1/2' });
    expect(mapped.actorId).toMatch(/^a-[0-9a-f]{64}$/);
    expect(mapped.sessionId).toMatch(/^s-[0-9a-f]{64}$/);
    expect(memoryIds({ actorId: 'ada@example.com', sessionId: 'chat:1/2' })).toEqual(mapped);
    expect(memoryIds({ actorId: 'x', sessionId: 's'.repeat(101) }).sessionId).toMatch(/^s-/);
  });
});
