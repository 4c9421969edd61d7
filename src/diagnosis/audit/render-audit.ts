/** Text, JSON and Markdown renderings of an audit report. */
import type { AuditReport } from './run-audit.js';

const mark = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;

export function renderAuditText(report: AuditReport): string {
  const lines = [
    `audit of ${report.env} — ${report.summary.pass} pass, ${report.summary.warn} warn, ${report.summary.fail} fail`,
  ];
  for (const check of report.checks) {
    lines.push(`${mark[check.status]}  ${check.id}  ${check.title}`);
    lines.push(`      ${check.evidence}`);
    if (check.fix && check.status !== 'pass') {
      for (const fixLine of check.fix.split('\n')) lines.push(`      fix: ${fixLine}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function renderAuditJson(report: AuditReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', '<br>');
}

export function renderAuditMarkdown(report: AuditReport): string {
  const lines = [
    `## Audit of \`${report.env}\``,
    '',
    `${report.summary.pass} pass · ${report.summary.warn} warn · ${report.summary.fail} fail — ${report.generatedAt}`,
    '',
    '| status | check | evidence | fix |',
    '| --- | --- | --- | --- |',
  ];
  for (const check of report.checks) {
    const fix = check.fix && check.status !== 'pass' ? `\`${cell(check.fix)}\`` : '';
    lines.push(
      `| ${mark[check.status]} | ${cell(check.title)} (\`${check.id}\`) | ${cell(check.evidence)} | ${fix} |`,
    );
  }
  return lines.join('\n') + '\n';
}
