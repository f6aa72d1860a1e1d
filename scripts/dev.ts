/**
 * `npm start [-- --verbose] [-- --provision]`: the local twin of the AWS APIs, the agent from source with
 * reload on change, and the chat page.
 * By default the twin gets what the agent needs in a second (a memory, the twin's guardrail, a Cognito
 * pool with a machine client). With --provision it is provisioned as AWS is: `cdk bootstrap` and `cdk
 * deploy` of every stack through the real CDK CLI (local/src/provision/stacks.ts, most of a minute), and
 * the agent runs with the environment variables of the dev stack's runtime (its memory, guardrail,
 * models), signed as the dev account's admin.
 * The agent runs under `tsx watch`. Its per-request log and metric lines go to a log file (path printed;
 * `npm run trace -- <session id>` reads it), with --verbose also to the terminal. Ports: TWIN_PORT (4566), PORT (8080), CHAT_PORT (3000); a busy one is named with its
 * variable before anything starts. If the agent or the page server dies, everything stops with its
 * error; Ctrl-C stops everything quietly.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BedrockAgentCoreControlClient,
  CreateMemoryCommand,
  GetAgentRuntimeCommand,
  waitUntilMemoryCreated,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { SSMClient } from '@aws-sdk/client-ssm';
import { clientSecret, tokenEndpoint } from '../.github/actions/src/lib/cognito';
import { readStackOutputs } from '../.github/actions/src/lib/stack-outputs';
import { loadEnvironment } from '../environments';
import { provisionStacks } from '../local/src/provision/stacks';
import { DEFAULT_GUARDRAIL } from '../local/src/services/guardrail';
import { startTwin, type Twin } from '../local/src/twin';
import { serveChatPage } from '../local/web/serve';
import { memoryStrategies } from '../environments/agent-contract';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const verbose = process.argv.includes('--verbose');
const provision = process.argv.includes('--provision');
const unknown = process.argv.slice(2).filter((a) => a !== '--verbose' && a !== '--provision');
if (unknown.length) {
  console.error(
    `npm start: unknown argument ${unknown.join(' ')} (usage: npm start [-- --verbose] [--provision])`,
  );
  process.exit(2);
}

/** A port from its variable, validated; `fallback` when unset. */
function portFrom(variable: string, fallback: number): number {
  const raw = process.env[variable];
  const port = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`npm start: ${variable}=${raw} is not a port number (1-65535)`);
    process.exit(2);
  }
  return port;
}
const ports = {
  TWIN_PORT: portFrom('TWIN_PORT', 4566),
  PORT: portFrom('PORT', 8080),
  CHAT_PORT: portFrom('CHAT_PORT', 3000),
};

/** Whether 127.0.0.1:port can be bound now (checked before anything starts, so a clash leaves nothing running). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
const busy: string[] = [];
for (const [variable, port] of Object.entries(ports)) {
  if (!(await portFree(port))) busy.push(`port ${port} is in use: set ${variable} to another port`);
}
const clash = Object.entries(ports).filter(([, p], i, all) => all.findIndex(([, q]) => q === p) !== i);
for (const [variable, port] of clash)
  busy.push(`${variable}=${port} is also used by another of TWIN_PORT, PORT, CHAT_PORT`);
if (busy.length) {
  console.error(`npm start: ${busy.join('; ')}`);
  process.exit(1);
}
const { TWIN_PORT: twinPort, PORT: agentPort, CHAT_PORT: chatPort } = ports;

/** A memory with the three long-term strategies, in the namespaces the agent reads by default. */
async function createMemory(twin: Twin): Promise<string> {
  const client = new BedrockAgentCoreControlClient({ region: twin.context.region });
  const { memory } = await client.send(
    new CreateMemoryCommand({
      name: `agent_local_${Date.now().toString(36)}`,
      eventExpiryDuration: 30,
      memoryStrategies,
    }),
  );
  await waitUntilMemoryCreated({ client, maxWaitTime: 30, minDelay: 1 }, { memoryId: memory!.id! });
  client.destroy();
  return memory!.id!;
}

/** A user pool with an `agent/invoke` scope and a confidential machine client (client credentials). */
function createCognito(twin: Twin) {
  const poolId = twin.cognito.createUserPool('agentcore_gitops_local');
  twin.cognito.createResourceServer(poolId, 'agent', ['invoke']);
  const client = twin.cognito.createClient(poolId, { name: 'machine', scopes: ['agent/invoke'] });
  return { poolId, issuer: twin.cognito.issuer(poolId), ...client };
}

