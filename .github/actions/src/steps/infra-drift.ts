/**
 * Drift: stacks whose deployed template differs from the template synthesized at main. The same
 * `cdk diff --method template` the pull-request diff runs (steps/infra-diff.ts), read the other way:
 * on main every stack should say "There were no differences"; one that does not was deployed from
 * elsewhere (a branch, the console, a failed merge deploy) or main changed without a deploy.
 */
import { stackTable, type InfraDiffResult, type NotDiffed, type StackDiff } from './infra-diff';

export interface DriftReport {
  /** Stacks whose deployed template differs from main's. */
  drifted: StackDiff[];
  /** Stacks whose deployed template is main's. */
  inSync: string[];
  /** Stacks that could not be checked (no credentials for their account, or the diff failed). */
  unchecked: NotDiffed[];
}

export function driftReport(result: InfraDiffResult): DriftReport {
  return {
    drifted: result.diffs.filter((d) => d.changed),
    inSync: result.diffs.filter((d) => !d.changed).map((d) => d.stack),
    unchecked: [...result.skipped, ...result.failed],
  };
}

/** One line for the log and the failure message. */
export function driftHeadline(report: DriftReport): string {
  if (report.drifted.length)
    return `drift: ${report.drifted.map((d) => d.stack).join(', ')} differ from main (deploy main, or revert what changed them)`;
  if (report.unchecked.length)
    return `drift not checked for ${report.unchecked.flatMap((u) => u.stacks).join(', ')}`;
  return `no drift: all ${report.inSync.length} stacks match main`;
}

/** The job summary: one section per drifted stack (its table and the CLI's rendering), then the rest. */
export function renderDriftSummary(report: DriftReport, context: { sha: string; runUrl?: string }): string {
  const out = [`### Infrastructure drift against main (${context.sha.slice(0, 7)})`, ''];
  out.push(report.drifted.length ? `> [!CAUTION]\n> ${driftHeadline(report)}` : driftHeadline(report), '');
  for (const d of report.drifted) {
    out.push(`#### \`${d.stack}\`: drifted`, '', stackTable(d), '');
    if (d.iam) out.push('> [!WARNING]', '> **IAM differs**', '');
    out.push('<details><summary>cdk diff output</summary>', '', '```', d.rendering, '```', '</details>', '');
  }
  if (report.inSync.length)
    out.push(`In sync with main: ${report.inSync.map((s) => `\`${s}\``).join(', ')}`, '');
  for (const u of report.unchecked)
    out.push(
      `#### ${u.stacks.map((s) => `\`${s}\``).join(', ')} (account ${u.account}): ⚠️ not checked`,
      '',
      '```',
      u.reason,
      '```',
      '',
    );
  if (context.runUrl) out.push(`[workflow run](${context.runUrl})`);
  return out.join('\n');
}
