import type { Tool as ToolSpecEntry } from '@aws-sdk/client-bedrock-runtime';
import { z } from 'zod';
import { calculator } from './calculator';
import { currentTime } from './current-time';
import { faqLookup } from './faq-lookup';
import { ToolError, type Tool, type ToolContext } from './types';

/** The tools the model may call. Adding a tool = one file + one line here. */
export const TOOLS: Tool[] = [currentTime, calculator, faqLookup] as Tool[];

/** Bedrock tool specs, in registry order so the request prefix stays byte-identical. */
export function toolSpecs(tools: Tool[] = TOOLS): ToolSpecEntry[] {
  return tools.map((tool) => {
    const { $schema: _ignored, ...schema } = z.toJSONSchema(tool.input) as Record<string, unknown>;
    return { toolSpec: { name: tool.name, description: tool.description, inputSchema: { json: schema } } };
  }) as ToolSpecEntry[];
}

export interface ToolOutcome {
  status: 'success' | 'error';
  text: string;
}

/** Run a tool by name. Bad input and tool failures become error results the model can react to. */
export async function runTool(
  name: string,
  input: unknown,
  context: ToolContext,
  tools: Tool[] = TOOLS,
): Promise<ToolOutcome> {
  const tool = tools.find((t) => t.name === name);
  if (!tool)
    return {
      status: 'error',
      text: `Unknown tool "${name}". Available: ${tools.map((t) => t.name).join(', ')}`,
    };
  const parsed = tool.input.safeParse(input);
  if (!parsed.success) {
    return { status: 'error', text: `Invalid input for ${name}: ${z.prettifyError(parsed.error)}` };
  }
  try {
    return { status: 'success', text: await tool.run(parsed.data, context) };
  } catch (e) {
    if (e instanceof ToolError) return { status: 'error', text: e.message };
    throw e;
  }
}

export { ToolError, type Tool, type ToolContext } from './types';
