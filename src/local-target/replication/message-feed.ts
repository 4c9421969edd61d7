/**
 * Broadcast from Database: inserts into `realtime.messages` read from the WAL (a temporary pgoutput
 * slot on `supabase_realtime_messages_publication`, published via the partition root), handed to
 * the gateway in commit order once their transaction committed — a rolled-back `realtime.send()`
 * never reaches the WAL's committed stream, so it is never delivered. Supabase's Realtime does the
 * same with its own replication connection per tenant. The slot's LSN is confirmed after hand-off.
 * It also keeps the table's daily partitions: created ahead and dropped after the retention, at
 * start and every hour (a failure is logged and counted as itself, not as lost messages).
 */
import type { TargetContext } from '../components.js';
import { MESSAGES_HOUSEKEEPING } from '../database/index.js';
import { decodePgoutput, formatCommitTimestamp, type TupleValues } from './pgoutput-decoder.js';
import {
  createReplicationStream,
  type ReplicationFrame,
  type ReplicationStream,
} from './replication-stream.js';

export const MESSAGES_PUBLICATION = 'supabase_realtime_messages_publication';

const HOUSEKEEPING_EVERY_MS = 60 * 60_000;

/** One committed realtime.messages row the gateway fans out. */
export interface DatabaseMessage {
  id: string;
  topic: string;
  event: string;
  extension: string;
  payload: unknown;
  isPrivate: boolean;
  /** realtime.messages.inserted_at, as stored (timestamp without time zone). */
  insertedAt: string;
  /** The transaction's commit time (ISO). */
  commitTimestamp: string;
}

/** A realtime.messages row from its Relation columns and an Insert tuple; null if it is not a broadcast. */
export function messageFromTuple(
  columns: readonly string[],
  tuple: TupleValues,
  commitTimestamp: string,
): DatabaseMessage | null {
  const value = (name: string): string | null => {
    const index = columns.indexOf(name);
    const text = index < 0 ? undefined : tuple[index];
    return text === undefined ? null : text;
  };
  const topic = value('topic');
  const extension = value('extension');
  if (topic === null || extension !== 'broadcast') return null;
  const payloadText = value('payload');
  let payload: unknown = null;
  if (payloadText !== null) {
    try {
      payload = JSON.parse(payloadText);
    } catch {
      return null;
    }
  }
  return {
    id: value('id') ?? '',
    topic,
    event: value('event') ?? '',
    extension,
    payload,
    isPrivate: value('private') === 't',
    insertedAt: value('inserted_at') ?? '',
    commitTimestamp,
  };
}

export interface MessageFeed {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Stream committed realtime.messages inserts to `deliver`, in commit order. */
export function createMessageFeed(
  ctx: TargetContext,
  deliver: (message: DatabaseMessage) => void,
): MessageFeed {
  const logger = ctx.logger.child({ component: 'message-feed' });
  const slotName = `canary_messages_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const relations = new Map<number, { schema: string; table: string; columns: string[] }>();
  let pending: DatabaseMessage[] | null = null;
  let pendingRows: { columns: string[]; tuple: TupleValues }[] = [];
  let stream: ReplicationStream | undefined;
  let housekeepingTimer: NodeJS.Timeout | undefined;

  async function housekeep(): Promise<void> {
    try {
      const { rows } = await ctx.db.adminPool.query<{ created: string[]; dropped: string[] }>(
        MESSAGES_HOUSEKEEPING,
      );
      const result = rows[0];
      if (result && (result.created.length > 0 || result.dropped.length > 0))
        logger.info('realtime.messages partitions kept', {
          created: result.created,
          dropped: result.dropped,
        });
    } catch (error) {
      ctx.metrics.protocolErrors.inc({ kind: 'messages_housekeeping' });
      logger.warn('realtime.messages partition housekeeping failed', { error: (error as Error).message });
    }
  }

  async function consume(frames: ReplicationFrame[]): Promise<void> {
    let confirmable: bigint | undefined;
    for (const frame of frames) {
      if (frame.kind === 'keepalive') {
        if (pending === null && (confirmable === undefined || frame.walEnd > confirmable))
          confirmable = frame.walEnd;
        continue;
      }
      const message = decodePgoutput(frame.message);
      switch (message.tag) {
        case 'begin':
          pending = [];
          pendingRows = [];
          break;
        case 'relation':
          relations.set(message.relationOid, {
            schema: message.schema,
            table: message.table,
            columns: message.columns.map((column) => column.name),
          });
          break;
        case 'insert': {
          const relation = relations.get(message.relationOid);
          if (relation?.schema === 'realtime' && relation.table === 'messages' && pending !== null)
            pendingRows.push({ columns: relation.columns, tuple: message.newTuple });
          break;
        }
        case 'commit': {
          const committedAt = formatCommitTimestamp(message.commitTimeMicros);
          for (const row of pendingRows) {
            // Presence rows and undecodable payloads are not broadcasts.
            const decoded = messageFromTuple(row.columns, row.tuple, committedAt);
            if (decoded !== null) deliver(decoded);
          }
          pending = null;
          pendingRows = [];
          if (confirmable === undefined || message.endLsn > confirmable) confirmable = message.endLsn;
          break;
        }
        default:
          break;
      }
    }
    if (confirmable !== undefined) stream?.confirm(confirmable);
  }

  return {
    async start() {
      stream = createReplicationStream({
        db: ctx.db,
        slotName,
        publication: MESSAGES_PUBLICATION,
        logger,
        consume,
        onBatchError: (error) =>
          logger.error('database broadcast batch failed; its messages are lost', { error: error.message }),
        onFatal: (error) =>
          logger.error('database broadcast replication connection lost; Broadcast from Database stops', {
            error: error.message,
          }),
      });
      await stream.start();
      await housekeep();
      housekeepingTimer = setInterval(() => void housekeep(), HOUSEKEEPING_EVERY_MS);
      housekeepingTimer.unref();
    },
    async stop() {
      if (housekeepingTimer) clearInterval(housekeepingTimer);
      await stream?.stop();
    },
  };
}
