import {
  BedrockAgentCoreClient,
  CreateEventCommand,
  DeleteMemoryRecordCommand,
  GetEventCommand,
  GetMemoryRecordCommand,
  ListEventsCommand,
  ListMemoryRecordsCommand,
  ListSessionsCommand,
  RetrieveMemoryRecordsCommand,
} from '@aws-sdk/client-bedrock-agentcore';
import {
  BedrockAgentCoreControlClient,
  CreateMemoryCommand,
  DeleteMemoryCommand,
  GetMemoryCommand,
  ListMemoriesCommand,
  waitUntilMemoryCreated,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigv4Header } from './helpers/iam';
import { startTwin, type Twin } from '../src/twin';
import { clientConfig } from './image-fixture';

let twin: Twin;
let control: BedrockAgentCoreControlClient;
let data: BedrockAgentCoreClient;
let memoryId: string;
const ACTOR = 'user-1234';
const SESSION = 'session-0000000000000000000000000000001';

beforeAll(async () => {
  twin = await startTwin({ memory: { activationDelayMs: 30, summaryEveryMessages: 2, deleteDelayMs: 300 } });
  const config = clientConfig(twin);
  control = new BedrockAgentCoreControlClient(config);
  data = new BedrockAgentCoreClient(config);
});
afterAll(async () => {
  control.destroy();
  data.destroy();
  await twin.close();
});

const say = (text: string, role: 'USER' | 'ASSISTANT' = 'USER', sessionId = SESSION, t = 1_780_000_000) =>
  data.send(
    new CreateEventCommand({
      memoryId,
      actorId: ACTOR,
      sessionId,
      eventTimestamp: new Date(t * 1000),
      payload: [{ conversational: { role, content: { text } } }],
    }),
  );

