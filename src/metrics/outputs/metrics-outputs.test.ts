import { describe, expect, it } from 'vitest';
import { newRunId, parseOutputSpec, pushgatewayGroupUrl } from './metrics-outputs.js';
import { encodeWriteRequest, snappyBlock } from './remote-write-encoding.js';

describe('metric outputs', () => {
  it('read --out kind=URL and name the bad value otherwise', () => {
    expect(parseOutputSpec('prometheus-rw=http://127.0.0.1:9090/api/v1/write')).toEqual({
      kind: 'prometheus-rw',
      url: 'http://127.0.0.1:9090/api/v1/write',
    });
    expect(parseOutputSpec('pushgateway=http://pg:9091')).toEqual({
      kind: 'pushgateway',
      url: 'http://pg:9091',
    });
    expect(() => parseOutputSpec('influxdb=http://x')).toThrow('--out "influxdb=http://x" is not an output');
    expect(() => parseOutputSpec('pushgateway=pg:9091/x')).toThrow(
      '--out pushgateway: "pg:9091/x" is not an http(s) URL',
    );
    expect(() => parseOutputSpec('pushgateway=')).toThrow('--out pushgateway: "" is not a URL');
  });

  it('put each run in its own Pushgateway group, base64-encoding values with a slash', () => {
    expect(
      pushgatewayGroupUrl('http://pg:9091/', { run_id: '20260101T000000Z-00ff', scenario: 'smoke' }),
    ).toBe('http://pg:9091/metrics/job/canary/run_id/20260101T000000Z-00ff/scenario/smoke');
    expect(pushgatewayGroupUrl('http://pg:9091', { run_id: 'ci/42' })).toBe(
      `http://pg:9091/metrics/job/canary/run_id@base64/${Buffer.from('ci/42').toString('base64url')}`,
    );
    expect(newRunId(new Date('2026-01-31T12:00:00.123Z'))).toMatch(/^20260131T120000Z-[0-9a-f]{4}$/);
  });

  it('encode a WriteRequest with sorted labels, a little-endian double and a varint millisecond timestamp', () => {
    const bytes = encodeWriteRequest([
      { labels: { job: 'c', __name__: 'm' }, samples: [{ value: 1.5, timestampMs: 300 }] },
    ]);
    const label = (name: string, value: string) => [
      0x0a,
      2 + name.length + 2 + value.length,
      0x0a,
      name.length,
      ...Buffer.from(name),
      0x12,
      value.length,
      ...Buffer.from(value),
    ];
    const sample = [0x12, 12, 0x09, ...new Uint8Array(new Float64Array([1.5]).buffer), 0x10, 0xac, 0x02];
    const series = [...label('__name__', 'm'), ...label('job', 'c'), ...sample];
    expect([...bytes]).toEqual([0x0a, series.length, ...series]);
  });

  it('frame a snappy block of literals that says its uncompressed length first', () => {
    expect([...snappyBlock(Uint8Array.of(1, 2, 3))]).toEqual([3, 2 << 2, 1, 2, 3]);
    const big = new Uint8Array(70_000).fill(7);
    const block = snappyBlock(big);
    // varint 70000 = 0xf0 0xa2 0x04; a 65536-byte literal, then a 4464-byte one.
    expect([...block.subarray(0, 6)]).toEqual([0xf0, 0xa2, 0x04, 61 << 2, 0xff, 0xff]);
    expect(block.length).toBe(3 + 3 + 65_536 + 3 + 4464);
  });
});
