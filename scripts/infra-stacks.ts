// Which stacks an environment's infra deploy owns: its account's shared stack, then its own stack.
// `infra-deploy.yml` passes them to `cdk deploy --exclusively`: the infra role of one account cannot
// (and must not) deploy the other account's shared stack the environment stack also depends on.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllEnvironments } from '../environments';
import { planTopology } from '../infra/src/topology';

export function infraStacks(environment: string): string[] {
  const topology = planTopology(loadAllEnvironments());
  const env = topology.deployed.find((e) => e.name === environment);
  if (!env)
    throw new Error(
      `No deployed environment "${environment}" (have: ${topology.deployed.map((e) => e.name).join(', ')})`,
    );
  const shared = topology.accounts.find((a) => a.account === env.account)!;
  return [shared.stackName, env.names.stack];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(infraStacks(process.argv[2] ?? '').join(' '));
  } catch (e) {
    console.error(`infra-stacks: ${(e as Error).message}`);
    process.exit(1);
  }
}
