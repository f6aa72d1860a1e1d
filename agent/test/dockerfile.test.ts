import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentBundleInputs } from '../../scripts/build-agent';

const root = path.resolve(import.meta.dirname, '../..');

/** Sources the Dockerfile copies from the build context (COPY <src> <dest>, repository-relative). */
function copiedSources(): string[] {
  const text = fs.readFileSync(path.join(root, 'agent/Dockerfile'), 'utf8');
  return [...text.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => {
    const parts = m[1].trim().split(/\s+/);
    return parts.slice(0, -1);
  });
}

describe('agent/Dockerfile', () => {
  it('copies every repository source the agent bundle imports, so the image builds from a clean checkout', async () => {
    const sources = (await agentBundleInputs()).filter((i) => !i.startsWith('node_modules/'));
    const copied = copiedSources();
    const missing = sources.filter(
      (s) => !copied.some((c) => s === c || s.startsWith(`${c.replace(/\/$/, '')}/`)),
    );
    expect(sources.length).toBeGreaterThan(5);
    expect(missing).toEqual([]);
  });
});
