/**
 * Phoenix frames as Supabase Realtime speaks them. vsn 1.0.0 is JSON objects; vsn 2.0.0 is JSON
 * arrays `[join_ref, ref, topic, event, payload]` plus two binary kinds realtime-js uses for
 * broadcasts: kind 3 (client → server "user broadcast push") and kind 4 (server → client
 * "user broadcast"). Lengths in binary headers are byte counts, one unsigned byte each.
 */

export type SerializerVersion = '1.0.0' | '2.0.0';

export const SERIALIZER_VERSIONS: readonly SerializerVersion[] = ['1.0.0', '2.0.0'];

export interface PhoenixMessage {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** A broadcast's user payload: parsed JSON, or raw bytes (kind-3 encoding 0). */
export type BroadcastBody = { json: unknown } | { binary: Buffer };

/** A `channel.send({type:'broadcast'})` that arrived as a kind-3 binary frame. */
export interface BinaryBroadcastPush {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  userEvent: string;
  metadata: Record<string, unknown> | null;
  body: BroadcastBody;
}

export type InboundFrame =
  | { kind: 'message'; message: PhoenixMessage }
  | { kind: 'broadcast_push'; push: BinaryBroadcastPush; byteLength: number };

export type FrameErrorKind = 'json' | 'shape' | 'binary_kind' | 'truncated';

/** A frame the gateway cannot decode; the socket is closed (Phoenix would crash the transport). */
export class FrameError extends Error {
  constructor(
    readonly kind: FrameErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

const USER_BROADCAST_PUSH = 3;
const USER_BROADCAST = 4;
const JSON_ENCODING = 1;
const BINARY_ENCODING = 0;

function isRef(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/** Refs are strings in every client we know; numbers are tolerated and normalised. */
function normaliseRef(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return isRef(value) ? value : undefined;
}

function decodeText(text: string, vsn: SerializerVersion): PhoenixMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FrameError('json', 'frame is not valid JSON');
  }
  if (vsn === '2.0.0') {
    if (!Array.isArray(parsed) || parsed.length !== 5) {
      throw new FrameError('shape', 'vsn 2.0.0 frames are [join_ref, ref, topic, event, payload]');
    }
    const [joinRef, ref, topic, event, payload] = parsed as unknown[];
    return checkFields(joinRef, ref, topic, event, payload);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new FrameError('shape', 'vsn 1.0.0 frames are {topic, event, payload, ref, join_ref}');
  }
  const record = parsed as Record<string, unknown>;
  return checkFields(record.join_ref, record.ref, record.topic, record.event, record.payload);
}

function checkFields(
  joinRef: unknown,
  ref: unknown,
  topic: unknown,
  event: unknown,
  payload: unknown,
): PhoenixMessage {
  const normalisedJoinRef = normaliseRef(joinRef);
  const normalisedRef = normaliseRef(ref);
  if (normalisedJoinRef === undefined || normalisedRef === undefined) {
    throw new FrameError('shape', 'join_ref and ref must be strings or null');
  }
  if (typeof topic !== 'string' || typeof event !== 'string') {
    throw new FrameError('shape', 'topic and event must be strings');
  }
  return {
    joinRef: normalisedJoinRef,
    ref: normalisedRef,
    topic,
    event,
    payload: payload === undefined ? {} : payload,
  };
}

function decodeBinary(data: Buffer): BinaryBroadcastPush {
  if (data.length < 1) throw new FrameError('truncated', 'empty binary frame');
  const kind = data[0];
  if (kind !== USER_BROADCAST_PUSH) {
    throw new FrameError('binary_kind', `binary frame kind ${String(kind)} is not accepted (only 3)`);
  }
  if (data.length < 7) throw new FrameError('truncated', 'binary frame header is truncated');
  const lengths = [data[1]!, data[2]!, data[3]!, data[4]!, data[5]!];
  const encoding = data[6]!;
  if (encoding !== JSON_ENCODING && encoding !== BINARY_ENCODING) {
    throw new FrameError('shape', `unknown payload encoding ${encoding}`);
  }
  let offset = 7;
  const fields: string[] = [];
  for (const length of lengths) {
    if (offset + length > data.length) throw new FrameError('truncated', 'binary frame is truncated');
    fields.push(data.toString('utf8', offset, offset + length));
    offset += length;
  }
  const [joinRef, ref, topic, userEvent, metadataText] = fields as [string, string, string, string, string];
  let metadata: Record<string, unknown> | null = null;
  if (metadataText.length > 0) {
    let parsedMetadata: unknown;
    try {
      parsedMetadata = JSON.parse(metadataText);
    } catch {
      throw new FrameError('json', 'binary frame metadata is not valid JSON');
    }
    if (typeof parsedMetadata !== 'object' || parsedMetadata === null || Array.isArray(parsedMetadata)) {
      throw new FrameError('shape', 'binary frame metadata must be a JSON object');
    }
    metadata = parsedMetadata as Record<string, unknown>;
  }
  const rest = data.subarray(offset);
  let body: BroadcastBody;
  if (encoding === JSON_ENCODING) {
    try {
      body = { json: JSON.parse(rest.toString('utf8')) };
    } catch {
      throw new FrameError('json', 'binary frame payload is not valid JSON');
    }
  } else {
    body = { binary: Buffer.from(rest) };
  }
  return {
    joinRef: joinRef === '' ? null : joinRef,
    ref: ref === '' ? null : ref,
    topic,
    userEvent,
    metadata,
    body,
  };
}

/** Decode one websocket frame. Throws FrameError for anything Realtime would not accept. */
export function decodeFrame(data: Buffer, isBinary: boolean, vsn: SerializerVersion): InboundFrame {
  if (isBinary) {
    if (vsn !== '2.0.0') throw new FrameError('binary_kind', 'binary frames need vsn 2.0.0');
    return { kind: 'broadcast_push', push: decodeBinary(data), byteLength: data.length };
  }
  return { kind: 'message', message: decodeText(data.toString('utf8'), vsn) };
}

/** One text frame in the socket's serialization. */
export function encodeMessage(vsn: SerializerVersion, message: PhoenixMessage): string {
  if (vsn === '2.0.0') {
    return JSON.stringify([message.joinRef, message.ref, message.topic, message.event, message.payload]);
  }
  return JSON.stringify({
    topic: message.topic,
    event: message.event,
    payload: message.payload,
    ref: message.ref,
    join_ref: message.joinRef,
  });
}

/** Kind-4 "user broadcast" frame, as realtime-js decodes it. */
export function encodeUserBroadcast(
  topic: string,
  userEvent: string,
  body: BroadcastBody,
  metadata: Record<string, unknown> | null,
): Buffer {
  const topicBytes = Buffer.from(topic, 'utf8');
  const eventBytes = Buffer.from(userEvent, 'utf8');
  const metadataBytes = Buffer.from(metadata ? JSON.stringify(metadata) : '', 'utf8');
  for (const [name, bytes] of [
    ['topic', topicBytes],
    ['event', eventBytes],
    ['metadata', metadataBytes],
  ] as const) {
    if (bytes.length > 255) throw new RangeError(`${name} is ${bytes.length} bytes; kind-4 frames allow 255`);
  }
  const payloadBytes =
    'binary' in body ? body.binary : Buffer.from(JSON.stringify(body.json ?? null), 'utf8');
  const header = Buffer.from([
    USER_BROADCAST,
    topicBytes.length,
    eventBytes.length,
    metadataBytes.length,
    'binary' in body ? BINARY_ENCODING : JSON_ENCODING,
  ]);
  return Buffer.concat([header, topicBytes, eventBytes, metadataBytes, payloadBytes]);
}

/** Kind-3 push as realtime-js 2.119 builds it (UTF-8 byte lengths). Used by tests and tools. */
export function encodeUserBroadcastPush(push: BinaryBroadcastPush): Buffer {
  const parts = [push.joinRef ?? '', push.ref ?? '', push.topic, push.userEvent].map((text) =>
    Buffer.from(text, 'utf8'),
  );
  const metadataBytes = Buffer.from(push.metadata ? JSON.stringify(push.metadata) : '', 'utf8');
  const payloadBytes =
    'binary' in push.body ? push.body.binary : Buffer.from(JSON.stringify(push.body.json ?? null), 'utf8');
  const header = Buffer.from([
    USER_BROADCAST_PUSH,
    ...parts.map((part) => part.length),
    metadataBytes.length,
    'binary' in push.body ? BINARY_ENCODING : JSON_ENCODING,
  ]);
  return Buffer.concat([header, ...parts, metadataBytes, payloadBytes]);
}
