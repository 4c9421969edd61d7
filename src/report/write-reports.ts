/** Writes one run's report in every format into a directory, returning the file paths. */
import fs from 'node:fs';
import path from 'node:path';
import { renderHtml } from './html-report.js';
import { renderJUnit } from './junit-report.js';
import { renderMarkdown } from './markdown-report.js';
import type { CanaryReport } from './report-model.js';

export interface WrittenReports {
  json: string;
  junit: string;
  markdown: string;
  html: string;
}

export function writeReports(report: CanaryReport, outDir: string): WrittenReports {
  fs.mkdirSync(outDir, { recursive: true });
  const files: WrittenReports = {
    json: path.join(outDir, 'report.json'),
    junit: path.join(outDir, 'junit.xml'),
    markdown: path.join(outDir, 'summary.md'),
    html: path.join(outDir, 'report.html'),
  };
  fs.writeFileSync(files.json, JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(files.junit, renderJUnit(report));
  fs.writeFileSync(files.markdown, renderMarkdown(report));
  fs.writeFileSync(files.html, renderHtml(report));
  return files;
}
