import { describe, expect, it } from 'vitest';
import {
  broadcastKeysOf,
  changeKeysOf,
  echoedBindingId,
  encodeFrame,
  fanoutPayloadStart,
  parseBinaryBroadcast,
  parseTextFrame,
  scanBroadcastEvent,
  scanBroadcastKeys,
  scanChangeKeys,
  scanIdsInclude,
  type ExtractedKeys,
} from './phoenix-frame.js';

const TOPIC = 'realtime:assignment-changes';
const record = {
  id: '5b0c8f5e-3b1a-4c8e-9d0e-1f2a3b4c5d6e',
  session_id: '6b0c8f5e-3b1a-4c8e-9d0e-1f2a3b4c5d6e',
  mechanic_id: null,
  status: 'queued',
  created_at: '2026-11-25T15:30:00.123456+00:00',
  metadata: { synthetic: true, canary_event_id: 'evt-1', probe: 'waiver', nested: { id: 'not-the-row' } },
};
const columns = Object.keys(record).map((name) => ({ name, type: name === 'metadata' ? 'jsonb' : 'text' }));

/** Key order of a JavaScript server: insertion order, ids first. */
function insertionOrderFrame(ids: number[] = [7]): string {
  return JSON.stringify([
    null,
    null,
    TOPIC,
    'postgres_changes',
    {
      ids,
      data: {
        schema: 'public',
        table: 'session_assignments',
        commit_timestamp: '2026-11-25T15:30:00.125Z',
        type: 'INSERT',
        columns,
        record,
        errors: null,
      },
    },
  ]);
}

/** Key order of Supabase's Elixir server: small maps encode with sorted keys (ids last, columns first). */
function sortedKeysFrame(ids: number[] = [7]): string {
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, inner]) => [key, sortKeys(inner)]),
      );
    }
    return value;
  };
  const parsed = JSON.parse(insertionOrderFrame(ids)) as unknown[];
  return JSON.stringify([null, null, TOPIC, 'postgres_changes', sortKeys(parsed[4])]);
}

function emptyKeys(): ExtractedKeys {
  return { eventId: undefined, assignmentId: undefined, commitTimestamp: undefined };
}

