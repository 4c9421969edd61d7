/**
 * A logical replication connection: creates a temporary pgoutput slot, streams the publication
 * from it, hands each frame to a single sequential consumer, and confirms LSNs only after the
 * consumer has processed them — so `pg_replication_slots.confirmed_flush_lsn` means "delivered"
 * and pausing the consumer makes slot lag grow for real.
 *
 * Wire format (PostgreSQL "Streaming Replication Protocol"): inside CopyBoth, the server sends
 * XLogData `w` (start LSN, end LSN, send time, message) and keepalive `k` (WAL end, send time,
 * reply-requested); we send standby status updates `r` (written, flushed, applied LSNs, clock,
 * reply-requested).
 */
import type { Socket } from 'node:net';
import pg from 'pg';
import type { Logger } from '../../shared/index.js';
import type { DatabaseHandle } from '../components.js';

/** ms between the Unix epoch and Postgres's epoch, for the status update's clock field. */
const POSTGRES_EPOCH_MS = 946_684_800_000;
/** Status updates double as liveness: well inside wal_sender_timeout (60 s) even while paused. */
const STATUS_INTERVAL_MS = 5_000;

export type ReplicationFrame =
  | { kind: 'data'; walStart: bigint; walEnd: bigint; message: Buffer }
  | { kind: 'keepalive'; walEnd: bigint; replyRequested: boolean };

/**
 * The parts of pg's internal connection this module drives. pg exposes them (they are how the
 * COPY and replication protocols work) but does not type them.
 */
