import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCanaryError } from '../shared/index.js';
import { loadSloFile, parseSloSpec, sliKind } from './slo-spec.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

function tempFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-slo-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isCanaryError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a CanaryError');
}

describe('SLO spec', () => {
  it('loads the shipped slos/delivery.yaml with one SLO of each kind', () => {
    const spec = loadSloFile(path.join(repoRoot, 'slos/delivery.yaml'));
    expect(spec.slos.map(sliKind)).toEqual(['latency', 'latency', 'delivery', 'subscription', 'headroom']);
    const latency = spec.slos[0];
    expect(latency?.objective).toBe(0.99);
    expect(latency?.window).toBe('28d');
  });

  it('defaults the window to 28d and accepts delivery written with no body', () => {
    const spec = parseSloSpec(
      {
        version: 'canary.slo/v1',
        slos: [{ name: 'd', description: 'x', objective: 0.9, sli: { delivery: null } }],
      },
      'inline',
    );
    expect(spec.slos[0]?.window).toBe('28d');
    expect(spec.slos[0]?.sli).toEqual({ delivery: {} });
  });

  it('reports every problem at once, each with the file and key path', () => {
    const file = tempFile(
      'bad.yaml',
      [
        'version: canary.slo/v1',
        'slos:',
        '  - name: Latency',
        '    description: x',
        '    objective: 99',
        '    sli:',
        '      latency: { threshold: 0.7s }',
        '    colour: red',
      ].join('\n'),
    );
    const { code, message } = errorOf(() => loadSloFile(file));
    expect(code).toBe('CONFIG_INVALID');
    expect(message).toContain(`${file}: slos[0].name: not a valid SLO name — use kebab-case`);
    expect(message).toContain(`${file}: slos[0].objective: objective is a ratio below 1`);
    expect(message).toContain(
      `${file}: slos[0].sli.latency.threshold: threshold "0.7s" must equal a histogram bucket`,
    );
    expect(message).toContain(`${file}: slos[0].colour: unknown key "colour"`);
  });

  it('rejects an SLI with two kinds and a wrong version in one report', () => {
    const { message } = errorOf(() =>
      parseSloSpec(
        {
          version: 'v2',
          slos: [
            {
              name: 'a',
              description: 'x',
              objective: 0.9,
              sli: { delivery: {}, latency: { threshold: '1s' } },
            },
          ],
        },
        'f.yaml',
      ),
    );
    expect(message).toContain('f.yaml: version: write `version: canary.slo/v1` as the first line');
    expect(message).toContain('f.yaml: slos[0].sli: found latency and delivery — give exactly one of');
  });

  it('rejects duplicate SLO names', () => {
    const twice = { name: 'a', description: 'x', objective: 0.9, sli: { delivery: {} } };
    const { message } = errorOf(() =>
      parseSloSpec({ version: 'canary.slo/v1', slos: [twice, twice] }, 'f.yaml'),
    );
    expect(message).toContain("f.yaml: slos[1].name: duplicate SLO name 'a' — give each SLO a unique name");
  });

  it('rejects paths on an SLI that is not per path', () => {
    const { message } = errorOf(() =>
      parseSloSpec(
        {
          version: 'canary.slo/v1',
          slos: [
            { name: 's', description: 'x', objective: 0.9, paths: ['broadcast'], sli: { subscription: {} } },
          ],
        },
        'f.yaml',
      ),
    );
    expect(message).toContain('f.yaml: slos[0].paths: only latency and delivery SLIs are per delivery path');
  });

  it('names a missing file and a YAML syntax error clearly', () => {
    expect(errorOf(() => loadSloFile('/nonexistent/slos.yaml')).code).toBe('CONFIG_NOT_FOUND');
    const file = tempFile('broken.yaml', 'version: [unclosed\n');
    const { code, message } = errorOf(() => loadSloFile(file));
    expect(code).toBe('CONFIG_INVALID');
    expect(message).toContain(file);
  });

  it('reads windows in the same duration grammar as every other file, weeks included', () => {
    const base = { name: 'weekly', description: 'weekly', objective: 0.99, sli: { delivery: {} } };
    const spec = parseSloSpec({ version: 'canary.slo/v1', slos: [{ ...base, window: '1w' }] }, 'slos/w.yaml');
    expect(spec.slos[0]?.window).toBe('1w');
    expect(() =>
      parseSloSpec({ version: 'canary.slo/v1', slos: [{ ...base, window: '4 weeks' }] }, 'slos/x.yaml'),
    ).toThrow(
      'slos/x.yaml: slos[0].window: "4 weeks" is not a duration — write it like 250ms, 2s, 1m, 1h30m, 28d or 1w',
    );
  });
});
