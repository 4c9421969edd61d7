/**
 * Prometheus remote write 1.0 on the wire: a `prometheus.WriteRequest` protobuf, block-compressed
 * with snappy. Both are small enough to write here instead of pulling in protobuf and snappy
 * libraries:
 *
 *   message WriteRequest { repeated TimeSeries timeseries = 1; }
 *   message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *   message Label        { string name = 1; string value = 2; }
 *   message Sample       { double value = 1; int64 timestamp = 2; }   // timestamp in ms
 *
 * The snappy block is written with literal elements only: a valid stream that every snappy
 * decoder (Prometheus uses Go's) reads; it does not shrink the payload, which for a run's few
 * hundred series does not matter.
 */

export interface TimeSeries {
  /** Label pairs including `__name__`; sorted by name on encoding, as the protocol requires. */
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: readonly { readonly value: number; readonly timestampMs: number }[];
}

class ByteWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  bytes(data: Uint8Array): void {
    this.chunks.push(data);
    this.size += data.length;
  }

  varint(value: number): void {
    // Non-negative integers up to 2^53: split without 32-bit bitwise truncation.
    const out: number[] = [];
    let rest = value;
    while (rest >= 0x80) {
      out.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    out.push(rest);
    this.bytes(Uint8Array.from(out));
  }

  /** A length-delimited field (wire type 2). */
  field(fieldNumber: number, payload: Uint8Array): void {
    this.varint((fieldNumber << 3) | 2);
    this.varint(payload.length);
    this.bytes(payload);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

const utf8 = new TextEncoder();

function encodeLabel(name: string, value: string): Uint8Array {
  const writer = new ByteWriter();
  writer.field(1, utf8.encode(name));
  writer.field(2, utf8.encode(value));
  return writer.finish();
}

function encodeSample(value: number, timestampMs: number): Uint8Array {
  const writer = new ByteWriter();
  const double = new Uint8Array(8);
  new DataView(double.buffer).setFloat64(0, value, true);
  writer.varint((1 << 3) | 1); // field 1, 64-bit
  writer.bytes(double);
  writer.varint((2 << 3) | 0); // field 2, varint
  writer.varint(Math.max(0, Math.round(timestampMs)));
  return writer.finish();
}

/** The protobuf bytes of a WriteRequest. */
export function encodeWriteRequest(series: readonly TimeSeries[]): Uint8Array {
  const request = new ByteWriter();
  for (const one of series) {
    const writer = new ByteWriter();
    const names = Object.keys(one.labels).sort();
    for (const name of names) writer.field(1, encodeLabel(name, one.labels[name] as string));
    for (const sample of one.samples) writer.field(2, encodeSample(sample.value, sample.timestampMs));
    request.field(1, writer.finish());
  }
  return request.finish();
}

/** Snappy block format, literals only: varint(length), then literal elements of ≤ 64 KiB. */
export function snappyBlock(data: Uint8Array): Uint8Array {
  const writer = new ByteWriter();
  writer.varint(data.length);
  const CHUNK = 65_536;
  for (let offset = 0; offset < data.length; offset += CHUNK) {
    const chunk = data.subarray(offset, Math.min(data.length, offset + CHUNK));
    const n = chunk.length - 1;
    if (n < 60) {
      writer.bytes(Uint8Array.of(n << 2));
    } else if (n < 256) {
      writer.bytes(Uint8Array.of(60 << 2, n));
    } else {
      writer.bytes(Uint8Array.of(61 << 2, n & 0xff, n >> 8));
    }
    writer.bytes(chunk);
  }
  return writer.finish();
}
