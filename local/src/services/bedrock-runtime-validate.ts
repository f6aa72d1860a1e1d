import { z } from 'zod';
import { checkInput, list, oneOf, pattern, range, text, validationError } from '../core/constraints';
import { AwsError } from '../core/respond';
import type { ConverseRequest } from '../model/types';

const invalid = (message: string) => new AwsError('ValidationException', message, 400);

/**
 * Input constraints of Converse, ConverseStream and ApplyGuardrail, from AWS's model (aws/api-models-aws
 * bedrock-runtime/service/2023-09-30/bedrock-runtime-2023-09-30.json); a violation is Bedrock's
 * ValidationException with the "N validation error(s) detected" message.
 */
const CONVERSATIONAL_MODEL_ID =
  '^(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:(([0-9]{12}:custom-model/[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}/[a-z0-9]{12})|(:foundation-model/[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.:]?[a-z0-9-]{1,63}))|([0-9]{12}:imported-model/[a-z0-9]{12})|([0-9]{12}:provisioned-model/[a-z0-9]{12})|([0-9]{12}:(inference-profile|application-inference-profile)/[a-zA-Z0-9-:.]+)))|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.:]?[a-z0-9-]{1,63}))|(([0-9a-zA-Z][_-]?)+)|([a-zA-Z0-9-:.]+)|(^(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:prompt/[0-9a-zA-Z]{10}(?::[0-9]{1,5})?))$|(^arn:aws:sagemaker:[a-z0-9-]+:[0-9]{12}:endpoint/[a-zA-Z0-9-]+$)|(^arn:aws(-[^:]+)?:bedrock:([0-9a-z-]{1,20}):([0-9]{12}):(default-)?prompt-router/[a-zA-Z0-9-:.]+$)$';
const guardrailIdentifier = pattern(
  '^(([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))$',
).max(2048, 'Member must have length less than or equal to 2048');
const guardrailVersion = pattern('^(([1-9][0-9]{0,7})|(DRAFT))$');
const unit = (max = 1) =>
  z
    .number()
    .min(0, 'Member must have value greater than or equal to 0')
    .max(max, `Member must have value less than or equal to ${max}`);

