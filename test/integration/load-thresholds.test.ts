/** A scenario's thresholds: SLOs by reference (file + only) or inline, with errors naming the key. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarioSlos } from '../../src/cli/commands/load.js';
import { scenarioSchema } from '../../src/load/index.js';
import { isCanaryError } from '../../src/shared/index.js';
import { repoRoot } from './load-support.js';

const scenarioFile = path.join(repoRoot, 'scenarios', 'example.yaml');

function scenario(thresholds: unknown) {
  return scenarioSchema.parse({
    version: 'canary.scenario/v1',
    name: 't',
    description: 'thresholds only',
    executor: 'ramping-subscribers',
    stages: [{ duration: '1s', target: 1 }],
    thresholds,
  });
}

function errorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isCanaryError(error)) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error('expected a CanaryError');
}

describe('scenario thresholds', () => {
  it('takes the named SLOs from a file relative to the scenario, plus inline ones', () => {
    const slos = scenarioSlos(
      scenario({
        slos: '../slos/delivery.yaml',
        only: ['delivery-success'],
        inline: [
          { name: 'quick', description: 'fast', objective: 0.95, sli: { latency: { threshold: '250ms' } } },
        ],
      }),
      scenarioFile,
    );
    expect(slos.map((slo) => slo.name)).toEqual(['delivery-success', 'quick']);
  });

  it('names the scenario key of a bad inline SLO and of an unknown SLO name', () => {
    const inline = errorMessage(() =>
      scenarioSlos(
        scenario({ inline: [{ name: 'x', description: 'x', objective: 2, sli: { delivery: {} } }] }),
        scenarioFile,
      ),
    );
    expect(inline).toContain(`${scenarioFile}: thresholds.inline[0].objective: objective is a ratio below 1`);
    const unknown = errorMessage(() =>
      scenarioSlos(scenario({ slos: '../slos/delivery.yaml', only: ['delivery-speed'] }), scenarioFile),
    );
    expect(unknown).toContain(
      `CONFIG_INVALID: ${scenarioFile}: thresholds.only: "delivery-speed" not in ../slos/delivery.yaml`,
    );
  });

  it('lets --slos replace the scenario thresholds', () => {
    const slos = scenarioSlos(scenario({}), scenarioFile, path.join(repoRoot, 'slos/delivery.yaml'));
    expect(slos.length).toBeGreaterThanOrEqual(4);
    expect(scenarioSlos(scenario({}), scenarioFile)).toEqual([]);
  });
});
