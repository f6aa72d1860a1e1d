import { createHash } from 'node:crypto';
import {
  BedrockAgentCoreClient,
  CreateEventCommand,
  ListEventsCommand,
  RetrieveMemoryRecordsCommand,
  type Event,
} from '@aws-sdk/client-bedrock-agentcore';
import type { Message } from '@aws-sdk/client-bedrock-runtime';
import { keepAliveHandler, warmUp } from './aws-http';
import { fillNamespace, type Config } from './config';
import { toTurns, type Turn } from './session';
import type { Logger } from './telemetry/logger';
import { GEN_AI, SpanKind, Tracing } from './telemetry/tracing';

/** The AgentCore data-plane client memory uses: keep-alive, with the configured timeouts. */
export function memoryClient(config: Config) {
  return new BedrockAgentCoreClient({
    region: config.AWS_REGION,
    requestHandler: keepAliveHandler({
      connectMs: config.AWS_CONNECT_TIMEOUT_MS,
      idleMs: config.MEMORY_IDLE_TIMEOUT_MS,
    }),
  });
}

export interface SessionIds {
  actorId: string;
  sessionId: string;
}

const RECORD_KINDS = [
  { key: 'MEMORY_SEMANTIC_NAMESPACE', kind: 'facts', title: 'Facts the user shared before' },
  { key: 'MEMORY_PREFERENCE_NAMESPACE', kind: 'preferences', title: 'User preferences' },
  { key: 'MEMORY_SUMMARY_NAMESPACE', kind: 'summary', title: 'Summary of this session so far' },
] as const;

/** One conversational message of a turn, as Memory stores it. */
export interface MemoryMessage {
  role: 'USER' | 'ASSISTANT';
  text: string;
}

/** A long-term record used for a run (also shown to AG-UI clients as state). */
export interface UsedRecord {
  kind: (typeof RECORD_KINDS)[number]['kind'];
  text: string;
}

// AgentCore Memory's own id rules (API_CreateEvent), stricter than the runtime's session ids and the
// JWT subjects this agent accepts.
const MEMORY_ACTOR_ID = /^(?=.{1,255}$)[a-zA-Z0-9][a-zA-Z0-9\-_/]*(?::[a-zA-Z0-9\-_/]+)*[a-zA-Z0-9\-_/]*$/;
const MEMORY_SESSION_ID = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$/;
const digest = (id: string) => createHash('sha256').update(id).digest('hex');

/**
 * The ids Memory is called with: each id as it is when Memory accepts it, else a stable digest of it
 * (`a-`/`s-` + SHA-256 hex), so one session always maps to one Memory session and survives restarts.
 */
export function memoryIds(ids: SessionIds): SessionIds {
  return {
    actorId: MEMORY_ACTOR_ID.test(ids.actorId) ? ids.actorId : `a-${digest(ids.actorId)}`,
    sessionId: MEMORY_SESSION_ID.test(ids.sessionId) ? ids.sessionId : `s-${digest(ids.sessionId)}`,
  };
}

/**
 * AgentCore Memory: short-term events (every turn) and long-term records (facts, preferences, summaries).
 * Reads are bounded by time budgets and never fail a request; writes run in the background and are
 * awaited before a run finishes and at shutdown.
 */
export class Memory {
  private readonly pending = new Map<string, Set<Promise<void>>>();
  private lastTimestamp = 0;
  /** The client's credentials and region, resolved from the start (never rejects: failures are logged). */
  private readonly ready: Promise<void>;

  constructor(
    private readonly client: BedrockAgentCoreClient,
    private readonly memoryId: string,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly tracing = new Tracing(),
  ) {
    this.ready = warmUp(client).catch((e: Error) =>
      log.warn({ err: e }, 'memory client: credentials or region not resolved ahead of the first call'),
    );
  }

  /**
   * Write one turn's messages (the question, the answer, or both, in order) as one event: a payload
   * holds several items, so a turn costs one CreateEvent. Returns at once; `flush` awaits it.
   */
  record(session: SessionIds, messages: MemoryMessage[], log = this.log): void {
    if (messages.length === 0) return;
    const ids = memoryIds(session);
    const roles = messages.map((m) => m.role);
    // Strictly increasing timestamps (ms precision on the wire) keep the order for ListEvents.
    const eventTimestamp = new Date((this.lastTimestamp = Math.max(Date.now(), this.lastTimestamp + 1)));
    const write = this.tracing
      .inSpan(
        'memory create_event',
        SpanKind.CLIENT,
        { 'aws.bedrock_agentcore.memory.id': this.memoryId, 'aws.bedrock_agentcore.memory.roles': roles },
        () =>
          this.client.send(
            new CreateEventCommand({
              memoryId: this.memoryId,
              actorId: ids.actorId,
              sessionId: ids.sessionId,
              eventTimestamp,
              payload: messages.map(({ role, text }) => ({ conversational: { role, content: { text } } })),
            }),
          ),
      )
      .then(
        (out) => log.debug({ eventId: out.event?.eventId, roles }, 'memory event written'),
        (e: Error) => log.error({ err: e, roles }, 'memory event write failed'),
      );
    const key = session.sessionId;
    const set = this.pending.get(key) ?? new Set();
    this.pending.set(key, set);
    set.add(write);
    void write.finally(() => {
      set.delete(write);
      if (set.size === 0 && this.pending.get(key) === set) this.pending.delete(key);
    });
  }

