import { describe, expect, it } from 'vitest';
import { runTool, TOOLS, toolSpecs } from '../src/tools';
import { timeIn } from '../src/tools/current-time';
import { searchFaq } from '../src/tools/faq-lookup';

const context = { signal: new AbortController().signal };

describe('tool registry', () => {
  it('describes every tool to Bedrock with a JSON schema, in registry order', () => {
    const specs = toolSpecs();
    expect(specs.map((s) => s.toolSpec?.name)).toEqual(['current_time', 'calculator', 'faq_lookup']);
    for (const spec of specs) {
      const schema = spec.toolSpec!.inputSchema!.json as Record<string, unknown>;
      expect(schema.type).toBe('object');
      expect(schema).not.toHaveProperty('$schema');
      expect(spec.toolSpec!.description!.length).toBeGreaterThan(100);
    }
    // Byte-stable: the cached prefix depends on it.
    expect(JSON.stringify(toolSpecs())).toBe(JSON.stringify(specs));
  });

  it('has unique tool names', () => {
    expect(new Set(TOOLS.map((t) => t.name)).size).toBe(TOOLS.length);
  });

  it('turns an unknown tool, bad input and tool errors into error results', async () => {
    expect(await runTool('nope', {}, context)).toEqual({
      status: 'error',
      text: expect.stringContaining('Unknown tool "nope". Available: current_time, calculator, faq_lookup'),
    });
    const bad = await runTool('calculator', { expr: '1+1' }, context);
    expect(bad.status).toBe('error');
    expect(bad.text).toMatch(/Invalid input for calculator.*expression/s);
    expect(await runTool('calculator', { expression: '1/0' }, context)).toEqual({
      status: 'error',
      text: 'Division by zero',
    });
  });
});

describe('current_time', () => {
  it('formats the time in an IANA zone', () => {
    const at = new Date('2026-03-01T12:34:56Z');
    expect(timeIn('Asia/Tokyo', at)).toBe('Sunday, 2026-03-01 21:34:56 (Asia/Tokyo, GMT+9)');
    expect(timeIn('UTC', at)).toMatch(/^Sunday, 2026-03-01 12:34:56 \(UTC, GMT(\+0)?\)$/);
    expect(timeIn('America/New_York', at)).toMatch(/07:34:56 \(America\/New_York, GMT-5\)$/);
  });

  it('reports an unknown zone as an error result with a hint', async () => {
    const result = await runTool('current_time', { timeZone: 'Mars/Olympus_Mons' }, context);
    expect(result).toEqual({
      status: 'error',
      text: 'Unknown time zone "Mars/Olympus_Mons": use an IANA name such as "Europe/Paris" or "UTC"',
    });
  });

  it('answers for a real zone', async () => {
    const result = await runTool('current_time', { timeZone: 'Europe/Paris' }, context);
    expect(result.status).toBe('success');
    expect(result.text).toMatch(/^\w+day, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(Europe\/Paris, GMT\+[12]\)$/);
  });
});

describe('faq_lookup', () => {
  it('finds the best entry by shared words', () => {
    expect(searchFaq('How do I roll back a release?')[0].question).toBe('How do I roll back a bad release?');
    expect(searchFaq('deploying')[0].question).toMatch(/deploy a new version/);
  });

  it('says so when nothing matches', async () => {
    expect(await runTool('faq_lookup', { query: 'xyzzy plugh' }, context)).toEqual({
      status: 'success',
      text: 'No FAQ entry matches "xyzzy plugh".',
    });
  });
});
