import { describe, expect, it } from 'vitest';
import { calculator, evaluate, formatNumber } from '../src/tools/calculator';
import { ToolError } from '../src/tools/types';

describe('calculator', () => {
  it.each([
    ['2+3*4', 14],
    ['(2+3)*4', 20],
    ['10/4', 2.5],
    ['2^10', 1024],
    ['2^3^2', 512], // right-associative
    ['-2^2', -4], // unary minus binds looser than ^
    ['(-2)^2', 4],
    ['2^-1', 0.5],
    ['--3', 3],
    ['-(1.5 + .5) * 3', -6],
    ['  7 - 2 - 1 ', 4], // left-associative
    ['8/2/2', 2],
    ['0.1+0.2', 0.1 + 0.2],
    ['+5', 5],
  ])('%s = %d', (expression, expected) => {
    expect(evaluate(expression)).toBeCloseTo(expected, 12);
  });

  it.each([
    ['', /empty/],
    ['2 +', /Expected a number or "\(" at the end/],
    ['2*(3', /Expected "\)"/],
    ['2 3', /Unexpected at "3"/],
    ['1/0', /Division by zero/],
    ['2 & 3', /Unsupported character "&" at position 3/],
    ['process.exit(1)', /Unsupported character "p"/],
    ['10^400', /not a finite number/],
    ['('.repeat(100) + '1' + ')'.repeat(100), /nested deeper/],
    ['1+'.repeat(300) + '1', /longer than 500/],
  ])('rejects %j', (expression, message) => {
    expect(() => evaluate(expression)).toThrow(ToolError);
    expect(() => evaluate(expression)).toThrow(message);
  });

  it('formats away binary floating-point noise', () => {
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(1 / 3)).toBe('0.333333333333');
    expect(formatNumber(1e21)).toBe('1e+21');
  });

  it('answers with the expression and the result', async () => {
    expect(await calculator.run({ expression: '2+3*4' }, { signal: AbortSignal.timeout(1000) })).toBe(
      '2+3*4 = 14',
    );
  });
});
