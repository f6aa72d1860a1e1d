import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ConverseStreamCommandInput,
  type ConverseStreamOutput,
  type Message,
  type TokenUsage,
  type Tool,
} from '@aws-sdk/client-bedrock-runtime';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { useBedrockTwin } from './helpers/bedrock-twin';
import { clientConfig } from './image-fixture';

const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const TOOLS: Tool[] = [
  {
    toolSpec: {
      name: 'current_time',
      description: 'Current time in a zone',
      inputSchema: { json: { type: 'object' } },
    },
  },
  { toolSpec: { name: 'calculator', description: 'Arithmetic', inputSchema: { json: { type: 'object' } } } },
  { toolSpec: { name: 'faq_lookup', description: 'FAQ search', inputSchema: { json: { type: 'object' } } } },
  { cachePoint: { type: 'default' } },
];

// The default handler speaks HTTP/2: this exercises the twin's h2c path as the agent will.
const local = useBedrockTwin({ bedrock: { firstTokenDelayMs: 5, interTokenDelayMs: 1 } });

/** Drain a ConverseStream into text, tool calls, stop reason and metadata. */
async function collect(input: Omit<ConverseStreamCommandInput, 'modelId'>, c = local.client) {
  const out = await c.send(new ConverseStreamCommand({ modelId: MODEL, ...input }));
  const events: ConverseStreamOutput[] = [];
  for await (const e of out.stream!) events.push(e);
  const text = events.map((e) => e.contentBlockDelta?.delta?.text ?? '').join('');
  const start = events.find((e) => e.contentBlockStart)?.contentBlockStart?.start?.toolUse;
  const toolInput = events.map((e) => e.contentBlockDelta?.delta?.toolUse?.input ?? '').join('');
  return {
    events,
    text,
    toolUse: start && { ...start, input: JSON.parse(toolInput) as Record<string, unknown> },
    stopReason: events.find((e) => e.messageStop)?.messageStop?.stopReason,
    metadata: events.find((e) => e.metadata)?.metadata,
  };
}

const unexpected = (): never => {
  throw new Error('expected the call to fail');
};
const user = (text: string): Message => ({ role: 'user', content: [{ text }] });

