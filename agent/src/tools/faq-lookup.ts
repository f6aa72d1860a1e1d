import { z } from 'zod';
import { FAQ } from './faq-data';
import { defineTool } from './types';

const STOP_WORDS = new Set([
  'a',
  'an',
  'and',
  'are',
  'be',
  'can',
  'do',
  'does',
  'how',
  'i',
  'is',
  'it',
  'my',
  'of',
  'the',
  'to',
  'what',
  'where',
  'with',
  'faq',
]);

const words = (text: string) =>
  new Set(
    text
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 1 && !STOP_WORDS.has(w))
      // A crude stem so "deploying", "deploys" and "deploy" meet.
      .map((w) => w.replace(/(ing|ed|es|s)$/, '')),
  );

/** Each entry's words, computed once rather than on every lookup. */
const INDEX = FAQ.map((entry) => ({
  entry,
  all: words(`${entry.question} ${entry.answer}`),
  inQuestion: words(entry.question),
}));

/** The best FAQ entries for a query, by shared words (a word of the question counts double); at most `limit`. */
export function searchFaq(query: string, limit = 2) {
  const wanted = words(query);
  return INDEX.map(({ entry, all, inQuestion }) => {
    let score = 0;
    for (const w of wanted) if (all.has(w)) score += inQuestion.has(w) ? 2 : 1;
    return { ...entry, score };
  })
    .filter((e) => e.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, limit);
}

export const faqLookup = defineTool({
  name: 'faq_lookup',
  description:
    'Search the team FAQ about this agent and its platform: deploying, rolling back, previews, running ' +
    'locally, adding tools, tokens, guardrails, memory, models, logs and metrics. Call it for any "how do I" ' +
    'question about the agent or its pipeline and answer from the entries it returns.',
  input: z.object({ query: z.string().min(1).describe('The question or keywords to look up') }),
  run: ({ query }) => {
    const hits = searchFaq(query);
    if (hits.length === 0) return `No FAQ entry matches "${query}".`;
    return hits.map((h) => `Q: ${h.question}\nA: ${h.answer}`).join('\n\n');
  },
});
