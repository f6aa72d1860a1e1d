import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EvalConfigError, loadSuite, loadSuites } from '../schema';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evals-schema-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function suiteFile(name: string, yaml: string): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, yaml);
  return file;
}

const error = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EvalConfigError);
    return (e as Error).message;
  }
  throw new Error('expected an EvalConfigError');
};

describe('eval suite schema', () => {
  it('loads the committed suites, every case as sessions of turns', () => {
    const suites = loadSuites();
    expect(suites.map((s) => s.name)).toEqual(['memory', 'safety', 'tools']);
    const tools = suites.find((s) => s.name === 'tools')!;
    expect(tools.cases[0].sessions).toEqual([{ turns: ['What time is it in Tokyo?'] }]);
    const memory = suites.find((s) => s.name === 'memory')!;
    expect(memory.cases[0].sessions).toHaveLength(2);
    expect(memory.cases[0].sessions[1].untilPassSeconds).toBe(120);
  });

  it('fills defaults: weight 1, ignoreCase false, refusal expected, rubric threshold 0.7', () => {
    const s = loadSuite(
      suiteFile(
        'defaults',
        `version: 1
cases:
  - name: c
    prompt: hi
    assert:
      - { type: contains, value: x }
      - { type: refusal }
      - { type: llm-rubric, rubric: is friendly and short }
`,
      ),
    );
    expect(s.cases[0].assert).toEqual([
      { type: 'contains', value: 'x', ignoreCase: false, weight: 1 },
      { type: 'refusal', expected: true, weight: 1 },
      { type: 'llm-rubric', rubric: 'is friendly and short', threshold: 0.7, weight: 1 },
    ]);
  });

  it('names the file, the path and the fix for each problem', () => {
    const file = suiteFile(
      'bad',
      `version: 1
cases:
  - name: two inputs
    prompt: a
    turns: [b]
    assert: [{ type: contains, value: x }]
  - name: no assertion
    prompt: a
    assert: []
  - name: vague trajectory
    prompt: a
    assert: [{ type: trajectory, match: in_order, tools: [] }]
  - name: unknown type
    prompt: a
    assert: [{ type: contain, value: x }]
  - name: latency without a limit
    prompt: a
    assert: [{ type: latency }]
  - name: unknown key
    prompt: a
    assert: [{ type: tokens, max: 10, maximum: 5 }]
  - name: early repeat
    sessions: [{ turns: [a], untilPassSeconds: 5 }, { turns: [b] }]
    assert: [{ type: refusal }]
`,
    );
    const message = error(() => loadSuite(file));
    expect(message).toContain(`${file}: `);
    expect(message).toContain('cases.0: give exactly one of prompt, turns or sessions (got prompt, turns)');
    expect(message).toContain('cases.1.assert: Too small');
    expect(message).toContain('cases.2.assert.0.tools: tools must name at least one tool for in_order');
    expect(message).toContain(
      "cases.3.assert.0.type: Invalid discriminator value. Expected 'trajectory' | 'tool-args'",
    );
    expect(message).toContain('cases.4.assert.0: latency needs maxFirstTokenMs, maxTotalMs or both');
    expect(message).toMatch(/cases\.5\.assert\.0: Unrecognized key: "maximum"/);
    expect(message).toContain('cases.6.sessions.0.untilPassSeconds: only the last session can be repeated');
  });

  it('rejects duplicate case names and a missing version', () => {
    const dup = suiteFile(
      'dup',
      `version: 1
cases:
  - { name: same, prompt: a, assert: [{ type: refusal }] }
  - { name: same, prompt: b, assert: [{ type: refusal }] }
`,
    );
    expect(error(() => loadSuite(dup))).toContain('cases.1.name: duplicate case name "same"');
    const noVersion = suiteFile('nover', `cases: [{ name: a, prompt: a, assert: [{ type: refusal }] }]\n`);
    expect(error(() => loadSuite(noVersion))).toMatch(/version: Invalid input/);
  });

  it('rejects a folder without suites and badly named suite files', () => {
    const empty = fs.mkdtempSync(path.join(dir, 'empty-'));
    expect(error(() => loadSuites(empty))).toContain('no <suite>.yaml file');
    fs.writeFileSync(path.join(empty, 'My Suite.yaml'), 'version: 1\n');
    expect(error(() => loadSuites(empty))).toContain('suite file names are lower-case letters, digits and -');
  });
});