  /** Writes not finished yet, in all sessions (what a shutdown cut short drops). */
  get pendingWrites(): number {
    let n = 0;
    for (const set of this.pending.values()) n += set.size;
    return n;
  }

  /**
   * Await the writes of one session, or of all sessions; with `withinMs`, at most that long.
   * True once they all settled (a failed write is logged where it fails), false when time ran out.
   */
  async flush(sessionId?: string, withinMs?: number): Promise<boolean> {
    const sets = sessionId ? [this.pending.get(sessionId)] : [...this.pending.values()];
    const writes = Promise.all(sets.flatMap((s) => (s ? [...s] : []))).then(() => true);
    if (withinMs === undefined) return writes;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, withinMs, false)));
    try {
      return await Promise.race([writes, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Rebuild a session's conversation from its events (text turns, roles alternating). */
  loadHistory(session: SessionIds, signal: AbortSignal): Promise<Message[][]> {
    const ids = memoryIds(session);
    return this.tracing.inSpan(
      'memory list_events',
      SpanKind.CLIENT,
      { 'aws.bedrock_agentcore.memory.id': this.memoryId },
      async (span) => {
        const turns = await this.listHistory(ids, signal);
        span.setAttribute('app.memory.turns', turns.length);
        return turns;
      },
    );
  }

  private async listHistory(ids: SessionIds, signal: AbortSignal): Promise<Message[][]> {
    const events: Event[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListEventsCommand({
          memoryId: this.memoryId,
          ...ids,
          includePayloads: true,
          maxResults: 100,
          nextToken,
        }),
        { abortSignal: signal },
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    events.sort((a, b) => (a.eventTimestamp?.getTime() ?? 0) - (b.eventTimestamp?.getTime() ?? 0));
    return toTurns(eventTurns(events));
  }

  /**
   * Long-term records relevant to the query from every namespace, in parallel, within the budget.
   * Whatever has not arrived by then is left out (and logged).
   */
  retrieveContext(
    session: SessionIds,
    query: string,
    signal: AbortSignal,
    log = this.log,
  ): Promise<{ context?: string; records: UsedRecord[] }> {
    const ids = memoryIds(session);
    return this.tracing.inSpan(
      `retrieval ${this.memoryId}`,
      SpanKind.CLIENT,
      { [GEN_AI.operation]: 'retrieval', [GEN_AI.dataSourceId]: this.memoryId },
      () => this.retrieve(ids, query, signal, log),
    );
  }

  private async retrieve(ids: SessionIds, query: string, signal: AbortSignal, log: Logger) {
    // The budget is for Memory's answer, not for resolving this process's credentials: a fresh
    // process's first retrievals would otherwise be dropped (the wait is the providers' own, bounded).
    await this.ready;
    const started = Date.now();
    const budget = AbortSignal.any([signal, AbortSignal.timeout(this.config.MEMORY_RETRIEVE_BUDGET_MS)]);
    const results = await Promise.allSettled(
      RECORD_KINDS.map(async (kind) => {
        const namespace = fillNamespace(this.config[kind.key], ids);
        const out = await this.client.send(
          new RetrieveMemoryRecordsCommand({
            memoryId: this.memoryId,
            namespace,
            searchCriteria: { searchQuery: query.slice(0, 10_000), topK: 5 },
          }),
          { abortSignal: budget },
        );
        const texts = (out.memoryRecordSummaries ?? []).flatMap((r) =>
          r.content?.text ? [r.content.text] : [],
        );
        return { kind: kind.kind, title: kind.title, texts };
      }),
    );
    const sections: string[] = [];
    const records: UsedRecord[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        records.push(...r.value.texts.map((text) => ({ kind: r.value.kind, text })));
        if (r.value.texts.length)
          sections.push(`${r.value.title}:\n${r.value.texts.map((t) => `- ${t}`).join('\n')}`);
      } else {
        const timedOut = budget.aborted && !signal.aborted;
        log.warn(
          {
            namespace: RECORD_KINDS[i].key,
            err: timedOut ? undefined : r.reason,
            budgetMs: this.config.MEMORY_RETRIEVE_BUDGET_MS,
          },
          timedOut
            ? 'memory retrieval exceeded its budget; answering without it'
            : 'memory retrieval failed; answering without it',
        );
      }
    });
    log.debug({ records: records.length, ms: Date.now() - started }, 'memory retrieved');
    if (sections.length === 0) return { records };
    return {
      context: `<memory>\nContext from long-term memory (may be outdated; what the user says now wins):\n${sections.join('\n')}\n</memory>`,
      records,
    };
  }
}

/** The text turns of memory events, oldest first as given. */
function eventTurns(events: Event[]): Turn[] {
  return events.flatMap((event) =>
    (event.payload ?? []).flatMap((item): Turn[] => {
      const c = item.conversational;
      const text = c?.content?.text;
      if (!text || (c.role !== 'USER' && c.role !== 'ASSISTANT')) return [];
      return [{ role: c.role === 'USER' ? 'user' : 'assistant', text }];
    }),
  );
}
