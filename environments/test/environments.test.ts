import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  agentEnvironment,
  EnvironmentConfigError,
  environmentsDir,
  githubSubject,
  listEnvironments,
  loadAllEnvironments,
  loadEnvironment,
  previewRuntimeName,
} from '../index';
import { loadPrices, parseModelPrices, priceOf } from '../prices';

function scratchCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envs-'));
  for (const f of fs.readdirSync(environmentsDir))
    if (f.endsWith('.yaml')) fs.copyFileSync(path.join(environmentsDir, f), path.join(dir, f));
  return dir;
}

describe('environments', () => {
  it('loads every committed environment', () => {
    expect(listEnvironments()).toEqual(['dev', 'preview', 'prod']);
    const all = loadAllEnvironments();
    expect(all.map((e) => e.names.runtime)).toEqual([
      'agentcore_gitops_dev',
      'agentcore_gitops_preview',
      'agentcore_gitops_prod',
    ]);
    for (const e of all) expect(e.names.runtime).toMatch(/^[a-zA-Z][a-zA-Z0-9_]{0,47}$/);
  });

  it('names the file, the path and the problem for a bad file', () => {
    const dir = scratchCopy();
    const file = path.join(dir, 'dev.yaml');
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, 'utf8')
        .replace("account: '111111111111'", 'account: 1234')
        .replace('concurrency: 2', 'concurrency: 50'),
    );
    let err: unknown;
    try {
      loadEnvironment('dev', dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnvironmentConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(file);
    expect(msg).toContain('account:');
    expect(msg).toContain('smoke.concurrency');
  });

  it('accepts only the log retention periods CloudWatch Logs does, and lists them', () => {
    const dir = scratchCopy();
    const file = path.join(dir, 'dev.yaml');
    fs.writeFileSync(
      file,
      fs.readFileSync(file, 'utf8').replace(/logRetentionDays: \d+/, 'logRetentionDays: 31'),
    );
    expect(() => loadEnvironment('dev', dir)).toThrow(
      /observability\.logRetentionDays.*must be one of the retention periods CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30/,
    );
  });

  it('rejects unknown keys, invalid YAML and unknown environments', () => {
    const dir = scratchCopy();
    fs.appendFileSync(path.join(dir, 'prod.yaml'), 'surprise: 1\n');
    expect(() => loadEnvironment('prod', dir)).toThrow(/surprise/);
    fs.writeFileSync(path.join(dir, 'dev.yaml'), 'name: [dev\n');
    expect(() => loadEnvironment('dev', dir)).toThrow(/invalid YAML/);
    expect(() => loadEnvironment('staging', dir)).toThrow(
      /unknown environment "staging"; known: dev, preview, prod/,
    );
  });

  it('rejects a guardrail that anonymises PII in async stream mode, naming the file and the fix', () => {
    // Bedrock does not mask in async mode (bedrock/latest/userguide/guardrails-streaming.html).
    const dir = scratchCopy();
    const file = path.join(dir, 'dev.yaml');
    const yaml = fs.readFileSync(file, 'utf8').replace(/streamMode: \w+/, 'streamMode: async');
    fs.writeFileSync(file, yaml);
    expect(() => loadEnvironment('dev', dir)).toThrow(
      new RegExp(
        `${file.replaceAll('\\', '\\\\')}: 1 problem\\(s\\)\\n  guardrail\\.streamMode: must be sync while guardrail\\.pii anonymises EMAIL, PHONE`,
      ),
    );
    expect(() => loadEnvironment('dev', dir)).toThrow(/set guardrail\.streamMode: sync/);
    // Async is allowed when nothing is anonymised (blocking still works in async mode).
    fs.writeFileSync(file, yaml.replaceAll(': ANONYMIZE', ': BLOCK'));
    expect(loadEnvironment('dev', dir).guardrail.streamMode).toBe('async');
  });

  it('preview.yaml holds only what differs: the rest is the reused environment’s', () => {
    const dev = loadEnvironment('dev');
    const preview = loadEnvironment('preview');
    const { name: _d, file: _df, names: _dn, ...devSettings } = dev;
    const { name: _p, file: _pf, names: _pn, preview: previewSettings, ...previewRest } = preview;
    expect(previewSettings?.reuses).toBe('dev');
    // Exactly the keys preview.yaml writes differ; everything else is dev's, so the two cannot drift.
    expect({ ...previewRest, runtime: dev.runtime, smoke: dev.smoke, alarms: dev.alarms }).toEqual(
      devSettings,
    );
    expect(preview.runtime).toEqual({ ...dev.runtime, idleTimeoutSeconds: 300, maxLifetimeSeconds: 3600 });
    expect(preview.smoke).toEqual({ ...dev.smoke, samples: 4 });
    expect(preview.alarms.watchMinutes).toBe(0);
    // A change to dev's guardrail reaches previews without touching preview.yaml.
    const dir = scratchCopy();
    const devFile = path.join(dir, 'dev.yaml');
    fs.writeFileSync(
      devFile,
      fs.readFileSync(devFile, 'utf8').replace(/blockedInputMessage: .*/, 'blockedInputMessage: Nope.'),
    );
    expect(loadEnvironment('preview', dir).guardrail.blockedInputMessage).toBe('Nope.');
  });

  it('rejects a preview that reuses a missing environment or another preview', () => {
    const dir = scratchCopy();
    const file = path.join(dir, 'preview.yaml');
    const yaml = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, yaml.replace('reuses: dev', 'reuses: staging'));
    expect(() => loadEnvironment('preview', dir)).toThrow(
      /preview\.reuses: "staging" is not an environment file/,
    );
    fs.writeFileSync(path.join(dir, 'other.yaml'), yaml.replace('name: preview', 'name: other'));
    fs.writeFileSync(file, yaml.replace('reuses: dev', 'reuses: other'));
    expect(() => loadEnvironment('preview', dir)).toThrow(
      /must name a deployed environment, not another preview/,
    );
  });

  it('streams every committed environment that anonymises PII in sync mode', () => {
    for (const e of loadAllEnvironments()) {
      if (Object.values(e.guardrail.pii).includes('ANONYMIZE')) expect(e.guardrail.streamMode).toBe('sync');
    }
  });

  it('derives OIDC subjects in both formats and preview names', () => {
    const app = loadEnvironment('dev').app;
    expect(githubSubject(app, { environment: 'prod' })).toBe(
      'repo:example-org/agentcore-gitops:environment:prod',
    );
    expect(
      githubSubject(
        { ...app, github: { ...app.github, subjectFormat: 'id', ownerId: 7, repositoryId: 9 } },
        { pullRequest: true },
      ),
    ).toBe('repo:example-org@7/agentcore-gitops@9:pull_request');
    expect(previewRuntimeName(app.app, 42)).toBe('agentcore_gitops_pr_42');
    expect(() => previewRuntimeName(app.app, -1)).toThrow(/positive integer/);
  });

  it('gives the agent its models’ prices (MODEL_PRICES) with the rest of its environment', () => {
    const prices = loadPrices();
    for (const env of loadAllEnvironments()) {
      const vars = agentEnvironment(env, { guardrailId: 'g', guardrailVersion: '1', prices });
      expect(vars).toMatchObject({ MODEL_ID: env.models.primary, AGENT_ENV: env.name, GUARDRAIL_ID: 'g' });
      expect(vars).not.toHaveProperty('MEMORY_ID');
      // Traces on, named per environment (AgentCore Observability groups agents by service.name).
      expect(vars).toMatchObject({
        AGENT_OBSERVABILITY_ENABLED: 'true',
        OTEL_SERVICE_NAME: `agent-${env.name}`,
      });
      expect(parseModelPrices(vars.MODEL_PRICES)).toEqual(
        Object.fromEntries(
          [env.models.primary, env.models.background].map((m) => [m, priceOf(prices.models, m)]),
        ),
      );
    }
  });
});
