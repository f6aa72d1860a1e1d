import { BedrockRuntimeClient, ConverseStreamCommand, type Tool } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/src/twin';
import { INSTRUCTIONS } from '../src/instructions';
import { buildRequest, StaticPrefix, userMessage, type PromptParts } from '../src/prompt';
import { toolSpecs } from '../src/tools';
import { ask, startAgent } from './helpers';

class Stopped extends Error {}

/** A client that stops each call where it would be signed, keeping what the SDK serialised and sent on. */
function capturingClient() {
  const client = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  const seen: { input?: unknown; body?: Buffer; contentLength?: string } = {};
  client.middlewareStack.add(
    (next) => (args) => {
      seen.input = structuredClone(args.input);
      return next(args);
    },
    { step: 'serialize', priority: 'high', name: 'captureInput' },
  );
  client.middlewareStack.add(
    () => (args) => {
      const request = args.request as { body: Uint8Array | string; headers: Record<string, string> };
      const body = request.body;
      seen.body =
        typeof body === 'string'
          ? Buffer.from(body)
          : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      seen.contentLength = request.headers['content-length'];
      throw new Stopped();
    },
    { step: 'finalizeRequest', priority: 'high', name: 'stopBeforeSigning' },
  );
  const send = async (parts: PromptParts) => {
    await client.send(new ConverseStreamCommand(buildRequest(parts))).catch((e: Error) => {
      if (!(e instanceof Stopped)) throw e;
    });
    return { ...seen };
  };
  return { client, send };
}

const clientTool: Tool = {
  toolSpec: {
    name: 'show_chart',
    description: 'Shows a chart in the page ("quoted", üñïçødé)',
    inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } },
  },
};

const parts = (prefix?: StaticPrefix): PromptParts => ({
  modelId: 'us.anthropic.claude-sonnet-4-6',
  instructions: INSTRUCTIONS,
  tools: toolSpecs(),
  prefix,
  clientTools: [clientTool],
  history: [
    { role: 'user', content: [{ text: 'calculate 6*7' }] },
    { role: 'assistant', content: [{ text: '6*7 = 42' }] },
  ],
  current: [userMessage('And "now" 7*8?\nThanks ✓', '<memory>\nfacts\n</memory>')],
  maxTokens: 1000,
  guardrail: { id: 'g1', version: '1', streamMode: 'async' },
});

describe('StaticPrefix (instructions and tool specs serialised once per process)', () => {
  it('sends a body byte-identical to the SDK serialising everything itself, with its length', async () => {
    const perCall = capturingClient();
    const once = capturingClient();
    const prefix = new StaticPrefix(INSTRUCTIONS, toolSpecs());
    prefix.install(once.client);

    const expected = await perCall.send(parts());
    const actual = await once.send(parts(prefix));
    expect(actual.body!.toString()).toBe(expected.body!.toString());
    expect(actual.contentLength).toBe(String(expected.body!.length));
    // Again: the same bytes on every call (the prefix is not consumed).
    expect((await once.send(parts(prefix))).body!.equals(expected.body!)).toBe(true);
  });

  it("keeps the instructions and tool specs out of the SDK's serialiser on every call", async () => {
    const once = capturingClient();
    const prefix = new StaticPrefix(INSTRUCTIONS, toolSpecs());
    prefix.install(once.client);
    const { input, body } = await once.send(parts(prefix));
    const serialised = JSON.stringify(input);
    expect(serialised).not.toContain(INSTRUCTIONS.slice(0, 200));
    expect(serialised).not.toContain('"faq_lookup"');
    expect(serialised.length).toBeLessThan(2_000);
    // …and yet they are in what is sent.
    const sent = JSON.parse(body!.toString());
    expect(sent.system[0].text).toBe(INSTRUCTIONS);
    expect(sent.toolConfig.tools.map((t: Tool) => t.toolSpec?.name ?? Object.keys(t)[0])).toEqual([
      'current_time',
      'calculator',
      'faq_lookup',
      'cachePoint',
      'show_chart',
    ]);
  });

  it('leaves a request built without it alone, and never sends a placeholder it cannot place', async () => {
    const once = capturingClient();
    const prefix = new StaticPrefix(INSTRUCTIONS, toolSpecs());
    prefix.install(once.client);
    const plain = await once.send(parts());
    expect(JSON.parse(plain.body!.toString()).system[0].text).toBe(INSTRUCTIONS);

    // A client without the middleware would send the placeholder: the one that has it refuses a body
    // where the placeholder is not where the SDK writes it (here: the tools placeholder removed).
    const broken = buildRequest(parts(prefix));
    broken.toolConfig = { tools: [clientTool] };
    await expect(once.client.send(new ConverseStreamCommand(broken))).rejects.toThrow(
      'StaticPrefix: placeholder not found in the serialised request',
    );
  });
});

describe('the agent with its prefix serialised once', () => {
  let twin: Twin;
  beforeAll(async () => {
    twin = await startTwin({ bedrock: { firstTokenDelayMs: 0, interTokenDelayMs: 0 } });
  });
  afterAll(async () => {
    await twin?.close();
  });

  it('sends the model its instructions, tools and cache points on every turn', async () => {
    const agent = await startAgent(twin);
    try {
      for (const question of ['calculate 2+3', 'What time is it?']) {
        await ask(agent.url, question);
        const request = twin.bedrock.calls().findLast((c) => c.operation === 'ConverseStream')!.request;
        expect(request.system).toEqual([{ text: INSTRUCTIONS }, { cachePoint: { type: 'default' } }]);
        expect(request.toolConfig!.tools).toEqual([...toolSpecs(), { cachePoint: { type: 'default' } }]);
      }
    } finally {
      await agent.close();
    }
  });
});
