import {
  ConverseStreamCommand,
  type ContentBlock,
  type Message,
  type SystemContentBlock,
  type Tool,
} from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { canonicalise, PromptCache } from '../src/model/prompt-cache';
import type { ConverseRequest } from '../src/model/types';
import { useBedrockTwin } from './helpers/bedrock-twin';

const MODEL = 'us.anthropic.claude-sonnet-4-20250514-v1:0';
const TOOLS: Tool[] = [
  {
    toolSpec: {
      name: 'calculator',
      description: 'Evaluates arithmetic. '.repeat(20),
      inputSchema: { json: { type: 'object' } },
    },
  },
  { cachePoint: { type: 'default' } },
];
const SYSTEM: SystemContentBlock[] = [
  { text: 'You are a helpful agent. '.repeat(40) },
  { cachePoint: { type: 'default' } },
];

/** The contract layout: history with a cachePoint on the previous turn's last block, then the current turn with memory. */
function request(history: Message[], prompt: string, system = SYSTEM) {
  const messages = history.map((m, i) =>
    i === history.length - 1
      ? { ...m, content: [...m.content!, { cachePoint: { type: 'default' } } as ContentBlock] }
      : m,
  );
  messages.push({ role: 'user', content: [{ text: 'Memory: the user likes tea' }, { text: prompt }] });
  return { modelId: MODEL, toolConfig: { tools: TOOLS }, system, messages };
}

describe('prompt-cache accounting', () => {
  const local = useBedrockTwin({ bedrock: { firstTokenDelayMs: 0, interTokenDelayMs: 0 } });

  async function turn(input: ReturnType<typeof request>) {
    const out = await local.client.send(new ConverseStreamCommand(input));
    let text = '';
    let usage;
    for await (const e of out.stream!) {
      text += e.contentBlockDelta?.delta?.text ?? '';
      usage = e.metadata?.usage ?? usage;
    }
    return { text, usage: usage! };
  }

  it('writes the prefix on turn 1, reads it on turns 2 and 3, and rewrites after a system change', async () => {
    const history: Message[] = [];
    const totals = (u: Awaited<ReturnType<typeof turn>>['usage']) =>
      u.inputTokens! + u.cacheReadInputTokens! + u.cacheWriteInputTokens!;

    const r1 = await turn(request(history, 'first question'));
    const canonical1 = canonicalise(request(history, 'first question') as unknown as ConverseRequest);
    const whole1 = Math.ceil(canonical1.bytes.length / 4);
    expect(r1.usage.cacheReadInputTokens).toBe(0);
    expect(r1.usage.cacheWriteInputTokens).toBe(Math.ceil(canonical1.points[1].offset / 4)); // tools + system
    expect(totals(r1.usage)).toBe(whole1);

    history.push(
      { role: 'user', content: [{ text: 'first question' }] },
      { role: 'assistant', content: [{ text: r1.text }] },
    );
    const r2 = await turn(request(history, 'second question'));
    expect(r2.usage.cacheReadInputTokens).toBe(r1.usage.cacheWriteInputTokens); // the whole stable prefix
    expect(r2.usage.cacheWriteInputTokens).toBeGreaterThan(0); // turn 1 of the history
    expect(r2.usage.cacheReadInputTokens!).toBeGreaterThan(
      r2.usage.inputTokens! + r2.usage.cacheWriteInputTokens!,
    );

    history.push(
      { role: 'user', content: [{ text: 'second question' }] },
      { role: 'assistant', content: [{ text: r2.text }] },
    );
    const r3 = await turn(request(history, 'third question'));
    // Turn 2 cached up to the end of the previous history; turn 3 reads that and writes only turn 2.
    expect(r3.usage.cacheReadInputTokens).toBe(
      r2.usage.cacheReadInputTokens! + r2.usage.cacheWriteInputTokens!,
    );
    expect(r3.usage.inputTokens).toBeLessThan(r3.usage.cacheReadInputTokens! / 10);

    const changed: SystemContentBlock[] = [
      { text: 'You are a terse agent. '.repeat(40) },
      { cachePoint: { type: 'default' } },
    ];
    const r4 = await turn(request(history, 'third question', changed));
    const toolsOnly = Math.ceil(canonicalise({ toolConfig: { tools: TOOLS as never } }).points[0].offset / 4);
    expect(r4.usage.cacheReadInputTokens).toBe(toolsOnly);
    expect(r4.usage.cacheWriteInputTokens).toBeGreaterThan(r3.usage.cacheReadInputTokens! - toolsOnly - 50);
  });

  it('keeps caches per model id', async () => {
    const other = await local.client.send(
      new ConverseStreamCommand({ ...request([], 'first question'), modelId: 'amazon.nova-micro-v1:0' }),
    );
    let usage;
    for await (const e of other.stream!) usage = e.metadata?.usage ?? usage;
    expect(usage!.cacheReadInputTokens).toBe(0);
  });
});

describe('PromptCache', () => {
  const req = (system: string) => ({
    system: [{ text: system }, { cachePoint: { type: 'default' as const } }],
    messages: [{ role: 'user', content: [{ text: 'hello' }] }],
  });

  it('expires entries after five minutes', () => {
    const cache = new PromptCache();
    const t0 = 1_000_000;
    expect(cache.account('m', req('x'.repeat(400)), t0).cacheWriteInputTokens).toBeGreaterThan(100);
    expect(cache.account('m', req('x'.repeat(400)), t0 + 4 * 60_000).cacheReadInputTokens).toBeGreaterThan(
      100,
    );
    // The hit at 4 min refreshed the entry, so 8 min still hits; 14 min does not.
    expect(cache.account('m', req('x'.repeat(400)), t0 + 8 * 60_000).cacheReadInputTokens).toBeGreaterThan(
      100,
    );
    expect(cache.account('m', req('x'.repeat(400)), t0 + 14 * 60_000).cacheReadInputTokens).toBe(0);
  });

  it('counts tokens as ceil(bytes / 4) of the canonical JSON', () => {
    const r = { messages: [{ role: 'user', content: [{ text: 'héllo' }] }] };
    const json =
      '{"toolConfig":{"tools":[]},"system":[],"messages":[{"role":"user","content":[{"text":"héllo"}]}]}';
    expect(canonicalise(r).bytes.toString('utf8')).toBe(json);
    expect(new PromptCache().account('m', r).inputTokens).toBe(Math.ceil(Buffer.byteLength(json) / 4));
  });
});
