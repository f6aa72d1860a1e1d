/**
 * The twin's stand-in for AgentCore Memory's long-term extraction: fixed phrase rules instead of a
 * model, so tests know exactly which records a conversation produces.
 */

export interface Extracted {
  /** Records with the same key in the same namespace replace each other (the latest statement wins). */
  key: string;
  text: string;
}

const FACT_RULES: { key: string; pattern: RegExp; text: (m: RegExpExecArray) => string }[] = [
  {
    key: 'name',
    pattern: /\b(?:[Mm]y name is|[Cc]all me|I'm called)\s+(\p{Lu}[\p{L}'-]*(?:\s\p{Lu}[\p{L}'-]*)?)/u,
    text: (m) => `The user's name is ${m[1]}.`,
  },
  { key: 'home', pattern: /\bI live in\s+([^.,!?;\n]+)/i, text: (m) => `The user lives in ${m[1].trim()}.` },
  {
    key: 'work',
    pattern: /\bI work (?:at|for)\s+([^.,!?;\n]+)/i,
    text: (m) => `The user works at ${m[1].trim()}.`,
  },
  { key: 'age', pattern: /\bI am (\d{1,3}) years old\b/i, text: (m) => `The user is ${m[1]} years old.` },
];

const PREFERENCE = /\bI (?:really )?(?:prefer|like|love|enjoy)\s+([^.,!?;\n]+)/gi;

/** Semantic facts: "my name is X" → "The user's name is X.", "I live in Y", "I work at Z", "I am N years old". */
export function extractFacts(text: string): Extracted[] {
  return FACT_RULES.flatMap((r) => {
    const m = r.pattern.exec(text);
    return m ? [{ key: r.key, text: r.text(m) }] : [];
  });
}

/** Preferences: "I prefer/like/love/enjoy X" → "User prefers X." (one record per liked thing). */
export function extractPreferences(text: string): Extracted[] {
  return [...text.matchAll(PREFERENCE)].map((m) => {
    const thing = m[1].trim();
    return { key: `prefers:${thing.toLowerCase()}`, text: `User prefers ${thing}.` };
  });
}

/** A session summary: the user's messages so far, shortened, in order. */
export function summarise(userTexts: string[]): Extracted {
  const topics = userTexts.map((t) =>
    (t.length > 60 ? `${t.slice(0, 57).trimEnd()}...` : t).replace(/\s+/g, ' ').trim(),
  );
  return {
    key: 'summary',
    text: `Session summary: the user talked about ${topics.map((t) => `"${t}"`).join('; ')}.`,
  };
}

const STOPWORDS = new Set(
  'a an and are as at be but by do does for from has have he her his how i in is it its me my of on or our she so that the their them they this to was we were what when where which who why will with you your'.split(
    ' ',
  ),
);

const words = (text: string) =>
  new Set(
    (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 1 && !STOPWORDS.has(w)),
  );

/** Word-overlap relevance in [0, 1]: the share of the query's content words the record contains. */
export function score(query: string, text: string): number {
  const q = words(query);
  if (!q.size) return 0;
  const t = words(text);
  let hits = 0;
  for (const w of q) if (t.has(w) || t.has(w.replace(/s$/, ''))) hits++;
  return Math.round((hits / q.size) * 1000) / 1000;
}
