/**
 * `cdk diff` for a pull request: the CLI's own rendering (@aws-cdk/cloudformation-diff's formatter,
 * `--no-color`) read back into one table per stack, and the ONE comment that shows them.
 */

/** The marker that identifies the pipeline's one infra diff comment on a pull request. */
export const INFRA_DIFF_MARKER = '<!-- agentcore-gitops-infra-diff -->';

export type ResourceAction = 'added' | 'changed' | 'replaced' | 'may be replaced' | 'removed';

export interface PropertyChange {
  name: string;
  /** `(requires replacement)` / `(may cause replacement)` as the formatter marks the property. */
  replacement?: 'requires replacement' | 'may cause replacement';
  /** Old → new for a scalar change (the formatter's `[-] old` / `[+] new` leaves right under it). */
  from?: string;
  to?: string;
}

export interface ResourceChange {
  action: ResourceAction;
  type: string;
  /** Construct path as the formatter shows it (the logical id when the template has no path). */
  path: string;
  logicalId: string;
  properties: PropertyChange[];
}

export interface StackDiff {
  stack: string;
  /** False only when the CLI said "There were no differences" (metadata and outputs count as changes). */
  changed: boolean;
  resources: ResourceChange[];
  /** The formatter's "IAM Statement Changes" / "IAM Policy Changes" tables, as printed. */
  iam?: string;
  /** The formatter's "Security Group Changes" table, as printed. */
  securityGroups?: string;
  /** Everything `cdk diff` printed for the stack. */
  rendering: string;
}

const SECTION =
  /^(Resources|Parameters|Outputs|Conditions|Mappings|Metadata|Other Changes|Template|IAM Statement Changes|IAM Policy Changes|IAM Identity Center Changes|Security Group Changes)$/;
const RESOURCE = /^\[([+~-])\] (\S+) (.+?)(?: (replace|may be replaced|destroy|orphan|import))?$/;
const PROPERTY = /^ [└├]─ \[[+~-]\] (.+?)(?: \((requires replacement|may cause replacement)\))?$/;
const LEAF = /^ [│ ] {3}[└├]─ \[([+-])\] (.*)$/;

/** Split `cdk diff --no-color` output into stacks and read each stack's resource changes. */
export function parseCdkDiff(output: string): StackDiff[] {
  const stacks: StackDiff[] = [];
  let current:
    { diff: StackDiff; lines: string[]; section?: string; blocks: Record<string, string[]> } | undefined;
  const finish = () => {
    if (!current) return;
    const { diff, lines, blocks } = current;
    diff.rendering = lines.join('\n').trim();
    const iam = [...(blocks['IAM Statement Changes'] ?? []), ...(blocks['IAM Policy Changes'] ?? [])];
    if (iam.length) diff.iam = iam.join('\n').trim();
    if (blocks['Security Group Changes'])
      diff.securityGroups = blocks['Security Group Changes'].join('\n').trim();
    stacks.push(diff);
  };
  for (const line of output.split(/\r?\n/)) {
    const header = /^Stack (\S+)(?: \(.*\))?$/.exec(line);
    if (header) {
      finish();
      current = {
        diff: { stack: header[1], changed: true, resources: [], rendering: '' },
        lines: [],
        blocks: {},
      };
      continue;
    }
    if (!current) continue;
    // The CLI's closing summary is not part of the last stack.
    if (/^✨|Number of stacks with differences/.test(line)) {
      finish();
      current = undefined;
      continue;
    }
    current.lines.push(line);
    if (/^There were no differences/.test(line)) current.diff.changed = false;
    if (SECTION.test(line)) {
      current.section = line;
      if (/^(IAM|Security Group)/.test(line)) current.blocks[line] = [line];
      continue;
    }
    if (current.section && current.blocks[current.section]) {
      current.blocks[current.section].push(line);
      continue;
    }
    if (current.section !== 'Resources') continue;
    const resource = RESOURCE.exec(line);
    if (resource) {
      const [, prefix, type, rest, impact] = resource;
      const words = rest.split(' ');
      const logicalId = words.pop()!;
      current.diff.resources.push({
        action:
          prefix === '+'
            ? 'added'
            : prefix === '-'
              ? 'removed'
              : impact === 'replace'
                ? 'replaced'
                : impact === 'may be replaced'
                  ? 'may be replaced'
                  : 'changed',
        type,
        path: words.join(' ') || logicalId,
        logicalId,
        properties: [],
      });
      continue;
    }
    const resourceNow = current.diff.resources.at(-1);
    if (!resourceNow) continue;
    const property = PROPERTY.exec(line);
    if (property) {
      resourceNow.properties.push({
        name: property[1],
        ...(property[2] && { replacement: property[2] as PropertyChange['replacement'] }),
      });
      continue;
    }
    const leaf = LEAF.exec(line);
    const propertyNow = resourceNow.properties.at(-1);
    if (leaf && propertyNow) {
      if (leaf[1] === '-') propertyNow.from = leaf[2];
      else propertyNow.to = leaf[2];
    }
  }
  finish();
  return stacks;
}

