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

  /** Tag a user message with a topic, for logs and the UserMessages metric. */
  classify(text: string, log: Logger, onUsage?: OnUsage): void {
    this.track(
      this.complete('classify', CLASSIFY_PROMPT, text.slice(0, 4000), 10, onUsage).then(
        (reply) => {
          const topic = parseTopic(reply);
          log.info({ topic }, 'user message classified');
          this.metrics.emit([{ name: 'UserMessages', value: 1, unit: 'Count' }], { Topic: topic });
        },
        (e: Error) => log.warn({ err: e }, 'topic classification failed'),
      ),
    );
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
      this.complete('summarise', SUMMARY_PROMPT, transcript, 400, onUsage)
        .then(
          (summary) => {
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
    onUsage?: OnUsage,
  ): Promise<string> {
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
    const usage = usageOf(out.usage);
    this.metrics.emit(usageMetrics(usage, this.price), { ModelId: this.modelId });
    onUsage?.(usage);
    return (out.output?.message?.content ?? []).map((b) => b.text ?? '').join('');
  }
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
