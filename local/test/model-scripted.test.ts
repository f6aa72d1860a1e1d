import { describe, expect, it } from 'vitest';
import { scriptedTurn } from '../src/model/scripted';
import { calculatorTrigger, explicitCallTrigger, faqTrigger, timeTrigger } from '../src/model/triggers';
import type { ConverseRequest } from '../src/model/types';

const ask = (text: string, tools: string[] = []): ConverseRequest => ({
  messages: [{ role: 'user', content: [{ text }] }],
  ...(tools.length ? { toolConfig: { tools: tools.map((name) => ({ toolSpec: { name } })) } } : {}),
});

describe('scripted model triggers', () => {
  it.each([
    ['What time is it in Tokyo?', 'Asia/Tokyo'],
    ['what time is it in new york', 'America/New_York'],
    ['Current time in Europe/Lisbon?', 'Europe/Lisbon'],
    ['What time is it in Atlantis?', 'UTC'],
    ['what is the time now', 'UTC'],
  ])('current_time: %j → %s', (prompt, timeZone) => {
    expect(timeTrigger(prompt)).toEqual({ timeZone });
  });

  it('calculator only for arithmetic', () => {
    expect(calculatorTrigger('calculate (2 + 3) * 4')).toEqual({ expression: '(2 + 3) * 4' });
    expect(calculatorTrigger('What is 10 / 4?')).toEqual({ expression: '10 / 4' });
    expect(calculatorTrigger('what is the capital of France?')).toBeUndefined();
    expect(calculatorTrigger('what is 42?')).toBeUndefined();
  });

  it('any declared tool by name: "call <tool> with <JSON object>"', () => {
    expect(explicitCallTrigger('call show_chart with {"city":"Tokyo"}')).toEqual({
      name: 'show_chart',
      input: { city: 'Tokyo' },
    });
    expect(explicitCallTrigger('Call confirm')).toEqual({ name: 'confirm', input: {} });
    expect(explicitCallTrigger('call me Ada')).toBeUndefined();
    expect(explicitCallTrigger('call show_chart with [1]')).toBeUndefined();
    // Only a tool the request declares is called; otherwise the prompt is just text.
    expect(scriptedTurn(ask('call show_chart with {"city":"Oslo"}', ['show_chart']))).toMatchObject({
      kind: 'toolUse',
      name: 'show_chart',
      input: { city: 'Oslo' },
    });
    expect(scriptedTurn(ask('call show_chart', []))).toMatchObject({ kind: 'text' });
  });

  it('faq_lookup on "faq" and "how do I"', () => {
    expect(faqTrigger('FAQ: refunds')).toEqual({ query: 'refunds' });
    expect(faqTrigger('How can I deploy to prod?')).toEqual({ query: 'How can I deploy to prod?' });
    expect(faqTrigger('Tell me a joke')).toBeUndefined();
  });
});

describe('scriptedTurn', () => {
  it('is deterministic, tool ids included', () => {
    const a = scriptedTurn(ask('calculate 1+1', ['calculator']));
    expect(a).toEqual(scriptedTurn(ask('calculate 1+1', ['calculator'])));
    expect(a).toMatchObject({ kind: 'toolUse', name: 'calculator', input: { expression: '1+1' } });
  });

  it('answers remembered facts from earlier turns, latest first', () => {
    const turn = scriptedTurn({
      messages: [
        { role: 'user', content: [{ text: 'I live in Paris' }] },
        { role: 'assistant', content: [{ text: 'ok' }] },
        { role: 'user', content: [{ text: 'Actually I live in Rome' }] },
        { role: 'assistant', content: [{ text: 'ok' }] },
        { role: 'user', content: [{ text: 'Where do I live?' }] },
      ],
    });
    expect(turn).toEqual({ kind: 'text', text: 'You live in Rome.', stopReason: 'end_turn' });
    expect(scriptedTurn(ask('what is my name?'))).toMatchObject({ text: "I don't know your name yet." });
  });

  it('reports a failed tool', () => {
    const turn = scriptedTurn({
      toolConfig: { tools: [{ toolSpec: { name: 'calculator' } }] },
      messages: [
        { role: 'user', content: [{ text: 'calculate 1/0' }] },
        { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'calculator', input: {} } }] },
        {
          role: 'user',
          content: [
            { toolResult: { toolUseId: 't1', status: 'error', content: [{ text: 'division by zero' }] } },
          ],
        },
      ],
    });
    expect(turn).toMatchObject({ kind: 'text', text: 'The calculator tool failed: division by zero.' });
  });

  describe('follows the prompt and the tool specs it is given', () => {
    const timeSpec = (properties: Record<string, unknown>, required: string[]) => ({
      toolSpec: {
        name: 'current_time',
        description: 'The current time in an IANA time zone.',
        inputSchema: { json: { type: 'object', properties, required } },
      },
    });
    const request = (system: string, spec = timeSpec({ timeZone: { type: 'string' } }, ['timeZone'])) => ({
      system: [{ text: system }],
      toolConfig: { tools: [spec] },
      messages: [{ role: 'user', content: [{ text: 'What time is it in Tokyo?' }] }],
    });

    it('calls a tool its instructions name, with input its spec declares', () => {
      expect(scriptedTurn(request('Call current_time for any question about the time.'))).toMatchObject({
        kind: 'toolUse',
        name: 'current_time',
        input: { timeZone: 'Asia/Tokyo' },
      });
    });

    it('does not call a tool its instructions never mention (a prompt change drops the tool)', () => {
      expect(scriptedTurn(request('Answer questions about the time from what you know.'))).toMatchObject({
        kind: 'text',
      });
    });

    it('does not call a tool whose input schema lacks the argument it would pass (a broken tool spec)', () => {
      const renamed = timeSpec({ zone: { type: 'string' } }, ['zone']);
      expect(scriptedTurn(request('Call current_time for the time.', renamed))).toMatchObject({
        kind: 'text',
      });
      const extraRequired = timeSpec({ timeZone: { type: 'string' }, format: { type: 'string' } }, [
        'timeZone',
        'format',
      ]);
      expect(scriptedTurn(request('Call current_time for the time.', extraRequired))).toMatchObject({
        kind: 'text',
      });
    });
  });
});
