import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ConfigError, loadConfig, type Config } from './config';
import { Health } from './health';

/**
 * Entry point: validate the environment (exit 2 listing every problem), listen, serve, drain on SIGTERM.
 * The port opens before the server's modules (Express, the AWS SDK, pino) are evaluated: /ping answers
 * at once, and invocations that arrive meanwhile wait for them (tens of ms) instead of being refused.
 * Every new AgentCore session pays this start in its own microVM.
 */
let config: Config;
try {
  config = loadConfig();
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`${e.message}\n`);
  process.exit(2);
}

const health = new Health();
const waiting: [IncomingMessage, ServerResponse][] = [];
const early = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/ping') return health.answer(res);
  waiting.push([req, res]);
});
early.once('error', (e) => {
  process.stderr.write(`could not listen on ${config.HOST}:${config.PORT}: ${e.message}\n`);
  process.exit(1);
});
// As PID 1 (the container) a signal with no handler is ignored: until the drain handlers below are
// installed, SIGTERM/SIGINT end the start-up at once, invocations still queued answered 503.
const stopDuringStartUp = async () => {
  const answered = waiting
    .splice(0)
    .map(([, res]) => new Promise((done) => res.writeHead(503, { Connection: 'close' }).end(done)));
  await Promise.all(answered);
  process.exit(0);
};
process.once('SIGTERM', stopDuringStartUp).once('SIGINT', stopDuringStartUp);
await once(early.listen(config.PORT, config.HOST), 'listening');

// The heaviest modules one at a time, with turns of the event loop between them to answer /ping (one
// to accept a connection, one to read its request). Modules of ours, not whole packages, where the
// server uses part of one: an import() of a package keeps all its exports (esbuild cannot drop the
// Bedrock client's other commands, or AG-UI's event schemas).
for (const load of [
  () => import('pino'),
  () => import('express'),
  () => import('./loop'),
  () => import('./input'),
]) {
  await load();
  await nextTurn();
  await nextTurn();
}
const { createAgentServer } = await import('./server');
// With MEMORY_ID, this also imports the memory's modules (the AgentCore client); without, never.
const server = await createAgentServer(config, { health });

/** Exit code when SHUTDOWN_DEADLINE_MS cut work short (the last log line lists it); 0 after a clean drain. */
const EXIT_WORK_DROPPED = 3;
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.shutdown().then(
      (report) => process.exit(report.clean ? 0 : EXIT_WORK_DROPPED),
      (e) => {
        process.stderr.write(`shutdown failed: ${(e as Error).stack}\n`);
        process.exit(1);
      },
    );
  });
}
// Only now the start-up handlers go: between removing them and adding the drain handlers a SIGTERM would
// meet no handler, and the default action ends the process at once (a race the image build hit).
process.off('SIGTERM', stopDuringStartUp).off('SIGINT', stopDuringStartUp);
await server.listen(early);
for (const [req, res] of waiting.splice(0)) server.app(req, res);
