import { describe, expect, it } from 'vitest';
import {
  decodePgoutput,
  formatCommitTimestamp,
  formatLsn,
  parseLsn,
  PgoutputDecodeError,
} from './pgoutput-decoder.js';

/** Builds pgoutput messages byte by byte, as the protocol documentation lays them out. */
class Writer {
  private parts: Buffer[] = [];
  byte(value: number | string): this {
    this.parts.push(Buffer.from([typeof value === 'string' ? value.charCodeAt(0) : value]));
    return this;
  }
  int16(value: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(value);
    this.parts.push(b);
    return this;
  }
  int32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value);
    this.parts.push(b);
    return this;
  }
  int64(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(value);
    this.parts.push(b);
    return this;
  }
  cstring(value: string): this {
    this.parts.push(Buffer.from(value + '\0', 'utf8'));
    return this;
  }
  tuple(values: (string | null | undefined)[]): this {
    this.int16(values.length);
    for (const value of values) {
      if (value === null) this.byte('n');
      else if (value === undefined) this.byte('u');
      else {
        const text = Buffer.from(value, 'utf8');
        this.byte('t').int32(text.length);
        this.parts.push(text);
      }
    }
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// 2025-11-06T10:00:00.123456Z in µs since 2000-01-01.
const COMMIT_MICROS = BigInt(Date.UTC(2025, 10, 6, 10, 0, 0, 123)) * 1000n + 456n - 946_684_800_000_000n;

describe('pgoutput decoding', () => {
  it('reads Begin and Commit with LSNs and the commit time', () => {
    const begin = new Writer().byte('B').int64(0x16b374d848n).int64(COMMIT_MICROS).int32(771).build();
    expect(decodePgoutput(begin)).toEqual({
      tag: 'begin',
      finalLsn: 0x16b374d848n,
      commitTimeMicros: COMMIT_MICROS + 946_684_800_000_000n,
      xid: 771,
    });
    const commit = new Writer().byte('C').byte(0).int64(0x10n).int64(0x20n).int64(COMMIT_MICROS).build();
    const decoded = decodePgoutput(commit);
    expect(decoded).toMatchObject({ tag: 'commit', commitLsn: 0x10n, endLsn: 0x20n });
    expect(decoded.tag === 'commit' && formatCommitTimestamp(decoded.commitTimeMicros)).toBe(
      '2025-11-06T10:00:00.123Z',
    );
  });

  it('reads a Relation with its columns, type oids, key flags and replica identity', () => {
    const relation = new Writer()
      .byte('R')
      .int32(16400)
      .cstring('public')
      .cstring('session_assignments')
      .byte('f')
      .int16(2)
      .byte(1)
      .cstring('id')
      .int32(2950)
      .int32(-1 >>> 0)
      .byte(1)
      .cstring('metadata')
      .int32(3802)
      .int32(-1 >>> 0)
      .build();
    expect(decodePgoutput(relation)).toEqual({
      tag: 'relation',
      relationOid: 16400,
      schema: 'public',
      table: 'session_assignments',
      replicaIdentity: 'full',
      columns: [
        { name: 'id', typeOid: 2950, isKey: true },
        { name: 'metadata', typeOid: 3802, isKey: true },
      ],
    });
  });

  it('reads Insert, Update with an old row, and Delete with a key-only tuple', () => {
    const insert = new Writer().byte('I').int32(16400).byte('N').tuple(['1', null, 'héllo']).build();
    expect(decodePgoutput(insert)).toEqual({
      tag: 'insert',
      relationOid: 16400,
      newTuple: ['1', null, 'héllo'],
    });

    const update = new Writer()
      .byte('U')
      .int32(16400)
      .byte('O')
      .tuple(['1', 'a'])
      .byte('N')
      .tuple(['1', undefined])
      .build();
    expect(decodePgoutput(update)).toEqual({
      tag: 'update',
      relationOid: 16400,
      oldTuple: ['1', 'a'],
      oldIsKeyOnly: false,
      newTuple: ['1', undefined],
    });
    const plainUpdate = new Writer().byte('U').int32(16400).byte('N').tuple(['1', 'b']).build();
    expect(decodePgoutput(plainUpdate)).toMatchObject({ oldTuple: null, newTuple: ['1', 'b'] });

    const remove = new Writer().byte('D').int32(16400).byte('K').tuple(['1', null]).build();
    expect(decodePgoutput(remove)).toEqual({
      tag: 'delete',
      relationOid: 16400,
      oldIsKeyOnly: true,
      oldTuple: ['1', null],
    });
  });

  it('fails loudly on truncated or unknown messages', () => {
    const truncated = new Writer().byte('I').int32(16400).byte('N').int16(1).byte('t').int32(10).build();
    expect(() => decodePgoutput(truncated)).toThrow(PgoutputDecodeError);
    expect(() => decodePgoutput(Buffer.from('Z'))).toThrow(/unknown message tag 0x5a/);
  });

  it('formats and parses LSNs as Postgres prints them', () => {
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(() => parseLsn('nope')).toThrow(/not an LSN/);
  });
});
