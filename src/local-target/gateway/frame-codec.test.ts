import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeMessage,
  encodeUserBroadcast,
  encodeUserBroadcastPush,
  FrameError,
} from './frame-codec.js';

function frameErrorKind(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof FrameError ? error.kind : 'other';
  }
  return undefined;
}

describe('frame codec', () => {
  it('decodes the kind-3 frame realtime-js 2.109 captured for channel.send', () => {
    // Header 03 01 01 0e 05 00 01, then "6" "7" "realtime:room1" "hello" and {"a":1}: 35 bytes.
    const frame = Buffer.concat([
      Buffer.from([3, 1, 1, 14, 5, 0, 1]),
      Buffer.from('67realtime:room1hello{"a":1}', 'utf8'),
    ]);
    expect(frame.length).toBe(35);
    const decoded = decodeFrame(frame, true, '2.0.0');
    expect(decoded).toEqual({
      kind: 'broadcast_push',
      byteLength: 35,
      push: {
        joinRef: '6',
        ref: '7',
        topic: 'realtime:room1',
        userEvent: 'hello',
        metadata: null,
        body: { json: { a: 1 } },
      },
    });
  });

  it('round-trips a kind-3 push with metadata and a raw binary payload', () => {
    const push = {
      joinRef: '12',
      ref: '40',
      topic: 'realtime:café',
      userEvent: 'bytes',
      metadata: { persist: true },
      body: { binary: Buffer.from([0, 255, 7]) },
    };
    const decoded = decodeFrame(encodeUserBroadcastPush(push), true, '2.0.0');
    expect(decoded.kind === 'broadcast_push' && decoded.push).toEqual(push);
  });

  it('encodes a kind-4 frame with byte lengths in the header', () => {
    const frame = encodeUserBroadcast('realtime:room1', 'hello', { json: { a: 1 } }, null);
    expect([...frame.subarray(0, 5)]).toEqual([4, 14, 5, 0, 1]);
    expect(frame.subarray(5).toString('utf8')).toBe('realtime:room1hello{"a":1}');
  });

  it('decodes vsn 2.0.0 arrays and vsn 1.0.0 objects into the same message', () => {
    const v2 = decodeFrame(Buffer.from('["1","2","realtime:a","phx_join",{"x":1}]'), false, '2.0.0');
    const v1 = decodeFrame(
      Buffer.from('{"join_ref":"1","ref":"2","topic":"realtime:a","event":"phx_join","payload":{"x":1}}'),
      false,
      '1.0.0',
    );
    const expected = { joinRef: '1', ref: '2', topic: 'realtime:a', event: 'phx_join', payload: { x: 1 } };
    expect(v2).toEqual({ kind: 'message', message: expected });
    expect(v1).toEqual({ kind: 'message', message: expected });
  });

  it('encodes replies in the socket serialization', () => {
    const message = {
      joinRef: null,
      ref: '9',
      topic: 'phoenix',
      event: 'phx_reply',
      payload: { status: 'ok', response: {} },
    };
    expect(encodeMessage('2.0.0', message)).toBe(
      '[null,"9","phoenix","phx_reply",{"status":"ok","response":{}}]',
    );
    expect(JSON.parse(encodeMessage('1.0.0', message))).toEqual({
      topic: 'phoenix',
      event: 'phx_reply',
      payload: { status: 'ok', response: {} },
      ref: '9',
      join_ref: null,
    });
  });

  it('rejects malformed, mis-shaped, truncated and unknown binary frames with a named kind', () => {
    expect(frameErrorKind(() => decodeFrame(Buffer.from('{not json'), false, '2.0.0'))).toBe('json');
    expect(frameErrorKind(() => decodeFrame(Buffer.from('{"topic":"x"}'), false, '2.0.0'))).toBe('shape');
    expect(frameErrorKind(() => decodeFrame(Buffer.from('[1,2,3,4,5]'), false, '2.0.0'))).toBe('shape');
    expect(frameErrorKind(() => decodeFrame(Buffer.from('["1"]'), false, '1.0.0'))).toBe('shape');
    expect(frameErrorKind(() => decodeFrame(Buffer.from([3, 9, 9, 9]), true, '2.0.0'))).toBe('truncated');
    expect(frameErrorKind(() => decodeFrame(Buffer.from([3, 50, 1, 1, 1, 0, 1, 65]), true, '2.0.0'))).toBe(
      'truncated',
    );
    expect(frameErrorKind(() => decodeFrame(Buffer.from([0, 1, 2]), true, '2.0.0'))).toBe('binary_kind');
    expect(frameErrorKind(() => decodeFrame(Buffer.from([3, 0, 0, 0, 0, 0, 1]), true, '1.0.0'))).toBe(
      'binary_kind',
    );
    expect(frameErrorKind(() => decodeFrame(Buffer.alloc(0), true, '2.0.0'))).toBe('truncated');
  });
});
