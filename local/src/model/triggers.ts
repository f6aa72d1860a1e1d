/** Tool triggers of the scripted model (the cross-team contract): prompt text → tool input. */

const CITY_ZONES: Record<string, string> = {
  tokyo: 'Asia/Tokyo',
  osaka: 'Asia/Tokyo',
  seoul: 'Asia/Seoul',
  beijing: 'Asia/Shanghai',
  shanghai: 'Asia/Shanghai',
  singapore: 'Asia/Singapore',
  mumbai: 'Asia/Kolkata',
  delhi: 'Asia/Kolkata',
  dubai: 'Asia/Dubai',
  sydney: 'Australia/Sydney',
  london: 'Europe/London',
  dublin: 'Europe/Dublin',
  paris: 'Europe/Paris',
  berlin: 'Europe/Berlin',
  madrid: 'Europe/Madrid',
  rome: 'Europe/Rome',
  amsterdam: 'Europe/Amsterdam',
  'new york': 'America/New_York',
  boston: 'America/New_York',
  chicago: 'America/Chicago',
  denver: 'America/Denver',
  seattle: 'America/Los_Angeles',
  'san francisco': 'America/Los_Angeles',
  'los angeles': 'America/Los_Angeles',
  'sao paulo': 'America/Sao_Paulo',
  utc: 'UTC',
};

/** "What time is it in Tokyo?" → Asia/Tokyo; an IANA name is taken as is; anything else is UTC. */
export function timeTrigger(prompt: string): { timeZone: string } | undefined {
  if (!/\b(what time|time is it|current time|the time|time now)\b/i.test(prompt)) return undefined;
  const place = /\bin\s+([a-z][a-z .'_/-]*?)\s*(?:[?.!,\n]|$)/i.exec(prompt)?.[1]?.trim();
  if (!place) return { timeZone: 'UTC' };
  const zone = CITY_ZONES[place.toLowerCase()] ?? (/^[A-Za-z_]+\/[A-Za-z_/]+$/.test(place) ? place : 'UTC');
  return { timeZone: zone };
}

const ARITHMETIC = /[-+*/().\d\s^%]*\d[-+*/().\d\s^%]*/;

/** "calculate 2+3*4" or "what is 2+3*4?" → { expression: "2+3*4" }. */
export function calculatorTrigger(prompt: string): { expression: string } | undefined {
  const calc = /\bcalculate\s+(.+?)\s*[?.!]*$/im.exec(prompt);
  if (calc) return { expression: calc[1].trim() };
  const whatIs = /\bwhat(?:'s| is)\s+(.+?)\s*\??\s*$/im.exec(prompt);
  const candidate = whatIs?.[1].trim();
  if (
    candidate &&
    ARITHMETIC.exec(candidate)?.[0].trim() === candidate &&
    /\d\s*[-+*/^%]\s*[\d(]/.test(candidate)
  ) {
    return { expression: candidate };
  }
  return undefined;
}

/** "faq: …" or "how do I …" → { query: <the prompt> }. */
export function faqTrigger(prompt: string): { query: string } | undefined {
  if (!/\bfaq\b|\bhow (?:do|can) i\b/i.test(prompt)) return undefined;
  return { query: prompt.replace(/^\s*faq\s*:?\s*/i, '').trim() };
}

/**
 * "call show_chart with {\"city\":\"Tokyo\"}" → { name: "show_chart", input: { city: "Tokyo" } }: any
 * tool by name with a JSON object input ("call <tool>" alone → {}). How a test has the model call a
 * tool the client declared (AG-UI frontend tools), which no topic trigger knows.
 */
export function explicitCallTrigger(
  prompt: string,
): { name: string; input: Record<string, unknown> } | undefined {
  const match = /^call\s+([a-zA-Z0-9_-]{1,64})(?:\s+with\s+(\{[\s\S]*\}))?\s*$/i.exec(prompt.trim());
  if (!match) return undefined;
  try {
    const input: unknown = match[2] ? JSON.parse(match[2]) : {};
    return input && typeof input === 'object' && !Array.isArray(input)
      ? { name: match[1], input: input as Record<string, unknown> }
      : undefined;
  } catch {
    return undefined;
  }
}
