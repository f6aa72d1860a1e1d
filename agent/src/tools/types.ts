import type { z } from 'zod';

/** What a tool gets besides its input. */
export interface ToolContext {
  signal: AbortSignal;
}

/** A failure the model should see (as a toolResult with status "error") rather than a crash. */
export class ToolError extends Error {
  override name = 'ToolError';
}

/** One tool: a name and description the model reads, a zod input schema, and the code. */
export interface Tool<I = unknown> {
  name: string;
  description: string;
  input: z.ZodType<I>;
  run(input: I, context: ToolContext): Promise<string> | string;
}

/** Type helper so each tool file infers its input type from its schema. */
export const defineTool = <I>(tool: Tool<I>): Tool<I> => tool;
