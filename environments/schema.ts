import { z } from 'zod';

/** AgentCore resource names: letter first, then letters, digits, underscores; 48 at most. */
const agentCoreName = z
  .string()
  .regex(
    /^[a-zA-Z][a-zA-Z0-9_]{0,47}$/,
    'must start with a letter and use only letters, digits and _ (no hyphens), 48 at most',
  );

const piiAction = z.enum(['ANONYMIZE', 'BLOCK', 'NONE']);
export const piiTypes = [
  'EMAIL',
  'PHONE',
  'NAME',
  'ADDRESS',
  'US_SOCIAL_SECURITY_NUMBER',
  'CREDIT_DEBIT_CARD_NUMBER',
  'AWS_ACCESS_KEY',
  'AWS_SECRET_KEY',
  'IP_ADDRESS',
  'PASSWORD',
] as const;

export const appSchema = z.strictObject({
  app: agentCoreName.refine((s) => s.length <= 30, 'must be 30 characters at most (names append suffixes)'),
  github: z.strictObject({
    repository: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'must be OWNER/REPO'),
    subjectFormat: z.enum(['classic', 'id']),
    ownerId: z.number().int().positive().optional(),
    repositoryId: z.number().int().positive().optional(),
    mainBranch: z.string().min(1).default('main'),
  }),
  ecr: z.strictObject({
    keepReleaseImages: z.number().int().min(10),
    previewImageDays: z.number().int().min(1),
  }),
});

/** The values CloudWatch Logs accepts for a log group's retention (AWS::Logs::LogGroup RetentionInDays). */
export const logRetentionDays = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * Traces and logs. Transaction Search is one setting per account and region (it switches the account's
 * X-Ray span ingestion to CloudWatch Logs), so environments that share an account must agree on it.
 */
const observability = z.strictObject({
  /**
   * create: this account's shared stack turns Transaction Search on (AWS::XRay::TransactionSearchConfig
   * with its CloudWatch Logs resource policy). existing: it is already on in the account (the CloudWatch
   * console's Enable button, or another stack); the stacks leave it alone. CloudFormation can only create
   * it, so `create` in an account where it is already on fails with AlreadyExists (docs/infra.md).
   */
  transactionSearch: z.enum(['create', 'existing']),
  /** Percent of spans X-Ray indexes as trace summaries (with `create`); 1 is free, every span stays searchable. */
  indexingPercentage: z.number().min(0).max(100),
  /** Days the runtime's log groups keep their events. */
  logRetentionDays: z
    .number()
    .int()
    .refine((d) => (logRetentionDays as readonly number[]).includes(d), {
      message: `must be one of the retention periods CloudWatch Logs accepts: ${logRetentionDays.join(', ')}`,
    }),
});

const smokeCase = z.strictObject({
  name: z.string().min(1),
  prompt: z.string().min(1),
  expect: z.enum(['blocked', 'masked', 'answered']),
  mustNotContain: z.array(z.string().min(1)).optional(),
});

export const environmentSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9]{1,15}$/, 'must be lower-case letters and digits, 2–16 long'),
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id, quoted'),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1'),
  runtime: z.strictObject({
    liveEndpoint: agentCoreName,
    idleTimeoutSeconds: z.number().int().min(60).max(28800),
    maxLifetimeSeconds: z.number().int().min(60).max(28800),
    deployTimeoutSeconds: z.number().int().min(30).max(3600),
    pollSeconds: z.number().positive().max(60),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']),
  }),
  models: z.strictObject({ primary: z.string().min(3), background: z.string().min(3) }),
  memory: z.strictObject({ expiryDays: z.number().int().min(7).max(365) }),
  observability,
  guardrail: z
    .strictObject({
      blockedInputMessage: z.string().min(1).max(500),
      blockedOutputMessage: z.string().min(1).max(500),
      /** ConverseStream `streamProcessingMode`: sync scans before the user sees text; async after. */
      streamMode: z.enum(['sync', 'async']),
      pii: z.partialRecord(z.enum(piiTypes), piiAction),
    })
    .superRefine((g, ctx) => {
      // "Amazon Bedrock Guardrails doesn't support the masking of sensitive information with
      // asynchronous mode" (bedrock/latest/userguide/guardrails-streaming.html): users would see it.
      const anonymised = Object.entries(g.pii)
        .filter(([, action]) => action === 'ANONYMIZE')
        .map(([type]) => type);
      if (g.streamMode === 'async' && anonymised.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['streamMode'],
          message: `must be sync while guardrail.pii anonymises ${anonymised.join(', ')}: Bedrock does not mask PII in async stream mode, so users would see it unmasked. Fix: set guardrail.streamMode: sync (or BLOCK those types instead of ANONYMIZE)`,
        });
      }
    }),
  smoke: z
    .strictObject({
      samples: z.number().int().min(1).max(500),
      concurrency: z.number().int().min(1).max(25),
      p95FirstTokenMs: z.number().positive(),
      p95TotalMs: z.number().positive(),
      cases: z.array(smokeCase).min(1),
    })
    .refine((s) => s.concurrency <= s.samples, {
      message: 'concurrency must not exceed samples',
      path: ['concurrency'],
    }),
  /** The eval gate (evals/): how it runs and, per suite, what the candidate must score. */
  evals: z.strictObject({
    concurrency: z.number().int().min(1).max(25),
    /** Time budget for retrying one turn on throttling, 5xx and network errors. */
    retrySeconds: z.number().min(0).max(600),
    /** Per turn. */
    timeoutSeconds: z.number().positive().max(900),
    /** Bedrock model that scores `llm-rubric` assertions; without it they are skipped (and reported so). The role running the gate then needs bedrock:InvokeModel on it. */
    judgeModel: z.string().min(3).optional(),
    /** Per suite (file name in evals/suites); `default` for the others. */
    thresholds: z
      .record(
        z.string(),
        z.strictObject({
          /** Absolute floor: the candidate's mean case score, 0–1. */
          minScore: z.number().min(0).max(1),
          /** How far the candidate's score may fall below live's, 0–1. */
          maxScoreDrop: z.number().min(0).max(1),
        }),
      )
      .refine((t) => 'default' in t, {
        message: 'needs a "default" entry (the threshold of suites not named)',
      }),
  }),
  alarms: z.strictObject({
    latencyP95Ms: z.number().positive(),
    systemErrorsPer5Min: z.number().int().min(1),
    throttlesPer5Min: z.number().int().min(1),
    inputTokensPerHour: z.number().int().positive(),
    outputTokensPerHour: z.number().int().positive(),
    timeToFirstTokenP95Ms: z.number().positive(),
    watchMinutes: z.number().min(0).max(120),
  }),
  budget: z.strictObject({
    dailyModelSpendUsd: z.number().positive(),
    monthlyBudgetUsd: z.number().positive(),
  }),
  preview: z
    .strictObject({
      ttlHours: z.number().positive(),
      reuses: z.string().min(1),
    })
    .optional(),
});

export type AppConfig = z.infer<typeof appSchema>;
export type EnvironmentFile = z.infer<typeof environmentSchema>;
export type SmokeCase = z.infer<typeof smokeCase>;
export type EvalSettings = EnvironmentFile['evals'];
export type ObservabilitySettings = EnvironmentFile['observability'];
