import { AwsError } from '../core/respond';
import type { ConverseRequest } from '../model/types';

const invalid = (message: string) => new AwsError('ValidationException', message, 400);

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
