/** What a guardrail detects and how it answers: prompt attacks and PII, with Bedrock's assessment shapes. */

export type PiiType =
  'EMAIL' | 'PHONE' | 'US_SOCIAL_SECURITY_NUMBER' | 'CREDIT_DEBIT_CARD_NUMBER' | 'AWS_ACCESS_KEY';
export type PiiAction = 'ANONYMIZE' | 'BLOCK';

export interface GuardrailConfig {
  id: string;
  /** `DRAFT` or a positive integer as a string. */
  version: string;
  blockedInputMessage?: string;
  blockedOutputMessage?: string;
  /** Block prompt attacks on input (default true). */
  promptAttack?: boolean;
  pii?: Partial<Record<PiiType, PiiAction>>;
}

export interface Assessment {
  contentPolicy?: {
    filters: {
      type: string;
      confidence: string;
      filterStrength: string;
      action: string;
      detected: boolean;
    }[];
  };
  sensitiveInformationPolicy?: {
    piiEntities: {
      match: string;
      type: PiiType;
      action: 'ANONYMIZED' | 'BLOCKED' | 'NONE';
      detected: boolean;
    }[];
    regexes: never[];
  };
  invocationMetrics: {
    guardrailProcessingLatency: number;
    usage: ReturnType<typeof usageFor>;
    guardrailCoverage: { textCharacters: { guarded: number; total: number } };
  };
}

export interface Evaluation {
  action: 'GUARDRAIL_INTERVENED' | 'NONE';
  blocked: boolean;
  /** The text to show: the blocked message, the masked text, or the text unchanged. */
  output: string;
  assessment: Assessment;
}

export const DEFAULT_BLOCKED_MESSAGE = 'Sorry, the model cannot answer this question.';

const PROMPT_ATTACKS = [
  /\bignore (?:all )?(?:the )?(?:previous|prior|above|earlier) (?:instructions|prompts|rules)\b/i,
  /\bdisregard (?:all )?(?:the )?(?:previous|prior|above|your) (?:instructions|prompts|rules)\b/i,
  /\b(?:reveal|show|print|repeat|tell me) (?:me )?(?:your|the) (?:system prompt|hidden instructions|initial instructions)\b/i,
  /\byou are now (?:DAN|in developer mode|unrestricted)\b/i,
  /\bdo anything now\b/i,
  /\bjailbreak\b/i,
];

/** Detection order matters: longer, more specific patterns claim their text before PHONE can. */
const PII_PATTERNS: { type: PiiType; pattern: RegExp; accept?: (m: string) => boolean }[] = [
  { type: 'AWS_ACCESS_KEY', pattern: /\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16}\b/g },
  { type: 'EMAIL', pattern: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g },
  {
    type: 'CREDIT_DEBIT_CARD_NUMBER',
    pattern: /\b\d(?:[ -]?\d){12,18}\b/g,
    accept: (m) => luhn(m.replace(/\D/g, '')),
  },
  { type: 'US_SOCIAL_SECURITY_NUMBER', pattern: /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b/g },
  { type: 'PHONE', pattern: /(?:\+?1[ .-]?)?(?:\(\d{3}\)|\b\d{3})[ .-]?\d{3}[ .-]?\d{4}\b/g },
];

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

function usageFor(g: GuardrailConfig, characters: number) {
  const units = Math.max(1, Math.ceil(characters / 1000));
  return {
    topicPolicyUnits: 0,
    contentPolicyUnits: units,
    wordPolicyUnits: 0,
    sensitiveInformationPolicyUnits: g.pii && Object.keys(g.pii).length ? units : 0,
    sensitiveInformationPolicyFreeUnits: 0,
    contextualGroundingPolicyUnits: 0,
  };
}

/**
 * Evaluate one text as Bedrock Guardrails would for `source`. Prompt attacks are an input-only filter.
 * `mask: false` is ConverseStream's async mode, where Bedrock does not mask: ANONYMIZE entities are
 * reported as detected with action NONE and the text stays as it was; blocking still applies.
 */
export function evaluate(
  g: GuardrailConfig,
  source: 'INPUT' | 'OUTPUT',
  text: string,
  { mask = true }: { mask?: boolean } = {},
): Evaluation {
  const started = Date.now();
  const attacked = source === 'INPUT' && g.promptAttack !== false && PROMPT_ATTACKS.some((p) => p.test(text));

  const found: { start: number; end: number; type: PiiType; action: PiiAction; match: string }[] = [];
  for (const { type, pattern, accept } of PII_PATTERNS) {
    const action = g.pii?.[type];
    if (!action) continue;
    for (const m of text.matchAll(pattern)) {
      const start = m.index,
        end = start + m[0].length;
      if (accept && !accept(m[0])) continue;
      if (found.some((f) => start < f.end && end > f.start)) continue;
      found.push({ start, end, type, action, match: m[0] });
    }
  }
  found.sort((a, b) => a.start - b.start);

  const piiBlocked = found.some((f) => f.action === 'BLOCK');
  const blocked = attacked || piiBlocked;
  let masked = text;
  if (mask)
    for (const f of [...found].reverse())
      masked = masked.slice(0, f.start) + `{${f.type}}` + masked.slice(f.end);
  const message = source === 'INPUT' ? g.blockedInputMessage : g.blockedOutputMessage;

  const assessment: Assessment = {
    invocationMetrics: {
      guardrailProcessingLatency: Date.now() - started,
      usage: usageFor(g, text.length),
      guardrailCoverage: { textCharacters: { guarded: text.length, total: text.length } },
    },
  };
  if (attacked) {
    assessment.contentPolicy = {
      filters: [
        {
          type: 'PROMPT_ATTACK',
          confidence: 'HIGH',
          filterStrength: 'HIGH',
          action: 'BLOCKED',
          detected: true,
        },
      ],
    };
  }
  if (found.length) {
    assessment.sensitiveInformationPolicy = {
      piiEntities: found.map((f) => ({
        match: f.match,
        type: f.type,
        action: f.action === 'BLOCK' ? 'BLOCKED' : mask ? 'ANONYMIZED' : 'NONE',
        detected: true,
      })),
      regexes: [],
    };
  }
  return {
    action: blocked || (mask && found.length) ? 'GUARDRAIL_INTERVENED' : 'NONE',
    blocked,
    output: blocked ? (message ?? DEFAULT_BLOCKED_MESSAGE) : masked,
    assessment,
  };
}
