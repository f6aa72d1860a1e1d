/** Converse / ConverseStream request members as they arrive on the wire (restJson1 body). */
export interface ToolResultBlock {
  toolUseId: string;
  content?: { text?: string; json?: unknown }[];
  status?: 'success' | 'error';
}

export interface ToolUseBlock {
  toolUseId: string;
  name: string;
  input: unknown;
}

export interface CachePointBlock {
  type: 'default';
  ttl?: '5m' | '1h';
}

export interface ContentBlock {
  text?: string;
  toolUse?: ToolUseBlock;
  toolResult?: ToolResultBlock;
  cachePoint?: CachePointBlock;
  guardContent?: { text?: { text: string } };
  [other: string]: unknown;
}

export interface Message {
  role: string;
  content: ContentBlock[];
}

export interface ToolSpec {
  name: string;
  description?: string;
  inputSchema?: { json?: unknown };
}

export interface ConverseRequest {
  messages?: Message[];
  system?: ContentBlock[];
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] };
  toolConfig?: { tools?: { toolSpec?: ToolSpec; cachePoint?: CachePointBlock }[]; toolChoice?: unknown };
  guardrailConfig?: {
    guardrailIdentifier?: string;
    guardrailVersion?: string;
    trace?: 'enabled' | 'disabled' | 'enabled_full';
    streamProcessingMode?: 'sync' | 'async';
  };
}

/** What the scripted model decided to say: plain text, or one tool call. */
export type ModelTurn =
  | { kind: 'text'; text: string; stopReason: 'end_turn' | 'max_tokens' }
  | { kind: 'toolUse'; toolUseId: string; name: string; input: Record<string, unknown> };
