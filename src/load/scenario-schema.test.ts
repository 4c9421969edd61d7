import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCanaryError } from '../shared/index.js';
import { connectionLevels, judgeLevel } from './executors/connection-limit.js';
import { rampingArrivalRatePlan } from './executors/ramping-arrival-rate.js';
import { rampingSubscribersPlan } from './executors/ramping-subscribers.js';
import { loadScenarioFile, plannedDurationMs, runBoundMs, scenarioSchema } from './scenario-schema.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

function scenarioError(yaml: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-scenario-'));
  const file = path.join(dir, 'bad.yaml');
  fs.writeFileSync(file, yaml);
  try {
    loadScenarioFile(file);
  } catch (error) {
    if (isCanaryError(error) && error.code === 'CONFIG_INVALID') return error.message;
    throw error;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('load scenarios', () => {
  it('ships scenarios that all validate, with smoke short enough for CI', () => {
    for (const name of ['smoke', 'peak', 'soak', 'spike', 'connection-limit']) {
      const scenario = loadScenarioFile(path.join(repoRoot, 'scenarios', `${name}.yaml`));
      expect(scenario.name).toBe(name);
    }
    const smoke = loadScenarioFile(path.join(repoRoot, 'scenarios/smoke.yaml'));
    expect(plannedDurationMs(smoke)).toBeLessThanOrEqual(40_000);
    expect(runBoundMs(smoke, 10_000)).toBeLessThanOrEqual(120_000);
  });

  it('names every bad key in one error, with the file', () => {
    const message = scenarioError(
      [
        'version: canary.scenario/v1',
        'name: Bad Name',
        'description: x',
        'executor: ramping-subscribers',
        'stages: [{ duration: soon, target: 5 }]',
        'rate: -1',
        'clinets: lean',
      ].join('\n'),
    );
    expect(message).toContain('bad.yaml: name: not a valid name');
    expect(message).toContain('bad.yaml: stages[0].duration: "soon" is not a duration');
    expect(message).toContain('bad.yaml: rate:');
    expect(message).toContain('bad.yaml: clinets: unknown key "clinets" — did you mean "clients"?');
  });

  it('rejects an unknown executor, naming the executor key', () => {
    const message = scenarioError(
      ['version: canary.scenario/v1', 'name: x', 'description: x', 'executor: constant-vus'].join('\n'),
    );
    expect(message).toMatch(
      /bad\.yaml: executor: .*ramping-subscribers, ramping-arrival-rate, connection-limit/,
    );
  });

  it('plans a subscriber ramp with a constant arrival rate', () => {
    const scenario = scenarioSchema.parse({
      version: 'canary.scenario/v1',
      name: 'r',
      description: 'x',
      executor: 'ramping-subscribers',
      stages: [
        { duration: '10s', target: 20 },
        { duration: '10s', target: 20 },
      ],
      rate: 2,
    });
    if (scenario.executor !== 'ramping-subscribers') throw new Error('wrong executor');
    const plan = rampingSubscribersPlan(scenario);
    expect(plan.durationMs).toBe(20_000);
    expect(plan.peakSubscribers).toBe(20);
    expect(plan.subscribersAt(5_000)).toBe(10);
    expect(plan.arrivalsBy(5_000)).toBe(10);
    expect(plan.arrivalsBy(60_000)).toBe(40);
  });

  it('plans an arrival-rate ramp with fixed subscribers', () => {
    const scenario = scenarioSchema.parse({
      version: 'canary.scenario/v1',
      name: 'a',
      description: 'x',
      executor: 'ramping-arrival-rate',
      subscribers: 7,
      stages: [{ duration: '10s', target: 4 }],
    });
    if (scenario.executor !== 'ramping-arrival-rate') throw new Error('wrong executor');
    const plan = rampingArrivalRatePlan(scenario);
    expect(plan.subscribersAt(3_000)).toBe(7);
    expect(plan.rateAt(5_000)).toBe(2);
    expect(plan.arrivalsBy(10_000)).toBe(20);
  });

  it('steps connection levels from start to max, always trying max', () => {
    expect(connectionLevels({ start: 25, step: 25, max: 100 })).toEqual([25, 50, 75, 100]);
    expect(connectionLevels({ start: 10, step: 25, max: 70 })).toEqual([10, 35, 60, 70]);
  });
});

describe('connection-limit level verdicts', () => {
  const limits = { latencyP95Ms: 1000, minConnectedRatio: 0.99 };
  const healthy = { level: 100, connected: 100, newErrors: {}, errorMessages: [], overloaded: false };

  it('passes a level where everyone connected quickly', () => {
    expect(judgeLevel({ ...healthy, latencyP95Ms: 40 }, limits)).toMatchObject({ broken: false });
  });

  it('blames the plan cap for connection_limit refusals and the join rate for rate_limit', () => {
    expect(judgeLevel({ ...healthy, connected: 80, newErrors: { connection_limit: 20 } }, limits).cause).toBe(
      'plan_cap',
    );
    expect(judgeLevel({ ...healthy, connected: 90, newErrors: { rate_limit: 10 } }, limits).cause).toBe(
      'join_rate',
    );
  });

  it('blames the harness first when it is overloaded or out of file descriptors', () => {
    const overloaded = judgeLevel(
      { ...healthy, newErrors: { connection_limit: 3 }, overloaded: true },
      limits,
    );
    expect(overloaded).toMatchObject({ broken: true, cause: 'harness' });
    const fds = judgeLevel({ ...healthy, errorMessages: ['connect EMFILE 127.0.0.1:5432'] }, limits);
    expect(fds.detail).toContain('file descriptors');
  });

  it('blames the database pool and slow delivery when they are the only symptom', () => {
    const pool = judgeLevel({ ...healthy, errorMessages: ['sorry, too many clients already'] }, limits);
    expect(pool.cause).toBe('db_pool');
    const slow = judgeLevel({ ...healthy, latencyP95Ms: 1500 }, limits);
    expect(slow).toMatchObject({ broken: true, cause: 'latency' });
  });
});
