import type { CostReport } from './cloudwatch';

export const formats = ['table', 'markdown', 'json'] as const;
export type Format = (typeof formats)[number];

const tokens = (n: number) => Math.round(n).toLocaleString('en-US');
/** Small amounts need more places than cents to be readable. */
export const usd = (n: number) =>
  `${n < 0 ? '-' : ''}$${Math.abs(n).toFixed(n === 0 || Math.abs(n) >= 1 ? 2 : 4)}`;

const headers = [
  'Model',
  'Role',
  'Input',
  'Output',
  'Cache read',
  'Cache write',
  'Cost',
  'Cache saved',
  'Tokens from',
];

function rows(report: CostReport): string[][] {
  const body = report.models.map((m) => [
    m.modelId,
    m.role,
    tokens(m.usage.inputTokens),
    tokens(m.usage.outputTokens),
    tokens(m.usage.cacheReadInputTokens),
    tokens(m.usage.cacheWriteInputTokens),
    usd(m.cost.total),
    usd(m.cost.cacheSavings),
    m.tokenSource,
  ]);
  const sum = (key: 'inputTokens' | 'outputTokens' | 'cacheReadInputTokens' | 'cacheWriteInputTokens') =>
    tokens(report.models.reduce((s, m) => s + m.usage[key], 0));
  return [
    ...body,
    [
      'Total',
      '',
      sum('inputTokens'),
      sum('outputTokens'),
      sum('cacheReadInputTokens'),
      sum('cacheWriteInputTokens'),
      usd(report.total.total),
      usd(report.total.cacheSavings),
      '',
    ],
  ];
}

function computeLine(report: CostReport): string {
  const c = report.compute;
  return c.available
    ? `AgentCore Runtime compute: ${c.vcpuHours.toFixed(4)} vCPU-hours (${usd(c.cpu)}) + ${c.gbHours.toFixed(4)} GB-hours (${usd(c.memory)}) = ${usd(c.total)}`
    : `AgentCore Runtime compute: not available (${c.reason})`;
}

function agentCheck(report: CostReport): string | null {
  const estimates = report.models.filter((m) => m.agentEstimateUsd !== null);
  if (!estimates.length) return null;
  return `Agent's own per-answer estimates: ${estimates.map((m) => `${m.modelId} ${usd(m.agentEstimateUsd!)}`).join(', ')}`;
}

function title(report: CostReport): string {
  return `Cost of ${report.environment} (${report.region}), last ${report.days} day(s): ${report.start.slice(0, 16)}Z – ${report.end.slice(0, 16)}Z`;
}

export function formatReport(report: CostReport, format: Format): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  const table = [headers, ...rows(report)];
  const extra = [
    `Model spend ${usd(report.total.total)}; prompt caching saved ${usd(report.total.cacheSavings)} against full input price (net of cache-write premium).`,
    computeLine(report),
    agentCheck(report),
    ...report.notes,
  ].filter((l): l is string => l !== null);

  if (format === 'markdown') {
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    const align = headers.map((_, i) => (i < 2 || i === headers.length - 1 ? '---' : '---:'));
    return [
      `### ${title(report)}`,
      '',
      line(table[0]),
      line(align),
      ...table.slice(1).map(line),
      '',
      ...extra.map((l) => `- ${l}`),
      '',
    ].join('\n');
  }
  const widths = headers.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const pad = (r: string[]) =>
    r
      .map((c, i) => (i < 2 || i === headers.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const body = table.map(pad);
  return [title(report), '', body[0], rule, ...body.slice(1, -1), rule, body.at(-1)!, '', ...extra, ''].join(
    '\n',
  );
}
