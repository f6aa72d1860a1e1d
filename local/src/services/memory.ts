import { randomBytes, randomUUID } from 'node:crypto';
import { randomId } from '../core/ids';
import { jsonBody } from '../core/json-body';
import { AwsError, sendJson } from '../core/respond';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import type { TwinContext } from '../twin';
import { extractFacts, extractPreferences, score, summarise, type Extracted } from './memory-extract';

export interface MemoryOptions {
  /** How long a new memory stays CREATING (default 20 ms). */
  activationDelayMs?: number;
  /** How long a deleted memory stays DELETING before it is gone (default: activationDelayMs). */
  deleteDelayMs?: number;
  /**
   * Write or refresh a session's summary each time its conversational messages (payload items, however
   * many an event carries) pass a multiple of N (default 4: two turns of question and answer).
   */
  summaryEveryMessages?: number;
}

type StrategyType = 'SEMANTIC' | 'SUMMARIZATION' | 'USER_PREFERENCE' | 'CUSTOM' | 'EPISODIC';

interface Strategy {
  strategyId: string;
  name: string;
  description?: string;
  type: StrategyType;
  namespaces: string[];
}

interface MemoryResource {
  arn: string;
  id: string;
  name: string;
  description?: string;
  eventExpiryDuration: number;
  /** Epoch milliseconds; the status derives from it and the activation delay. */
  createdAtMs: number;
  /** Set by DeleteMemory (epoch ms): DELETING until the delete delay has passed, then gone. */
  deletedAtMs?: number;
  strategies: Strategy[];
}

interface StoredEvent {
  memoryId: string;
  actorId: string;
  sessionId: string;
  eventId: string;
  eventTimestamp: number;
  payload: Payload[];
  metadata?: Record<string, unknown>;
}

interface Payload {
  conversational?: { content?: { text?: string }; role?: string };
  blob?: unknown;
}

interface StoredRecord {
  memoryRecordId: string;
  memoryId: string;
  memoryStrategyId: string;
  namespace: string;
  key: string;
  text: string;
  createdAt: number;
}

interface MemoryState {
  memories: Record<string, MemoryResource>;
  events: StoredEvent[];
  records: StoredRecord[];
}

const STRATEGY_KINDS: Record<string, { type: StrategyType; namespace: string }> = {
  semanticMemoryStrategy: { type: 'SEMANTIC', namespace: '/strategies/{memoryStrategyId}/actors/{actorId}' },
  userPreferenceMemoryStrategy: {
    type: 'USER_PREFERENCE',
    namespace: '/strategies/{memoryStrategyId}/actors/{actorId}',
  },
  summaryMemoryStrategy: {
    type: 'SUMMARIZATION',
    namespace: '/strategies/{memoryStrategyId}/actors/{actorId}/sessions/{sessionId}',
  },
  customMemoryStrategy: { type: 'CUSTOM', namespace: '/strategies/{memoryStrategyId}/actors/{actorId}' },
  episodicMemoryStrategy: {
    type: 'EPISODIC',
    namespace: '/strategies/{memoryStrategyId}/actors/{actorId}/sessions/{sessionId}',
  },
};

const NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,47}$/;
const ACTOR = /^[a-zA-Z0-9][a-zA-Z0-9\-_/]*(?::[a-zA-Z0-9\-_/]+)*[a-zA-Z0-9\-_/]*$/;
/** CreateEvent's sessionId: 1 to 100 characters, `[a-zA-Z0-9][a-zA-Z0-9-_]*` (API_CreateEvent). */
const SESSION = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$/;
const ROLES = ['USER', 'ASSISTANT', 'TOOL', 'OTHER'];

// Both AgentCore planes' ValidationException require `reason` (service models); these are field checks.
const invalid = (message: string) =>
  new AwsError('ValidationException', message, 400, { reason: 'FieldValidationFailed' });
