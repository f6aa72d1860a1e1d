import { parseArgs } from 'node:util';
import { REALISTIC_TIMING } from './runtime/options';
import { loadAllEnvironments } from '../../environments';
import { planTopology } from '../../infra/src/topology';
import { provisionStacks } from './provision/stacks';
import { startTwin } from './twin';

const HELP = `Usage: npm run twin -- [--port 4566] [--state-dir .local/twin]

Starts the local twin of the AWS APIs this project uses, on 127.0.0.1 only, and prints the
environment variables that point the AWS SDK and this repository's tools at it.

  --port N          port to listen on (default 4566; 0 picks a free one)
  --state-dir DIR   keep runtimes, images and memories across restarts (default: in memory)
  --quiet-agents    do not print what the agent processes the twin runs write to stdout/stderr
  --provision       also create the policy, \`cdk bootstrap\` each account and \`cdk deploy\` every stack
                    through the real CDK CLI (docs/infra.md's first deploy), then say when they are ready
  --realistic-timing
                    runtimes take seconds to create (30 s), update (20 s) and delete (15 s), and
                    endpoints 10 s to move, as on AWS (default: 50 ms, for a fast dev loop)
  -h, --help        this text`;

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.TWIN_PORT ?? '4566' },
    'state-dir': { type: 'string' },
    'quiet-agents': { type: 'boolean' },
    'realistic-timing': { type: 'boolean' },
    provision: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a whole number from 0 to 65535, got "${values.port}"`);
  process.exit(2);
}

// With --provision the default account is the registry's (dev's, where the first image goes), so the
// printed credentials are its admin's: `cdk diff` creates change sets there, and looks up the other
// account's stacks through the lookup role it trusts.
const twin = await startTwin({
  port,
  ...(values.provision && { accountId: planTopology(loadAllEnvironments()).registry.account }),
  stateDir: values['state-dir'],
  agentcore: {
    logAgentOutput: !values['quiet-agents'],
    ...(values['realistic-timing'] && REALISTIC_TIMING),
  },
});
console.log(`local twin listening on ${twin.url}`);
if (values.provision) {
  const started = performance.now();
  try {
    const provisioned = await provisionStacks(twin, { log: (line) => console.log(`provision: ${line}`) });
    provisioned.cleanup();
    console.log(
      `provision: stacks ready in ${((performance.now() - started) / 1000).toFixed(1)} s: ${provisioned.stacks.join(', ')}`,
    );
  } catch (e) {
    console.error(`provision failed: ${(e as Error).message}`);
    await twin.close();
    process.exit(1);
  }
}
console.log(
  `point the AWS SDK${values.provision ? ' and the CDK CLI (npx cdk diff --all)' : ''} at it, as the admin of account ${twin.accounts[0]}, with:`,
);
for (const [k, v] of Object.entries(twin.env())) console.log(`  export ${k}=${v}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await twin.close();
    process.exit(0);
  });
}
