/**
 * Reports: the versioned run report (`canary.report/v1`) and its renderings — JSON, JUnit XML (one
 * testcase per SLO), Markdown for CI summaries and PR comments, and a self-contained HTML page with
 * inline-SVG plots. Imports slo, metrics and shared.
 */
export * from './report-model.js';
export * from './load-report.js';
export * from './junit-report.js';
export * from './markdown-report.js';
export * from './html-report.js';
export * from './svg-chart.js';
export * from './write-reports.js';
