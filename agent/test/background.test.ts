import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { Background } from '../src/background';
import { Session, turnsOf } from '../src/session';
import { createLogger } from '../src/telemetry/logger';
import { Metrics } from '../src/telemetry/metrics';

// A race the twin cannot time: a summary still being written when the client sends its conversation.
describe('Background.summarise', () => {
  it('drops a summary that lands after a client replaced the conversation it summarises', async () => {
    const runtime = new BedrockRuntimeClient({ region: 'us-east-1' });
    let answer!: () => void;
    mockClient(runtime)
      .on(ConverseCommand)
      .callsFake(async () => {
        await new Promise<void>((r) => (answer = r));
        return { output: { message: { role: 'assistant', content: [{ text: 'They talked.' }] } } };
      });
    const background = new Background(runtime, 'model', new Metrics('ns', 'test', () => undefined));
    const text = (role: 'user' | 'assistant', t: string) => ({ role, content: [{ text: t }] });
    const session = new Session('s', 'a');
    session.turns = ['1', '2', '3'].map((n) => [text('user', `q${n}`), text('assistant', `a${n}`)]);
    const logs: Record<string, unknown>[] = [];
    const log = createLogger('info', 'test', { write: (l: string) => void logs.push(JSON.parse(l)) });

    background.summarise(session, log);
    await expect.poll(() => answer).toBeTypeOf('function');
    const clients = turnsOf([text('user', 'edited q1'), text('assistant', 'a1')]);
    session.turns = clients;
    answer();
    await background.idle();

    expect(session.turns).toBe(clients);
    expect(session.turns).toHaveLength(1);
    expect(session.summary).toBeUndefined();
    expect(logs.map((l) => l.msg)).toContain('session summary dropped: the client sent its conversation');
  });
});
