import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { sharedAssembly } from '../../infra/test/assembly';
import { main as traceCommand } from '../trace';

/**
 * `npm start` (scripts/dev.ts) as a user runs it: package.json's command, `node --import tsx`, with ports
 * from TWIN_PORT / PORT / CHAT_PORT. Not the `tsx` CLI: it relays a SIGINT with 30 ms for the script to
 * confirm, after which it kills the script and exits 130 (seen on a loaded machine).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function start(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a failed test can kill what it started (the agent) along with it.
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  return { child, exited, output: () => out, interrupt: () => child.kill('SIGINT'), kill };
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

describe('npm start', () => {
  it('names the busy port and the variable that changes it, and leaves nothing running', async () => {
    const [twin, agent] = [await freePort(), await freePort()];
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    cleanups.push(() => blocker.close());
    const chat = (blocker.address() as net.AddressInfo).port;
    const run = start({ TWIN_PORT: String(twin), PORT: String(agent), CHAT_PORT: String(chat) });
    cleanups.push(run.kill);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`port ${chat} is in use: set CHAT_PORT to another port`);
    expect(await listening(twin)).toBe(false);
    expect(await listening(agent)).toBe(false);
  }, 30_000);

  it('starts the twin, the agent and the page, logs to a file, shows a session’s trace, and stops quietly on Ctrl-C', async () => {
    const [twin, agent, chat] = [await freePort(), await freePort(), await freePort()];
    // --verbose prints the agent's log lines here and still writes the file the trace command reads.
    const run = start({ TWIN_PORT: String(twin), PORT: String(agent), CHAT_PORT: String(chat) }, [
      '--verbose',
    ]);
    cleanups.push(run.kill);
    const deadline = Date.now() + 60_000;
    while (!run.output().includes('Ctrl-C stops') && Date.now() < deadline) {
      if (run.child.exitCode !== null) throw new Error(`npm start exited:\n${run.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(run.output()).toMatch(/Agent logs and metrics: .*agentcore-gitops-agent-\d+\.log/);
    // Where to see a session's trace: the twin's command, and the console for real AWS.
    expect(run.output()).toContain('npm run trace -- my-first-local-session-0000000000001');
    expect(run.output()).toContain('CloudWatch → GenAI Observability → Bedrock AgentCore → Sessions View');
    // The agent answers /ping once tsx has started it.
    let ping = 0;
    while (ping !== 200 && Date.now() < deadline) {
      ping = await fetch(`http://127.0.0.1:${agent}/ping`).then(
        (r) => r.status,
        () => 0,
      );
      if (ping !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ping).toBe(200);
    expect(await listening(chat)).toBe(true);

    // One answer in a session, then its trace as the printed command shows it. Tracing starts just
    // after the agent listens (an answer before that has no trace): --verbose shows when.
    while (!run.output().includes('tracing: exporting spans') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const session = 'dev-test-session-'.padEnd(40, '0');
    const answer = await fetch(`http://127.0.0.1:${agent}/invocations`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-amzn-bedrock-agentcore-runtime-session-id': session,
      },
      body: JSON.stringify({ prompt: 'What time is it in Tokyo?' }),
    }).then((r) => r.text());
    expect(answer).toContain('RUN_FINISHED');
    let trace = '';
    while (!trace.includes('execute_tool current_time') && Date.now() < deadline) {
      trace = await traceCommand([session], { TWIN_PORT: String(twin), PORT: String(agent) }).catch(
        (e: Error) => e.message,
      );
      if (!trace.includes('execute_tool current_time')) await new Promise((r) => setTimeout(r, 250));
    }
    expect(trace).toMatch(new RegExp(`^trace [0-9a-f]{32}  session ${session}  \\d+ ms$`, 'm'));
    expect(trace).toMatch(/^invoke_agent agentcore-gitops-agent /m);
    expect(trace).toMatch(/where the time went: first token \d+ ms/);
    run.interrupt();
    expect(await run.exited).toBe(0);
    expect(run.output()).not.toMatch(/Error|error:/);
    for (const port of [twin, agent, chat]) expect(await listening(port)).toBe(false);
  }, 90_000);

  it('--provision: deploys every stack through the CDK CLI and runs the agent with the dev runtime’s memory and guardrail', async () => {
    const [twin, agent, chat] = [await freePort(), await freePort(), await freePort()];
    const run = start({ TWIN_PORT: String(twin), PORT: String(agent), CHAT_PORT: String(chat) }, [
      '--provision',
    ]);
    cleanups.push(run.kill);
    // Most of a minute on an idle machine (cdk synth, bootstrap and deploy of four stacks); far more on
    // a shared one.
    const deadline = Date.now() + 600_000;
    while (!run.output().includes('Ctrl-C stops') && Date.now() < deadline) {
      if (run.child.exitCode !== null) throw new Error(`npm start -- --provision exited:\n${run.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(run.output()).toMatch(/provision: stacks ready in [\d.]+ s: .*agentcore-gitops-dev/);
    // The agent's memory and guardrail are the dev stack's (its outputs), not hand-made ones.
    const outputs = await fetchStackOutputs(run.output());
    expect(run.output()).toContain(`Memory ${outputs.MemoryId}, Cognito ${outputs.UserPoolId}`);
    expect(run.output()).toContain(`guardrail ${outputs.GuardrailId} v${outputs.GuardrailVersion}`);
    // The machine client gets a token from the pool's domain endpoint (through the twin), as printed.
    expect(run.output()).toContain(`curl -s -X POST http://127.0.0.1:${twin}/oauth2/token`);
    // With the printed exports, the CDK CLI's `diff --all` finds no difference in any stack (#11).
    const out = await cdkDiffAll(run.output());
    for (const stack of ['shared', 'shared-222222222222', 'dev', 'prod'])
      expect(out).toMatch(
        new RegExp(`Stack agentcore-gitops-${stack}( \\(aws://[^)]+\\))?\\n+There were no differences`),
      );
    expect(out).toContain('Number of stacks with differences: 0');
    run.interrupt();
    expect(await run.exited).toBe(0);
  }, 660_000);
});

/** The dev stack's outputs parameter, read with the credentials `npm start -- --provision` printed. */
async function fetchStackOutputs(output: string) {
  const { SSMClient } = await import('@aws-sdk/client-ssm');
  const { readStackOutputs } = await import('../../.github/actions/src/lib/stack-outputs');
  const { loadEnvironment } = await import('../../environments');
  const exported = (name: string) => new RegExp(`export ${name}=(\\S+)`).exec(output)?.[1] ?? '';
  return readStackOutputs(
    new SSMClient({
      region: exported('AWS_REGION'),
      endpoint: exported('AWS_ENDPOINT_URL'),
      credentials: {
        accessKeyId: exported('AWS_ACCESS_KEY_ID'),
        secretAccessKey: exported('AWS_SECRET_ACCESS_KEY'),
      },
    }),
    loadEnvironment('dev'),
  );
}

/**
 * `npx cdk diff --all --fail` with only the variables `npm start -- --provision` told the user to
 * export, of the run's synthesized app (infra/test/assembly.ts).
 */
async function cdkDiffAll(output: string) {
  const exported = Object.fromEntries(
    [...output.matchAll(/^\s*export (\w+)=(\S+)$/gm)].map(([, name, value]) => [name, value]),
  );
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-diff-all-'));
  cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
  const cdk = path.join(root, 'node_modules/aws-cdk/bin/cdk');
  // The app as the CLI synthesizes it from cdk.json, once per test run (what `npm start` deployed is
  // its own synth of the same app): only the comparison with what is deployed is this test's own.
  const args = ['--no-notices', '--no-color', 'diff', '--all', '--fail', '--app', await sharedAssembly()];
  const env = {
    PATH: process.env.PATH!,
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
    CDK_DISABLE_VERSION_CHECK: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    ...exported,
  };
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [cdk, ...args], {
    cwd: root,
    env,
    maxBuffer: 64 << 20,
  }).catch((e: { stdout?: string; stderr?: string }) => {
    throw new Error(`cdk diff --all failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  });
  return stdout + stderr;
}