describe('ConverseStream', () => {
  it('streams a deterministic text answer in several deltas with usage', async () => {
    const r = await collect({ messages: [user('Tell me about the local twin please')] });
    expect(r.events[0]).toEqual({ messageStart: { role: 'assistant' } });
    expect(r.events.filter((e) => e.contentBlockDelta).length).toBeGreaterThan(2);
    expect(r.text).toContain('Tell me about the local twin please');
    expect(r.stopReason).toBe('end_turn');
    const usage = r.metadata!.usage!;
    expect(usage.outputTokens).toBe(Math.ceil(Buffer.byteLength(r.text) / 4));
    expect(usage.totalTokens).toBe(
      usage.inputTokens! + usage.outputTokens! + usage.cacheReadInputTokens! + usage.cacheWriteInputTokens!,
    );
    expect(r.metadata!.metrics!.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('calls a tool, then answers from its result', async () => {
    const first = await collect({
      messages: [user('What time is it in Tokyo?')],
      toolConfig: { tools: TOOLS },
    });
    expect(first.stopReason).toBe('tool_use');
    expect(first.toolUse).toMatchObject({ name: 'current_time', input: { timeZone: 'Asia/Tokyo' } });
    expect(first.toolUse!.toolUseId).toMatch(/^tooluse_/);
    expect(first.events.filter((e) => e.contentBlockDelta?.delta?.toolUse).length).toBeGreaterThan(1);

    const { toolUseId, name, input } = first.toolUse!;
    const second = await collect({
      toolConfig: { tools: TOOLS },
      messages: [
        user('What time is it in Tokyo?'),
        {
          role: 'assistant',
          content: [{ toolUse: { toolUseId, name, input: input as Record<string, string> } }],
        },
        {
          role: 'user',
          content: [{ toolResult: { toolUseId, content: [{ text: '2026-11-28T15:00:00+09:00' }] } }],
        },
      ],
    });
    expect(second.stopReason).toBe('end_turn');
    expect(second.text).toContain('2026-11-28T15:00:00+09:00');
    expect(second.text).toContain('current_time');
  });

  it('follows the contract triggers, and only for tools in toolConfig', async () => {
    const calc = await collect({ messages: [user('what is 2+3*4?')], toolConfig: { tools: TOOLS } });
    expect(calc.toolUse).toMatchObject({ name: 'calculator', input: { expression: '2+3*4' } });
    const faq = await collect({
      messages: [user('How do I reset my password?')],
      toolConfig: { tools: TOOLS },
    });
    expect(faq.toolUse).toMatchObject({
      name: 'faq_lookup',
      input: { query: 'How do I reset my password?' },
    });
    const utc = await collect({ messages: [user('what time is it?')], toolConfig: { tools: TOOLS } });
    expect(utc.toolUse).toMatchObject({ name: 'current_time', input: { timeZone: 'UTC' } });
    const noTool = await collect({ messages: [user('calculate 6*7')], toolConfig: { tools: [TOOLS[0]] } });
    expect(noTool.toolUse).toBeUndefined();
    expect(noTool.stopReason).toBe('end_turn');
  });

  it('answers from memory context lines in the user message', async () => {
    const r = await collect({
      messages: [
        {
          role: 'user',
          content: [{ text: "Known facts:\n- The user's name is Ada" }, { text: 'What is my name?' }],
        },
      ],
    });
    expect(r.text).toBe('Your name is Ada.');
  });

  it('truncates at maxTokens with stopReason max_tokens', async () => {
    const r = await collect({
      messages: [user('Please write a long answer about everything')],
      inferenceConfig: { maxTokens: 3 },
    });
    expect(r.stopReason).toBe('max_tokens');
    expect(Buffer.byteLength(r.text)).toBeLessThanOrEqual(12);
  });
});

describe('Converse', () => {
  it('answers without streaming, tool use included', async () => {
    const out = await local.client.send(
      new ConverseCommand({
        modelId: MODEL,
        messages: [user('calculate 6*7')],
        toolConfig: { tools: TOOLS },
      }),
    );
    expect(out.stopReason).toBe('tool_use');
    expect(out.output?.message?.content?.[0].toolUse).toMatchObject({
      name: 'calculator',
      input: { expression: '6*7' },
    });
    expect(out.usage?.outputTokens).toBeGreaterThan(0);
    const text = await local.client.send(
      new ConverseCommand({ modelId: MODEL, messages: [user('say: hello there')] }),
    );
    expect(text.output?.message?.content?.[0].text).toBe('hello there');
  });
});

describe('AWS/Bedrock token metrics', () => {
  it('publishes InputTokenCount and OutputTokenCount per ModelId after each completed call, as Bedrock does', async () => {
    const model = 'amazon.nova-micro-v1:0'; // used by no other test here
    const start = new Date(Date.now() - 60_000);
    const stream = await local.client.send(
      new ConverseStreamCommand({ modelId: model, messages: [user('calculate 2+2')] }),
    );
    let streamed: TokenUsage | undefined;
    for await (const e of stream.stream!) streamed ??= e.metadata?.usage;
    const answered = await local.client.send(
      new ConverseCommand({ modelId: model, messages: [user('Hello there')] }),
    );
    const cw = new CloudWatchClient(clientConfig(local.twin));
    const sum = (id: string, MetricName: string) => ({
      Id: id,
      MetricStat: {
        Metric: { Namespace: 'AWS/Bedrock', MetricName, Dimensions: [{ Name: 'ModelId', Value: model }] },
        Period: 3600,
        Stat: 'Sum',
      },
    });
    const out = await cw.send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: new Date(Date.now() + 60_000),
        MetricDataQueries: [sum('input', 'InputTokenCount'), sum('output', 'OutputTokenCount')],
      }),
    );
    cw.destroy();
    const total = (id: string) =>
      (out.MetricDataResults ?? []).find((r) => r.Id === id)!.Values!.reduce((a, b) => a + b, 0);
    const usages = [streamed!, answered.usage!];
    expect(total('input')).toBe(usages.reduce((a, u) => a + u.inputTokens!, 0));
    expect(total('output')).toBe(usages.reduce((a, u) => a + u.outputTokens!, 0));
    expect(total('output')).toBeGreaterThan(0);
  });
});

