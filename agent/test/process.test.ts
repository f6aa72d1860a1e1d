import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/src/twin';
import { invokeRequest, SseReader } from './helpers';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const main = path.join(root, 'agent/src/main.ts');

/**
 * The agent as its own process (as in the container), with stdout JSON lines collected. One process:
 * node with tsx's loader, not the tsx CLI, whose child a SIGKILL would leave running.
 */
function spawnAgent(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: root,
    env: { PATH: process.env.PATH!, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop()!;
    for (const line of parts) if (line.startsWith('{')) lines.push(JSON.parse(line));
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close' waits for stdout to drain; 'exit' can fire before the last log lines are read.
  const exited = once(child, 'close').then(([code]) => code as number | null);
  return { child, lines, stderr: () => stderr, exited };
}

async function listeningUrl(lines: Record<string, unknown>[], child: ChildProcess): Promise<string> {
  await expect.poll(() => lines.find((l) => l.msg === 'agent listening'), { timeout: 15_000 }).toBeTruthy();
  expect(child.exitCode).toBeNull();
  return `http://127.0.0.1:${lines.find((l) => l.msg === 'agent listening')!.port}`;
}

describe('agent process', () => {
  let twin: Twin;
  beforeAll(async () => {
    twin = await startTwin({ bedrock: { firstTokenDelayMs: 0, interTokenDelayMs: 25 } });
  });
  afterAll(() => twin?.close());

  it('on SIGTERM finishes the in-flight stream, refuses new work, and exits 0', async () => {
    const agent = spawnAgent({ ...twin.env(), PORT: '0', HOST: '127.0.0.1', AGENT_ENV: 'test' });
    try {
      const url = await listeningUrl(agent.lines, agent.child);
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
  });

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
