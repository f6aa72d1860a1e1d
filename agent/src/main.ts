import { ConfigError, loadConfig, type Config } from './config';
import { createAgentServer } from './server';

/** Entry point: validate the environment (exit 2 listing every problem), serve, drain on SIGTERM. */
let config: Config;
try {
  config = loadConfig();
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`${e.message}\n`);
  process.exit(2);
}

const server = createAgentServer(config);
await server.listen();

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.shutdown().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`shutdown failed: ${(e as Error).stack}\n`);
        process.exit(1);
      },
    );
  });
}