describe('validation', () => {
  const fails = async (input: Partial<ConverseStreamCommandInput>) =>
    local.client
      .send(new ConverseStreamCommand({ modelId: MODEL, ...input } as ConverseStreamCommandInput))
      .catch((e: Error) => e);

  it.each([
    ['no messages', { messages: [] }, /must start with a user message/],
    ['bad role', { messages: [{ role: 'system', content: [{ text: 'x' }] }] }, /messages\.1\.member\.role/],
    [
      'assistant first',
      { messages: [{ role: 'assistant', content: [{ text: 'x' }] }, user('y')] },
      /start with a user/,
    ],
    ['empty content', { messages: [{ role: 'user', content: [] }] }, /messages\.0 is empty/],
    ['unknown model', { modelId: 'not a model' }, /model identifier is invalid/],
    [
      'toolUse without toolResult',
      {
        toolConfig: { tools: TOOLS },
        messages: [
          user('calculate 1+1'),
          {
            role: 'assistant',
            content: [{ toolUse: { toolUseId: 'tooluse_a', name: 'calculator', input: {} } }],
          },
          user('and?'),
        ],
      },
      /Expected toolResult blocks at messages\.2\.content for the following Ids: tooluse_a/,
    ],
  ] as const)('%s → ValidationException', async (_name, input, message) => {
    const e = (await fails({ messages: [user('hi')], ...(input as object) })) as Error & {
      $metadata: { httpStatusCode: number };
    };
    expect(e.name).toBe('ValidationException');
    expect(e.$metadata.httpStatusCode).toBe(400);
    expect(e.message).toMatch(message);
  });
});

describe('fault injection', () => {
  it('answers throttling with HTTP 429 before the stream, which the SDK retries', async () => {
    const retrying = new BedrockRuntimeClient({ ...clientConfig(local.twin), maxAttempts: 3 });
    local.twin.bedrock.failNext({ type: 'throttlingException', count: 1 });
    const out = await retrying.send(
      new ConverseStreamCommand({ modelId: MODEL, messages: [user('hello after a retry')] }),
    );
    let text = '';
    for await (const e of out.stream!) text += e.contentBlockDelta?.delta?.text ?? '';
    expect(out.$metadata.attempts).toBe(2);
    expect(text).toContain('hello after a retry');
    retrying.destroy();
  });

  it('surfaces a mid-stream exception frame as a typed error', async () => {
    local.twin.bedrock.failNext({ type: 'internalServerException' });
    const before = local.twin.bedrock.stats();
    const out = await local.client.send(
      new ConverseStreamCommand({ modelId: MODEL, messages: [user('this will break midway')] }),
    );
    const seen: string[] = [];
    const err = await (async () => {
      for await (const e of out.stream!) seen.push(Object.keys(e)[0]);
    })().catch((e: Error) => e);
    expect(seen).toEqual(['messageStart', 'contentBlockDelta']);
    expect((err as Error).name).toBe('InternalServerException');
    expect(local.twin.bedrock.stats().failed).toBe(before.failed + 1);
  });

  it('fails on a request trigger in the prompt', async () => {
    const err = await local.client
      .send(
        new ConverseStreamCommand({
          modelId: MODEL,
          messages: [user('hi [twin-fault:throttlingException]')],
        }),
      )
      .then(unexpected, (e: Error & { $metadata: { httpStatusCode: number } }) => e);
    expect(err.name).toBe('ThrottlingException');
    expect(err.$metadata.httpStatusCode).toBe(429);
    const converse = await local.client
      .send(
        new ConverseCommand({
          modelId: MODEL,
          messages: [user('hi [twin-fault:serviceUnavailableException]')],
        }),
      )
      .then(unexpected, (e: Error) => e);
    expect(converse.name).toBe('ServiceUnavailableException');
  });
});

describe('client abort', () => {
  it('stops streaming and records the abort', async () => {
    local.twin.bedrock.configure({ interTokenDelayMs: 40 });
    const before = local.twin.bedrock.stats();
    const ended = new Promise<{ outcome: string }>((resolve) =>
      local.twin.bedrock.events.once('streamEnd', resolve),
    );
    const controller = new AbortController();
    const out = await local.client.send(
      new ConverseStreamCommand({
        modelId: MODEL,
        messages: [user('a long answer that takes a while to stream out')],
      }),
      { abortSignal: controller.signal },
    );
    let deltas = 0;
    // Depending on timing the SDK ends the iteration or throws an AbortError; either way it stops.
    await (async () => {
      for await (const e of out.stream!) {
        if (e.contentBlockDelta) deltas++;
        controller.abort();
      }
    })().catch(() => undefined);
    expect(deltas).toBeLessThan(3);
    expect(await ended).toMatchObject({ outcome: 'aborted' });
    expect(local.twin.bedrock.stats()).toMatchObject({
      started: before.started + 1,
      aborted: before.aborted + 1,
      completed: before.completed,
    });
    local.twin.bedrock.configure({ interTokenDelayMs: 1 });
  });
});
