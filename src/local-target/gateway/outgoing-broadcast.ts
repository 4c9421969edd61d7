/**
 * One broadcast on its way to many sockets, encoded at most once per wire form and shared by every
 * recipient. Wire form for vsn 2.0.0 mirrors the sender like the real server: a broadcast that
 * arrived as a kind-3 binary frame goes out as a kind-4 binary frame; one that arrived as JSON
 * (vsn 1.0.0 sender, REST, server-side `broadcast()`) goes out as a JSON text frame. realtime-js
 * accepts both; the stock Phoenix client only understands the JSON form.
 */
import { encodeMessage, encodeUserBroadcast, type BroadcastBody } from './frame-codec.js';
import { sharedText, type SharedFrame } from './ordered-sender.js';
import type { SerializerVersion } from './frame-codec.js';

export class OutgoingBroadcast {
  private v1: SharedFrame | null | undefined;
  private v2: SharedFrame | undefined;

  constructor(
    readonly topic: string,
    readonly userEvent: string,
    readonly body: BroadcastBody,
    readonly meta: Record<string, unknown> | null,
    readonly arrivedAsBinary: boolean,
  ) {}

  private envelope(): Record<string, unknown> {
    const payload = 'json' in this.body ? this.body.json : null;
    return this.meta
      ? { type: 'broadcast', event: this.userEvent, payload, meta: this.meta }
      : { type: 'broadcast', event: this.userEvent, payload };
  }

  /** The frame for a socket of this vsn, or null when it cannot be expressed (raw bytes to vsn 1). */
  frameFor(vsn: SerializerVersion): SharedFrame | null {
    if (vsn === '1.0.0') {
      if (this.v1 === undefined) {
        this.v1 =
          'binary' in this.body
            ? null
            : sharedText(
                encodeMessage('1.0.0', {
                  joinRef: null,
                  ref: null,
                  topic: this.topic,
                  event: 'broadcast',
                  payload: this.envelope(),
                }),
              );
      }
      return this.v1;
    }
    if (this.v2 === undefined) {
      this.v2 =
        this.arrivedAsBinary || 'binary' in this.body
          ? { bytes: encodeUserBroadcast(this.topic, this.userEvent, this.body, this.meta), binary: true }
          : sharedText(
              encodeMessage('2.0.0', {
                joinRef: null,
                ref: null,
                topic: this.topic,
                event: 'broadcast',
                payload: this.envelope(),
              }),
            );
    }
    return this.v2;
  }
}