export const converseInput = z
  .object({
    modelId: pattern(CONVERSATIONAL_MODEL_ID)
      .min(1, 'Member must have length greater than or equal to 1')
      .max(2048, 'Member must have length less than or equal to 2048'),
    messages: z
      .array(z.object({ role: oneOf(['user', 'assistant']), content: z.array(z.unknown()) }).passthrough())
      .optional(),
    inferenceConfig: z
      .object({
        maxTokens: range(1).optional(),
        temperature: unit().optional(),
        topP: unit().optional(),
        stopSequences: list(text(1), 0, 4).optional(),
      })
      .passthrough()
      .optional(),
    toolConfig: z
      .object({ tools: list(z.unknown(), 1) })
      .passthrough()
      .optional(),
    guardrailConfig: z
      .object({
        guardrailIdentifier,
        guardrailVersion,
        trace: oneOf(['enabled', 'disabled', 'enabled_full']).optional(),
        streamProcessingMode: oneOf(['sync', 'async']).optional(),
      })
      .passthrough()
      .optional(),
    additionalModelResponseFieldPaths: list(z.string(), 0, 10).optional(),
    performanceConfig: z
      .object({ latency: oneOf(['standard', 'optimized']).optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

export const applyGuardrailInput = z
  .object({
    guardrailIdentifier,
    guardrailVersion,
    source: oneOf(['INPUT', 'OUTPUT']),
    content: z.array(
      z.object({ text: z.object({ text: z.string().optional() }).passthrough().optional() }).passthrough(),
    ),
  })
  .passthrough();

/** The input if it satisfies the operation's model; else Bedrock's ValidationException. */
export const validateBedrockInput = <T extends z.ZodType>(schema: T, input: unknown): z.infer<T> =>
  checkInput(schema, input, validationError('ValidationException'));

/** Foundation model ids (`anthropic.claude-…-v1:0`), cross-region profiles (`us.amazon.nova-lite-v1:0`) and ARNs. */
const MODEL_ID =
  /^(?:arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]+:\d{0,12}:(?:foundation-model|inference-profile|application-inference-profile|provisioned-model|custom-model-deployment|prompt)\/[\w.:/-]+|(?:[a-z]{2,4}\.)?[a-z0-9-]+\.[a-z0-9.-]+(?::\d+)?(?::[\w]+)?)$/;

export function parseConverseBody(body: Buffer): ConverseRequest {
  if (!body.length) return {};
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as ConverseRequest;
  } catch {
    // fall through to the service's wording
  }
  throw new AwsError('SerializationException', 'The request body is not a JSON object.', 400);
}

/** The checks Bedrock makes before a model sees the request, with the service's messages. */
export function validateConverse(modelId: string, req: ConverseRequest): void {
  validateBedrockInput(converseInput, { ...req, modelId });
  if (!MODEL_ID.test(modelId)) throw invalid('The provided model identifier is invalid.');
  const messages = req.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw invalid(
      'A conversation must start with a user message. Try again with a conversation that starts with a user message.',
    );
  }
  const max = req.inferenceConfig?.maxTokens;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw invalid(
      `1 validation error detected: Value '${max}' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1`,
    );
  }
  if (req.toolConfig && !req.toolConfig.tools?.length) {
    throw invalid(
      "1 validation error detected: Value '[]' at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  }
  const usesTools = messages.some((m) => m.content?.some?.((b) => b.toolUse || b.toolResult));
  if (usesTools && !req.toolConfig) {
    throw invalid('The toolConfig field must be defined when using toolUse and toolResult content blocks.');
  }

  messages.forEach((m, i) => {
    if (m.role !== 'user' && m.role !== 'assistant') {
      throw invalid(
        `1 validation error detected: Value '${m.role}' at 'messages.${i + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]`,
      );
    }
    if (i === 0 && m.role !== 'user') {
      throw invalid(
        'A conversation must start with a user message. Try again with a conversation that starts with a user message.',
      );
    }
    if (i > 0 && messages[i - 1].role === m.role) {
      throw invalid(
        'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.',
      );
    }
    const content = (Array.isArray(m.content) ? m.content : []).filter((b) => !b.cachePoint);
    if (!content.length) {
      throw invalid(
        `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`,
      );
    }
    content.forEach((b, j) => {
      if (typeof b.text === 'string' && !b.text.trim()) {
        throw invalid(
          `The text field in the ContentBlock object at messages.${i}.content.${j} is blank. Add text to the text field, and try again.`,
        );
      }
    });

    // Every toolUse of an assistant turn needs its toolResult in the next user turn, and only those.
    const previous = i > 0 ? messages[i - 1] : undefined;
    const asked = new Set(
      previous?.role === 'assistant'
        ? previous.content.filter((b) => b.toolUse).map((b) => b.toolUse!.toolUseId)
        : [],
    );
    const answered = content.filter((b) => b.toolResult).map((b) => b.toolResult!.toolUseId);
    if (m.role === 'user' && answered.some((id) => !asked.has(id))) {
      throw invalid(
        `The number of toolResult blocks at messages.${i}.content exceeds the number of toolUse blocks of previous turn.`,
      );
    }
    const missing = [...asked].filter((id) => !answered.includes(id));
    if (m.role === 'user' && missing.length) {
      throw invalid(
        `Expected toolResult blocks at messages.${i}.content for the following Ids: ${missing.join(', ')}`,
      );
    }
  });

  const last = messages.at(-1)!;
  if (last.role !== 'user') {
    throw invalid(
      'The final message must be a user message: the local twin does not support assistant prefill.',
    );
  }
  const dangling = last.content.filter((b) => b.toolUse);
  if (dangling.length) {
    throw invalid(
      `Expected toolResult blocks at messages.${messages.length}.content for the following Ids: ${dangling.map((b) => b.toolUse!.toolUseId).join(', ')}`,
    );
  }
}
