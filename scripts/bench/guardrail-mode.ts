/**
 * What ConverseStream's guardrail sync mode costs in time to first token, on the twin:
 *   npx tsx scripts/bench/guardrail-mode.ts [--rounds=30] [--first-token-ms=200] [--inter-token-ms=20]
 *                                           [--scan-ms=20] [--sync-chunks=5]
 *
 * Two real agent servers (the one in agent/src) on one twin, the same guardrail, one with
 * GUARDRAIL_STREAM_MODE=sync and one with async; rounds alternate between them so both see the same
 * machine load. Reports the medians of POST → first TEXT_MESSAGE_CONTENT and of the whole answer.
 * The twin's model: the input is scanned before the model in both modes; sync then releases the
 * answer in windows of --sync-chunks chunks, each after the model wrote it and a scan of --scan-ms
 * (Bedrock documents the buffering, not its size or scan time: these are the twin's numbers).
 * Loopback only; bounded by --rounds.
 */
import { loadConfig } from '../../agent/src/config';
import { createAgentServer, type AgentServer } from '../../agent/src/server';
import { createLogger } from '../../agent/src/telemetry/logger';
import { Metrics } from '../../agent/src/telemetry/metrics';
import { startTwin } from '../../local/src/twin';
import { newThreadId, runInput, timedRun } from './agui-client';
import { median, round1 } from './stats';

const option = (name: string, fallback: number) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}=${raw}: expected a whole number`);
  return n;
};
const settings = {
  rounds: option('rounds', 30),
  firstTokenDelayMs: option('first-token-ms', 200),
  interTokenDelayMs: option('inter-token-ms', 20),
  guardrailScanMs: option('scan-ms', 20),
  guardrailSyncChunks: option('sync-chunks', 5),
};
// About 60 words (20 chunks of three): long enough for several sync windows.
const prompt = `say: ${Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ')}`;

const twin = await startTwin({ bedrock: settings });
// The agents' AWS clients find the twin (endpoint, credentials, region) where they would find AWS.
Object.assign(process.env, twin.env());
const servers: { mode: 'sync' | 'async'; server: AgentServer; url: string }[] = [];
try {
  for (const mode of ['sync', 'async'] as const) {
    const config = loadConfig({
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      AGENT_ENV: 'bench',
      GUARDRAIL_ID: 'localguardrail',
      GUARDRAIL_VERSION: '1',
      GUARDRAIL_STREAM_MODE: mode,
    });
    const server = await createAgentServer(config, {
      logger: createLogger('silent', 'bench'),
      metrics: new Metrics(config.METRICS_NAMESPACE, 'bench', () => undefined),
    });
    servers.push({ mode, server, url: await server.listen() });
  }
  const samples: Record<'sync' | 'async', { first: number[]; total: number[] }> = {
    sync: { first: [], total: [] },
    async: { first: [], total: [] },
  };
  for (let round = 0; round < settings.rounds; round++) {
    // Alternate which mode goes first, so neither always runs on a warmer process.
    for (const { mode, url } of round % 2 ? [...servers].reverse() : servers) {
      const r = await timedRun(
        url,
        runInput(newThreadId('guardrail-mode'), [{ role: 'user', content: prompt }]),
      );
      if (r.firstTokenMs === undefined)
        throw new Error(`${mode}: no text streamed: ${JSON.stringify(r.events.at(-1))}`);
      samples[mode].first.push(r.firstTokenMs);
      samples[mode].total.push(r.totalMs);
    }
  }
  const row = (mode: 'sync' | 'async') =>
    `| ${mode} | ${round1(median(samples[mode].first))} | ${round1(median(samples[mode].total))} |`;
  const cost = round1(median(samples.sync.first) - median(samples.async.first));
  console.log(
    [
      `Twin: first token ${settings.firstTokenDelayMs} ms, ${settings.interTokenDelayMs} ms between chunks, guardrail scan ${settings.guardrailScanMs} ms, sync window ${settings.guardrailSyncChunks} chunks; ${settings.rounds} rounds per mode, interleaved; answer of 20 chunks.`,
      '',
      '| Stream mode | First token, median (ms) | Whole answer, median (ms) |',
      '| --- | --- | --- |',
      row('sync'),
      row('async'),
      '',
      `Sync costs ${cost} ms of time to first token on the twin (median difference).`,
    ].join('\n'),
  );
} finally {
  for (const { server } of servers) await server.shutdown(5_000);
  await twin.close();
}
