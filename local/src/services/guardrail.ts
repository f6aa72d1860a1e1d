import { jsonBody } from '../core/json-body';
import { AwsError, sendJson } from '../core/respond';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import type { ConverseRequest, Message, ModelTurn } from '../model/types';
import type { TwinContext } from '../twin';
import { DEFAULT_BLOCKED_MESSAGE, evaluate, type Assessment, type GuardrailConfig } from './guardrail-policy';
import { applyGuardrailInput, validateBedrockInput } from './bedrock-runtime-validate';

export type { GuardrailConfig, PiiAction, PiiType } from './guardrail-policy';

export interface GuardrailOptions {
  /** Extra guardrails present at start (besides `localguardrail` version 1; its id matches the model's GuardrailIdentifier pattern, lowercase letters and digits). */
  guardrails?: GuardrailConfig[];
}

/** The guardrail every twin has: prompt attacks blocked, contact details masked, identifiers and keys blocked. */
export const DEFAULT_GUARDRAIL: GuardrailConfig = {
  id: 'localguardrail',
  version: '1',
  blockedInputMessage: DEFAULT_BLOCKED_MESSAGE,
  blockedOutputMessage: DEFAULT_BLOCKED_MESSAGE,
  promptAttack: true,
  pii: {
    EMAIL: 'ANONYMIZE',
    PHONE: 'ANONYMIZE',
    US_SOCIAL_SECURITY_NUMBER: 'BLOCK',
    CREDIT_DEBIT_CARD_NUMBER: 'BLOCK',
    AWS_ACCESS_KEY: 'BLOCK',
  },
};

/** ConverseStream's `streamProcessingMode`; Converse (not streamed) always scans before answering. */
export type StreamMode = 'sync' | 'async';

export interface GuardedTurn {
  turn: ModelTurn;
  /** The request the model saw (input PII masked in sync mode). */
  input: ConverseRequest;
  stopReason?: 'guardrail_intervened';
  /**
   * Async mode only: the background scan of the text delivered so far (it updates the trace);
   * true when a blocking policy hit, so no later chunk may be sent.
   */
  scanOutput?: (delivered: string) => boolean;
  trace?: {
    inputAssessment?: Record<string, Assessment>;
    outputAssessments?: Record<string, Assessment[]>;
    modelOutput?: string[];
    actionReason?: string;
  };
}

const VERSION = /^(?:[1-9]\d{0,7}|DRAFT)$/;
const notFound = () =>
  new AwsError(
    'ResourceNotFoundException',
    'The guardrail identifier or version provided in the request does not exist.',
    404,
  );
const invalid = (message: string) => new AwsError('ValidationException', message, 400);

