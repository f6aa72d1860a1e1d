import { setTimeout as sleep } from 'node:timers/promises';
import { ConverseCommand, type BedrockRuntimeClient, type Message } from '@aws-sdk/client-bedrock-runtime';
import type { ModelPrice } from '../../cost/model';
import { usageOf, type Usage } from './loop';
import { summaryText } from './prompt';
import type { Session } from './session';
import type { Logger } from './telemetry/logger';
import { usageMetrics, type Metrics } from './telemetry/metrics';
import { GEN_AI, PROVIDER, SpanKind, Tracing, usageAttributes } from './telemetry/tracing';

const TOPICS = ['time', 'math', 'faq', 'smalltalk', 'personal', 'other'] as const;
type Topic = (typeof TOPICS)[number];

const CLASSIFY_PROMPT = `Classify the user's message by topic. Answer with exactly one word from this list and nothing else: ${TOPICS.join(', ')}.
time = questions about the current time or date; math = calculations; faq = how to use, deploy or operate the agent and its platform; smalltalk = greetings and chit-chat; personal = the user shares facts or preferences about themselves; other = anything else.`;

// Several messages that waited together go in one call (one request to sign and parse instead of many).
// Each on one line, numbered; the model answers one `<number>: <topic>` line per message.
const CLASSIFY_MANY_PROMPT = `Classify each numbered user message below by topic, independently. For every message answer one line "<number>: <topic>" with exactly one word from this list as the topic and nothing else: ${TOPICS.join(', ')}.
time = questions about the current time or date; math = calculations; faq = how to use, deploy or operate the agent and its platform; smalltalk = greetings and chit-chat; personal = the user shares facts or preferences about themselves; other = anything else.`;

/** At most this many messages per classification call (its answer stays a few tokens per message). */
const MAX_CLASSIFY_BATCH = 20;
/** How long a queued message waits for others to share its call (background work: no one waits on it). */
const CLASSIFY_GATHER_MS = 25;

const SUMMARY_PROMPT = `Summarise the conversation below for the assistant that continues it. Keep every fact, number, name, decision, open question and user preference; drop pleasantries. Write at most 200 words in the conversation's language, as plain sentences.`;

/** Told the tokens of each finished background call (the run that started it adds them to its usage). */
export type OnUsage = (usage: Usage) => void;

/** How long a background call waits for answers to reach their first token before it starts anyway. */
const MAX_HOLD_MS = 1000;

/**
 * The cheap background model: classifies each user message and summarises long sessions.
 * Work here runs beside the answer, never before its first token; `idle` awaits it at shutdown.
 * Every call's tokens (and cost, when priced) are published as metrics with the model's own ModelId.
 * A call starts only while no answer is waiting for its first token (or after MAX_HOLD_MS), so its
 * request and reply never compete with one for the CPU.
 */
export class Background {
  private readonly tasks = new Set<Promise<unknown>>();
  private awaitingFirstToken = 0;
  private resumers: (() => void)[] = [];
  /** Messages waiting for a classification call (the first one queued starts it). */
  private unclassified: Classification[] = [];

  constructor(
    private readonly client: BedrockRuntimeClient,
    private readonly modelId: string,
    private readonly metrics: Metrics,
    private readonly price?: ModelPrice,
    private readonly tracing = new Tracing(),
  ) {}

