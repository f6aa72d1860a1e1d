/**
 * The baseline the benchmark compares our agent with: the official TypeScript SDK's runtime server
 * (`BedrockAgentCoreApp` from npm `bedrock-agentcore`, Fastify + @fastify/sse) serving the smallest
 * equivalent streaming handler — the last user message goes to Bedrock ConverseStream and the text
 * streams back as AG-UI events. Configured like our agent: PORT, HOST, MODEL_ID, AWS_* variables.
 */
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { EventType, type BaseEvent, type RunAgentInput } from '@ag-ui/core';
import { BedrockAgentCoreApp } from 'bedrock-agentcore/runtime';
import { randomUUID } from 'node:crypto';

const modelId = process.env.MODEL_ID;
if (!modelId) throw new Error('MODEL_ID is required: the Bedrock model the handler streams from');
const bedrock = new BedrockRuntimeClient({});

async function* answer(input: RunAgentInput): AsyncGenerator<BaseEvent & Record<string, unknown>> {
  const { threadId, runId } = input;
  yield { type: EventType.RUN_STARTED, threadId, runId };
  const last = [...input.messages].reverse().find((m) => m.role === 'user');
  const prompt = typeof last?.content === 'string' ? last.content : '';
  const out = await bedrock.send(
    new ConverseStreamCommand({ modelId, messages: [{ role: 'user', content: [{ text: prompt }] }] }),
  );
  const messageId = randomUUID();
  yield { type: EventType.TEXT_MESSAGE_START, messageId, role: 'assistant' };
  for await (const event of out.stream ?? []) {
    const delta = event.contentBlockDelta?.delta?.text;
    if (delta) yield { type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta };
  }
  yield { type: EventType.TEXT_MESSAGE_END, messageId };
  yield { type: EventType.RUN_FINISHED, threadId, runId };
}

const app = new BedrockAgentCoreApp({
  invocationHandler: { process: (request) => answer(request as RunAgentInput) },
  config: { logging: { enabled: false } },
});
app.run({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' });