/** `arn:aws:bedrock:<region>:<account>:guardrail/<id>` or the bare id. */
const bareId = (identifier: string) => identifier.replace(/^arn:aws[\w-]*:bedrock:[^:]*:\d*:guardrail\//, '');

/** Bedrock Guardrails: ApplyGuardrail on the Bedrock Runtime endpoint, and the Converse integration. */
export function register(router: Router, ctx: TwinContext) {
  const guardrails = new Map<string, GuardrailConfig>();
  const key = (id: string, version: string) => `${id}@${version}`;
  const put = (g: GuardrailConfig) => {
    if (!VERSION.test(g.version))
      throw new Error(`Guardrail version '${g.version}' must be DRAFT or a positive integer.`);
    guardrails.set(key(g.id, g.version), { ...g });
  };
  for (const g of [
    DEFAULT_GUARDRAIL,
    { ...DEFAULT_GUARDRAIL, version: 'DRAFT' },
    ...(ctx.options.guardrail?.guardrails ?? []),
  ])
    put(g);

  function find(identifier: string | undefined, version: string | undefined): GuardrailConfig {
    if (!identifier)
      throw invalid(
        "1 validation error detected: Value null at 'guardrailIdentifier' failed to satisfy constraint: Member must not be null",
      );
    if (!version || !VERSION.test(version)) {
      throw invalid(
        `1 validation error detected: Value '${version}' at 'guardrailVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))`,
      );
    }
    const g = guardrails.get(key(bareId(identifier), version));
    if (!g) throw notFound();
    return g;
  }

  async function apply(req: TwinRequest, res: TwinResponse) {
    const body = validateBedrockInput(applyGuardrailInput, {
      ...jsonBody<object>(req),
      guardrailIdentifier: req.params.guardrailIdentifier,
      guardrailVersion: req.params.guardrailVersion,
    });
    const g = find(body.guardrailIdentifier, body.guardrailVersion);
    const texts = (body.content ?? [])
      .map((c) => c.text?.text)
      .filter((t): t is string => typeof t === 'string');
    if (!texts.length) {
      throw invalid(
        "1 validation error detected: Value at 'content' failed to satisfy constraint: Member must contain at least one text block",
      );
    }
    const results = texts.map((t) => evaluate(g, body.source as 'INPUT' | 'OUTPUT', t));
    const blocked = results.find((r) => r.blocked);
    const intervened = results.some((r) => r.action === 'GUARDRAIL_INTERVENED');
    const assessments = results.map((r) => r.assessment);
    sendJson(res, 200, {
      usage: assessments[0].invocationMetrics.usage,
      action: intervened ? 'GUARDRAIL_INTERVENED' : 'NONE',
      ...(intervened ? { actionReason: blocked ? 'Guardrail blocked.' : 'Guardrail masked.' } : {}),
      outputs: blocked
        ? [{ text: blocked.output }]
        : intervened
          ? results.map((r) => ({ text: r.output }))
          : [],
      assessments,
      guardrailCoverage: { textCharacters: { guarded: texts.join('').length, total: texts.join('').length } },
    });
  }

  router.route('POST', '/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply', apply);

  return {
    /** Add or replace a guardrail version. */
    put,
    get: (id: string, version: string) => guardrails.get(key(id, version)),
    /** Evaluate text as ApplyGuardrail would (for tests and tools). */
    evaluate: (id: string, version: string, source: 'INPUT' | 'OUTPUT', text: string) =>
      evaluate(find(id, version), source, text),
    /**
     * The Converse integration, or undefined without a guardrailConfig. It guards the current user turn
     * (its guardContent blocks if it has any, else its text) before the model runs. In sync mode (and
     * for Converse) it masks input PII before the model sees it and masks or blocks the model's text
     * before any of it is streamed. In ConverseStream's async mode nothing is masked (Bedrock: "doesn't
     * support the masking of sensitive information with asynchronous mode"); the output is scanned as
     * it is delivered and a blocking policy stops the chunks after the one that tripped it.
     */
    forConverse(config: ConverseRequest['guardrailConfig'], operation: 'Converse' | 'ConverseStream') {
      if (!config) return undefined;
      let g: GuardrailConfig;
      try {
        g = find(config.guardrailIdentifier, config.guardrailVersion);
      } catch (e) {
        // Converse reports a missing guardrail as a validation error of the request.
        if (e instanceof AwsError && e.code === 'ResourceNotFoundException') throw invalid(e.message);
        throw e;
      }
      const traced = config.trace === 'enabled' || config.trace === 'enabled_full';
      // GuardrailStreamConfiguration defaults to sync; Converse has no stream mode.
      const mode: StreamMode =
        operation === 'ConverseStream' && config.streamProcessingMode === 'async' ? 'async' : 'sync';
      const mask = mode === 'sync';
      return {
        mode,
        run(req: ConverseRequest, model: (req: ConverseRequest) => ModelTurn): GuardedTurn {
          const { input, inputEval } = guardInput(g, req, mask);
          const trace: GuardedTurn['trace'] = {};
          if (inputEval) trace.inputAssessment = { [g.id]: inputEval.assessment };
          if (inputEval?.blocked) {
            return {
              turn: { kind: 'text', text: inputEval.output, stopReason: 'end_turn' },
              input,
              stopReason: 'guardrail_intervened',
              ...(traced ? { trace: { ...trace, actionReason: 'Guardrail blocked.' } } : {}),
            };
          }
          const turn = model(input);
          if (turn.kind !== 'text') return { turn, input, ...(traced ? { trace } : {}) };
          if (mode === 'async') {
            const scanOutput = (delivered: string) => {
              const out = evaluate(g, 'OUTPUT', delivered, { mask: false });
              trace.outputAssessments = { [g.id]: [out.assessment] };
              if (config.trace === 'enabled_full') trace.modelOutput = [delivered];
              return out.blocked;
            };
            return { turn, input, scanOutput, ...(traced ? { trace } : {}) };
          }
          const out = evaluate(g, 'OUTPUT', turn.text);
          trace.outputAssessments = { [g.id]: [out.assessment] };
          if (config.trace === 'enabled_full') trace.modelOutput = [turn.text];
          return {
            turn: { ...turn, text: out.output },
            input,
            ...(out.blocked ? { stopReason: 'guardrail_intervened' as const } : {}),
            ...(traced ? { trace } : {}),
          };
        },
      };
    },
  };
}

export type GuardrailsApi = ReturnType<typeof register>;

/** Guard the last user message; return the request with its guarded text masked (when `mask`). */
function guardInput(g: GuardrailConfig, req: ConverseRequest, mask: boolean) {
  const messages = req.messages ?? [];
  const last = messages.at(-1) as Message;
  const guarded = last.content.some((b) => b.guardContent) ? 'guardContent' : 'text';
  const texts = last.content.map((b) => (guarded === 'text' ? b.text : b.guardContent?.text?.text));
  const joined = texts.filter((t): t is string => typeof t === 'string').join('\n');
  if (!joined) return { input: req, inputEval: undefined };
  const inputEval = evaluate(g, 'INPUT', joined, { mask });
  if (!mask) return { input: req, inputEval };
  const content = last.content.map((b, i) => {
    const t = texts[i];
    if (typeof t !== 'string') return b;
    const masked = evaluate(g, 'INPUT', t).output;
    if (masked === t) return b;
    return guarded === 'text' ? { ...b, text: masked } : { ...b, guardContent: { text: { text: masked } } };
  });
  return { input: { ...req, messages: [...messages.slice(0, -1), { ...last, content }] }, inputEval };
}
