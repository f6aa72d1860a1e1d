/**
 * The agent image, for real: agent/Dockerfile built unchanged by podman with the build-image action's
 * own context, Dockerfile and platform as release.yml passes them (linux/arm64; daemonless,
 * arm64 under qemu-user-static), its FROM images made locally (scripts/container/stand-in.ts), then run
 * with host networking against the twin on 127.0.0.1. First run builds the stand-ins (minutes, cached);
 * later runs reuse them and podman's layer cache. See docs/local-containers.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/src/twin';
import { newThreadId, runInput, textOf, timedRun } from '../bench/agui-client';
import { run } from '../container/exec';
import { freePort, pingUntilHealthy } from '../bench/processes';
import { releaseBuildInputs } from '../container/action-inputs';
import { agentImage } from '../container/agent-image';
import { layerBytes } from '../bench/image';
import { missingContainerTools, requireOrSkip } from './prereqs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const skip = requireOrSkip('container test', missingContainerTools(), 'scripts/ci/install-container-deps.sh');
const IMAGE = 'localhost/agentcore-gitops/agent:container-test';

describe('the image the workflow builds (no container engine needed)', () => {
  it('build-image’s context, as release.yml passes it, holds every file agent/Dockerfile copies', () => {
    const { context, dockerfile, platform } = releaseBuildInputs(root);
    expect(platform).toBe('linux/arm64');
    const sources = readFileSync(dockerfile, 'utf8')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => /^COPY\s+(.*)$/i.exec(l.trim())?.[1])
      .filter((args): args is string => !!args && !/--from=/.test(args))
      .flatMap((args) =>
        args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(3);
    const missing = sources.filter((src) => !existsSync(path.join(context, src)));
    expect(missing, `missing from the build context ${context}`).toEqual([]);
  });
});

describe.skipIf(skip)('agent container (linux/arm64, podman)', () => {
  let twin: Twin;
  let container: string | undefined;
  let url: string;
  let built: Awaited<ReturnType<typeof agentImage>>;

  beforeAll(async () => {
    // Exactly what release.yml's build step builds: build-image's defaults and the step's `with:`.
    const { context, dockerfile, platform } = releaseBuildInputs(root);
    built = await agentImage({
      context,
      dockerfile,
      platform,
      tag: IMAGE,
      log: (s) => console.log(`[container] ${s}`),
    });
    twin = await startTwin({ bedrock: { firstTokenDelayMs: 0 } });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env = {
      ...twin.env(),
      PORT: String(port),
      HOST: '127.0.0.1',
      AGENT_ENV: 'container-test',
      LOG_LEVEL: 'info',
    };
    const { stdout } = await run('podman', [
      'run',
      '-d',
      '--network=host',
      ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
      IMAGE,
    ]);
    container = stdout.trim();
    // Node starts under qemu here: allow some seconds.
    await pingUntilHealthy(url, { timeoutMs: 60_000, intervalMs: 100 }).catch(async (e: Error) => {
      const logs = await run('podman', ['logs', container!], { check: false });
      throw new Error(`${e.message}\ncontainer output:\n${logs.stdout}${logs.stderr}`);
    });
  }, 30 * 60_000);

  afterAll(async () => {
    if (container) await run('podman', ['rm', '-f', '-t', '0', container], { check: false });
    await twin?.close();
  });

  it('is a linux/arm64 image whose configured user is not root', async () => {
    const { stdout } = await run('podman', [
      'image',
      'inspect',
      '--format',
      '{{.Os}}/{{.Architecture}} {{.Config.User}}',
      IMAGE,
    ]);
    const [platform, user] = stdout.trim().split(' ');
    expect(platform).toBe('linux/arm64');
    expect(user).toBeTruthy();
    expect(user.split(':')[0]).not.toMatch(/^(0|root)$/);
    console.log(
      `[container] image ${IMAGE}: ${(built.bytes / 1e6).toFixed(1)} MB, built in ${(built.ms / 1000).toFixed(1)} s`,
    );
  });

  it('runs node as arm64 and as a non-root user', async () => {
    const out = await run('podman', [
      'exec',
      container!,
      'node',
      '-p',
      'process.arch + " " + process.getuid()',
    ]);
    const [arch, uid] = out.stdout.trim().split(' ');
    expect(arch).toBe('arm64');
    expect(Number(uid)).not.toBe(0);
  });

  it('holds only what node needs: no shell, npm or Perl; at most 110 MB, our layers at most 5 MB', async () => {
    for (const tool of ['/bin/sh', '/usr/local/bin/npm', '/usr/bin/perl', '/usr/bin/apt-get']) {
      const probe = await run('podman', ['exec', container!, tool, '--version'], { check: false });
      expect(probe.code, `${tool} should not exist in the image`).not.toBe(0);
    }
    expect(built.bytes).toBeLessThanOrEqual(110e6);
    // Newest layer first: the largest is the runtime root file system, those above it are ours.
    const { stdout } = await run('podman', ['history', '--format', '{{.Size}}', IMAGE]);
    const layers = stdout.trim().split('\n').map(layerBytes);
    const base = layers.indexOf(Math.max(...layers));
    expect(layers.slice(0, base).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5e6);
  });

  it('answers /ping as AgentCore expects', async () => {
    const body = (await (await fetch(`${url}/ping`)).json()) as {
      status: string;
      time_of_last_update: number;
    };
    expect(body.status).toBe('Healthy');
    expect(Number.isInteger(body.time_of_last_update)).toBe(true);
  });

  it('streams an answer with a tool call from the twin model', async () => {
    const { events } = await timedRun(
      url,
      runInput(newThreadId('container'), [{ role: 'user', content: 'What time is it in Tokyo?' }]),
    );
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('RUN_STARTED');
    expect(types.at(-1)).toBe('RUN_FINISHED');
    expect(events.find((e) => e.type === 'TOOL_CALL_START')).toMatchObject({ toolCallName: 'current_time' });
    expect(textOf(events)).toContain('current_time');
  });

  it('stops on SIGTERM as PID 1 with exit code 0, well before the 10 s kill', async () => {
    const started = performance.now();
    await run('podman', ['stop', '-t', '10', container!]);
    const stopMs = performance.now() - started;
    const { stdout } = await run('podman', ['inspect', '--format', '{{.State.ExitCode}}', container!]);
    console.log(`[container] podman stop took ${stopMs.toFixed(0)} ms`);
    expect(Number(stdout.trim())).toBe(0);
    expect(stopMs).toBeLessThan(5_000);
  });
});