describe('phoenix frames', () => {
  it('encodes vsn 2.0.0 as arrays and vsn 1.0.0 as objects', () => {
    expect(encodeFrame('2.0.0', '1', '2', TOPIC, 'phx_join', { a: 1 })).toBe(
      `["1","2","${TOPIC}","phx_join",{"a":1}]`,
    );
    expect(JSON.parse(encodeFrame('1.0.0', null, '3', 'phoenix', 'heartbeat', {}))).toEqual({
      topic: 'phoenix',
      event: 'heartbeat',
      payload: {},
      ref: '3',
      join_ref: null,
    });
  });

  it('parses both serializer shapes and rejects what is not a Phoenix message', () => {
    expect(parseTextFrame(`["1","1","${TOPIC}","phx_reply",{"status":"ok"}]`)).toEqual({
      joinRef: '1',
      ref: '1',
      topic: TOPIC,
      event: 'phx_reply',
      payload: { status: 'ok' },
    });
    expect(parseTextFrame('{"topic":"t","event":"e","payload":{},"ref":null,"join_ref":"4"}')).toMatchObject({
      joinRef: '4',
      ref: null,
    });
    expect(parseTextFrame('not json')).toBeNull();
    expect(parseTextFrame('[1,2,3]')).toBeNull();
    expect(parseTextFrame('{"topic":1}')).toBeNull();
  });

  it('finds the payload of a fan-out frame only for the right topic and event', () => {
    const frame = insertionOrderFrame();
    const start = fanoutPayloadStart(frame, TOPIC, 'postgres_changes');
    expect(frame.slice(start, start + 7)).toBe('{"ids":');
    expect(fanoutPayloadStart(frame, 'realtime:other', 'postgres_changes')).toBe(-1);
    expect(fanoutPayloadStart(frame, TOPIC, 'broadcast')).toBe(-1);
    expect(fanoutPayloadStart(frame, 'realtime:assignment', 'postgres_changes')).toBe(-1);
    expect(fanoutPayloadStart(`["1","1","${TOPIC}","phx_reply",{}]`, TOPIC, 'phx_reply')).toBe(-1);
    // Escaped strings are left to the full parser.
    expect(fanoutPayloadStart(frame.replace('queued', 'que\\"ued'), TOPIC, 'postgres_changes')).toBe(-1);
  });

  it.each([
    ['insertion order', insertionOrderFrame],
    ['sorted keys', sortedKeysFrame],
  ])('scans the same keys from a postgres_changes frame in %s as a full parse', (_name, build) => {
    const frame = build();
    const scanned = emptyKeys();
    expect(scanChangeKeys(frame, fanoutPayloadStart(frame, TOPIC, 'postgres_changes'), scanned)).toBe(true);
    const parsed = emptyKeys();
    expect(changeKeysOf((JSON.parse(frame) as unknown[])[4], parsed)).toBe(true);
    expect(scanned).toEqual(parsed);
    expect(scanned).toEqual({
      eventId: 'evt-1',
      assignmentId: record.id,
      commitTimestamp: '2026-11-25T15:30:00.125Z',
    });
  });

  it.each([
    ['insertion order', insertionOrderFrame],
    ['sorted keys', sortedKeysFrame],
  ])('checks binding ids in %s without confusing prefixes', (_name, build) => {
    const frame = build([12, 1234]);
    const start = fanoutPayloadStart(frame, TOPIC, 'postgres_changes');
    expect(scanIdsInclude(frame, start, 12)).toBe(true);
    expect(scanIdsInclude(frame, start, 1234)).toBe(true);
    expect(scanIdsInclude(frame, start, 123)).toBe(false);
    expect(scanIdsInclude(frame, start, 1)).toBe(false);
    expect(scanIdsInclude(frame.replace('"ids"', '"idz"'), start, 12)).toBeUndefined();
  });

  it('leaves keys undefined when the app did not pass metadata through', () => {
    const frame = insertionOrderFrame().replace(/"metadata":\{[^}]*\{[^}]*\}\}/, '"metadata":{}');
    const scanned = emptyKeys();
    scanChangeKeys(frame, fanoutPayloadStart(frame, TOPIC, 'postgres_changes'), scanned);
    expect(scanned.eventId).toBeUndefined();
    expect(scanned.assignmentId).toBe(record.id);
  });

  it('scans a JSON broadcast like a full parse', () => {
    const payload = {
      type: 'broadcast',
      event: 'new_assignment',
      payload: { assignmentId: 'a-1', sessionId: 's-1', metadata: { canary_event_id: 'evt-9' } },
    };
    const frame = JSON.stringify([null, null, 'realtime:mechanic-assignments', 'broadcast', payload]);
    const start = fanoutPayloadStart(frame, 'realtime:mechanic-assignments', 'broadcast');
    expect(scanBroadcastEvent(frame, start)).toBe('new_assignment');
    const scanned = emptyKeys();
    scanBroadcastKeys(frame, start, scanned);
    const parsed = emptyKeys();
    broadcastKeysOf(payload.payload, parsed);
    expect(scanned).toEqual(parsed);
    expect(scanned).toEqual({ eventId: 'evt-9', assignmentId: 'a-1', commitTimestamp: undefined });
  });

  it('decodes a kind-4 binary broadcast header as realtime-js lays it out', () => {
    const topic = Buffer.from('realtime:mechanic-assignments');
    const event = Buffer.from('new_assignment');
    const metadata = Buffer.from('{"id":"m"}');
    const body = Buffer.from('{"assignmentId":"a-2","metadata":{"canary_event_id":"evt-2"}}');
    const frame = Buffer.concat([
      Buffer.from([4, topic.length, event.length, metadata.length, 1]),
      topic,
      event,
      metadata,
      body,
    ]);
    const decoded = parseBinaryBroadcast(frame);
    expect(decoded).toEqual({
      topic: 'realtime:mechanic-assignments',
      event: 'new_assignment',
      encoding: 1,
      metadataOffset: 5 + topic.length + event.length,
      payloadOffset: 5 + topic.length + event.length + metadata.length,
    });
    const scanned = emptyKeys();
    scanBroadcastKeys(frame.toString('utf8', decoded?.payloadOffset), 0, scanned);
    expect(scanned).toMatchObject({ eventId: 'evt-2', assignmentId: 'a-2' });
    expect(parseBinaryBroadcast(Buffer.from([3, 1, 1, 1, 0, 0, 0]))).toBeNull();
    expect(parseBinaryBroadcast(Buffer.from([4, 200, 1, 0, 1, 65]))).toBeNull();
  });

  it('agrees with the full parser on many generated rows', () => {
    for (let i = 0; i < 200; i += 1) {
      const row = {
        ...(i % 2 === 0 ? { id: `row-${i}` } : {}),
        status: 'queued',
        metadata: i % 3 === 0 ? {} : { canary_event_id: `evt-${i}`, pad: 'x'.repeat(i * 7) },
        ...(i % 2 === 1 ? { id: `row-${i}` } : {}),
      };
      const frame = JSON.stringify([
        null,
        null,
        TOPIC,
        'postgres_changes',
        {
          ids: [i + 1],
          data: { commit_timestamp: `t-${i}`, type: 'INSERT', columns: [], record: row, errors: null },
        },
      ]);
      const scanned = emptyKeys();
      const parsed = emptyKeys();
      scanChangeKeys(frame, fanoutPayloadStart(frame, TOPIC, 'postgres_changes'), scanned);
      changeKeysOf((JSON.parse(frame) as unknown[])[4], parsed);
      expect(scanned).toEqual(parsed);
    }
  });

  it.each([
    [
      'an exact echo',
      [{ id: 31812567, event: 'INSERT', schema: 'public', table: 'session_assignments' }],
      31812567,
    ],
    [
      'an echo with filter null',
      [{ id: 5, event: 'INSERT', schema: 'public', table: 'session_assignments', filter: null }],
      5,
    ],
    ['no postgres_changes key (SUBSCRIBED, but nothing can match)', undefined, 0],
    [
      'an id of 0 (never matches, as in realtime-js)',
      [{ id: 0, event: 'INSERT', schema: 'public', table: 'session_assignments' }],
      0,
    ],
    [
      'a lower-case event',
      [{ id: 5, event: 'insert', schema: 'public', table: 'session_assignments' }],
      null,
    ],
    ['another table', [{ id: 5, event: 'INSERT', schema: 'public', table: 'sessions' }], null],
    [
      'an added filter',
      [{ id: 5, event: 'INSERT', schema: 'public', table: 'session_assignments', filter: 'id=eq.1' }],
      null,
    ],
    ['an empty list', [], null],
  ])('checks the join reply binding echo: %s', (_name, echoed, expected) => {
    expect(echoedBindingId(echoed, 'public', 'session_assignments')).toBe(expected);
  });
});