  /**
   * An answer is waiting for its first token: background calls hold until it arrives. Call the
   * returned release at the first token (and again when the run ends; extra calls do nothing).
   */
  holdForAnswer(): () => void {
    this.awaitingFirstToken++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.awaitingFirstToken === 0) for (const resume of this.resumers.splice(0)) resume();
    };
  }

  /** Resolves once no answer waits for its first token, or after MAX_HOLD_MS under sustained load. */
  private quiet(): Promise<void> {
    if (this.awaitingFirstToken === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const resume = () => {
        clearTimeout(timer);
        this.resumers = this.resumers.filter((r) => r !== resume);
        resolve();
      };
      const timer = setTimeout(resume, MAX_HOLD_MS);
      this.resumers.push(resume);
    });
  }

  /**
   * Tag a user message with a topic, for logs and the UserMessages metric. Messages queued while the
   * call waits (answers awaiting their first token) are classified together in one call.
   */
  classify(text: string, log: Logger, onUsage?: OnUsage): void {
    this.unclassified.push({ text: text.slice(0, 4000), log, onUsage });
    if (this.unclassified.length === 1) this.track(this.classifyQueued());
  }

  private async classifyQueued(): Promise<void> {
    await this.quiet();
    // Concurrent answers reach this point a few ms apart: a short wait lets their messages share a call.
    await sleep(CLASSIFY_GATHER_MS);
    const batch = this.unclassified.splice(0, MAX_CLASSIFY_BATCH);
    if (this.unclassified.length > 0) this.track(this.classifyQueued());
    if (batch.length === 1) return this.classifyOne(batch[0]);
    let reply: string;
    let usage: Usage;
    try {
      ({ reply, usage } = await this.complete(
        'classify',
        CLASSIFY_MANY_PROMPT,
        batch.map((m, i) => `${i + 1}: ${m.text.replace(/\s+/g, ' ')}`).join('\n'),
        10 * batch.length, // the single call's cap, per message
        { 'app.background_batch_size': batch.length },
      ));
    } catch (e) {
      for (const m of batch) m.log.warn({ err: e as Error }, 'topic classification failed');
      return;
    }
    const topics = parseTopics(reply, batch.length);
    const shares = splitUsage(usage, batch.length);
    const missing: Classification[] = [];
    batch.forEach((m, i) => {
      m.onUsage?.(shares[i]);
      const topic = topics[i];
      if (topic) this.classified(m, topic, batch.length);
      else missing.push(m);
    });
    // A line the model left out: that message alone, as when it waits alone.
    await Promise.all(missing.map((m) => this.classifyOne(m)));
  }

  private async classifyOne(m: Classification): Promise<void> {
    try {
      const { reply, usage } = await this.complete('classify', CLASSIFY_PROMPT, m.text, 10);
      m.onUsage?.(usage);
      this.classified(m, parseTopic(reply), 1);
    } catch (e) {
      m.log.warn({ err: e as Error }, 'topic classification failed');
    }
  }

  private classified(m: Classification, topic: Topic, batchSize: number) {
    m.log.info({ topic, ...(batchSize > 1 && { batchSize }) }, 'user message classified');
    this.metrics.emit([{ name: 'UserMessages', value: 1, unit: 'Count' }], { Topic: topic });
  }

  /**
   * Replace all but the newest `keepTurns` turns with a summary once the history is over budget.
   * The session keeps answering meanwhile; the summary lands when ready.
   */
  summarise(session: Session, log: Logger, onUsage?: OnUsage, keepTurns = 2): void {
    if (session.summarising || session.turns.length <= keepTurns) return;
    session.summarising = true;
    const turns = session.turns;
    const dropped = turns.slice(0, turns.length - keepTurns);
    const transcript = [
      ...(session.summary ? [summaryText(session.summary)] : []),
      ...dropped.flat().map(renderMessage),
    ].join('\n');
    this.track(
      this.complete('summarise', SUMMARY_PROMPT, transcript, 400)
        .then(
          ({ reply: summary, usage }) => {
            onUsage?.(usage);
            if (!summary.trim()) throw new Error('empty summary');
            // A client that sent its own conversation meanwhile replaced the turns this summarises.
            if (session.turns !== turns)
              return log.info('session summary dropped: the client sent its conversation');
            // Turns are only ever appended, so the dropped ones are still at the front.
            session.turns.splice(0, dropped.length);
            session.summary = summary.trim();
            log.info(
              { summarisedTurns: dropped.length, keptTurns: session.turns.length },
              'session summarised',
            );
          },
          (e: Error) => log.warn({ err: e }, 'session summary failed; keeping the full history'),
        )
        .finally(() => {
          session.summarising = false;
        }),
    );
  }

  /** Calls not finished yet (what a shutdown cut short drops). */
  get pendingTasks(): number {
    return this.tasks.size;
  }

  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  private track(task: Promise<unknown>) {
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  /** One background model call: a `chat` span under the run that asked, marked as background work. */
  private async complete(
    task: string,
    system: string,
    text: string,
    maxTokens: number,
    attributes: Record<string, number> = {},
  ): Promise<{ reply: string; usage: Usage }> {
    // Held off while an answer waits for its first token, outside the span (it times the model call).
    await this.quiet();
    const out = await this.tracing.inSpan(
      `chat ${this.modelId}`,
      SpanKind.CLIENT,
      {
        [GEN_AI.operation]: 'chat',
        [GEN_AI.provider]: PROVIDER,
        [GEN_AI.requestModel]: this.modelId,
        [GEN_AI.requestMaxTokens]: maxTokens,
        [GEN_AI.requestTemperature]: 0,
        'app.background_task': task,
        ...attributes,
      },
      async (span) => {
        const out = await this.client.send(
          new ConverseCommand({
            modelId: this.modelId,
            system: [{ text: system }],
            messages: [{ role: 'user', content: [{ text }] }],
            inferenceConfig: { maxTokens, temperature: 0 },
          }),
        );
        span.setAttributes({
          ...usageAttributes(usageOf(out.usage)),
          [GEN_AI.responseModel]: this.modelId,
          [GEN_AI.finishReasons]: out.stopReason ? [out.stopReason] : [],
        });
        return out;
      },
    );
    // The call's tokens as they were, once per call; the runs that asked each get their share.
    const usage = usageOf(out.usage);
    this.metrics.emit(usageMetrics(usage, this.price), { ModelId: this.modelId });
    return { reply: (out.output?.message?.content ?? []).map((b) => b.text ?? '').join(''), usage };
  }
}

