import * as z from 'zod/mini';
import { parseModelPrices } from '../../cost/model';
import { withEnglishMessages } from '../../environments/prices-schema';

// `zod/mini`, not zod: the same validation in ~30 KB instead of ~450 KB, read and run before the port
// opens on every start (classic zod is loaded after it, for the invocations). Its default messages come
// from the same English locale (withEnglishMessages).
withEnglishMessages();

/** Placeholders a memory namespace template may use; filled per request. */
const NAMESPACE_PLACEHOLDERS = ['actorId', 'sessionId'];

// Environment variables arrive as strings; an empty one means "not set".
const env = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.transform((v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v)),
    schema,
  );

const int = (min: number, max: number, fallback: number) =>
  env(
    z._default(
      z.coerce
        .number({ error: 'must be a whole number' })
        .check(
          z.int({ error: 'must be a whole number' }),
          z.minimum(min, { error: `must be at least ${min}` }),
          z.maximum(max, { error: `must be at most ${max}` }),
        ),
      fallback,
    ),
  );

const flag = (fallback: boolean) =>
  env(
    z._default(
      z.pipe(
        z.enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False'], { error: 'must be true or false' }),
        z.transform((v) => v.toLowerCase() === 'true'),
      ),
      fallback,
    ),
  );

const namespaceTemplate = (fallback: string) =>
  env(
    z._default(z.string(), fallback).check(
      z.refine((t) => t.startsWith('/'), { error: 'must start with "/"' }),
      z.superRefine((t, ctx) => {
        for (const [, name] of t.matchAll(/\{([^}]*)\}/g)) {
          if (!NAMESPACE_PLACEHOLDERS.includes(name)) {
            ctx.addIssue({
              code: 'custom',
              message: `unknown placeholder {${name}}; use ${NAMESPACE_PLACEHOLDERS.map((p) => `{${p}}`).join(' or ')}`,
            });
          }
        }
      }),
    ),
  );

