import { describe, expect, it } from 'vitest';
import { catalog } from '../metrics/index.js';
import { errorRatioQuery, sliQueries, withWindow } from './sli-queries.js';
import { parseSlo, type Slo } from './slo-spec.js';

function slo(sli: unknown, extra: Record<string, unknown> = {}): Slo {
  return parseSlo({ name: 'x', description: 'x', objective: 0.99, sli, ...extra }, 'test', ['slo']);
}

describe('SLI queries', () => {
  it('counts latency as the threshold bucket over the histogram count', () => {
    const queries = sliQueries(slo({ latency: { threshold: '1s' } }));
    expect(queries.good).toBe(`sum(rate(${catalog.deliveryLatency.name}_bucket{le="1"}[$window]))`);
    expect(queries.total).toBe(`sum(rate(${catalog.deliveryLatency.name}_count[$window]))`);
  });

  it('scopes by env and path and lists several paths as a regex', () => {
    const q = sliQueries(slo({ delivery: {} }, { paths: ['postgres_changes', 'broadcast'] }), {
      env: 'prod',
    });
    expect(q.good).toBe(
      `sum(rate(${catalog.deliveryOutcomes.name}{env="prod",path=~"postgres_changes|broadcast",outcome="delivered"}[$window]))`,
    );
    expect(q.total).toBe(
      `sum(rate(${catalog.deliveryOutcomes.name}{env="prod",path=~"postgres_changes|broadcast"}[$window]))`,
    );
  });

  it('counts subscription success as SUBSCRIBED transitions, or the time-to-subscribed bucket, over join attempts', () => {
    const plain = sliQueries(slo({ subscription: {} }));
    expect(plain.good).toContain(`${catalog.subscriptionTransitions.name}{status="SUBSCRIBED"}`);
    expect(plain.total).toContain(catalog.joinAttempts.name);
    const timed = sliQueries(slo({ subscription: { timeToSubscribed: '5s' } }));
    expect(timed.good).toContain(`${catalog.timeToSubscribed.name}_bucket{le="5"}`);
  });

  it('builds an error ratio per env and path that keeps groups with no good events', () => {
    const expr = errorRatioQuery(slo({ latency: { threshold: '250ms' } }), '5m');
    expect(expr).not.toContain('$window');
    expect(expr).toContain('sum by (env, path) (rate(');
    expect(expr).toContain('le="0.25"');
    expect(expr).toContain(' or ');
    expect(withWindow('a[$window] b[$window]', '1h')).toBe('a[1h] b[1h]');
  });
});