interface ReplicationConnection {
  stream: Socket;
  on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  removeAllListeners(event?: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
}

export interface ReplicationStreamOptions {
  db: DatabaseHandle;
  slotName: string;
  publication: string;
  logger: Logger;
  /** Called with frames in stream order, one at a time (the returned promise is awaited). */
  consume(frames: ReplicationFrame[]): Promise<void>;
  /** consume() threw: that batch is lost, the stream goes on. */
  onBatchError(error: Error): void;
  /** The replication connection is gone (called once); nothing more will arrive on this stream. */
  onFatal(error: Error): void;
}

export interface ReplicationStream {
  start(): Promise<void>;
  /** Stop handing frames to the consumer (and stop reading the socket) until resumed. */
  pause(): void;
  resume(): void;
  /** Confirm everything up to `lsn` as processed (monotonic; lower values are ignored). */
  confirm(lsn: bigint): void;
  readonly confirmedLsn: bigint;
  stop(): Promise<void>;
}

function decodeFrame(chunk: Buffer): ReplicationFrame | null {
  const kind = chunk[0];
  if (kind === 0x77 && chunk.length >= 25) {
    return {
      kind: 'data',
      walStart: chunk.readBigUInt64BE(1),
      walEnd: chunk.readBigUInt64BE(9),
      message: chunk.subarray(25),
    };
  }
  if (kind === 0x6b && chunk.length >= 18) {
    return { kind: 'keepalive', walEnd: chunk.readBigUInt64BE(1), replyRequested: chunk[17] === 1 };
  }
  return null;
}

/** Caps how many frames one consume() call receives, so a backlog is processed in bounded batches. */
const MAX_FRAMES_PER_BATCH = 2_000;

export function createReplicationStream(options: ReplicationStreamOptions): ReplicationStream {
  const { db, slotName, publication, logger } = options;
  const queue: ReplicationFrame[] = [];
  let client: pg.Client | undefined;
  let connection: ReplicationConnection | undefined;
  let paused = false;
  let stopped = false;
  let draining = false;
  let confirmed = 0n;
  let statusTimer: NodeJS.Timeout | undefined;
  let streaming: Promise<unknown> | undefined;
  let failed = false;

  function fatal(error: Error): void {
    if (stopped || failed) return;
    failed = true;
    options.onFatal(error);
  }

  function sendStatus(replyRequested = false): void {
    if (!connection || stopped) return;
    const status = Buffer.alloc(34);
    status.write('r', 0, 'latin1');
    status.writeBigUInt64BE(confirmed, 1); // written
    status.writeBigUInt64BE(confirmed, 9); // flushed: what the slot's confirmed_flush_lsn follows
    status.writeBigUInt64BE(confirmed, 17); // applied
    status.writeBigInt64BE(BigInt(Date.now() - POSTGRES_EPOCH_MS) * 1000n, 25);
    status.writeUInt8(replyRequested ? 1 : 0, 33);
    connection.sendCopyFromChunk(status);
  }

  async function drain(): Promise<void> {
    if (draining) return;
    draining = true;
    try {
      while (queue.length > 0 && !paused && !stopped) {
        const batch = queue.splice(0, MAX_FRAMES_PER_BATCH);
        await options.consume(batch);
      }
    } catch (error) {
      options.onBatchError(error as Error);
    } finally {
      draining = false;
    }
    if (!paused && !stopped) connection?.stream.resume();
  }

  function onCopyData({ chunk }: { chunk: Buffer }): void {
    // pg hands out a view into its read buffer, which the next socket read overwrites; frames
    // wait in the queue, so they need their own copy.
    const frame = decodeFrame(Buffer.from(chunk));
    if (!frame) {
      logger.warn('replication: unknown frame', { kind: chunk[0] });
      return;
    }
    queue.push(frame);
    // Backpressure: stop reading while the consumer is behind or paused; the server keeps the WAL.
    if (paused || queue.length > MAX_FRAMES_PER_BATCH * 4) connection?.stream.pause();
    void drain();
  }

  return {
    get confirmedLsn() {
      return confirmed;
    },
    async start() {
      const config: pg.ClientConfig & { replication: string } = {
        host: db.host,
        port: db.port,
        user: db.user,
        password: db.password,
        database: db.database,
        replication: 'database',
        application_name: 'canary-target-replication',
        // Output functions run in the walsender: pin how timestamps are printed.
        options: '-c TimeZone=UTC -c DateStyle=ISO',
      };
      client = new pg.Client(config);
      client.on('error', (error) => fatal(error));
      client.on('end', () => fatal(new Error('the replication connection closed')));
      await client.connect();
      await client.query(
        `CREATE_REPLICATION_SLOT ${pg.escapeIdentifier(slotName)} TEMPORARY LOGICAL pgoutput`,
      );
      // pg keeps the protocol connection private; replication needs its CopyBoth channel.
      connection = (client as unknown as { connection: ReplicationConnection }).connection;
      connection.on('copyData', onCopyData);
      const startSql =
        `START_REPLICATION SLOT ${pg.escapeIdentifier(slotName)} LOGICAL 0/0 ` +
        `(proto_version '1', publication_names ${pg.escapeLiteral(pg.escapeIdentifier(publication))})`;
      streaming = client.query(startSql).then(
        () => fatal(new Error('the server ended replication')),
        (error: Error) => fatal(error),
      );
      statusTimer = setInterval(() => sendStatus(), STATUS_INTERVAL_MS);
      statusTimer.unref();
    },
    pause() {
      paused = true;
      connection?.stream.pause();
    },
    resume() {
      if (!paused) return;
      paused = false;
      connection?.stream.resume();
      void drain();
    },
    confirm(lsn) {
      if (lsn <= confirmed) return;
      confirmed = lsn;
      sendStatus();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (statusTimer) clearInterval(statusTimer);
      queue.length = 0;
      connection?.removeAllListeners('copyData');
      const ending = client?.end().catch(() => undefined);
      connection?.stream.resume();
      await ending;
      await streaming;
      // The slot is temporary (gone with the session); drop it explicitly in case the session lingers.
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          const { rows } = await db.adminPool.query<{ active: boolean }>(
            'select active from pg_replication_slots where slot_name = $1',
            [slotName],
          );
          if (rows.length === 0) break;
          if (!rows[0]?.active) {
            await db.adminPool.query('select pg_drop_replication_slot($1)', [slotName]);
            break;
          }
        } catch (error) {
          logger.debug('replication: slot cleanup', { error: (error as Error).message });
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}
