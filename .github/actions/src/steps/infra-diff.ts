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
      current = { diff: { stack: header[1], resources: [], rendering: '' }, lines: [], blocks: {} };
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

export interface CommentContext {
  sha: string;
  runUrl?: string;
  /** Stacks that could not be diffed, with why (the comment says so instead of hiding them). */
  failed?: { stack: string; reason: string }[];
}

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
    if (diff.resources.length || diff.iam || diff.securityGroups)
      out.push(
        '<details><summary>cdk diff output</summary>',
        '',
        '```',
        diff.rendering,
        '```',
        '</details>',
        '',
      );
  }
  for (const f of context.failed ?? [])
    out.push(`#### \`${f.stack}\`: ⚠️ not diffed`, '', cell(f.reason), '');
  if (context.runUrl) out.push(`[workflow run](${context.runUrl})`);
  return out.join('\n');
}

export interface AccountStacks {
  account: string;
  stacks: string[];
}

export interface InfraDiffOptions {
  /** Every account's stacks (shared stack first), from the topology of environments/. */
  accounts: AccountStacks[];
  /** The account the diff role's credentials are for (GetCallerIdentity). */
  callerAccount: string;
  /** Runs `cdk <args>` and returns what it printed (stdout and stderr, in order) and its exit code. */
  cdk: (args: string[]) => Promise<{ output: string; exitCode: number }>;
}

export interface InfraDiffResult {
  diffs: StackDiff[];
  failed: { stack: string; reason: string }[];
}

/**
 * `cdk diff` of the caller account's stacks (`--exclusively`: a dependency in another account would
 * be looked up with these credentials and shown as all new). Other accounts' stacks are listed as not
 * diffed with the reason, never silently dropped.
 */
export async function diffStacks(options: InfraDiffOptions): Promise<InfraDiffResult> {
  const own = options.accounts.find((a) => a.account === options.callerAccount);
  const failed = options.accounts
    .filter((a) => a.account !== options.callerAccount)
    .flatMap((a) =>
      a.stacks.map((stack) => ({
        stack,
        reason: `in account ${a.account}; AWS_DIFF_ROLE_ARN's credentials are for ${options.callerAccount}`,
      })),
    );
  if (!own)
    throw new Error(`No stacks of this app live in account ${options.callerAccount} (AWS_DIFF_ROLE_ARN)`);
  const { output, exitCode } = await options.cdk(['diff', '--no-color', '--exclusively', ...own.stacks]);
  const diffs = parseCdkDiff(output);
  const seen = new Set(diffs.map((d) => d.stack));
  const missing = own.stacks.filter((s) => !seen.has(s));
  // exit code 1 with --fail means differences; without --fail, non-zero is a failure.
  if (exitCode !== 0 || missing.length)
    throw new Error(
      `cdk diff failed (exit ${exitCode}${missing.length ? `; no diff for ${missing.join(', ')}` : ''}):\n${output.slice(-4000)}`,
    );
  return { diffs, failed };
}
