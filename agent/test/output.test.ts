import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/telemetry/logger';
import { LineOutput } from '../src/telemetry/output';

/** A stdout whose reader has stopped reading (writes queue) until `resume()`. */
function stalled() {
  let reading = false;
  let pending: (() => void) | undefined;
  const stream = new Writable({
    write: (_chunk, _encoding, callback) => (reading ? callback() : (pending = callback)),
  });
  const resume = () => {
    reading = true;
    pending?.();
  };
  return { stream, resume };
}

/** A stdout whose reader closed the pipe: every write fails with EPIPE, as Node reports it. */
const closed = () =>
  new Writable({
    write: (_chunk, _encoding, callback) =>
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' })),
  });

function collect() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('stdout lines (log and EMF)', () => {
  it('after a write error (EPIPE), says so once on stderr, drops lines and never throws', async () => {
    const stderr = collect();
    const output = new LineOutput(closed(), stderr.stream);
    const log = createLogger('info', 'test', output);
    log.info('first');
    await tick();
    for (let i = 0; i < 5; i++) log.info({ i }, 'more');
    output.write('{"_aws":{}}\n');
    await tick();
    const lines = stderr.text().split('\n').filter(Boolean);
    expect(lines).toEqual([
      expect.stringMatching(/^stdout failed: write EPIPE \(its reader closed the pipe\)/),
    ]);
    expect(output.droppedLines).toBe(6);
    // pino's logger.flush does not wait for a stdout that failed.
    await new Promise<void>((resolve) => log.flush(() => resolve()));
  });

  it('forwards warnings and errors to stderr while stdout fails', async () => {
    const stderr = collect();
    const output = new LineOutput(closed(), stderr.stream);
    const log = createLogger('info', 'test', output);
    log.info('first');
    await tick();
    log.info('dropped quietly');
    log.warn({ dropped: { runs: 1 } }, 'shut down');
    await tick();
    const forwarded = stderr
      .text()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(forwarded).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'shut down', dropped: { runs: 1 } }),
    ]);
  });

  it('drops lines past its queue limit while the reader stalls, says so once, and resumes when it catches up', async () => {
    const stderr = collect();
    const out = stalled();
    const output = new LineOutput(out.stream, stderr.stream, 100);
    const line = `${JSON.stringify({ level: 'info', msg: 'x'.repeat(40) })}\n`;
    for (let i = 0; i < 10; i++) output.write(line);
    await tick();
    expect(out.stream.writableLength).toBeLessThanOrEqual(100 + line.length);
    const dropped = output.droppedLines;
    expect(dropped).toBeGreaterThanOrEqual(7);
    expect(stderr.text().split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^stdout is not being read: \d+ bytes .* are queued; dropping lines/),
    ]);
    // Its flush waits for the reader (the shutdown bounds the wait by its deadline).
    let flushed = false;
    output.flush(() => (flushed = true));
    await tick();
    expect(flushed).toBe(false);

    out.resume();
    await tick();
    expect(flushed).toBe(true);
    output.write(line);
    expect(output.droppedLines).toBe(dropped);
    expect(out.stream.writableLength).toBe(0);
  });

  it('ignores errors of stderr itself (EPIPE there too)', async () => {
    const output = new LineOutput(closed(), closed());
    output.write('{"level":"error","msg":"boom"}\n');
    await tick();
    output.write('{"level":"error","msg":"again"}\n');
    await tick();
    expect(output.droppedLines).toBe(1);
  });
});