const ICON: Record<ResourceAction, string> = {
  added: '🟢 added',
  changed: '🟡 changed',
  replaced: '🔴 replaced',
  'may be replaced': '🟠 may be replaced',
  removed: '🔴 removed',
};

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

function describeProperty(p: PropertyChange): string {
  const change = p.from !== undefined || p.to !== undefined ? `: ${p.from ?? '∅'} → ${p.to ?? '∅'}` : '';
  return `\`${p.name}\`${change}${p.replacement ? ` (${p.replacement})` : ''}`;
}

/** The markdown table of one stack's resource changes (one row per resource). */
export function stackTable(diff: StackDiff): string {
  if (diff.resources.length === 0) return 'No resource changes.';
  const rows = diff.resources.map(
    (r) =>
      `| ${ICON[r.action]} | \`${r.type}\` | ${cell(r.path)} | ${cell(r.properties.map(describeProperty).join('<br>'))} |`,
  );
  return ['| Change | Type | Resource | Properties |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function countByAction(diff: StackDiff): Record<ResourceAction, number> {
  const counts = { added: 0, changed: 0, replaced: 0, 'may be replaced': 0, removed: 0 };
  for (const r of diff.resources) counts[r.action]++;
  return counts;
}

/** One account's stacks that have no diff in the comment, and why. */
export interface NotDiffed {
  account: string;
  stacks: string[];
  reason: string;
}

export interface CommentContext {
  sha: string;
  runUrl?: string;
  /** Stacks left out by design (no credentials for their account), with why. */
  skipped?: NotDiffed[];
  /** Stacks whose diff failed, with why (the comment says so instead of hiding them). */
  failed?: NotDiffed[];
}

const MAX_RENDERING = 12_000;

/** The ONE comment: a summary line and a table per stack, IAM and security-group changes called out. */
export function renderDiffComment(diffs: StackDiff[], context: CommentContext): string {
  const out = [INFRA_DIFF_MARKER, `### Infrastructure diff for ${context.sha.slice(0, 7)}`, ''];
  for (const diff of diffs) {
    const c = countByAction(diff);
    const summary = diff.resources.length
      ? (Object.entries(c) as [ResourceAction, number][])
          .filter(([, n]) => n > 0)
          .map(([a, n]) => `${n} ${a}`)
          .join(', ')
      : diff.changed
        ? 'changes outside resources (see the output)'
        : 'no changes';
    out.push(`#### \`${diff.stack}\`: ${summary}`, '');
    if (diff.iam) out.push('> [!WARNING]', '> **IAM changes** (review who gains what):', '');
    if (diff.securityGroups) out.push('> [!WARNING]', '> **Security group changes**:', '');
    if (diff.resources.length) out.push(stackTable(diff), '');
    if (diff.iam)
      out.push('<details open><summary>IAM changes</summary>', '', '```', diff.iam, '```', '</details>', '');
    if (diff.securityGroups)
      out.push(
        '<details open><summary>Security group changes</summary>',
        '',
        '```',
        diff.securityGroups,
        '```',
        '</details>',
        '',
      );
    if (diff.changed)
      out.push(
        '<details><summary>cdk diff output</summary>',
        '',
        '```',
        // GitHub refuses comments over 65,536 characters; the table above carries the substance.
        diff.rendering.length > MAX_RENDERING
          ? `${diff.rendering.slice(0, MAX_RENDERING)}\n… (truncated; the workflow run's log has all of it)`
          : diff.rendering,
        '```',
        '</details>',
        '',
      );
  }
  const names = (n: NotDiffed) => n.stacks.map((s) => `\`${s}\``).join(', ');
  for (const n of context.skipped ?? [])
    out.push(`#### ${names(n)} (account ${n.account}): ⚠️ not diffed`, '', cell(n.reason), '');
  for (const n of context.failed ?? [])
    out.push(`#### ${names(n)} (account ${n.account}): ❌ diff failed`, '', '```', n.reason, '```', '');
  if (context.runUrl) out.push(`[workflow run](${context.runUrl})`);
  return out.join('\n');
}

export interface AccountStacks {
  account: string;
  region: string;
  /** The account's stacks of this app, its shared stack first. */
  stacks: string[];
}

/** Credentials for one account's diff (variables for the CLI), or why the account is left out. */
export type AccountAccess = { env: Record<string, string> } | { skip: string };

export interface InfraDiffOptions {
  /** Every account's stacks, from the topology of environments/. */
  accounts: AccountStacks[];
  /** Asked right before each account's diff: OIDC tokens and STS sessions are short-lived. */
  access: (account: AccountStacks) => Promise<AccountAccess>;
  /** Runs `cdk <args>` (with `env` added to its environment); what it printed, in order, and its exit code. */
  cdk: (args: string[], env?: Record<string, string>) => Promise<{ output: string; exitCode: number }>;
  /** Folder the app is synthesized into once; every account's diff reads that assembly. */
  assembly: string;
  /** False when `assembly` already holds the synthesized app (default: synthesize it first). */
  synthesize?: boolean;
}

export interface InfraDiffResult {
  diffs: StackDiff[];
  skipped: NotDiffed[];
  failed: NotDiffed[];
}

/**
 * `cdk diff` of every account's stacks, one account at a time with that account's credentials: the
 * CLI refuses a stack whose account differs from its credentials' (it would need a credential plugin),
 * and `--exclusively` keeps it from looking up a dependency in another account. `--method template`
 * compares with GetTemplate: no change set is created, so a read-only role is enough. An account whose
 * diff fails does not hide the others: its stacks are reported as failed.
 */
export async function diffStacks(options: InfraDiffOptions): Promise<InfraDiffResult> {
  if (options.synthesize !== false) {
    const synth = await options.cdk(['synth', '--quiet', '--output', options.assembly]);
    if (synth.exitCode !== 0)
      throw new Error(`cdk synth failed (exit ${synth.exitCode}):\n${synth.output.slice(-4000)}`);
  }
  const result: InfraDiffResult = { diffs: [], skipped: [], failed: [] };
  for (const account of options.accounts) {
    const access = await options.access(account);
    if ('skip' in access) {
      result.skipped.push({ account: account.account, stacks: account.stacks, reason: access.skip });
      continue;
    }
    const args = ['diff', '--app', options.assembly, '--no-color', '--method', 'template', '--exclusively'];
    const { output, exitCode } = await options.cdk([...args, ...account.stacks], access.env);
    const diffs = parseCdkDiff(output).filter((d) => account.stacks.includes(d.stack));
    const seen = new Set(diffs.map((d) => d.stack));
    const missing = account.stacks.filter((s) => !seen.has(s));
    // Without --fail, any non-zero exit is a failure (differences alone exit 0).
    if (exitCode !== 0 || missing.length) {
      const reason = `cdk diff exited ${exitCode}${missing.length ? `, no diff for ${missing.join(', ')}` : ''}:\n${output.slice(-3000)}`;
      result.failed.push({ account: account.account, stacks: account.stacks, reason });
      continue;
    }
    result.diffs.push(...diffs);
  }
  return result;
}
