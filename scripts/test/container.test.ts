/**
 * The agent image, for real: agent/Dockerfile built unchanged by podman with the build-image action's
 * own context, Dockerfile and platform as release.yml passes them (linux/arm64; daemonless,
 * arm64 under qemu-user-static), its FROM images made locally (scripts/container/stand-in.ts), then run
 * with host networking against the twin on 127.0.0.1. First run builds the stand-ins (minutes, cached);
 * later runs reuse them and podman's layer cache. See docs/local-containers.md.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/src/twin';
import { newThreadId, runInput, textOf, timedRun } from '../bench/agui-client';
import { run } from '../container/exec';
import { freePort, pingUntilHealthy } from '../bench/processes';
import { releaseBuildInputs } from '../container/action-inputs';
import { agentImage } from '../container/agent-image';
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

  it('builds FROM --platform=$BUILDPLATFORM stages natively, so npm and esbuild are not emulated', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'build-platform-'));
    const tag = 'localhost/agentcore-gitops/build-platform-probe:test';
    try {
      writeFileSync(
        path.join(dir, 'Dockerfile'),
        [
          'FROM --platform=$BUILDPLATFORM node:24-bookworm-slim AS build',
          'RUN uname -m > /build-arch',
          'FROM node:24-bookworm-slim',
          'COPY --from=build /build-arch /build-arch',
        ].join('\n'),
      );
      await agentImage({
        context: dir,
        dockerfile: path.join(dir, 'Dockerfile'),
        platform: 'linux/arm64',
        tag,
      });
      const { stdout } = await run('podman', ['run', '--rm', tag, 'cat', '/build-arch']);
      expect(stdout.trim()).toBe(process.arch === 'arm64' ? 'aarch64' : 'x86_64');
    } finally {
      await run('podman', ['rmi', tag], { check: false });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

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
    const { stdout } = await run('podman', [
      'exec',
      container!,
      'node',
      '-p',
      '`${process.arch} ${process.getuid()}`',
    ]);
    const [arch, uid] = stdout.trim().split(' ');
    expect(arch).toBe('arm64');
    expect(Number(uid)).not.toBe(0);
  });

  it('holds only node, the libraries it links, CA certificates, zoneinfo and the bundle: no shell, npm or Perl', async () => {
    const created = await run('podman', ['create', IMAGE]);
    const id = created.stdout.trim();
    try {
      const listed = await run('sh', ['-c', `podman export ${id} | tar -t`]);
      const files = listed.stdout
        .trim()
        .split('\n')
        .map((f) => f.replace(/\/$/, ''));
      const allowed = [
        /^(etc|usr|usr\/lib|usr\/local|usr\/local\/bin|usr\/share|etc\/ssl|etc\/ssl\/certs|tmp|lib|app)$/,
        /^etc\/(passwd|group)$/,
        /^etc\/ssl\/certs\/ca-certificates\.crt$/,
        /^usr\/local\/bin\/node$/,
        /^usr\/lib\/(ld-linux-aarch64\.so\.1|aarch64-linux-gnu)$/,
        /^usr\/lib\/aarch64-linux-gnu\/(ld-linux-aarch64\.so\.1|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|libstdc\+\+\.so\.6|libgcc_s\.so\.1)$/,
        /^usr\/share\/zoneinfo(\/.*)?$/,
        /^app\/(server\.mjs|[\w.-]+\.LEGAL\.txt|chunks(\/.*)?|\.compile-cache(\/.*)?)$/,
        // podman export adds these mount points for a container
        /^(dev|proc|sys|run|etc\/(hosts|hostname|resolv\.conf)|run\/.*|dev\/.*)$/,
      ];
      expect(files.filter((f) => !allowed.some((a) => a.test(f)))).toEqual([]);
      expect(files).toContain('app/server.mjs');
      expect(files.some((f) => f.startsWith('app/.compile-cache/'))).toBe(true);
    } finally {
      await run('podman', ['rm', id], { check: false });
    }
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

  it('starts from the baked compile cache, and stops on SIGTERM while still loading as PID 1, before the kill', async () => {
    // A second container stopped as soon as /ping answers: under qemu its modules take seconds more.
    const port = await freePort();
    const env = {
      ...twin.env(),
      PORT: String(port),
      HOST: '127.0.0.1',
      AGENT_ENV: 'container-test',
      // node says on stderr whether it read and accepted each module's baked compile cache
      NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
    };
    const { stdout } = await run('podman', [
      'run',
      '-d',
      '--network=host',
      ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
      IMAGE,
    ]);
    const id = stdout.trim();
    try {
      await pingUntilHealthy(`http://127.0.0.1:${port}`, { timeoutMs: 60_000, intervalMs: 20 });
      const logs = await run('podman', ['logs', id]);
      const stillLoading = !`${logs.stdout}${logs.stderr}`.includes('agent listening');
      // The baked V8 compile cache is found and used (made as another uid, or unreadable, it is not).
      expect(logs.stderr).toMatch(/code cache for ESM file:\/\/\/app\/server\.mjs was accepted/);
      expect(logs.stderr).not.toMatch(/compile cache\].*(permission denied|rejected)/);
      const started = performance.now();
      await run('podman', ['stop', '-t', '10', id]);
      const stopMs = performance.now() - started;
      const code = await run('podman', ['inspect', '--format', '{{.State.ExitCode}}', id]);
      console.log(
        `[container] stopped ${stillLoading ? 'while loading' : 'after loading'} in ${stopMs.toFixed(0)} ms`,
      );
      // 0, not 137: node handled SIGTERM (as soon as the chunk it is evaluating is done) before the kill.
      expect(Number(code.stdout.trim())).toBe(0);
      expect(stopMs).toBeLessThan(10_000);
    } finally {
      await run('podman', ['rm', '-f', '-t', '0', id], { check: false });
    }
  }, 120_000);

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
