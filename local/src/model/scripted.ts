import { createHash } from 'node:crypto';
import { calculatorTrigger, explicitCallTrigger, faqTrigger, timeTrigger } from './triggers';
import type { ContentBlock, ConverseRequest, Message, ModelTurn } from './types';

const textOf = (blocks: ContentBlock[]) =>
  blocks
    .map((b) => b.text ?? b.guardContent?.text?.text)
    .filter((t): t is string => typeof t === 'string')
    .join('\n');

/** Facts the model can answer from: remembered context lines and what the user said earlier. */
const FACTS: { question: RegExp; fact: RegExp; answer: (v: string) => string; unknown: string }[] = [
  {
    question: /\bwhat(?:'s| is) my name\b|\bwho am i\b/i,
    fact: /\bname is ([\p{L}][\p{L}'-]*)/iu,
    answer: (v) => `Your name is ${v}.`,
    unknown: "I don't know your name yet.",
  },
  {
    question: /\bwhere do i live\b/i,
    fact: /\bli(?:ve|ves) in ([^.,\n]+)/i,
    answer: (v) => `You live in ${v}.`,
    unknown: "I don't know where you live yet.",
  },
  {
    question: /\bwhere do i work\b/i,
    fact: /\bworks? (?:at|for) ([^.,\n]+)/i,
    answer: (v) => `You work at ${v}.`,
    unknown: "I don't know where you work yet.",
  },
  {
    question: /\bwhat do i (?:prefer|like|love)\b/i,
    fact: /\b(?:prefers?|likes?|loves?) ([^.,\n]+)/i,
    answer: (v) => `You prefer ${v}.`,
    unknown: "I don't know your preferences yet.",
  },
];

/**
 * The twin's deterministic model. Rules, first match wins (docs/twin.md, "Model side"):
 * 1. the last user message carries toolResult blocks → a sentence containing the result text;
 * 2. a tool trigger in the prompt whose tool is in toolConfig, fits its input schema and is named by the
 *    system prompt (when there is one) → a toolUse (current_time, calculator, faq_lookup); or
 *    "call <tool> with {json}" for any declared tool (e.g. a client's frontend tool, which no system
 *    prompt names);
 * 3. "repeat after me: X" / "say: X" → exactly X;
 * 4. a question about a remembered fact (name, home, work, preference) → answered from the context;
 * 5. anything else → a fixed sentence quoting the prompt.
 * The prompt is the last text block of the last user message; the context is all text of the
 * conversation's user messages (memory lines the agent adds to the current message included).
 */
export function scriptedTurn(req: ConverseRequest): ModelTurn {
  const messages = req.messages ?? [];
  const last = messages.at(-1) as Message;
  const results = last.content.filter((b) => b.toolResult).map((b) => b.toolResult!);
  if (results.length) {
    const sentences = results.map((r) => {
      const name = toolNameFor(messages, r.toolUseId) ?? 'tool';
      const text = (r.content ?? []).map((c) => c.text ?? JSON.stringify(c.json)).join(' ');
      return r.status === 'error'
        ? `The ${name} tool failed: ${text}.`
        : `The ${name} tool returned: ${text}.`;
    });
    return text(sentences.join(' '));
  }

  const texts = last.content.filter((b) => typeof b.text === 'string').map((b) => b.text!);
  const prompt = (texts.at(-1) ?? '').trim();
  const instructions = textOf(req.system ?? []);
  const call = (name: string, input: Record<string, unknown> | undefined) =>
    input && willCall(req, instructions, name, input) ? toolUse(messages, name, input) : undefined;
  const explicit = explicitCallTrigger(prompt);
  const declared = (req.toolConfig?.tools ?? []).some((t) => t.toolSpec?.name === explicit?.name);
  const tool =
    (explicit && declared ? toolUse(messages, explicit.name, explicit.input) : undefined) ??
    call('current_time', timeTrigger(prompt)) ??
    call('calculator', calculatorTrigger(prompt)) ??
    call('faq_lookup', faqTrigger(prompt));
  if (tool) return tool;

  const repeat = /^(?:repeat after me|say)\s*:\s*([\s\S]+)$/i.exec(prompt);
  if (repeat) return text(repeat[1].trim());

  const context = messages
    .filter((m) => m.role === 'user')
    .map((m) => textOf(m.content))
    .join('\n');
  for (const f of FACTS) {
    if (!f.question.test(prompt)) continue;
    const lines = context.split('\n').reverse(); // the latest statement wins
    const value = lines.map((l) => f.fact.exec(l)?.[1]?.trim()).find(Boolean);
    return text(value ? f.answer(value) : f.unknown);
  }

  return text(
    `You said: "${prompt}". This is the local twin's scripted model, so the reply is deterministic.`,
  );
}

const text = (t: string): ModelTurn => ({ kind: 'text', text: t, stopReason: 'end_turn' });

/**
 * Whether the model calls `name` with `input`: the tool is offered; its spec's input schema (when it
 * has one) declares every argument the model would pass and requires no other; and, when there is a
 * system prompt, the prompt names the tool — the model follows its instructions literally. So a
 * prompt change that drops a tool's instruction, or a tool spec whose schema no longer fits, changes
 * the trajectory as it would with a real model that cannot make sense of the tool.
 */
function willCall(
  req: ConverseRequest,
  instructions: string,
  name: string,
  input: Record<string, unknown>,
): boolean {
  const spec = (req.toolConfig?.tools ?? []).find((t) => t.toolSpec?.name === name)?.toolSpec;
  if (!spec) return false;
  const schema = spec.inputSchema?.json as { properties?: object; required?: string[] } | undefined;
  if (schema?.properties) {
    const declared = Object.keys(schema.properties);
    if (!Object.keys(input).every((k) => declared.includes(k))) return false;
    if (!(schema.required ?? []).every((k) => k in input)) return false;
  }
  return !instructions.trim() || new RegExp(`\\b${name}\\b`).test(instructions);
}

function toolUse(messages: Message[], name: string, input: Record<string, unknown>): ModelTurn {
  const digest = createHash('sha256').update(JSON.stringify(messages)).digest('base64url');
  return { kind: 'toolUse', toolUseId: `tooluse_${digest.slice(0, 22)}`, name, input };
}

function toolNameFor(messages: Message[], toolUseId: string): string | undefined {
  for (const m of messages)
    for (const b of m.content) if (b.toolUse?.toolUseId === toolUseId) return b.toolUse.name;
  return undefined;
}
