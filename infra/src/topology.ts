import {
  movingImageTags,
  sharedResourceNames,
  type AppConfig,
  type Environment,
  type ObservabilitySettings,
  type SharedResourceNames,
} from '../../environments';

/** One shared stack per account: the GitHub OIDC provider plus the roles (and, in one account, the registry) it hosts. */
export interface AccountPlan {
  account: string;
  region: string;
  stackName: string;
  hostsRegistry: boolean;
  /** Environments deployed into this account: each gets its deploy role here. */
  deployed: Environment[];
  /** Present when pull-request previews run in this account. */
  preview?: Environment;
  /** Transaction Search of the account (its environments agree on it: one setting per account and region). */
  transactionSearch: Pick<ObservabilitySettings, 'transactionSearch' | 'indexingPercentage'>;
}

export interface Topology {
  app: AppConfig;
  shared: SharedResourceNames;
  /** Environments that get a stack (every one except the preview settings). */
  deployed: Environment[];
  preview?: Environment;
  /** The environment whose resources (memory, guardrail, Cognito, execution role) previews reuse. */
  previewHost?: Environment;
  registry: { account: string; region: string };
  accounts: AccountPlan[];
}

export class TopologyError extends Error {}

/**
 * Decide where everything lives. The image registry sits in the account of the environment previews
 * reuse (the first stage, dev): build once there, every other account pulls the same digest
 * cross-account. Cross-region pulls are not supported, so all environments share the registry's region.
 */
export function planTopology(environments: Environment[]): Topology {
  if (environments.length === 0) throw new TopologyError('no environments found in environments/');
  const app = environments[0].app;
  const preview = environments.find((e) => e.preview);
  const deployed = environments.filter((e) => !e.preview);
  if (deployed.length === 0) throw new TopologyError('at least one environment besides preview is needed');
  const hostName = preview?.preview?.reuses ?? 'dev';
  const previewHost = deployed.find((e) => e.name === hostName);
  if (!previewHost) {
    const known = deployed.map((e) => e.name).join(', ');
    throw new TopologyError(
      preview
        ? `${preview.file}: preview.reuses: "${hostName}" is not a deployed environment (known: ${known})`
        : `no "dev" environment to host the image registry (known: ${known}); add environments/dev.yaml`,
    );
  }
  if (preview && (preview.account !== previewHost.account || preview.region !== previewHost.region)) {
    throw new TopologyError(
      `${preview.file}: account/region must equal ${previewHost.file} (${previewHost.account}/${previewHost.region}): previews reuse its resources`,
    );
  }
  const registry = { account: previewHost.account, region: previewHost.region };
  for (const e of deployed) {
    if (e.region !== registry.region)
      throw new TopologyError(
        `${e.file}: region: "${e.region}" differs from the registry region "${registry.region}"; AgentCore pulls images from the same region, so use ${registry.region} or add ECR replication first`,
      );
  }
  const shared = sharedResourceNames(app.app);
  const accountIds = [
    registry.account,
    ...deployed.map((e) => e.account).filter((a) => a !== registry.account),
  ];
  const accounts = [...new Set(accountIds)].map((account) => ({
    account,
    region: registry.region,
    stackName: account === registry.account ? shared.sharedStack : `${shared.sharedStack}-${account}`,
    hostsRegistry: account === registry.account,
    deployed: deployed.filter((e) => e.account === account),
    preview: preview && preview.account === account ? preview : undefined,
    transactionSearch: accountTransactionSearch(environments.filter((e) => e.account === account)),
  }));
  return {
    app,
    shared,
    deployed,
    preview,
    previewHost: preview ? previewHost : undefined,
    registry,
    accounts,
  };
}

/** The one Transaction Search setting of an account's environments; they must agree (it is per account). */
function accountTransactionSearch(inAccount: Environment[]): AccountPlan['transactionSearch'] {
  const pick = ({ observability: o }: Environment) => ({
    transactionSearch: o.transactionSearch,
    indexingPercentage: o.indexingPercentage,
  });
  const [first, ...rest] = inAccount;
  const differing = rest.find((e) => JSON.stringify(pick(e)) !== JSON.stringify(pick(first)));
  if (differing)
    throw new TopologyError(
      `${differing.file}: observability.transactionSearch/indexingPercentage (${JSON.stringify(pick(differing))}) differ from ${first.file} (${JSON.stringify(pick(first))}); Transaction Search is one setting per account (${first.account}), so set the same values in both`,
    );
  return pick(first);
}

/** ARN of the one image repository (built from names, so stacks in other accounts need no cross-stack reference). */
export function repositoryArn(t: Topology): string {
  return `arn:aws:ecr:${t.registry.region}:${t.registry.account}:repository/${t.shared.repository}`;
}

/** ARN of the repository pull-request images go to (same account and region as the release repository). */
export function previewRepositoryArn(t: Topology): string {
  return `arn:aws:ecr:${t.registry.region}:${t.registry.account}:repository/${t.shared.previewRepository}`;
}

/**
 * ARN pattern of the runtimes named `name` exactly (ids are `<name>-<10 characters>` and names allow no
 * hyphen), or, with `prefix`, of every runtime whose name starts with it. Covers their endpoints too.
 */
export function runtimeArns(account: string, region: string, name: string, prefix = false): string[] {
  const base = `arn:aws:bedrock-agentcore:${region}:${account}:runtime/${name}${prefix ? '*' : '-*'}`;
  return [base, `${base}/runtime-endpoint/*`];
}

/** The image tags that move (everything else, the `:<sha>` release tags, is immutable). */
export function movingTags(t: Topology): string[] {
  return movingImageTags(t.deployed);
}
