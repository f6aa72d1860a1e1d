/**
 * The agent's AWS clients on first contact: an endpoint that accepts and never answers does not hold
 * runs open (idle timeouts on every client, a bounded wait for memory writes), and a fresh process's
 * first long-term retrieval is not lost to resolving its credentials (they are resolved at start).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import net from 'node:net';
import type { BaseEvent } from '@ag-ui/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/src/twin';
import { memoryStrategies } from '../../environments/agent-contract';
import { blackHole, PROCESS_TEST_TIMEOUT_MS, spawnAgent } from './agent-process';
import { invoke } from './helpers';

/** The run's events, or a failure naming the wait when it has not ended by then (before the fix: never). */
async function endsWithin(ms: number, run: Promise<BaseEvent[]>): Promise<BaseEvent[]> {
  run.catch(() => {}); // a run cut off when the test kills the agent is not this test's failure
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`the run had not ended after ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([run, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('AWS clients on first contact', () => {
  let twin: Twin;
  beforeAll(async () => {
    twin = await startTwin({
      bedrock: { firstTokenDelayMs: 0, interTokenDelayMs: 0 },
      memory: { activationDelayMs: 0 },
    });
  });
  afterAll(() => twin?.close());

  const env = (): Record<string, string> => ({
    ...twin.env(),
    PORT: '0',
    HOST: '127.0.0.1',
    AGENT_ENV: 'test',
    LOG_LEVEL: 'debug',
  });

  it(
    'finishes the run when Memory accepts and never answers, and fails the writes on the idle timeout',
    async () => {
      const hole = await blackHole();
      const agent = spawnAgent({
        ...env(),
        MEMORY_ID: 'first_contact_hole-0123456789',
        AWS_ENDPOINT_URL_BEDROCK_AGENTCORE: hole.url,
        MEMORY_LOAD_BUDGET_MS: '300',
        MEMORY_IDLE_TIMEOUT_MS: '500',
        MEMORY_FLUSH_BUDGET_MS: '300',
      });
      try {
        const url = await agent.listening();
        const started = Date.now();
        // Before the fix the run never finished (its memory writes waited forever).
        const events = await endsWithin(15_000, invoke(url, { prompt: 'hi' }));
        expect(events.at(-1)?.type).toBe('RUN_FINISHED');
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(agent.lines).toContainEqual(
          expect.objectContaining({
            level: 'warn',
            msg: 'memory writes still pending at the end of the run; finishing it without waiting for them',
            budgetMs: 300,
          }),
        );
        // The turn's one write (question and answer in one event) gives up after 500 ms of silence per
        // attempt (the client's 3 attempts), logged.
        await expect
          .poll(
            () =>
              agent.lines.filter(
                (l) =>
                  l.msg === 'memory event write failed' &&
                  (l.err as { name?: string } | undefined)?.name === 'TimeoutError',
              ).length,
            { timeout: 20_000 },
          )
          .toBe(1);
      } finally {
        agent.child.kill('SIGKILL');
        hole.close();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'fails the answer with RUN_ERROR when Bedrock accepts and never answers',
    async () => {
      const hole = await blackHole();
      const agent = spawnAgent({
        ...env(),
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME: hole.url,
        MODEL_IDLE_TIMEOUT_MS: '1000',
        MODEL_MAX_ATTEMPTS: '1',
      });
      try {
        const url = await agent.listening();
        const events = await endsWithin(15_000, invoke(url, { prompt: 'hi' }));
        expect(events.at(-1)?.type).toBe('RUN_ERROR');
      } finally {
        agent.child.kill('SIGKILL');
        hole.close();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    "keeps a fresh process's first retrieval within its budget while credentials take longer to fetch",
    async () => {
      // Credentials as a microVM gets them: over HTTP from a container credentials endpoint, here one
      // that takes longer than the retrieval budget to answer.
      const { accessKeyId, secretAccessKey } = twin.credentials();
      let fetched = 0;
      const credentials: Server = createHttpServer((_req, res) => {
        fetched++;
        setTimeout(() => {
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({
              AccessKeyId: accessKeyId,
              SecretAccessKey: secretAccessKey,
              Token: 'session-token',
              Expiration: new Date(Date.now() + 3600_000).toISOString(),
            }),
          );
        }, 800);
      });
      await new Promise<void>((resolve) => credentials.listen(0, '127.0.0.1', resolve));
      const memoryId = twin.memory.createMemory({
        name: 'first_contact_warm',
        eventExpiryDuration: 30,
        memoryStrategies,
      }).id;
      const {
        AWS_ACCESS_KEY_ID: _key,
        AWS_SECRET_ACCESS_KEY: _secret,
        AWS_SESSION_TOKEN: _token,
        ...withoutKeys
      } = env();
      const agent = spawnAgent({
        ...withoutKeys,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${(credentials.address() as net.AddressInfo).port}/creds`,
        // No profile files to find first (the chain would read ~/.aws).
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
        AWS_CONFIG_FILE: '/nonexistent/config',
        MEMORY_ID: memoryId,
        MEMORY_RETRIEVE_BUDGET_MS: '500',
      });
      try {
        const url = await agent.listening();
        const events = await invoke(url, { prompt: 'What do you remember about me?' });
        expect(events.at(-1)?.type).toBe('RUN_FINISHED');
        expect(agent.lines.filter((l) => String(l.msg).startsWith('memory retrieval'))).toEqual([]);
        expect(agent.lines).toContainEqual(expect.objectContaining({ msg: 'memory retrieved' }));
        // Resolved once per client (Bedrock, Memory) and memoised, not once per call.
        expect(fetched).toBeLessThanOrEqual(2);
      } finally {
        agent.child.kill('SIGKILL');
        credentials.close();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