/** What the agent and the page use: hand-made in a second, or what the dev stack deployed. */
interface LocalSetup {
  /** The agent's environment variables besides the twin's endpoint and credentials. */
  agentEnv: Record<string, string>;
  memoryId: string;
  guardrail: string;
  poolId: string;
  /** The page's user signs in with this client; the curl example uses the machine client. */
  userClientId: string;
  machine: { clientId: string; clientSecret: string };
  tokenUrl: string;
}

async function handMade(twin: Twin): Promise<LocalSetup> {
  const memoryId = await createMemory(twin);
  const cognito = createCognito(twin);
  return {
    agentEnv: {
      AGENT_ENV: process.env.AGENT_ENV ?? 'local',
      MEMORY_ID: memoryId,
      GUARDRAIL_ID: DEFAULT_GUARDRAIL.id,
      GUARDRAIL_VERSION: DEFAULT_GUARDRAIL.version,
    },
    memoryId,
    guardrail: `${DEFAULT_GUARDRAIL.id} v${DEFAULT_GUARDRAIL.version}`,
    poolId: cognito.poolId,
    userClientId: cognito.clientId,
    machine: { clientId: cognito.clientId, clientSecret: cognito.clientSecret! },
    tokenUrl: `${cognito.issuer}/oauth2/token`,
  };
}

/** Every stack deployed to the twin through the CDK CLI; the agent gets the dev runtime's variables. */
async function fromStacks(twin: Twin): Promise<LocalSetup> {
  const started = performance.now();
  const provisioned = await provisionStacks(twin, { log: (line) => console.log(`provision: ${line}`) });
  provisioned.cleanup();
  console.log(
    `provision: stacks ready in ${((performance.now() - started) / 1000).toFixed(1)} s: ${provisioned.stacks.join(', ')}`,
  );
  const dev = loadEnvironment('dev');
  const config = {
    region: twin.context.region,
    endpoint: twin.url,
    credentials: twin.credentials(dev.account),
  };
  const outputs = await readStackOutputs(new SSMClient(config), dev);
  const runtime = await new BedrockAgentCoreControlClient(config).send(
    new GetAgentRuntimeCommand({ agentRuntimeId: outputs.RuntimeId }),
  );
  const source = { clientId: outputs.MachineClientId, userPoolId: outputs.UserPoolId };
  const secret = await clientSecret(source, new CognitoIdentityProviderClient(config), () => {});
  return {
    agentEnv: runtime.environmentVariables ?? {},
    memoryId: outputs.MemoryId,
    guardrail: `${outputs.GuardrailId} v${outputs.GuardrailVersion} (${dev.names.stack})`,
    poolId: outputs.UserPoolId,
    userClientId: outputs.UserClientId,
    machine: { clientId: outputs.MachineClientId, clientSecret: secret },
    tokenUrl: tokenEndpoint(outputs.TokenEndpoint, twin.env()),
  };
}

// With --provision the twin's default account is dev's, where the dev stack (and the agent's memory
// and guardrail) live; the printed credentials and the agent sign as its admin.
const twin = await startTwin({
  port: twinPort,
  ...(provision && { accountId: loadEnvironment('dev').account }),
});
// This process talks to the twin too (CreateMemory, the stack outputs), with the same credentials and endpoint.
Object.assign(process.env, twin.env());
const setup = await (provision ? fromStacks(twin) : handMade(twin)).catch(async (e: Error) => {
  console.error(`npm start: ${provision ? 'provisioning' : 'setting up'} the twin failed: ${e.message}`);
  await twin.close();
  process.exit(1);
});