interface Classification {
  text: string;
  log: Logger;
  onUsage?: OnUsage;
}

/** The topic of each of `count` numbered messages from `<number>: <topic>` lines (undefined: no line). */
function parseTopics(reply: string, count: number): (Topic | undefined)[] {
  const topics: (Topic | undefined)[] = Array.from({ length: count });
  for (const line of reply.split('\n')) {
    const m = /(\d+)\s*[:.)]\s*(.*)/.exec(line);
    const i = m ? Number(m[1]) - 1 : -1;
    if (i >= 0 && i < count && topics[i] === undefined) topics[i] = parseTopic(m![2]);
  }
  return topics;
}

/**
 * A shared call's usage in `count` shares that add up to it: each count divided evenly, the remainder
 * to the first shares (a message's own share cannot be known: the tokens of one prompt and one answer).
 */
export function splitUsage(usage: Usage, count: number): Usage[] {
  return Array.from({ length: count }, (_, i) => {
    const share = {} as Usage;
    for (const key of Object.keys(usage) as (keyof Usage)[]) {
      const total = usage[key] ?? 0;
      share[key] = Math.floor(total / count) + (i < total % count ? 1 : 0);
    }
    return share;
  });
}

function parseTopic(reply: string): Topic {
  const words = reply.toLowerCase().match(/[a-z]+/g) ?? [];
  return (words.find((w) => (TOPICS as readonly string[]).includes(w)) as Topic | undefined) ?? 'other';
}

function renderMessage(m: Message): string {
  const parts = (m.content ?? []).map((b) => {
    if (b.text) return b.text;
    if (b.toolUse) return `[called ${b.toolUse.name} with ${JSON.stringify(b.toolUse.input)}]`;
    if (b.toolResult)
      return `[tool result: ${(b.toolResult.content ?? []).map((c) => c.text ?? '').join(' ')}]`;
    return '';
  });
  return `${m.role === 'user' ? 'User' : 'Assistant'}: ${parts.filter(Boolean).join(' ')}`;
}
