import { describe, expect, it } from 'vitest';
import { messageFromTuple } from './message-feed.js';

const columns = ['topic', 'extension', 'payload', 'event', 'private', 'updated_at', 'inserted_at', 'id'];

describe('messageFromTuple', () => {
  it('turns a committed broadcast row into the message the gateway fans out', () => {
    const tuple = [
      'mechanic:m1:assignments',
      'broadcast',
      '{"id": "p1", "operation": "INSERT"}',
      'INSERT',
      't',
      '2026-12-03 10:00:00.1',
      '2026-12-03 10:00:00.1',
      '0c4f9d8e-1111-4a2b-9c3d-000000000001',
    ];
    expect(messageFromTuple(columns, tuple, '2026-12-03T10:00:00.200Z')).toEqual({
      id: '0c4f9d8e-1111-4a2b-9c3d-000000000001',
      topic: 'mechanic:m1:assignments',
      event: 'INSERT',
      extension: 'broadcast',
      payload: { id: 'p1', operation: 'INSERT' },
      isPrivate: true,
      insertedAt: '2026-12-03 10:00:00.1',
      commitTimestamp: '2026-12-03T10:00:00.200Z',
    });
  });

  it('skips presence rows and rows whose payload is not JSON', () => {
    const presence = ['t', 'presence', '{}', 'x', 't', '', '', 'id'];
    const broken = ['t', 'broadcast', '{not json', 'x', 'f', '', '', 'id'];
    expect(messageFromTuple(columns, presence, '')).toBeNull();
    expect(messageFromTuple(columns, broken, '')).toBeNull();
  });

  it('reads a public row as public and a null payload as null', () => {
    const row = ['room', 'broadcast', null, 'e', 'f', '', '', 'id'];
    expect(messageFromTuple(columns, row, '')).toMatchObject({ isPrivate: false, payload: null });
  });
});
