import { z } from 'zod';
import { defineTool, ToolError } from './types';

const MAX_LENGTH = 500;
const MAX_DEPTH = 64;

/**
 * Evaluate arithmetic with + - * / ^ (right-associative), parentheses, decimals and unary minus.
 * A recursive-descent parser: nothing is ever evaluated as code.
 */
export function evaluate(expression: string): number {
  if (expression.length > MAX_LENGTH)
    throw new ToolError(`Expression is longer than ${MAX_LENGTH} characters`);
  const tokens = tokenize(expression);
  let pos = 0;
  let depth = 0;
  const peek = () => tokens[pos];
  const fail = (what: string): never => {
    const at = peek();
    throw new ToolError(
      `${what} ${at ? `at "${at.text}" (position ${at.at + 1})` : 'at the end'} in "${expression}"`,
    );
  };

  const expr = (): number => {
    let value = term();
    while (peek()?.text === '+' || peek()?.text === '-') {
      value = tokens[pos++].text === '+' ? value + term() : value - term();
    }
    return value;
  };
  const term = (): number => {
    let value = unary();
    while (peek()?.text === '*' || peek()?.text === '/') {
      if (tokens[pos++].text === '*') value *= unary();
      else {
        const divisor = unary();
        if (divisor === 0) throw new ToolError('Division by zero');
        value /= divisor;
      }
    }
    return value;
  };
  // Unary minus binds looser than ^, so -2^2 = -4 as in mathematics.
  const unary = (): number => {
    if (peek()?.text === '-' || peek()?.text === '+') {
      const sign = tokens[pos++].text === '-' ? -1 : 1;
      return nested(() => sign * unary());
    }
    return power();
  };
  const power = (): number => {
    const base = primary();
    if (peek()?.text !== '^') return base;
    pos++;
    return base ** nested(unary);
  };
  const primary = (): number => {
    const token = peek();
    if (token?.kind === 'number') {
      pos++;
      return Number(token.text);
    }
    if (token?.text === '(') {
      pos++;
      const value = nested(expr);
      if (peek()?.text !== ')') fail('Expected ")"');
      pos++;
      return value;
    }
    return fail('Expected a number or "("');
  };
  const nested = (parse: () => number): number => {
    if (++depth > MAX_DEPTH) throw new ToolError(`Expression is nested deeper than ${MAX_DEPTH} levels`);
    const value = parse();
    depth--;
    return value;
  };

  if (tokens.length === 0) throw new ToolError('Expression is empty');
  const value = expr();
  if (pos < tokens.length) fail('Unexpected');
  if (!Number.isFinite(value)) throw new ToolError(`Result is not a finite number: "${expression}"`);
  return value;
}

interface Token {
  kind: 'number' | 'op';
  text: string;
  at: number;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+(?:\.\d*)?|\.\d+)|([-+*/^()])|(\S))/gy;
  for (let m = pattern.exec(source); m && m[0] !== ''; m = pattern.exec(source)) {
    const at = m.index + m[0].length - (m[1] ?? m[2] ?? m[3]).length;
    if (m[3]) {
      throw new ToolError(
        `Unsupported character "${m[3]}" at position ${at + 1}; use numbers, + - * / ^ and parentheses`,
      );
    }
    tokens.push(m[1] ? { kind: 'number', text: m[1], at } : { kind: 'op', text: m[2], at });
  }
  return tokens;
}

/** 12 significant digits hide binary floating-point noise (0.1 + 0.2 → 0.3). */
export const formatNumber = (value: number) => String(Number(value.toPrecision(12)));

export const calculator = defineTool({
  name: 'calculator',
  description:
    'Evaluate an arithmetic expression exactly instead of estimating. Supports + - * / ^ (power), ' +
    'parentheses, decimals and unary minus, e.g. "(2 + 3) * 4 ^ 2 / -8". Use it for every calculation, ' +
    'including unit conversions and percentages written out as arithmetic.',
  input: z.object({
    expression: z.string().min(1).describe('The arithmetic expression to evaluate, e.g. "2 + 3 * 4"'),
  }),
  run: ({ expression }) => `${expression} = ${formatNumber(evaluate(expression))}`,
});
