/**
 * Phoenix frames as Supabase Realtime speaks them, shared by every lean subscriber in the process
 * (no per-socket codec state). Control frames (replies, errors, closes, system) are rare and fully
 * JSON-parsed. Deliveries are the hot path: a fan-out frame `[null,null,"<topic>","<event>",{…}]`
 * is recognised by position and its correlation keys are read by key scanning, because
 * JSON-parsing a 1 KB postgres_changes row costs several microseconds and we need only three
 * strings from it. Anything the scanner cannot vouch for (escaped strings, unexpected layout)
 * falls back to JSON.parse, so the fast path never guesses.
 */

export type PhoenixVsn = '1.0.0' | '2.0.0';

export interface PhoenixMessage {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** Correlation keys pulled out of one delivery; `undefined` when the frame did not carry them. */
export interface ExtractedKeys {
  eventId: string | undefined;
  assignmentId: string | undefined;
  commitTimestamp: string | undefined;
}

export function encodeFrame(
  vsn: PhoenixVsn,
  joinRef: string | null,
  ref: string | null,
  topic: string,
  event: string,
  payload: unknown,
): string {
  return vsn === '2.0.0'
    ? JSON.stringify([joinRef, ref, topic, event, payload])
    : JSON.stringify({ topic, event, payload, ref, join_ref: joinRef });
}

function refOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return null;
}

/** Full decode of a text frame; null when it is not a Phoenix message at all. */
export function parseTextFrame(text: string): PhoenixMessage | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (Array.isArray(parsed)) {
    if (parsed.length !== 5) return null;
    const [joinRef, ref, topic, event, payload] = parsed as unknown[];
    if (typeof topic !== 'string' || typeof event !== 'string') return null;
    return { joinRef: refOf(joinRef), ref: refOf(ref), topic, event, payload };
  }
  if (parsed !== null && typeof parsed === 'object') {
    const object = parsed as Record<string, unknown>;
    if (typeof object.topic !== 'string' || typeof object.event !== 'string') return null;
    return {
      joinRef: refOf(object.join_ref),
      ref: refOf(object.ref),
      topic: object.topic,
      event: object.event,
      payload: object.payload,
    };
  }
  return null;
}

const FANOUT_PREFIX = '[null,null,"';
const QUOTE = 34;
const BACKSLASH = '\\';

/**
 * Where the payload of a vsn 2.0.0 fan-out frame for `topic`/`event` starts, or -1 when the frame
 * is something else (or contains escapes, which only the full parser handles correctly).
 */
export function fanoutPayloadStart(text: string, topic: string, event: string): number {
  if (!text.startsWith(FANOUT_PREFIX)) return -1;
  let at = FANOUT_PREFIX.length;
  if (!text.startsWith(topic, at)) return -1;
  at += topic.length;
  if (text.charCodeAt(at) !== QUOTE || text.charCodeAt(at + 1) !== 44 || text.charCodeAt(at + 2) !== QUOTE)
    return -1;
  at += 3;
  if (!text.startsWith(event, at)) return -1;
  at += event.length;
  if (text.charCodeAt(at) !== QUOTE || text.charCodeAt(at + 1) !== 44) return -1;
  if (text.includes(BACKSLASH)) return -1;
  return at + 2;
}

/** The string value of the first `"key":"…"` at or after `from`; undefined when absent. */
function stringAfter(text: string, needle: string, from: number): string | undefined {
  const keyAt = text.indexOf(needle, from);
  if (keyAt < 0) return undefined;
  const start = keyAt + needle.length;
  const end = text.indexOf('"', start);
  return end < 0 ? undefined : text.slice(start, end);
}

const EVENT_ID_KEY = '"canary_event_id":"';
const RECORD_KEY = '"record":{';
const ID_KEY = '"id":"';
const COMMIT_KEY = '"commit_timestamp":"';
const ASSIGNMENT_KEY = '"assignmentId":"';
const EVENT_KEY = '"event":"';
const IDS_KEY = '"ids":[';
const IDS_FIRST = '{"ids":[';

/**
 * Keys of a postgres_changes INSERT payload `{ids, data:{commit_timestamp, record:{id, metadata}}}`.
 * The row's `id` is read as the first `"id":"` inside `record`: every encoder we meet puts the
 * primary key before the nested `metadata` (column order, jsonb order and sorted maps all agree).
 */
export function scanChangeKeys(text: string, from: number, out: ExtractedKeys): boolean {
  const recordAt = text.indexOf(RECORD_KEY, from);
  if (recordAt < 0) return false;
  out.commitTimestamp = stringAfter(text, COMMIT_KEY, from);
  out.assignmentId = stringAfter(text, ID_KEY, recordAt);
  out.eventId = stringAfter(text, EVENT_ID_KEY, recordAt);
  return true;
}

/** Keys of a broadcast payload `{type, event, payload:{assignmentId, metadata}}`. */
export function scanBroadcastKeys(text: string, from: number, out: ExtractedKeys): boolean {
  out.commitTimestamp = undefined;
  out.assignmentId = stringAfter(text, ASSIGNMENT_KEY, from);
  out.eventId = stringAfter(text, EVENT_ID_KEY, from);
  return true;
}

