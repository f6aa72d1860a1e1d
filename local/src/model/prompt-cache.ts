import { createHash } from 'node:crypto';
import { tokensOfBytes } from './tokens';
import type { ContentBlock, ConverseRequest } from './types';

export interface CacheUsage {
  inputTokens: number;
  cacheReadInputTokens: number;
  cacheWriteInputTokens: number;
  cacheDetails: { ttl: '5m' | '1h'; inputTokens: number }[];
}

interface Canonical {
  bytes: Buffer;
  /** Byte offsets where a cache point sits, with the TTL it asks for, in order. */
  points: { offset: number; ttl: '5m' | '1h' }[];
}

const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;

/**
 * The request as Bedrock orders it (toolConfig, system, messages), serialised as JSON with the
 * cachePoint blocks left out but their positions recorded. Leaving the markers out makes the bytes
 * before a point identical whether or not a later turn still carries a marker there, which is what
 * lets turn 3 read the history prefix turn 2 wrote.
 */
export function canonicalise(req: ConverseRequest): Canonical {
  let text = '';
  const points: Canonical['points'] = [];
  const list = (items: ContentBlock[] | undefined, render: (b: ContentBlock) => string) => {
    let first = true;
    for (const item of items ?? []) {
      if (item.cachePoint) {
        points.push({
          offset: Buffer.byteLength(text, 'utf8'),
          ttl: item.cachePoint.ttl === '1h' ? '1h' : '5m',
        });
        continue;
      }
      text += (first ? '' : ',') + render(item);
      first = false;
    }
  };
  text += '{"toolConfig":{"tools":[';
  list(req.toolConfig?.tools as ContentBlock[] | undefined, (t) => JSON.stringify(t));
  text += ']},"system":[';
  list(req.system, (b) => JSON.stringify(b));
  text += '],"messages":[';
  (req.messages ?? []).forEach((m, i) => {
    text += `${i ? ',' : ''}{"role":${JSON.stringify(m.role)},"content":[`;
    list(m.content, (b) => JSON.stringify(b));
    text += ']}';
  });
  text += ']}';
  // Offsets were measured on the string; the string is what gets hashed, as UTF-8.
  return { bytes: Buffer.from(text, 'utf8'), points };
}

/**
 * Bedrock-like prompt cache per model id: entries are byte-identical prefixes that ended at a cache
 * point of some request in the last TTL. A request reads the longest cached prefix of its own bytes,
 * writes from there to its last cache point, and pays plain input for the rest.
 */
export class PromptCache {
  /** modelId → prefix hash → { length, expiresAt }. */
  private readonly entries = new Map<string, Map<string, { length: number; expiresAt: number }>>();

  account(modelId: string, req: ConverseRequest, now = Date.now()): CacheUsage {
    const { bytes, points } = canonicalise(req);
    const byHash = this.entries.get(modelId) ?? new Map<string, { length: number; expiresAt: number }>();
    this.entries.set(modelId, byHash);
    for (const [h, e] of byHash) if (e.expiresAt <= now) byHash.delete(h);

    const key = (length: number) => createHash('sha256').update(bytes.subarray(0, length)).digest('hex');
    let readBytes = 0;
    const lengths = [...new Set([...byHash.values()].map((e) => e.length))].sort((a, b) => b - a);
    for (const length of lengths) {
      if (length > bytes.length) continue;
      const hit = byHash.get(key(length));
      if (hit) {
        readBytes = length;
        hit.expiresAt = Math.max(hit.expiresAt, now + TTL_MS['5m']); // a hit refreshes the entry
        break;
      }
    }

    const last = points.at(-1);
    const writeEnd = last && last.offset > readBytes ? last.offset : readBytes;
    const details: CacheUsage['cacheDetails'] = [];
    let written = tokensOfBytes(readBytes);
    for (const p of points) {
      if (p.offset <= readBytes) continue;
      byHash.set(key(p.offset), { length: p.offset, expiresAt: now + TTL_MS[p.ttl] });
      const upTo = tokensOfBytes(p.offset);
      if (upTo > written) details.push({ ttl: p.ttl, inputTokens: upTo - written });
      written = Math.max(written, upTo);
    }
    const read = tokensOfBytes(readBytes);
    const write = tokensOfBytes(writeEnd) - read;
    return {
      cacheReadInputTokens: read,
      cacheWriteInputTokens: write,
      inputTokens: tokensOfBytes(bytes.length) - tokensOfBytes(writeEnd),
      cacheDetails: details,
    };
  }

  clear() {
    this.entries.clear();
  }
}
