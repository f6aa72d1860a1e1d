/**
 * The optional judge for `llm-rubric` assertions: a Bedrock model (evals.judgeModel in the
 * environment file) reads the conversation and the rubric and answers a score in 0–1. Without a
 * judge model the rubrics are skipped, and the report says so.
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { z } from 'zod';
import type { Judge, Transcript } from './score';

const INSTRUCTIONS =
  'You grade a conversation between a user and an AI agent against a rubric. Read the rubric, then the ' +
  'conversation (the tools the agent called are listed). Answer with one JSON object and nothing else: ' +
  '{"score": <a number from 0 to 1: how fully the agent meets the rubric>, "reason": "<one sentence>"}.';

const verdict = z.object({ score: z.number().min(0).max(1), reason: z.string() });

/** The judge's reply as a verdict; anything else is an error that quotes the reply. */
export function parseVerdict(reply: string): { score: number; reason: string } {
  const json = /\{[\s\S]*\}/.exec(reply)?.[0];
  try {
    return verdict.parse(JSON.parse(json ?? ''));
  } catch {
    throw new Error(
      `the judge did not answer {"score": 0..1, "reason": "…"}: ${JSON.stringify(reply.slice(0, 200))}`,
    );
  }
}

export function conversationText(t: Transcript): string {
  return t.turns
    .map(
      (x) =>
        `User (session ${x.session}): ${x.prompt}\n` +
        (x.toolCalls.length
          ? `Agent called: ${x.toolCalls.map((c) => `${c.name} ${JSON.stringify(c.args)}`).join('; ')}\n`
          : '') +
        `Agent: ${x.answer}`,
    )
    .join('\n\n');
}

/** A judge calling `modelId` through Bedrock Converse with the runner's AWS credentials. */
export function bedrockJudge(modelId: string, client = new BedrockRuntimeClient({})): Judge {
  return async (rubric, transcript) => {
    const out = await client.send(
      new ConverseCommand({
        modelId,
        system: [{ text: INSTRUCTIONS }],
        messages: [
          {
            role: 'user',
            content: [{ text: `Rubric:\n${rubric}\n\nConversation:\n${conversationText(transcript)}` }],
          },
        ],
        inferenceConfig: { maxTokens: 300, temperature: 0 },
      }),
    );
    const reply = (out.output?.message?.content ?? []).map((b) => b.text ?? '').join('');
    return parseVerdict(reply);
  };
}
