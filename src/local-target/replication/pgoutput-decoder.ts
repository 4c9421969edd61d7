/**
 * Decodes the messages of Postgres's built-in logical decoding plugin, pgoutput (protocol
 * version 1), as they arrive inside XLogData frames on a replication connection. Column values
 * stay in Postgres's text output form here; turning them into JSON is json-values.ts's job,
 * because that needs type names the stream does not carry for built-in types.
 *
 * Format reference: "Logical Replication Message Formats" in the PostgreSQL documentation.
 */

/** µs between the Unix epoch and Postgres's epoch (2000-01-01T00:00:00Z). */
const POSTGRES_EPOCH_MICROS = 946_684_800_000_000n;

export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index';

export interface RelationColumn {
  name: string;
  typeOid: number;
  /** Part of the replica identity key (every column under REPLICA IDENTITY FULL). */
  isKey: boolean;
}

export interface RelationMessage {
  tag: 'relation';
  relationOid: number;
  schema: string;
  table: string;
  replicaIdentity: ReplicaIdentity;
  columns: RelationColumn[];
}

/**
 * One tuple, aligned with the relation's columns: text value, `null` for SQL NULL, or
 * `undefined` for an unchanged TOASTed value the stream did not resend.
 */
export type TupleValues = (string | null | undefined)[];

export interface BeginMessage {
  tag: 'begin';
  finalLsn: bigint;
  commitTimeMicros: bigint;
  xid: number;
}

export interface CommitMessage {
  tag: 'commit';
  commitLsn: bigint;
  endLsn: bigint;
  /** Microseconds since the Unix epoch. */
  commitTimeMicros: bigint;
}

export interface InsertMessage {
  tag: 'insert';
  relationOid: number;
  newTuple: TupleValues;
}

export interface UpdateMessage {
  tag: 'update';
  relationOid: number;
  /** Old values: the whole row (REPLICA IDENTITY FULL) or only the key columns (key changed). */
  oldTuple: TupleValues | null;
  oldIsKeyOnly: boolean;
  newTuple: TupleValues;
}

export interface DeleteMessage {
  tag: 'delete';
  relationOid: number;
  oldTuple: TupleValues;
  oldIsKeyOnly: boolean;
}

export interface TypeMessage {
  tag: 'type';
  typeOid: number;
  schema: string;
  name: string;
}

/** Messages the change feed does not act on (origin, truncate, logical messages). */
export interface IgnoredMessage {
  tag: 'ignored';
  kind: string;
}

export type PgoutputMessage =
  | BeginMessage
  | CommitMessage
  | RelationMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TypeMessage
  | IgnoredMessage;

export class PgoutputDecodeError extends Error {
  constructor(message: string) {
    super(`pgoutput: ${message}`);
    this.name = 'PgoutputDecodeError';
  }
}

