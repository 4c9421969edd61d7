import { describe, expect, it } from 'vitest';
import { parseSloSpec } from '../slo/index.js';
import {
  BURN_RATE_POLICIES,
  SLI_WINDOWS,
  burnRateRuleGroups,
  sliErrorRecordName,
} from './burn-rate-rules.js';
import { isAlertingRule, type AlertingRule, type RecordingRule } from './rule-model.js';

const { slos } = parseSloSpec(
  {
    version: 'canary.slo/v1',
    slos: [
      { name: 'fast', description: 'Fast.', objective: 0.999, sli: { latency: { threshold: '1s' } } },
      {
        name: 'polling-fast',
        description: 'Polled fast.',
        objective: 0.99,
        paths: ['polling'],
        sli: { latency: { threshold: '2.5s' } },
      },
      { name: 'delivered', description: 'Delivered.', objective: 0.99, sli: { delivery: {} } },
      { name: 'joins', description: 'Joins.', objective: 0.99, sli: { subscription: {} } },
      { name: 'room', description: 'Room.', objective: 0.99, sli: { headroom: { minSubscribers: 10 } } },
    ],
  },
  'test',
);
const runbookBase = 'https://git.example.com/ops/canary/blob/main/docs/runbooks.md';
const groups = burnRateRuleGroups(slos, { runbookBase });
const rules = groups.flatMap((group) => group.rules);
const alerts = rules.filter(isAlertingRule);

describe('burn-rate rules', () => {
  it('record the error ratio of every event-ratio SLO over every window, but not headroom', () => {
    const recorded = rules.filter((rule): rule is RecordingRule => !isAlertingRule(rule));
    for (const slo of ['fast', 'delivered', 'joins']) {
      const windows = recorded.filter((rule) => rule.labels?.slo === slo).map((rule) => rule.record);
      expect(windows).toEqual(expect.arrayContaining(SLI_WINDOWS.map(sliErrorRecordName)));
    }
    expect(recorded.some((rule) => rule.labels?.slo === 'room')).toBe(false);
  });

  it('alert on latency and delivery SLOs only, one critical and one warning each, named after the SLO', () => {
    expect(
      alerts.map((alert) => `${alert.alert}/${alert.labels.slo}/${alert.labels.severity}`).sort(),
    ).toEqual([
      'CanaryDeliveredBudgetFastBurn/delivered/critical',
      'CanaryDeliveredBudgetSlowBurn/delivered/warning',
      'CanaryFastBudgetFastBurn/fast/critical',
      'CanaryFastBudgetSlowBurn/fast/warning',
      'CanaryPollingFastBudgetFastBurn/polling-fast/critical',
      'CanaryPollingFastBudgetSlowBurn/polling-fast/warning',
    ]);
  });

  it('give two latency SLOs distinct alert names but the same absolute runbook section', () => {
    const names = alerts.map((alert) => alert.alert);
    expect(new Set(names).size).toBe(names.length);
    const links = alerts
      .filter((alert) => alert.labels.slo === 'fast' || alert.labels.slo === 'polling-fast')
      .filter((alert) => alert.alert.endsWith('FastBurn'))
      .map((alert) => alert.annotations.runbook_url);
    expect(links).toEqual([
      `${runbookBase}#latency-budget-fast-burn`,
      `${runbookBase}#latency-budget-fast-burn`,
    ]);
  });

  it('refuse a relative runbook base', () => {
    expect(() => burnRateRuleGroups(slos, { runbookBase: 'docs/runbooks.md' })).toThrow(
      'runbook base "docs/runbooks.md" is not an absolute URL',
    );
  });

  it('use the SRE workbook window pairs: 1h/5m at 14.4 and 6h/30m at 6 to page, 3d/6h at 1 for a ticket', () => {
    expect(BURN_RATE_POLICIES.map((policy) => [policy.severity, policy.pairs])).toEqual([
      [
        'critical',
        [
          { long: '1h', short: '5m', burnRate: 14.4 },
          { long: '6h', short: '30m', burnRate: 6 },
        ],
      ],
      ['warning', [{ long: '3d', short: '6h', burnRate: 1 }]],
    ]);
    const page = alerts.find((alert) => alert.alert === 'CanaryFastBudgetFastBurn') as AlertingRule;
    expect(page.expr).toBe(
      '(canary_slo:sli_error:ratio_rate1h{slo="fast"} / 0.001 > 14.4 and canary_slo:sli_error:ratio_rate5m{slo="fast"} / 0.001 > 14.4)' +
        ' or (canary_slo:sli_error:ratio_rate6h{slo="fast"} / 0.001 > 6 and canary_slo:sli_error:ratio_rate30m{slo="fast"} / 0.001 > 6)',
    );
  });

  it('divide by an error budget free of float noise', () => {
    const ticket = alerts.find((alert) => alert.alert === 'CanaryDeliveredBudgetSlowBurn') as AlertingRule;
    expect(ticket.expr).toContain('/ 0.01 > 1');
    expect(rules.map((rule) => rule.expr).join('\n')).not.toMatch(/0\.00100000|0\.0099999/);
  });
});