const mustNotBeNull = (field: string) =>
  invalid(
    `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
  );
const seconds = (ms: number) => Math.floor(ms / 1000);

const body = <T>(req: TwinRequest) => jsonBody<Partial<T>>(req);

function page<T>(items: T[], maxResults: unknown, nextToken: unknown, limit = 100) {
  const size = typeof maxResults === 'number' && maxResults > 0 ? Math.min(maxResults, limit) : 20;
  const start = typeof nextToken === 'string' && /^\d+$/.test(nextToken) ? Number(nextToken) : 0;
  const slice = items.slice(start, start + size);
  return { slice, nextToken: start + size < items.length ? String(start + size) : undefined };
}

/** AgentCore Memory: control plane (memories) and data plane (events, sessions, long-term records). */
export function register(router: Router, ctx: TwinContext) {
  const opts = { activationDelayMs: 20, summaryEveryMessages: 4, ...ctx.options.memory };
  const deleteDelayMs = ctx.options.memory?.deleteDelayMs ?? opts.activationDelayMs;
  const state = ctx.state.get<MemoryState>('memory', () => ({ memories: {}, events: [], records: [] }));

  const status = (m: MemoryResource) =>
    m.deletedAtMs !== undefined
      ? 'DELETING'
      : ctx.clock.now() - m.createdAtMs >= opts.activationDelayMs
        ? 'ACTIVE'
        : 'CREATING';
  /** Deletes are asynchronous (202 DELETING); a memory whose delete has settled is removed here. */
  function purgeDeleted() {
    for (const m of Object.values(state.memories)) {
      if (m.deletedAtMs === undefined || ctx.clock.now() - m.deletedAtMs < deleteDelayMs) continue;
      delete state.memories[m.id];
      state.events = state.events.filter((e) => e.memoryId !== m.id);
      state.records = state.records.filter((r) => r.memoryId !== m.id);
    }
  }
  const view = (m: MemoryResource) => ({
    arn: m.arn,
    id: m.id,
    name: m.name,
    ...(m.description ? { description: m.description } : {}),
    eventExpiryDuration: m.eventExpiryDuration,
    status: status(m),
    createdAt: seconds(m.createdAtMs),
    updatedAt: seconds(m.createdAtMs),
    strategies: m.strategies.map((s) => ({
      strategyId: s.strategyId,
      name: s.name,
      ...(s.description ? { description: s.description } : {}),
      type: s.type,
      namespaces: s.namespaces,
      namespaceTemplates: s.namespaces,
      status: 'ACTIVE',
    })),
  });

  function memory(id: string, { active = false } = {}): MemoryResource {
    purgeDeleted();
    const m = state.memories[id];
    if (!m) throw new AwsError('ResourceNotFoundException', `Memory not found: ${id}`, 404);
    if (active && status(m) !== 'ACTIVE') {
      throw invalid(
        `Memory ${id} is in ${status(m)} status; wait until it is ACTIVE (GetMemory) before using it.`,
      );
    }
    return m;
  }

  function createMemory(input: {
    name?: unknown;
    description?: string;
    eventExpiryDuration?: unknown;
    memoryStrategies?: Record<string, { name?: string; description?: string; namespaces?: string[] }>[];
  }): MemoryResource {
    if (input.name === undefined) throw mustNotBeNull('name');
    if (typeof input.name !== 'string' || !NAME.test(input.name)) {
      throw invalid(
        `1 validation error detected: Value '${String(input.name)}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47} (no hyphens)`,
      );
    }
    if (input.eventExpiryDuration === undefined) throw mustNotBeNull('eventExpiryDuration');
    const days = input.eventExpiryDuration;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 365) {
      throw invalid(
        `1 validation error detected: Value '${String(days)}' at 'eventExpiryDuration' failed to satisfy constraint: Member must be between 7 and 365`,
      );
    }
    if (Object.values(state.memories).some((m) => m.name === input.name)) {
      throw new AwsError('ConflictException', `A memory named ${input.name} already exists.`, 409);
    }
    const strategies = (input.memoryStrategies ?? []).map((entry, i): Strategy => {
      const [kind, spec] = Object.entries(entry)[0] ?? [];
      const known = kind ? STRATEGY_KINDS[kind] : undefined;
      if (!known || !spec) {
        throw invalid(
          `memoryStrategies.${i} must set exactly one of ${Object.keys(STRATEGY_KINDS).join(', ')}.`,
        );
      }
      if (!spec.name || !NAME.test(spec.name)) {
        throw invalid(
          `memoryStrategies.${i}.${kind}.name must match [a-zA-Z][a-zA-Z0-9_]{0,47} (no hyphens).`,
        );
      }
      return {
        strategyId: `${spec.name}-${randomId(10)}`,
        name: spec.name,
        ...(spec.description ? { description: spec.description } : {}),
        type: known.type,
        namespaces: spec.namespaces?.length ? spec.namespaces : [known.namespace],
      };
    });
    const id = `${input.name}-${randomId(10)}`;
    const m: MemoryResource = {
      arn: `arn:aws:bedrock-agentcore:${ctx.region}:${ctx.accountId}:memory/${id}`,
      id,
      name: input.name,
      ...(input.description ? { description: input.description } : {}),
      eventExpiryDuration: days,
      createdAtMs: ctx.clock.now(),
      strategies,
    };
    state.memories[id] = m;
    return m;
  }

  // ---- control plane ----
  router.route('POST', '/memories/create', (req, res) => {
    sendJson(res, 202, { memory: view(createMemory(body(req))) });
  });
  router.route('GET', '/memories/{memoryId}/details', (req, res) => {
    sendJson(res, 200, { memory: view(memory(req.params.memoryId)) });
  });
  router.route('POST', '/memories/', (req, res) => {
    const input = body<{ maxResults: number; nextToken: string }>(req);
    purgeDeleted();
    const all = Object.values(state.memories).sort((a, b) => a.createdAtMs - b.createdAtMs);
    const { slice, nextToken } = page(all, input.maxResults, input.nextToken);
    sendJson(res, 200, {
      memories: slice.map((m) => {
        const v = view(m);
        return { arn: v.arn, id: v.id, status: v.status, createdAt: v.createdAt, updatedAt: v.updatedAt };
      }),
      ...(nextToken ? { nextToken } : {}),
    });
  });
  router.route('DELETE', '/memories/{memoryId}/delete', (req, res) => {
    const m = memory(req.params.memoryId);
    m.deletedAtMs ??= ctx.clock.now();
    sendJson(res, 202, { memoryId: m.id, status: 'DELETING' });
  });

  // ---- data plane: events ----
  const eventView = (e: StoredEvent, withPayload = true) => ({
    memoryId: e.memoryId,
    actorId: e.actorId,
    sessionId: e.sessionId,
    eventId: e.eventId,
    eventTimestamp: e.eventTimestamp,
    payload: withPayload ? e.payload : [],
    ...(e.metadata ? { metadata: e.metadata } : {}),
  });

  router.route('POST', '/memories/{memoryId}/events', (req, res) => {
    const m = memory(req.params.memoryId, { active: true });
    const input = body<Omit<StoredEvent, 'eventId' | 'memoryId'>>(req);
    if (input.actorId === undefined) throw mustNotBeNull('actorId');
    if (typeof input.actorId !== 'string' || !ACTOR.test(input.actorId) || input.actorId.length > 255) {
      throw invalid(
        `1 validation error detected: Value '${String(input.actorId)}' at 'actorId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9][a-zA-Z0-9-_/]*(?::[a-zA-Z0-9-_/]+)*[a-zA-Z0-9-_/]*`,
      );
    }
    if (input.sessionId === undefined) throw mustNotBeNull('sessionId');
    if (typeof input.sessionId !== 'string' || !SESSION.test(input.sessionId)) {
      throw invalid(
        `1 validation error detected: Value '${String(input.sessionId)}' at 'sessionId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9][a-zA-Z0-9-_]* and length 1 to 100`,
      );
    }
    if (input.eventTimestamp === undefined) throw mustNotBeNull('eventTimestamp');
    if (typeof input.eventTimestamp !== 'number') {
      throw invalid(
        `eventTimestamp must be a timestamp in epoch seconds (a JSON number), got ${JSON.stringify(input.eventTimestamp)}.`,
      );
    }
    if (!Array.isArray(input.payload) || !input.payload.length) {
      throw invalid(
        "1 validation error detected: Value at 'payload' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    }
    input.payload.forEach((p, i) => {
      if (!p.conversational && p.blob === undefined)
        throw invalid(`payload.${i} must set conversational or blob.`);
      if (p.conversational && !ROLES.includes(String(p.conversational.role))) {
        throw invalid(
          `1 validation error detected: Value '${p.conversational.role}' at 'payload.${i + 1}.member.conversational.role' failed to satisfy constraint: Member must satisfy enum value set: [${ROLES.join(', ')}]`,
        );
      }
    });
    const event: StoredEvent = {
      memoryId: m.id,
      actorId: input.actorId,
      sessionId: input.sessionId,
      eventId: `${String(Math.round(input.eventTimestamp * 1000)).padStart(19, '0')}#${randomBytes(4).toString('hex')}`,
      eventTimestamp: input.eventTimestamp,
      payload: input.payload,
      ...(input.metadata ? { metadata: input.metadata } : {}),
    };
    state.events.push(event);
    extract(m, event);
    sendJson(res, 201, { event: eventView(event) });
  });

  const sessionEvents = (memoryId: string, actorId: string, sessionId: string) =>
    state.events
      .filter((e) => e.memoryId === memoryId && e.actorId === actorId && e.sessionId === sessionId)
      .sort((a, b) => a.eventTimestamp - b.eventTimestamp);

  function findEvent(req: TwinRequest) {
    const m = memory(req.params.memoryId);
    const e = sessionEvents(m.id, req.params.actorId, req.params.sessionId).find(
      (x) => x.eventId === req.params.eventId,
    );
    if (!e) throw new AwsError('ResourceNotFoundException', `Event not found: ${req.params.eventId}`, 404);
    return e;
  }
  router.route(
    'GET',
    '/memories/{memoryId}/actor/{actorId}/sessions/{sessionId}/events/{eventId}',
    (req, res) => {
      sendJson(res, 200, { event: eventView(findEvent(req)) });
    },
  );
  router.route(
    'DELETE',
    '/memories/{memoryId}/actor/{actorId}/sessions/{sessionId}/events/{eventId}',
    (req, res) => {
      const e = findEvent(req);
      state.events = state.events.filter((x) => x !== e);
      sendJson(res, 200, { eventId: e.eventId });
    },
  );
  router.route('POST', '/memories/{memoryId}/actor/{actorId}/sessions/{sessionId}', (req, res) => {
    const m = memory(req.params.memoryId);
    const input = body<{ includePayloads: boolean; maxResults: number; nextToken: string }>(req);
    const { slice, nextToken } = page(
      sessionEvents(m.id, req.params.actorId, req.params.sessionId),
      input.maxResults,
      input.nextToken,
    );
    sendJson(res, 200, {
      events: slice.map((e) => eventView(e, input.includePayloads !== false)),
      ...(nextToken ? { nextToken } : {}),
    });
  });
  router.route('POST', '/memories/{memoryId}/actor/{actorId}/sessions', (req, res) => {
    const m = memory(req.params.memoryId);
    const input = body<{ maxResults: number; nextToken: string }>(req);
    const first = new Map<string, number>();
    for (const e of state.events) {
      if (e.memoryId !== m.id || e.actorId !== req.params.actorId) continue;
      first.set(e.sessionId, Math.min(first.get(e.sessionId) ?? Infinity, e.eventTimestamp));
    }
    const sessions = [...first]
      .sort((a, b) => b[1] - a[1])
      .map(([sessionId, createdAt]) => ({ sessionId, actorId: req.params.actorId, createdAt }));
    const { slice, nextToken } = page(sessions, input.maxResults, input.nextToken);
    sendJson(res, 200, { sessionSummaries: slice, ...(nextToken ? { nextToken } : {}) });
  });
  router.route('POST', '/memories/{memoryId}/actors', (req, res) => {
    const m = memory(req.params.memoryId);
    const input = body<{ maxResults: number; nextToken: string }>(req);
    const actors = [...new Set(state.events.filter((e) => e.memoryId === m.id).map((e) => e.actorId))];
    const { slice, nextToken } = page(actors, input.maxResults, input.nextToken);
    sendJson(res, 200, {
      actorSummaries: slice.map((actorId) => ({ actorId })),
      ...(nextToken ? { nextToken } : {}),
    });
  });

  // ---- long-term records ----
  /** Run each strategy's rules on a new event and upsert the records into its resolved namespace. */
  function extract(m: MemoryResource, event: StoredEvent) {
    const userText = event.payload
      .filter((p) => p.conversational?.role === 'USER')
      .map((p) => p.conversational?.content?.text ?? '')
      .join('\n');
    const conversational = state.events.filter(
      (e) =>
        e.memoryId === m.id &&
        e.actorId === event.actorId &&
        e.sessionId === event.sessionId &&
        e.payload.some((p) => p.conversational),
    );
    // The session's conversational messages before and with this event: a summary when they pass a
    // multiple of the cadence (an event of a whole turn carries two).
    const messages = (e: StoredEvent) => e.payload.filter((p) => p.conversational).length;
    const total = conversational.reduce((n, e) => n + messages(e), 0);
    const summaryDue =
      Math.floor(total / opts.summaryEveryMessages) >
      Math.floor((total - messages(event)) / opts.summaryEveryMessages);
    for (const s of m.strategies) {
      let found: Extracted[] = [];
      if (s.type === 'SEMANTIC') found = extractFacts(userText);
      else if (s.type === 'USER_PREFERENCE') found = extractPreferences(userText);
      else if (s.type === 'SUMMARIZATION' && summaryDue) {
        const texts = conversational.flatMap((e) =>
          e.payload
            .filter((p) => p.conversational?.role === 'USER')
            .map((p) => p.conversational?.content?.text ?? ''),
        );
        if (texts.length) found = [summarise(texts)];
      }
      for (const x of found) {
        for (const template of s.namespaces) {
          const namespace = template
            .replaceAll('{actorId}', event.actorId)
            .replaceAll('{sessionId}', event.sessionId)
            .replaceAll('{memoryStrategyId}', s.strategyId);
          const existing = state.records.find(
            (r) => r.memoryId === m.id && r.namespace === namespace && r.key === x.key,
          );
          if (existing) Object.assign(existing, { text: x.text, createdAt: event.eventTimestamp });
          else {
            state.records.push({
              memoryRecordId: `mem-${randomUUID()}`,
              memoryId: m.id,
              memoryStrategyId: s.strategyId,
              namespace,
              key: x.key,
              text: x.text,
              createdAt: event.eventTimestamp,
            });
          }
        }
      }
    }
  }

  const recordView = (r: StoredRecord, score?: number) => ({
    memoryRecordId: r.memoryRecordId,
    content: { text: r.text },
    memoryStrategyId: r.memoryStrategyId,
    namespaces: [r.namespace],
    createdAt: r.createdAt,
    ...(score === undefined ? {} : { score }),
  });
  const inNamespace = (r: StoredRecord, prefix: string | undefined) =>
    !prefix || r.namespace.startsWith(prefix);

  router.route('POST', '/memories/{memoryId}/retrieve', (req, res) => {
    const m = memory(req.params.memoryId);
    const input = body<{
      namespace: string;
      namespacePath: string;
      searchCriteria: { searchQuery?: string; memoryStrategyId?: string; topK?: number };
      maxResults: number;
      nextToken: string;
    }>(req);
    const criteria = input.searchCriteria;
    if (!criteria) throw mustNotBeNull('searchCriteria');
    if (typeof criteria.searchQuery !== 'string' || !criteria.searchQuery.trim()) {
      throw invalid(
        "1 validation error detected: Value at 'searchCriteria.searchQuery' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    }
    const prefix = input.namespace ?? input.namespacePath;
    const ranked = state.records
      .filter((r) => r.memoryId === m.id && inNamespace(r, prefix))
      .filter((r) => !criteria.memoryStrategyId || r.memoryStrategyId === criteria.memoryStrategyId)
      .map((r) => ({ r, s: score(criteria.searchQuery!, r.text) }))
      .sort((a, b) => b.s - a.s || b.r.createdAt - a.r.createdAt)
      .slice(0, criteria.topK ?? 10);
    const { slice, nextToken } = page(ranked, input.maxResults, input.nextToken);
    sendJson(res, 200, {
      memoryRecordSummaries: slice.map(({ r, s }) => recordView(r, s)),
      ...(nextToken ? { nextToken } : {}),
    });
  });
  router.route('POST', '/memories/{memoryId}/memoryRecords', (req, res) => {
    const m = memory(req.params.memoryId);
    const input = body<{
      namespace: string;
      namespacePath: string;
      memoryStrategyId: string;
      maxResults: number;
      nextToken: string;
    }>(req);
    const records = state.records
      .filter((r) => r.memoryId === m.id && inNamespace(r, input.namespace ?? input.namespacePath))
      .filter((r) => !input.memoryStrategyId || r.memoryStrategyId === input.memoryStrategyId)
      .sort((a, b) => b.createdAt - a.createdAt);
    const { slice, nextToken } = page(records, input.maxResults, input.nextToken);
    sendJson(res, 200, {
      memoryRecordSummaries: slice.map((r) => recordView(r)),
      ...(nextToken ? { nextToken } : {}),
    });
  });
  const findRecord = (req: TwinRequest) => {
    const m = memory(req.params.memoryId);
    const r = state.records.find(
      (x) => x.memoryId === m.id && x.memoryRecordId === req.params.memoryRecordId,
    );
    if (!r)
      throw new AwsError(
        'ResourceNotFoundException',
        `Memory record not found: ${req.params.memoryRecordId}`,
        404,
      );
    return r;
  };
  router.route('GET', '/memories/{memoryId}/memoryRecord/{memoryRecordId}', (req, res: TwinResponse) => {
    sendJson(res, 200, { memoryRecord: recordView(findRecord(req)) });
  });
  router.route('DELETE', '/memories/{memoryId}/memoryRecords/{memoryRecordId}', (req, res) => {
    const r = findRecord(req);
    state.records = state.records.filter((x) => x !== r);
    sendJson(res, 200, { memoryRecordId: r.memoryRecordId });
  });

  return {
    /** Create a memory in-process (same input and validation as CreateMemory); it turns ACTIVE after the delay. */
    createMemory: (input: Parameters<typeof createMemory>[0]) => view(createMemory(input)),
    getMemory: (id: string) => view(memory(id)),
    /** Every long-term record of a memory, for assertions. */
    records: (memoryId: string) =>
      state.records
        .filter((r) => r.memoryId === memoryId)
        .map((r) => ({ ...recordView(r), namespace: r.namespace })),
  };
}

export type MemoryApi = ReturnType<typeof register>;