// The agent's stdout carries one JSON log line and one metric line per request: always to a file (where
// `npm run trace -- <session id>` finds a session's trace ids), and with --verbose printed here too.
const logFile = path.join(os.tmpdir(), `agentcore-gitops-agent-${agentPort}.log`);
const agentOut = verbose ? 'pipe' : fs.openSync(logFile, 'w');
const agent = spawn(
  path.join(root, 'node_modules/.bin/tsx'),
  ['watch', '--clear-screen=false', 'agent/src/main.ts'],
  {
    cwd: root,
    stdio: ['ignore', agentOut, 'inherit'],
    env: {
      ...process.env,
      ...setup.agentEnv,
      PORT: String(agentPort),
      HOST: '127.0.0.1',
      // Spans go to the twin's X-Ray OTLP endpoint (AWS_ENDPOINT_URL), as they go to X-Ray on AgentCore.
      AGENT_OBSERVABILITY_ENABLED: 'true',
      // Export every half second (the SDK's default is 5 s) so `npm run trace` finds an answer at once.
      OTEL_BSP_SCHEDULE_DELAY: process.env.OTEL_BSP_SCHEDULE_DELAY ?? '500',
    },
  },
);

if (verbose) {
  const file = fs.createWriteStream(logFile);
  agent.stdout!.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    file.write(chunk);
  });
}

const agentUrl = `http://127.0.0.1:${agentPort}`;
// The page's user: a Cognito token whose sub is the memory actor, as behind AgentCore's authorizer.
const chat = await serveChatPage({
  host: '127.0.0.1',
  port: chatPort,
  agentUrl,
  token: await twin.cognito.issueUserToken(setup.poolId, setup.userClientId, 'local-user'),
}).catch(async (e: Error) => {
  // Nothing may outlive a failed start: the agent child and the twin go too.
  console.error(`npm start: the chat page could not start: ${e.message}`);
  agent.kill('SIGTERM');
  await twin.close();
  process.exit(1);
});
const basic = Buffer.from(`${setup.machine.clientId}:${setup.machine.clientSecret}`).toString('base64');
console.log(`
local twin   ${twin.url}   (AWS APIs: Bedrock, AgentCore, Memory ${setup.memoryId}, Cognito ${setup.poolId}${provision ? '; every stack deployed' : ''})
agent        ${agentUrl}   (tsx watch agent/src: edits reload it; guardrail ${setup.guardrail})
chat page    ${chat.url}    (open it in a browser: streams answers, tool calls and guardrail interventions)

Stream an answer (AG-UI events over SSE):
  curl -N -X POST ${agentUrl}/invocations -H 'content-type: application/json' -d '{"prompt":"What time is it in Tokyo?"}'

Health (HealthyBusy while a stream is open):
  curl ${agentUrl}/ping

A bearer token (client credentials; its sub becomes the memory actor):
  TOKEN=$(curl -s -X POST ${setup.tokenUrl} -H 'authorization: Basic ${basic}' \\
    -d 'grant_type=client_credentials&scope=agent/invoke' | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl -N -X POST ${agentUrl}/invocations -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    -H 'X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: my-first-local-session-0000000000001' -d '{"prompt":"My name is Ada"}'

A session's traces, as span trees with timings and where the time went (one answer's: the trace id
in its RUN_FINISHED metadata.traceId or its log line):
  npm run trace -- my-first-local-session-0000000000001
  npm run trace -- <trace id>
On AWS: CloudWatch → GenAI Observability → Bedrock AgentCore → Sessions View (the session id) or
Traces View (the trace id); or \`npm run trace -- <trace id> --aws\` with your credentials (docs/agent.md#traces).

${
  provision
    ? `Point the AWS SDK and the CDK CLI (npx cdk diff --all) at the twin, as the dev account's admin:\n${Object.entries(
        twin.env(),
      )
        .map(([k, v]) => `  export ${k}=${v}`)
        .join('\n')}\n\n`
    : ''
}${verbose ? `Agent logs and metrics: printed here (--verbose) and in ${logFile}` : `Agent logs and metrics: ${logFile}  (npm start -- --verbose prints them here too)`}
Ctrl-C stops the agent, the page and the twin.
`);

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  if (agent.exitCode === null) {
    agent.kill('SIGTERM');
    await new Promise((resolve) => agent.once('exit', resolve));
  }
  await chat.close();
  await twin.close();
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(0));
agent.on('exit', (code, signal) => {
  if (!stopping) {
    const log = ` (its log: ${logFile})`;
    console.error(
      `npm start: the agent exited (${signal ?? `code ${code}`})${log}; stopping the page and the twin`,
    );
    void stop(code || 1);
  }
});
process.on('uncaughtException', (e) => {
  console.error(`npm start: ${e.message}; stopping everything`);
  void stop(1);
});
