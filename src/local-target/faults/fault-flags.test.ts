import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CanaryError } from '../../shared/index.js';
import { parseFaultAssignments, parseFaultFlags } from './fault-flags.js';

describe('fault flags for canary target', () => {
  it('returns undefined when no fault flag was given', () => {
    expect(parseFaultFlags({})).toBeUndefined();
  });

  it('reads inline JSON and key.path=value assignments, assignments winning', () => {
    expect(
      parseFaultFlags({
        faults: '{"postgresChanges":{"dropRate":0.5,"delayMs":10}}',
        fault: ['postgresChanges.delayMs=200', 'replicationPaused=true', 'connectionCap=null'],
      }),
    ).toEqual({
      postgresChanges: { dropRate: 0.5, delayMs: 200 },
      replicationPaused: true,
      connectionCap: null,
    });
    expect(parseFaultAssignments(['a.b.c=x y'])).toEqual({ a: { b: { c: 'x y' } } });
  });

  it('reads JSON and YAML files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-fault-flags-'));
    try {
      fs.writeFileSync(path.join(dir, 'faults.yaml'), 'broadcast:\n  dropRate: 0.2\nreadinessGapMs: 300\n');
      fs.writeFileSync(path.join(dir, 'faults.json'), '{"publicationMissing": true}');
      expect(parseFaultFlags({ faults: 'faults.yaml' }, dir)).toEqual({
        broadcast: { dropRate: 0.2 },
        readinessGapMs: 300,
      });
      expect(parseFaultFlags({ faults: 'faults.json' }, dir)).toEqual({ publicationMissing: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports every invalid key with its path, and usage mistakes with a fix', () => {
    let error: unknown;
    try {
      parseFaultFlags({ fault: ['postgresChanges.dropRate=2', 'nonsense=1'] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CanaryError);
    expect((error as CanaryError).code).toBe('CONFIG_INVALID');
    expect((error as CanaryError).message).toMatch(/postgresChanges\.dropRate/);
    expect((error as CanaryError).message).toMatch(/nonsense: unknown fault setting/);
    expect(() => parseFaultFlags({ fault: ['noequals'] })).toThrow(/is not key\.path=value/);
    expect(() => parseFaultFlags({ faults: '{oops' })).toThrow(/not valid JSON/);
    expect(() => parseFaultFlags({ faults: 'missing-file.yaml' }, os.tmpdir())).toThrow(/does not exist/);
  });
});
