import { describe, expect, it } from 'vitest';
import { toTurns } from '../src/session';

const text = (role: 'user' | 'assistant', ...texts: string[]) => ({
  role,
  content: texts.map((t) => ({ text: t })),
});

describe('toTurns', () => {
  it('pairs questions with their answers', () => {
    expect(
      toTurns([
        { role: 'user', text: 'q1' },
        { role: 'assistant', text: 'a1' },
        { role: 'user', text: 'q2' },
        { role: 'assistant', text: 'a2' },
      ]),
    ).toEqual([
      [text('user', 'q1'), text('assistant', 'a1')],
      [text('user', 'q2'), text('assistant', 'a2')],
    ]);
  });

  it('merges consecutive messages of one role so roles alternate, losing no text', () => {
    expect(
      toTurns([
        { role: 'user', text: 'q1' },
        { role: 'user', text: 'q1 again' },
        { role: 'assistant', text: 'a1' },
        { role: 'assistant', text: 'a1 more' },
      ]),
    ).toEqual([[text('user', 'q1', 'q1 again'), text('assistant', 'a1', 'a1 more')]]);
  });

  it('drops a leading answer and a trailing unanswered question', () => {
    expect(
      toTurns([
        { role: 'assistant', text: 'hello' },
        { role: 'user', text: 'q1' },
        { role: 'assistant', text: 'a1' },
        { role: 'user', text: 'unanswered' },
      ]),
    ).toEqual([[text('user', 'q1'), text('assistant', 'a1')]]);
    expect(toTurns([{ role: 'user', text: 'only a question' }])).toEqual([]);
  });
});
