/**
 * Eval sets: one YAML file per suite in evals/suites/, versioned with the agent. Each case is a
 * conversation (one prompt, several turns, or several sessions of the same user) and the assertions
 * a machine scores on what the agent did. Assertion names follow promptfoo's (`contains`,
 * `not-contains`, `latency`, `cost`, `llm-rubric`, …) and the trajectory matchers AgentCore
 * Evaluations defines (Builtin.TrajectoryExactOrderMatch / InOrderMatch / AnyOrderMatch); see
 * docs/pipeline.md, "Writing an eval and reading the gate".
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { readYamlFile } from '../environments/read-yaml';

export const suitesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'suites');

export class EvalConfigError extends Error {}

const weight = z.number().positive().default(1);
const text = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const trajectory = z
  .strictObject({
    type: z.literal('trajectory'),
    /** exact: the same tools in the same order, nothing else; in_order: these in this order, others
     *  allowed between; any_order: each of these at least once, in any order, others allowed. */
    match: z.enum(['exact', 'in_order', 'any_order']),
    tools: z.array(z.string().min(1)),
    weight,
  })
  .refine((a) => a.match === 'exact' || a.tools.length > 0, {
    message:
      'tools must name at least one tool for in_order and any_order (use match: exact with tools: [] for "no tool call")',
    path: ['tools'],
  });

const assertion = z.discriminatedUnion('type', [
  trajectory,
  z.strictObject({
    type: z.literal('tool-args'),
    tool: z.string().min(1),
    /** Every key given must equal the call's argument (deep); arguments not named here are ignored. */
    args: z.record(z.string(), z.unknown()),
    weight,
  }),
  z.strictObject({
    type: z.literal('contains'),
    value: text,
    ignoreCase: z.boolean().default(false),
    weight,
  }),
  z.strictObject({
    type: z.literal('not-contains'),
    value: text,
    ignoreCase: z.boolean().default(false),
    weight,
  }),
  z.strictObject({ type: z.literal('refusal'), expected: z.boolean().default(true), weight }),
  z.strictObject({
    type: z.literal('tokens'),
    max: z.number().int().positive(),
    of: z.enum(['total', 'input', 'output']).default('total'),
    weight,
  }),
  z.strictObject({ type: z.literal('cost'), maxUsd: z.number().positive(), weight }),
  z
    .strictObject({
      type: z.literal('latency'),
      maxFirstTokenMs: z.number().positive().optional(),
      maxTotalMs: z.number().positive().optional(),
      weight,
    })
    .refine((a) => a.maxFirstTokenMs !== undefined || a.maxTotalMs !== undefined, {
      message: 'latency needs maxFirstTokenMs, maxTotalMs or both',
    }),
  z.strictObject({
    type: z.literal('llm-rubric'),
    rubric: z.string().min(10),
    /** The judge's score (0–1) at which the rubric passes. */
    threshold: z.number().min(0).max(1).default(0.7),
    weight,
  }),
]);

const session = z.strictObject({
  turns: z.array(z.string().min(1)).min(1),
  /**
   * Run this session again (a new session id each time) until the case passes or this many seconds
   * have passed: AgentCore Memory extracts long-term records asynchronously after a session.
   */
  untilPassSeconds: z.number().min(0).max(600).optional(),
});

const evalCase = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().optional(),
    /** One turn; or `turns` (one session); or `sessions` (the same user, a new session each). */
    prompt: z.string().min(1).optional(),
    turns: z.array(z.string().min(1)).min(1).optional(),
    sessions: z.array(session).min(1).optional(),
    assert: z.array(assertion).min(1),
  })
  .superRefine((c, ctx) => {
    const given = (['prompt', 'turns', 'sessions'] as const).filter((k) => c[k] !== undefined);
    const early = (c.sessions ?? []).slice(0, -1).findIndex((x) => x.untilPassSeconds !== undefined);
    if (early >= 0)
      ctx.addIssue({
        code: 'custom',
        path: ['sessions', early, 'untilPassSeconds'],
        message: 'only the last session can be repeated until the case passes',
      });
    if (given.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `give exactly one of prompt, turns or sessions (got ${given.join(', ') || 'none'})`,
      });
  })
  .transform(({ prompt, turns, sessions, ...rest }) => ({
    ...rest,
    sessions: sessions ?? [{ turns: turns ?? [prompt!] }],
  }));

export const suiteSchema = z
  .strictObject({
    /** Bump when a case's meaning changes, so before/after tables compare like with like. */
    version: z.number().int().positive(),
    description: z.string().optional(),
    cases: z.array(evalCase).min(1),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.cases.forEach((c, i) => {
      if (seen.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: ['cases', i, 'name'],
          message: `duplicate case name "${c.name}"`,
        });
      seen.add(c.name);
    });
  });

export type Assertion = z.infer<typeof assertion>;
export type EvalCase = z.infer<typeof evalCase>;
export interface EvalSuite extends z.infer<typeof suiteSchema> {
  /** The file name without .yaml. */
  name: string;
  file: string;
}

/** Load one suite; errors name the file, the path in it and what is wrong. */
export function loadSuite(file: string): EvalSuite {
  const data = readYamlFile(file, suiteSchema, (m) => new EvalConfigError(m));
  return { ...data, name: path.basename(file, '.yaml'), file };
}

/** Every suite in `dir` (one <suite>.yaml each), by name. */
export function loadSuites(dir = suitesDir): EvalSuite[] {
  if (!fs.existsSync(dir))
    throw new EvalConfigError(`${dir}: no eval folder (expected one <suite>.yaml per suite)`);
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  if (!files.length) throw new EvalConfigError(`${dir}: no <suite>.yaml file`);
  return files.map((f) => {
    if (!/^[a-z][a-z0-9-]*\.yaml$/.test(f))
      throw new EvalConfigError(
        `${path.join(dir, f)}: suite file names are lower-case letters, digits and -`,
      );
    return loadSuite(path.join(dir, f));
  });
}
