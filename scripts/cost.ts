/**
 * npm run cost -- --env <name> [--days N] [--format table|markdown|json]
 * Prices an environment's token metrics from CloudWatch (AWS_ENDPOINT_URL honoured, e.g. the twin).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { EnvironmentConfigError, loadEnvironment } from '../environments';
import { PricesConfigError, loadPrices } from '../environments/prices';
import { CostReadError, readCostReport } from '../cost/cloudwatch';
import { formatReport, formats, type Format } from '../cost/report';

const usage = 'usage: npm run cost -- --env <name> [--days N] [--format table|markdown|json]';

export async function main(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      env: { type: 'string' },
      days: { type: 'string', default: '1' },
      format: { type: 'string', default: 'table' },
    },
    strict: true,
  });
  if (!values.env) throw new UsageError(`--env is required\n${usage}`);
  const days = Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 455)
    throw new UsageError(`--days must be a whole number from 1 to 455, got "${values.days}"`);
  if (!(formats as readonly string[]).includes(values.format))
    throw new UsageError(`--format must be one of ${formats.join(', ')}, got "${values.format}"`);

  const env = loadEnvironment(values.env);
  const client = new CloudWatchClient({ region: process.env.AWS_REGION ?? env.region });
  try {
    const report = await readCostReport({
      env,
      prices: loadPrices(),
      client,
      days,
      metricsNamespace: process.env.METRICS_NAMESPACE,
    });
    return formatReport(report, values.format as Format);
  } finally {
    client.destroy();
  }
}

class UsageError extends Error {}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (out) => process.stdout.write(out),
    (e: Error & { code?: string }) => {
      const badUsage =
        e instanceof UsageError ||
        e instanceof EnvironmentConfigError ||
        !!e.code?.startsWith('ERR_PARSE_ARGS');
      const known = badUsage || e instanceof PricesConfigError || e instanceof CostReadError;
      process.stderr.write(`cost: ${known ? e.message : (e.stack ?? e.message)}\n`);
      process.exitCode = badUsage ? 2 : 1;
    },
  );
}
