import type { Writable } from 'node:stream';

/**
 * Bytes of lines Node may hold for a stdout reader that has stopped reading. A pipe write that does
 * not fit is queued in memory without limit and without blocking (tested on Linux, Node 20); past
 * this, lines are dropped instead.
 */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** Log lines that still go to stderr when stdout cannot take them (pino writes the level first). */
const WARNING_OR_WORSE = /^\{"level":"(warn|error|fatal)"/;

/**
 * The agent's log and EMF lines, one writer on stdout for both (one order, one failure policy).
 * A failing stdout never ends or blocks the process:
 * - a write error (EPIPE: the reader closed the pipe, as `| head` does) is reported once on stderr;
 *   from then on lines are dropped and counted. Without an 'error' listener Node throws it.
 * - a reader that stops reading: lines are dropped past MAX_QUEUED_BYTES, reported once, until it
 *   catches up.
 * A dropped warning or error line is written to stderr instead. stderr's own errors are ignored:
 * it is where failures are reported, there is nowhere further.
 * Not pino's default destination (sonic-boom): at exit it retries a failed write (EPIPE) in a
 * sleeping loop that never ends, and it drops EPIPE without saying so.
 */
export class LineOutput {
  /** Why stdout takes no more lines (set once, on its first write error). */
  private failure?: string;
  private stalled = false;
  droppedLines = 0;

  constructor(
    private readonly out: Writable,
    private readonly err: Writable,
    private readonly maxQueuedBytes = MAX_QUEUED_BYTES,
  ) {
    out.on('error', (e: NodeJS.ErrnoException) => this.fail(e));
    err.on('error', () => {});
  }

  /** Take one line (ending in a newline); never throws. */
  write(line: string): void {
    if (!this.failure) {
      if (this.out.writableLength <= this.maxQueuedBytes) {
        this.stalled = false;
        try {
          this.out.write(line);
          return;
        } catch (e) {
          this.fail(e as NodeJS.ErrnoException);
        }
      } else if (!this.stalled) {
        this.stalled = true;
        this.report(
          `stdout is not being read: ${this.out.writableLength} bytes of log and metric lines are queued; dropping lines until it catches up (warnings and errors go to stderr)`,
        );
      }
    }
    this.droppedLines++;
    if (WARNING_OR_WORSE.test(line)) this.report(line.trimEnd());
  }

  /**
   * pino's `logger.flush(cb)`: calls back once the lines written so far reached the reader, or
   * stdout failed (an empty write's callback runs after the writes queued before it).
   */
  flush(cb: () => void): void {
    if (this.failure || this.out.writableLength === 0) return cb();
    try {
      this.out.write('', () => cb());
    } catch {
      cb();
    }
  }

  private fail(e: NodeJS.ErrnoException) {
    if (this.failure) return;
    this.failure = e.code ?? e.message;
    const why = e.code === 'EPIPE' ? ' (its reader closed the pipe)' : '';
    this.report(
      `stdout failed: ${e.message}${why}; log and metric lines are dropped from now on (warnings and errors come here), the agent keeps serving`,
    );
  }

  private report(message: string) {
    try {
      this.err.write(`${message}\n`);
    } catch {
      // stderr is gone too: nowhere left to say it.
    }
  }
}

let stdout: LineOutput | undefined;

/** The process's stdout for log and EMF lines (made on first use; it also guards stderr). */
export function stdoutLines(): LineOutput {
  return (stdout ??= new LineOutput(process.stdout, process.stderr));
}
