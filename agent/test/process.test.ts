import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/src/twin';
import { spawnAgent } from './agent-process';
import { invokeRequest, SseReader } from './helpers';

describe('agent process', () => {
  let twin: Twin;
  beforeAll(async () => {
    twin = await startTwin({ bedrock: { firstTokenDelayMs: 0, interTokenDelayMs: 25 } });
  });
  afterAll(() => twin?.close());

  it('on SIGTERM finishes the in-flight stream, refuses new work, and exits 0', async () => {
    const agent = spawnAgent({ ...twin.env(), PORT: '0', HOST: '127.0.0.1', AGENT_ENV: 'test' });
    try {
      const url = await agent.listening();
      // Idle connections stay open 72 s, as the official SDK server's (Fastify's default): longer than a
      // front proxy's idle timeout, so the runtime never sends a request on a socket the agent is closing.
      // This one stays idle in fetch's pool across the shutdown below, which must not wait for it.
      const ping = await fetch(`${url}/ping`);
      expect(ping.headers.get('keep-alive')).toBe('timeout=72');
      await ping.arrayBuffer();
      const res = await invokeRequest(url, { prompt: `say: ${'lorem ipsum dolor '.repeat(50)}` });
      const stream = new SseReader(res);
      await stream.until((e) => e.type === 'TEXT_MESSAGE_CONTENT');

      agent.child.kill('SIGTERM');
      await expect
        .poll(() => agent.lines.some((l) => l.msg === 'shutting down: draining in-flight runs'))
        .toBe(true);
      const refused = await invokeRequest(url, { prompt: 'hi' });
      expect(refused.status).toBe(503);

      const rest = await stream.until((e) => e.type === 'RUN_FINISHED' || e.type === 'RUN_ERROR');
      expect(rest.at(-1)?.type).toBe('RUN_FINISHED');
      expect(await agent.exited).toBe(0);
      expect(agent.lines.at(-1)).toMatchObject({ msg: 'shut down' });
    } finally {
      agent.child.kill('SIGKILL');
    }
  }, 90_000);

  it('exits 2 listing every configuration problem', async () => {
    const agent = spawnAgent({ PORT: '99999', MAX_TOOL_STEPS: 'many', GUARDRAIL_STREAM_MODE: 'eventually' });
    expect(await agent.exited).toBe(2);
    const problems = agent
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('  - '));
    expect(problems).toEqual([
      '  - PORT must be at most 65535 (got "99999")',
      '  - AWS_REGION is required (e.g. us-east-1); AWS_DEFAULT_REGION is accepted too',
      '  - GUARDRAIL_STREAM_MODE must be sync or async (got "eventually")',
      '  - MAX_TOOL_STEPS must be a whole number (got "many")',
    ]);
  });
});
