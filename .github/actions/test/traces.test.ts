import { describe, expect, it } from 'vitest';
import {
  breakdown,
  grownSpan,
  renderTree,
  spanProfile,
  traceConsoleUrl,
  w3cTraceId,
  type TraceSpan,
} from '../src/lib/traces';

const T = 'a'.repeat(32);
/** A run as the agent traces it: memory, two model calls around a tool, background work after. */
function run(chatMs: [number, number], toolMs: number): TraceSpan[] {
  const span = (
    id: string,
    name: string,
    start: number,
    end: number,
    attributes = {},
    parent = 'root',
  ): TraceSpan => ({
    traceId: T,
    spanId: id,
    ...(id !== 'root' && { parentSpanId: parent }),
    name,
    startMs: 1000 + start,
    endMs: 1000 + end,
    attributes,
  });
  const a = 20 + chatMs[0];
  const b = a + toolMs;
  const end = b + chatMs[1];
  return [
    span('root', 'invoke_agent agent', 0, end + 5, { 'gen_ai.operation.name': 'invoke_agent' }),
    span('mem', 'retrieval m-1', 0, 20, { 'gen_ai.operation.name': 'retrieval' }),
    span('c1', 'chat model', 20, a, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.response.time_to_first_chunk': 0.1,
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 5,
      'gen_ai.response.finish_reasons': ['tool_use'],
    }),
    span('t1', 'execute_tool calculator', a, b, { 'gen_ai.operation.name': 'execute_tool' }),
    span('c2', 'chat model', b, end, { 'gen_ai.operation.name': 'chat' }),
    span('bg', 'chat nova', end, end + 900, {
      'gen_ai.operation.name': 'chat',
      'app.background_task': 'classify',
    }),
  ];
}

describe('trace breakdowns', () => {
  it('says where an answer’s time went, background work left out', () => {
    expect(breakdown(run([300, 200], 50))).toEqual({
      totalMs: 575,
      firstTokenMs: 120,
      modelMs: 500,
      modelCalls: 2,
      toolMs: 50,
      memoryMs: 20,
      slowest: { name: 'chat model', ms: 300 },
    });
  });

  it('names the span that grew most between two sets of runs of the same prompt (medians)', () => {
    const live = [run([300, 200], 50), run([320, 210], 60), run([900, 200], 40)];
    const candidate = [run([310, 200], 800), run([300, 190], 790)];
    // Per name: summed within a run (two `chat model` spans), median across runs, background left out.
    expect(spanProfile(live)).toEqual(
      new Map([
        ['retrieval m-1', 20],
        ['chat model', 530],
        ['execute_tool calculator', 50],
      ]),
    );
    expect(grownSpan(spanProfile(live), spanProfile(candidate))).toEqual({
      name: 'execute_tool calculator',
      baselineMs: 50,
      candidateMs: 795,
    });
    // Nothing grew: nothing to name.
    expect(grownSpan(spanProfile(live), spanProfile(live))).toBeUndefined();
  });

  it('links a trace to its CloudWatch console page in X-Ray form', () => {
    expect(traceConsoleUrl('eu-west-1', 'ab'.repeat(16))).toBe(
      `https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#xray:traces/1-abababab-${'ab'.repeat(12)}`,
    );
  });

  it('renders the tree with offsets and durations', () => {
    const lines = renderTree(run([300, 200], 50)).split('\n');
    expect(lines[0]).toMatch(/^invoke_agent agent +\+ +0 ms +575 ms$/);
    expect(lines[1]).toMatch(/^├─ retrieval m-1 +\+ +0 ms +20 ms$/);
    expect(lines[2]).toMatch(
      /^├─ chat model +\+ +20 ms +300 ms {2}first token 100 ms {2}tokens in 100 .* out 5 {2}tool_use$/,
    );
    expect(lines.at(-1)).toMatch(/^└─ chat nova .*background: classify$/);
  });

  it('reads X-Ray and W3C trace ids alike', () => {
    expect(w3cTraceId(`1-${'ab'.repeat(4)}-${'cd'.repeat(12)}`)).toBe('ab'.repeat(4) + 'cd'.repeat(12));
    expect(w3cTraceId('AB'.repeat(16))).toBe('ab'.repeat(16));
  });
});