const configSchema = z.object({
  PORT: int(0, 65535, 8080),
  HOST: env(z._default(z.string(), '0.0.0.0')),
  AWS_REGION: env(
    z
      .string({ error: 'is required (e.g. us-east-1); AWS_DEFAULT_REGION is accepted too' })
      .check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'must look like us-east-1' })),
  ),
  MODEL_ID: env(z._default(z.string(), 'us.anthropic.claude-sonnet-4-6')),
  BACKGROUND_MODEL_ID: env(z._default(z.string(), 'us.amazon.nova-pro-v1:0')),
  GUARDRAIL_ID: env(z.optional(z.string())),
  GUARDRAIL_VERSION: env(
    z.optional(
      z
        .string()
        .check(z.regex(/^(DRAFT|[1-9]\d{0,7})$/, { error: 'must be DRAFT or a version number like 1' })),
    ),
  ),
  GUARDRAIL_STREAM_MODE: env(
    z._default(z.enum(['sync', 'async'], { error: 'must be sync or async' }), 'sync'),
  ),
  MEMORY_ID: env(z.optional(z.string())),
  MEMORY_SEMANTIC_NAMESPACE: namespaceTemplate('/facts/{actorId}'),
  MEMORY_PREFERENCE_NAMESPACE: namespaceTemplate('/preferences/{actorId}'),
  MEMORY_SUMMARY_NAMESPACE: namespaceTemplate('/summaries/{actorId}/{sessionId}'),
  DEFAULT_ACTOR_ID: env(
    z._default(
      z
        .string()
        .check(z.regex(/^[a-zA-Z0-9][a-zA-Z0-9\-_/]*$/, { error: 'must be letters, digits, - _ or /' })),
      'anonymous',
    ),
  ),
  LOG_LEVEL: env(
    z._default(
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'must be one of fatal, error, warn, info, debug, trace, silent',
      }),
      'info',
    ),
  ),
  AGENT_ENV: env(z._default(z.string(), 'local')),
  METRICS_NAMESPACE: env(z._default(z.string(), 'AgentCoreGitops')),
  MAX_TOOL_STEPS: int(1, 50, 8),
  // JSON prices of the agent's models (the stack sets it from environments/prices.yaml); absent = no cost metrics.
  MODEL_PRICES: env(
    z.optional(
      z.pipe(
        z.string(),
        z.transform((json: string, ctx) => {
          try {
            return parseModelPrices(json);
          } catch (e) {
            // One line in the problem list, which puts the variable's name first.
            const [head, ...items] = (e as Error).message.replace(/^MODEL_PRICES:? /, '').split(/\n\s*/);
            ctx.issues.push({
              code: 'custom',
              message: items.length ? `${head}: ${items.join('; ')}` : head,
              input: json,
            });
            return z.NEVER;
          }
        }),
      ),
    ),
  ),
  // Operational knobs beyond the cross-team contract; the defaults suit production.
  MAX_BODY_BYTES: int(1024, 100 * 1024 * 1024, 1024 * 1024),
  MAX_OUTPUT_TOKENS: int(1, 64_000, 2048),
  MODEL_MAX_ATTEMPTS: int(1, 10, 4),
  MEMORY_RETRIEVE_BUDGET_MS: int(1, 10_000, 300),
  MEMORY_LOAD_BUDGET_MS: int(1, 30_000, 2000),
  // Bounds on AWS calls that would otherwise wait forever (a connection that never opens, an endpoint
  // that accepts and says nothing). Idle timeouts, not totals: a call fails after that long without a
  // byte, and the client's retry policy applies. The model can think a while before its first token.
  AWS_CONNECT_TIMEOUT_MS: int(1, 60_000, 3000),
  MODEL_IDLE_TIMEOUT_MS: int(1000, 3_600_000, 120_000),
  MEMORY_IDLE_TIMEOUT_MS: int(1, 60_000, 5000),
  // How long a run waits for its memory writes before RUN_FINISHED; later ones finish in the background.
  MEMORY_FLUSH_BUDGET_MS: int(1, 60_000, 3000),
  HISTORY_TOKEN_BUDGET: int(100, 1_000_000, 8000),
  SHUTDOWN_DEADLINE_MS: int(0, 600_000, 25_000),
  // Traces (OpenTelemetry, the variables ADOT reads): AgentCore's switch, or any OTLP/HTTP traces URL.
  AGENT_OBSERVABILITY_ENABLED: flag(false),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: env(
    z.optional(z.url({ error: 'must be a URL like https://xray.us-east-1.amazonaws.com/v1/traces' })),
  ),
  OTEL_SDK_DISABLED: flag(false),
  // Prompts and answers in span attributes (after the guardrail's masking) only when opted in.
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: flag(false),
});

export type Config = z.infer<typeof configSchema>;

/** Every problem with the environment, so one restart fixes them all. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid agent configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string | undefined> = {
    ...source,
    AWS_REGION: source.AWS_REGION || source.AWS_DEFAULT_REGION,
  };
  const parsed = z.safeParse(configSchema, input);
  const problems = (parsed.error?.issues ?? []).map((issue) => {
    const name = String(issue.path[0]);
    const value = input[name];
    return `${name} ${issue.message}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`;
  });
  // Cross-field rules are checked on the raw input so they are reported together with the rest.
  if (input.GUARDRAIL_VERSION?.trim() && !input.GUARDRAIL_ID?.trim()) {
    problems.push('GUARDRAIL_VERSION is set but GUARDRAIL_ID is not: set both or neither');
  }
  const prices = parsed.data?.MODEL_PRICES;
  for (const name of ['MODEL_ID', 'BACKGROUND_MODEL_ID'] as const) {
    const model = parsed.data?.[name];
    if (prices && model && !Object.hasOwn(prices, model)) {
      problems.push(
        `MODEL_PRICES has no price for ${name} "${model}" (priced: ${Object.keys(prices).join(', ') || 'none'}); add it to environments/prices.yaml and redeploy the stack`,
      );
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

/** Fill {actorId}/{sessionId} in a memory namespace template. */
export function fillNamespace(template: string, ids: { actorId: string; sessionId: string }): string {
  return template.replace(/\{(actorId|sessionId)\}/g, (_, key: 'actorId' | 'sessionId') => ids[key]);
}
