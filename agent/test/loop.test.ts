import type { BaseEvent } from '@ag-ui/core';
import {
  BedrockRuntimeClient,
  ConverseStreamCommand,
  type ConverseStreamCommandInput,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { runLoop } from '../src/loop';
import { userMessage } from '../src/prompt';
import { createLogger } from '../src/telemetry/logger';
import { TOOLS, toolSpecs } from '../src/tools';

// Narrow unit tests for loop behaviour the scripted twin model cannot produce (a model that never
// stops calling tools); everything else is tested end to end against the twin.
const runtime = new BedrockRuntimeClient({ region: 'us-east-1' });
const mock = mockClient(runtime);
afterEach(() => mock.reset());

async function* stream(events: ConverseStreamOutput[]) {
  yield* events;
}

const toolTurn = (id: string): ConverseStreamOutput[] =>
  [
    { messageStart: { role: 'assistant' } },
    {
      contentBlockStart: { contentBlockIndex: 0, start: { toolUse: { toolUseId: id, name: 'calculator' } } },
    },
    { contentBlockDelta: { contentBlockIndex: 0, delta: { toolUse: { input: '{"expression":"1+1"}' } } } },
    { contentBlockStop: { contentBlockIndex: 0 } },
    { messageStop: { stopReason: 'tool_use' } },
    { metadata: { usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 }, metrics: { latencyMs: 1 } } },
  ] as ConverseStreamOutput[];

function run(env: Record<string, string>) {
  const events: BaseEvent[] = [];
  const result = runLoop({
    runtime,
    config: loadConfig({ AWS_REGION: 'us-east-1', ...env }),
    tools: TOOLS,
    toolSpecs: toolSpecs(),
    history: [],
    user: userMessage('add forever'),
    emit: (e) => events.push(e),
    onFirstToken: () => undefined,
    signal: new AbortController().signal,
    log: createLogger('silent', 'test'),
  });
  return { events, result };
}

describe('agent loop', () => {
  it('stops after MAX_TOOL_STEPS rounds with a message, keeping a well-formed history turn', async () => {
    let n = 0;
    mock.on(ConverseStreamCommand).callsFake(async () => ({ stream: stream(toolTurn(`t${n++}`)) }));
    const { events, result } = run({ MAX_TOOL_STEPS: '2' });
    const r = await result;
    expect(mock.commandCalls(ConverseStreamCommand)).toHaveLength(3);
    expect(r.toolCalls).toBe(2);
    expect(r.stopReason).toBe('tool_step_limit');
    expect(r.answer).toMatch(/^I stopped after 2 rounds of tool calls/);
    expect(r.turn.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(r.usage).toEqual({
      inputTokens: 30,
      outputTokens: 15,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
    });
    expect(events.filter((e) => e.type === 'TOOL_CALL_RESULT')).toHaveLength(2);
    expect(events.at(-1)?.type).toBe('TEXT_MESSAGE_END');
  });

  it('sends the cache layout: tools + cachePoint, system + cachePoint, the guardrail config', async () => {
    mock.on(ConverseStreamCommand).callsFake(async () => ({
      stream: stream([
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'hi' } } },
        { contentBlockStop: { contentBlockIndex: 0 } },
        { messageStop: { stopReason: 'end_turn' } },
      ] as ConverseStreamOutput[]),
    }));
    await run({ GUARDRAIL_ID: 'g1', GUARDRAIL_VERSION: '3', GUARDRAIL_STREAM_MODE: 'async' }).result;
    const input = mock.commandCalls(ConverseStreamCommand)[0].args[0].input as ConverseStreamCommandInput;
    expect(input.toolConfig!.tools!.at(-1)).toEqual({ cachePoint: { type: 'default' } });
    expect(input.system!.map((b) => Object.keys(b)[0])).toEqual(['text', 'cachePoint']);
    expect(input.guardrailConfig).toEqual({
      guardrailIdentifier: 'g1',
      guardrailVersion: '3',
      streamProcessingMode: 'async',
      trace: 'enabled',
    });
    expect(input.messages).toEqual([{ role: 'user', content: [{ text: 'add forever' }] }]);
  });
});
