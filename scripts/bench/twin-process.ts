/**
 * The twin in its own process for the benchmark, so its work (request parsing, prompt-cache accounting,
 * streaming) does not share an event loop with the measuring client.
 * Usage: node --import tsx scripts/bench/twin-process.ts <firstTokenDelayMs>
 * Prints one JSON line {url, env, memoryId} when listening (memoryId: an active memory with the
 * agent's three strategies, for the production-like runs); stops on SIGTERM.
 */
import { startTwin } from '../../local/src/twin';
import { memoryStrategies } from '../../environments/agent-contract';

const firstTokenDelayMs = Number(process.argv[2]);
if (!Number.isFinite(firstTokenDelayMs) || firstTokenDelayMs < 0) {
  throw new Error(`usage: twin-process.ts <firstTokenDelayMs>, got "${process.argv[2]}"`);
}
const twin = await startTwin({ bedrock: { firstTokenDelayMs }, memory: { activationDelayMs: 0 } });
const memoryId = twin.memory.createMemory({
  name: 'agent_memory_bench',
  eventExpiryDuration: 30,
  memoryStrategies,
}).id;
process.stdout.write(`${JSON.stringify({ url: twin.url, env: twin.env(), memoryId })}\n`);
process.once('SIGTERM', () => void twin.close().then(() => process.exit(0)));