describe('memory control plane', () => {
  it('creates a memory that goes CREATING → ACTIVE, lists and gets it', async () => {
    const created = await control.send(
      new CreateMemoryCommand({
        name: 'agent_memory',
        eventExpiryDuration: 30,
        memoryStrategies: [
          { semanticMemoryStrategy: { name: 'facts', namespaces: ['/facts/{actorId}'] } },
          { userPreferenceMemoryStrategy: { name: 'preferences', namespaces: ['/preferences/{actorId}'] } },
          { summaryMemoryStrategy: { name: 'summaries', namespaces: ['/summaries/{actorId}/{sessionId}'] } },
        ],
      }),
    );
    memoryId = created.memory!.id!;
    expect(memoryId).toMatch(/^agent_memory-[A-Za-z0-9]{10}$/);
    expect(created.memory).toMatchObject({
      status: 'CREATING',
      arn: `arn:aws:bedrock-agentcore:us-east-1:123456789012:memory/${memoryId}`,
    });
    expect(created.memory!.createdAt).toBeInstanceOf(Date);
    expect(created.memory!.strategies!.map((s) => [s.type, s.namespaces])).toEqual([
      ['SEMANTIC', ['/facts/{actorId}']],
      ['USER_PREFERENCE', ['/preferences/{actorId}']],
      ['SUMMARIZATION', ['/summaries/{actorId}/{sessionId}']],
    ]);

    const waited = await waitUntilMemoryCreated(
      { client: control, maxWaitTime: 5, minDelay: 0.01, maxDelay: 0.05 } as never,
      { memoryId },
    );
    expect(waited.state).toBe('SUCCESS');
    expect((await control.send(new GetMemoryCommand({ memoryId }))).memory?.status).toBe('ACTIVE');
    const listed = await control.send(new ListMemoriesCommand({}));
    expect(listed.memories?.map((m) => m.id)).toContain(memoryId);
  });

  it('rejects names with hyphens, duplicates and unknown ids', async () => {
    const hyphen = await control
      .send(new CreateMemoryCommand({ name: 'agent-memory', eventExpiryDuration: 30 }))
      .catch((e: Error) => e);
    expect(hyphen).toMatchObject({ name: 'ValidationException' });
    const shortExpiry = await control
      .send(new CreateMemoryCommand({ name: 'short_memory', eventExpiryDuration: 3 }))
      .catch((e: Error) => e);
    expect(shortExpiry).toMatchObject({ name: 'ValidationException' });
    const dup = await control
      .send(new CreateMemoryCommand({ name: 'agent_memory', eventExpiryDuration: 30 }))
      .catch((e: Error) => e);
    expect(dup).toMatchObject({ name: 'ConflictException' });
    const missing = await control
      .send(new GetMemoryCommand({ memoryId: 'nope-0123456789' }))
      .catch((e: Error) => e);
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('memory data plane', () => {
  it('stores events and lists them per session', async () => {
    const first = await say('Hi! My name is Ada Lovelace and I live in London.');
    expect(first.event).toMatchObject({ actorId: ACTOR, sessionId: SESSION, memoryId });
    expect(first.event!.eventTimestamp).toEqual(new Date(1_780_000_000_000));
    await say('Nice to meet you, Ada.', 'ASSISTANT', SESSION, 1_780_000_001);

    const got = await data.send(
      new GetEventCommand({ memoryId, actorId: ACTOR, sessionId: SESSION, eventId: first.event!.eventId }),
    );
    expect(got.event?.payload?.[0].conversational?.content?.text).toContain('Ada Lovelace');
    const events = await data.send(new ListEventsCommand({ memoryId, actorId: ACTOR, sessionId: SESSION }));
    expect(events.events?.map((e) => e.payload?.[0].conversational?.role)).toEqual(['USER', 'ASSISTANT']);
    const sessions = await data.send(new ListSessionsCommand({ memoryId, actorId: ACTOR }));
    expect(sessions.sessionSummaries).toEqual([
      { sessionId: SESSION, actorId: ACTOR, createdAt: new Date(1_780_000_000_000) },
    ]);
  });

  it('extracts facts, preferences and a session summary into the strategies’ namespaces', async () => {
    await say('I really like green tea, and I work at Babbage Engines.', 'USER', SESSION, 1_780_000_002);
    const records = twin.memory.records(memoryId);
    const texts = (ns: string) => records.filter((r) => r.namespace === ns).map((r) => r.content.text);
    expect(texts(`/facts/${ACTOR}`).sort()).toEqual([
      'The user lives in London.',
      'The user works at Babbage Engines.',
      "The user's name is Ada Lovelace.",
    ]);
    expect(texts(`/preferences/${ACTOR}`)).toEqual(['User prefers green tea.']);
    expect(texts(`/summaries/${ACTOR}/${SESSION}`)[0]).toMatch(
      /^Session summary: the user talked about "Hi! My name is Ada/,
    );
  });

  it('keeps a whole turn in one event: both messages listed in order, the question extracted, both counted for the summary', async () => {
    const session = 'session-0000000000000000000000000000002';
    const turn = await data.send(
      new CreateEventCommand({
        memoryId,
        actorId: 'user-turns',
        sessionId: session,
        eventTimestamp: new Date(1_780_000_010_000),
        payload: [
          { conversational: { role: 'USER', content: { text: 'I work at Difference Engines.' } } },
          { conversational: { role: 'ASSISTANT', content: { text: 'Noted.' } } },
        ],
      }),
    );
    expect(turn.event!.payload!.map((p) => p.conversational?.role)).toEqual(['USER', 'ASSISTANT']);
    const listed = await data.send(
      new ListEventsCommand({ memoryId, actorId: 'user-turns', sessionId: session, includePayloads: true }),
    );
    expect(listed.events).toHaveLength(1);
    expect(listed.events![0].payload!.map((p) => p.conversational?.content?.text)).toEqual([
      'I work at Difference Engines.',
      'Noted.',
    ]);
    const texts = (ns: string) =>
      twin.memory
        .records(memoryId)
        .filter((r) => r.namespace === ns)
        .map((r) => r.content.text);
    expect(texts('/facts/user-turns')).toEqual(['The user works at Difference Engines.']);
    // Two messages reach the cadence of 2 in one event (it counts messages, not events).
    expect(texts(`/summaries/user-turns/${session}`)).toEqual([
      'Session summary: the user talked about "I work at Difference Engines.".',
    ]);
  });

  it('retrieves by word overlap within a namespace prefix, topK', async () => {
    const out = await data.send(
      new RetrieveMemoryRecordsCommand({
        memoryId,
        namespace: `/facts/${ACTOR}`,
        searchCriteria: { searchQuery: 'what is my name?', topK: 2 },
      }),
    );
    expect(out.memoryRecordSummaries).toHaveLength(2);
    expect(out.memoryRecordSummaries?.[0]).toMatchObject({
      content: { text: "The user's name is Ada Lovelace." },
      score: 1,
    });
    const none = await data.send(
      new RetrieveMemoryRecordsCommand({
        memoryId,
        namespace: '/facts/someone-else',
        searchCriteria: { searchQuery: 'name' },
      }),
    );
    expect(none.memoryRecordSummaries).toEqual([]);
  });

  it('lists, gets and deletes records', async () => {
    const listed = await data.send(new ListMemoryRecordsCommand({ memoryId, namespace: '/preferences/' }));
    expect(listed.memoryRecordSummaries).toHaveLength(1);
    const id = listed.memoryRecordSummaries![0].memoryRecordId!;
    const got = await data.send(new GetMemoryRecordCommand({ memoryId, memoryRecordId: id }));
    expect(got.memoryRecord?.content?.text).toBe('User prefers green tea.');
    expect(got.memoryRecord?.createdAt).toBeInstanceOf(Date);
    await data.send(new DeleteMemoryRecordCommand({ memoryId, memoryRecordId: id }));
    const gone = await data
      .send(new GetMemoryRecordCommand({ memoryId, memoryRecordId: id }))
      .catch((e: Error) => e);
    expect(gone).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('validates like the service', async () => {
    const url = `${twin.url}/memories/${memoryId}/events`;
    const post = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: sigv4Header(twin, 'bedrock-agentcore'),
        },
        body: JSON.stringify(body),
      });
    const noActor = await post({
      sessionId: SESSION,
      eventTimestamp: 1,
      payload: [{ conversational: { role: 'USER', content: { text: 'x' } } }],
    });
    expect(noActor.status).toBe(400);
    expect(noActor.headers.get('x-amzn-errortype')).toMatch(/^ValidationException/);
    expect(await noActor.json()).toMatchObject({
      message: expect.stringContaining("'actorId'"),
      reason: 'FieldValidationFailed',
    });
    const isoTime = await post({
      actorId: ACTOR,
      sessionId: SESSION,
      eventTimestamp: '2026-01-01T00:00:00Z',
      payload: [{ conversational: { role: 'USER', content: { text: 'x' } } }],
    });
    expect((await isoTime.json()).message).toContain('epoch seconds');
    const unknown = await data
      .send(new ListSessionsCommand({ memoryId: 'missing-0123456789', actorId: ACTOR }))
      .catch((e: Error) => e);
    expect(unknown).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('deletes the memory asynchronously: DELETING, then gone', async () => {
    const out = await control.send(new DeleteMemoryCommand({ memoryId }));
    expect(out).toMatchObject({ memoryId, status: 'DELETING' });
    expect((await control.send(new GetMemoryCommand({ memoryId }))).memory?.status).toBe('DELETING');
    await new Promise((r) => setTimeout(r, 350));
    const gone = await control.send(new GetMemoryCommand({ memoryId })).catch((e: Error) => e);
    expect(gone).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
