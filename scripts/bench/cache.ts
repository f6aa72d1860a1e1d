/** Prompt caching: a 5-turn conversation on one thread; per turn, the share of input tokens read from cache. */
import type { BaseEvent } from '@ag-ui/core';
import { newThreadId, runInput, textOf, timedRun, type Turn } from './agui-client';

export const CONVERSATION = [
  'My name is Ada and I live in Lisbon.',
  'What time is it in Tokyo?',
  'Calculate 2+3*4',
  'Where do I live?',
  'What is my name?',
];

interface TokenUsage {
  inputTokens: number;
  cachedInputTokens?: number;
  cacheWriteInputTokens?: number;
}

export async function measureCache(url: string, log: (s: string) => void) {
  const threadId = newThreadId('cache');
  const turns: Turn[] = [];
  const perTurn: {
    turn: number;
    inputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
    share: number;
  }[] = [];
  for (const [i, prompt] of CONVERSATION.entries()) {
    turns.push({ role: 'user', content: prompt });
    const { events } = await timedRun(url, runInput(threadId, turns));
    const finished = events.find((e) => e.type === 'RUN_FINISHED') as
      (BaseEvent & { usage?: TokenUsage[] }) | undefined;
    const usage = finished?.usage?.[0];
    if (!usage) throw new Error(`turn ${i + 1}: RUN_FINISHED carried no usage (${events.at(-1)?.type})`);
    turns.push({ role: 'assistant', content: textOf(events) });
    const read = usage.cachedInputTokens ?? 0;
    perTurn.push({
      turn: i + 1,
      inputTokens: usage.inputTokens,
      cacheReadTokens: read,
      cacheWriteTokens: usage.cacheWriteInputTokens ?? 0,
      share: Math.round((read / usage.inputTokens) * 1000) / 1000,
    });
    log(`  turn ${i + 1}: ${read}/${usage.inputTokens} input tokens from cache`);
  }
  const later = perTurn.slice(1);
  const read = later.reduce((s, t) => s + t.cacheReadTokens, 0);
  const input = later.reduce((s, t) => s + t.inputTokens, 0);
  return { perTurn, turns2to5Share: Math.round((read / input) * 1000) / 1000 };
}
