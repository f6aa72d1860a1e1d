import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import path from 'node:path';
import { environmentsDir, loadAllEnvironments, type Environment } from '../../environments';
import { EnvironmentStack } from './environment-stack';
import { SharedStack } from './shared-stack';
import { planTopology, type Topology } from './topology';

export interface AgentApp {
  app: App;
  topology: Topology;
  shared: SharedStack[];
  environments: EnvironmentStack[];
}

/**
 * The whole CDK app: one shared stack per account, one stack per deployed environment, cdk-nag on all.
 * Environments come from `environments` or else from the folder in the `environmentsDir` context value
 * (`-c environmentsDir=...`, relative to the working directory), by default environments/.
 */
export function buildApp(props: AppProps = {}, environments?: Environment[]): AgentApp {
  const app = new App({ analyticsReporting: false, ...props });
  const dir = app.node.tryGetContext('environmentsDir') as string | undefined;
  const topology = planTopology(
    environments ?? loadAllEnvironments(dir ? path.resolve(dir) : environmentsDir),
  );
  const shared = topology.accounts.map(
    (plan) =>
      new SharedStack(app, plan.stackName, {
        stackName: plan.stackName,
        env: { account: plan.account, region: plan.region },
        description: `${topology.app.app}: GitHub OIDC roles${plan.hostsRegistry ? ' and the image repository' : ''} (account ${plan.account})`,
        topology,
        plan,
      }),
  );
  const stacks = topology.deployed.map((environment) => {
    const stack = new EnvironmentStack(app, environment.names.stack, {
      stackName: environment.names.stack,
      env: { account: environment.account, region: environment.region },
      description: `${topology.app.app}: the ${environment.name} environment (runtime, memory, guardrail, Cognito, alarms)`,
      environment,
      topology,
    });
    // It attaches policies to its account's shared roles (by name) and runs images from the registry
    // account's repository: both shared stacks deploy first (`cdk deploy --all` and a single stack alike).
    topology.accounts.forEach((plan, i) => {
      if (plan.account === environment.account || plan.hostsRegistry) stack.addStackDependency(shared[i]);
    });
    return stack;
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, topology, shared, environments: stacks };
}
