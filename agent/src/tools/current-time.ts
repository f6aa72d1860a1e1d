import { z } from 'zod';
import { defineTool, ToolError } from './types';

/** The wall-clock time in an IANA time zone, e.g. "Friday, 2026-11-27 21:04:05 (Asia/Tokyo, GMT+9)". */
export function timeIn(timeZone: string, now = new Date()): string {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'long',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'shortOffset',
    });
  } catch {
    throw new ToolError(`Unknown time zone "${timeZone}": use an IANA name such as "Europe/Paris" or "UTC"`);
  }
  const part = Object.fromEntries(format.formatToParts(now).map((p) => [p.type, p.value]));
  const zone = format.resolvedOptions().timeZone;
  return `${part.weekday}, ${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} (${zone}, ${part.timeZoneName})`;
}

export const currentTime = defineTool({
  name: 'current_time',
  description:
    'Get the current date and time in a time zone. Call it whenever the user asks what time or day it is ' +
    'anywhere; never guess the time. Convert city or country names to the IANA zone yourself ' +
    '(Tokyo → "Asia/Tokyo", New York → "America/New_York", London → "Europe/London"); use "UTC" when no ' +
    'place is given.',
  input: z.object({
    timeZone: z.string().min(1).describe('An IANA time zone name such as "Asia/Tokyo" or "UTC"'),
  }),
  run: ({ timeZone }) => timeIn(timeZone),
});