/** The user event of a broadcast payload (`payload.event`), scanned. */
export function scanBroadcastEvent(text: string, from: number): string | undefined {
  return stringAfter(text, EVENT_KEY, from);
}

/**
 * Whether a postgres_changes payload's `ids` list contains `id` (realtime-js drops messages for
 * bindings it does not know, and so do we). Scans `"ids":[…]` without parsing the rest.
 */
export function scanIdsInclude(text: string, from: number, id: number): boolean | undefined {
  // The key comes first (insertion order) or last (sorted maps): check the start, then search from the end.
  let listStart: number;
  if (text.startsWith(IDS_FIRST, from)) {
    listStart = from + IDS_FIRST.length;
  } else {
    const keyAt = text.lastIndexOf(IDS_KEY);
    if (keyAt < from) return undefined;
    listStart = keyAt + IDS_KEY.length;
  }
  const listEnd = text.indexOf(']', listStart);
  if (listEnd < 0) return undefined;
  const wanted = String(id);
  let itemStart = listStart;
  while (itemStart < listEnd) {
    let itemEnd = text.indexOf(',', itemStart);
    if (itemEnd < 0 || itemEnd > listEnd) itemEnd = listEnd;
    if (itemEnd - itemStart === wanted.length && text.startsWith(wanted, itemStart)) return true;
    itemStart = itemEnd + 1;
  }
  return false;
}

function sameFilterValue(server: unknown, client: unknown): boolean {
  return (server ?? undefined) === (client ?? undefined);
}

/**
 * realtime-js's check of a join reply's `postgres_changes` echo, for our single INSERT binding
 * (no filter): the server's id for it; 0 when the reply has no list at all (realtime-js still
 * says SUBSCRIBED, but no change can ever match); null when the echo does not match (event
 * compared case-sensitively, schema/table/filter with null ≡ absent).
 */
export function echoedBindingId(echoed: unknown, schema: string, table: string): number | null {
  if (echoed === undefined) return 0;
  const first: unknown = Array.isArray(echoed) ? echoed[0] : undefined;
  if (first === null || typeof first !== 'object') return null;
  const binding = first as Record<string, unknown>;
  const matches =
    binding.event === 'INSERT' &&
    sameFilterValue(binding.schema, schema) &&
    sameFilterValue(binding.table, table) &&
    sameFilterValue(binding.filter, undefined);
  return matches ? Number(binding.id) || 0 : null;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function objectOrUndefined(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** The same keys as scanChangeKeys, from an already-parsed payload (fallback path). */
export function changeKeysOf(payload: unknown, out: ExtractedKeys): boolean {
  const data = objectOrUndefined(objectOrUndefined(payload)?.data);
  const record = objectOrUndefined(data?.record);
  if (!data || !record) return false;
  out.commitTimestamp = stringOrUndefined(data.commit_timestamp);
  out.assignmentId = idOf(record.id);
  out.eventId = stringOrUndefined(objectOrUndefined(record.metadata)?.canary_event_id);
  return true;
}

/** The same keys as scanBroadcastKeys, from the user payload of a broadcast (fallback path). */
export function broadcastKeysOf(userPayload: unknown, out: ExtractedKeys): boolean {
  const body = objectOrUndefined(userPayload);
  out.commitTimestamp = undefined;
  out.assignmentId = idOf(body?.assignmentId);
  out.eventId = stringOrUndefined(objectOrUndefined(body?.metadata)?.canary_event_id);
  return true;
}

/** A decoded kind-4 binary broadcast: where its parts sit in the frame. */
export interface BinaryBroadcast {
  topic: string;
  event: string;
  /** 1 = JSON payload, 0 = raw bytes. */
  encoding: number;
  /** Where the metadata JSON (e.g. `{"id":…,"replayed":true}`) starts; it ends at payloadOffset. */
  metadataOffset: number;
  payloadOffset: number;
}

/**
 * Decode the header of a server → client binary frame (kind 4, "user broadcast"):
 * kind, len(topic), len(event), len(metadata), encoding, then the three strings, then the payload.
 */
export function parseBinaryBroadcast(frame: Buffer): BinaryBroadcast | null {
  if (frame.length < 5 || frame[0] !== 4) return null;
  const topicLength = frame[1] as number;
  const eventLength = frame[2] as number;
  const metadataLength = frame[3] as number;
  const encoding = frame[4] as number;
  const topicStart = 5;
  const eventStart = topicStart + topicLength;
  const metadataStart = eventStart + eventLength;
  const payloadOffset = metadataStart + metadataLength;
  if (payloadOffset > frame.length) return null;
  return {
    topic: frame.toString('utf8', topicStart, eventStart),
    event: frame.toString('utf8', eventStart, metadataStart),
    encoding,
    metadataOffset: metadataStart,
    payloadOffset,
  };
}
