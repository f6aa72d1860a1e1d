import { ApplyGuardrailCommand, type BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';

/**
 * Reading Bedrock's guardrail trace (ConverseStream `metadata.trace.guardrail`): what it decided, and
 * the user's text as it let it through.
 */

interface Entity {
  type?: string;
  name?: string;
  match?: string;
  action?: string;
}

/**
 * What the guardrail decided, without what it matched: the trace quotes the offending text (PII
 * included), which must not reach the logs.
 */
export function verdicts(trace: unknown): { type?: string; action: string }[] {
  if (Array.isArray(trace)) return trace.flatMap(verdicts);
  if (!trace || typeof trace !== 'object') return [];
  const node = trace as Record<string, unknown>;
  const own =
    typeof node.action === 'string' && node.action !== 'NONE'
      ? [{ ...(typeof node.type === 'string' && { type: node.type }), action: node.action }]
      : [];
  return [
    ...own,
    ...Object.entries(node)
      .filter(([k]) => k !== 'modelOutput')
      .flatMap(([, v]) => verdicts(v)),
  ];
}

/** Does a guardrail trace contain a policy verdict with this action (any policy, input or output)? */
export function hasAction(node: unknown, action: string): boolean {
  if (Array.isArray(node)) return node.some((n) => hasAction(n, action));
  if (node && typeof node === 'object') {
    return Object.entries(node).some(([k, v]) => (k === 'action' && v === action) || hasAction(v, action));
  }
  return false;
}

/**
 * `text` as the guardrail let it through to the model, from the trace's input assessment: every value
 * it anonymised is replaced by its identifier tag, as Bedrock masks (`{EMAIL}`; a custom regex by its
 * name). Undefined when the trace has no input assessment, so the caller cannot know what was masked.
 */
export function maskedInput(text: string, trace: unknown): string | undefined {
  const assessments = (trace as { inputAssessment?: Record<string, unknown> } | undefined)?.inputAssessment;
  if (!assessments || typeof assessments !== 'object') return undefined;
  const masks = new Map<string, string>();
  for (const assessment of Object.values(assessments)) {
    const policy = (
      assessment as { sensitiveInformationPolicy?: { piiEntities?: Entity[]; regexes?: Entity[] } }
    )?.sensitiveInformationPolicy;
    for (const e of [...(policy?.piiEntities ?? []), ...(policy?.regexes ?? [])]) {
      const tag = e.type ?? e.name;
      if (e.action === 'ANONYMIZED' && e.match && tag) masks.set(e.match, `{${tag}}`);
    }
  }
  // Longest first, so a value containing another is masked whole.
  return [...masks]
    .sort(([a], [b]) => b.length - a.length)
    .reduce((masked, [match, tag]) => masked.replaceAll(match, tag), text);
}

/**
 * `text` as the guardrail lets it through, asked of the guardrail itself (ApplyGuardrail, source
 * INPUT): for when a trace has no input assessment. Undefined when the guardrail blocks it.
 */
export async function applyToInput(
  runtime: BedrockRuntimeClient,
  guardrail: { id: string; version: string },
  text: string,
): Promise<string | undefined> {
  const out = await runtime.send(
    new ApplyGuardrailCommand({
      guardrailIdentifier: guardrail.id,
      guardrailVersion: guardrail.version,
      source: 'INPUT',
      content: [{ text: { text } }],
    }),
  );
  if (out.action !== 'GUARDRAIL_INTERVENED') return text;
  if (hasAction(out.assessments, 'BLOCKED')) return undefined;
  return (out.outputs ?? []).map((o) => o.text ?? '').join('');
}
