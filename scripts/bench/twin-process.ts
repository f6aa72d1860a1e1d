/**
 * The twin in its own process for the benchmark, so its work (request parsing, prompt-cache accounting,
 * streaming) does not share an event loop with the measuring client.
 * Usage: node --import tsx scripts/bench/twin-process.ts <firstTokenDelayMs>
 * Prints one JSON line {url, env} when listening; stops on SIGTERM.
 */
import { startTwin } from '../../local/src/twin';

const firstTokenDelayMs = Number(process.argv[2]);
if (!Number.isFinite(firstTokenDelayMs) || firstTokenDelayMs < 0) {
  throw new Error(`usage: twin-process.ts <firstTokenDelayMs>, got "${process.argv[2]}"`);
}
const twin = await startTwin({ bedrock: { firstTokenDelayMs } });
process.stdout.write(`${JSON.stringify({ url: twin.url, env: twin.env() })}\n`);
process.once('SIGTERM', () => void twin.close().then(() => process.exit(0)));