class ByteReader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) {
      throw new PgoutputDecodeError(`message truncated at byte ${this.offset} (needed ${bytes} more)`);
    }
  }
  uint8(): number {
    this.need(1);
    return this.buffer.readUInt8(this.offset++);
  }
  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  uint64(): bigint {
    this.need(8);
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
  int64(): bigint {
    this.need(8);
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
  cString(): string {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0) throw new PgoutputDecodeError(`unterminated string at byte ${this.offset}`);
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }
  text(length: number): string {
    this.need(length);
    const value = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
}

function postgresTimeToUnixMicros(postgresMicros: bigint): bigint {
  return postgresMicros + POSTGRES_EPOCH_MICROS;
}

function readTuple(reader: ByteReader): TupleValues {
  const count = reader.int16();
  const values: TupleValues = new Array(count);
  for (let i = 0; i < count; i++) {
    const kind = reader.uint8();
    switch (kind) {
      case 0x6e: // 'n' SQL NULL
        values[i] = null;
        break;
      case 0x75: // 'u' unchanged TOAST value, not sent
        values[i] = undefined;
        break;
      case 0x74: // 't' text
        values[i] = reader.text(reader.int32());
        break;
      case 0x62: // 'b' binary: only sent when the subscriber asks for binary mode, which we never do
        throw new PgoutputDecodeError(
          'binary tuple values are not supported (start streaming without binary)',
        );
      default:
        throw new PgoutputDecodeError(`unknown tuple value kind 0x${kind.toString(16)}`);
    }
  }
  return values;
}

const REPLICA_IDENTITIES: Record<number, ReplicaIdentity> = {
  0x64: 'default',
  0x6e: 'nothing',
  0x66: 'full',
  0x69: 'index',
};

/** Decodes one pgoutput message (the payload of an XLogData frame). */
export function decodePgoutput(message: Buffer): PgoutputMessage {
  const reader = new ByteReader(message);
  const tag = reader.uint8();
  switch (tag) {
    case 0x42: {
      // 'B' Begin
      const finalLsn = reader.uint64();
      const commitTimeMicros = postgresTimeToUnixMicros(reader.int64());
      return { tag: 'begin', finalLsn, commitTimeMicros, xid: reader.uint32() };
    }
    case 0x43: {
      // 'C' Commit
      reader.uint8(); // flags, unused
      const commitLsn = reader.uint64();
      const endLsn = reader.uint64();
      const commitTimeMicros = postgresTimeToUnixMicros(reader.int64());
      return { tag: 'commit', commitLsn, endLsn, commitTimeMicros };
    }
    case 0x52: {
      // 'R' Relation
      const relationOid = reader.uint32();
      const schema = reader.cString();
      const table = reader.cString();
      const identityByte = reader.uint8();
      const replicaIdentity = REPLICA_IDENTITIES[identityByte];
      if (!replicaIdentity)
        throw new PgoutputDecodeError(`unknown replica identity 0x${identityByte.toString(16)}`);
      const columnCount = reader.int16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < columnCount; i++) {
        const flags = reader.uint8();
        const name = reader.cString();
        const typeOid = reader.uint32();
        reader.int32(); // type modifier, not needed for JSON values
        columns.push({ name, typeOid, isKey: (flags & 1) === 1 });
      }
      return { tag: 'relation', relationOid, schema, table, replicaIdentity, columns };
    }
    case 0x59: {
      // 'Y' Type (only sent for non-built-in types)
      const typeOid = reader.uint32();
      return { tag: 'type', typeOid, schema: reader.cString(), name: reader.cString() };
    }
    case 0x49: {
      // 'I' Insert
      const relationOid = reader.uint32();
      const marker = reader.uint8();
      if (marker !== 0x4e)
        throw new PgoutputDecodeError(`insert without new tuple (0x${marker.toString(16)})`);
      return { tag: 'insert', relationOid, newTuple: readTuple(reader) };
    }
    case 0x55: {
      // 'U' Update
      const relationOid = reader.uint32();
      let marker = reader.uint8();
      let oldTuple: TupleValues | null = null;
      let oldIsKeyOnly = false;
      if (marker === 0x4b || marker === 0x4f) {
        oldIsKeyOnly = marker === 0x4b;
        oldTuple = readTuple(reader);
        marker = reader.uint8();
      }
      if (marker !== 0x4e)
        throw new PgoutputDecodeError(`update without new tuple (0x${marker.toString(16)})`);
      return { tag: 'update', relationOid, oldTuple, oldIsKeyOnly, newTuple: readTuple(reader) };
    }
    case 0x44: {
      // 'D' Delete
      const relationOid = reader.uint32();
      const marker = reader.uint8();
      if (marker !== 0x4b && marker !== 0x4f) {
        throw new PgoutputDecodeError(`delete without old tuple (0x${marker.toString(16)})`);
      }
      return { tag: 'delete', relationOid, oldIsKeyOnly: marker === 0x4b, oldTuple: readTuple(reader) };
    }
    case 0x4f:
      return { tag: 'ignored', kind: 'origin' };
    case 0x54:
      return { tag: 'ignored', kind: 'truncate' };
    case 0x4d:
      return { tag: 'ignored', kind: 'message' };
    default:
      throw new PgoutputDecodeError(`unknown message tag 0x${tag.toString(16)}`);
  }
}

/** Formats an LSN the way Postgres prints it (`16/B374D848`). */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Parses Postgres's `X/Y` LSN text. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!match) throw new PgoutputDecodeError(`not an LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Commit timestamp as Supabase sends it: UTC, millisecond precision, `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
export function formatCommitTimestamp(unixMicros: bigint): string {
  return new Date(Number(unixMicros / 1000n)).toISOString();
}
