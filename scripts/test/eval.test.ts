import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTRUCTIONS } from '../../agent/src/instructions';
import { parseRuntimeTarget } from '../eval';
import { bundleWithoutToolInstruction } from '../rehearsal/eval-gate';

describe('npm run eval --target', () => {
  it('reads <runtime name or ARN>/<qualifier>', () => {
    expect(parseRuntimeTarget('agentcore_gitops_dev/DEFAULT')).toEqual({
      runtime: 'agentcore_gitops_dev',
      qualifier: 'DEFAULT',
    });
    const arn = 'arn:aws:bedrock-agentcore:us-east-1:111111111111:runtime/agentcore_gitops_dev-AbC123';
    expect(parseRuntimeTarget(`${arn}/live`)).toEqual({ runtime: arn, qualifier: 'live' });
    expect(() => parseRuntimeTarget('agentcore-gitops-dev')).toThrow(
      /neither a URL nor <runtime name or ARN>\/<qualifier>/,
    );
  });
});

describe('the rehearsal’s regressed candidate', () => {
  it('drops the tool from the instructions only, the rest of the bundle unchanged', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-bundle-'));
    const bundle = path.join(dir, 'server.mjs');
    const rest = 'const tool={name:"current_time"};';
    fs.writeFileSync(bundle, `${rest}const I=${JSON.stringify(INSTRUCTIONS)};`);
    const out = fs.readFileSync(bundleWithoutToolInstruction(bundle, path.join(dir, 'out.mjs')), 'utf8');
    expect(out.startsWith(rest)).toBe(true);
    expect(out.slice(rest.length)).not.toContain('current_time');
    expect(out).toContain('- the clock: whenever the user asks what time');
    fs.writeFileSync(bundle, rest);
    expect(() => bundleWithoutToolInstruction(bundle, path.join(dir, 'out.mjs'))).toThrow(
      /npm run build:agent/,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
