/**
 * The CI integrations users copy: the composite GitHub Action (action.yml, checked by
 * @action-validator/cli against GitHub's action schema) and the GitLab CI template. Both must run
 * the installed npm package — never a checkout's sources — and keep the exit codes apart. Their
 * shell steps are run against a real install in package-install.test.ts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot, tempDir } from './load-support.js';

const validator = path.join(repoRoot, 'node_modules', '.bin', 'action-validator');
const packageVersion = (
  JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }
).version;

function validate(file: string): { status: number | null; output: string } {
  const result = spawnSync(validator, [file], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface Action {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: {
    using: string;
    steps: { name?: string; id?: string; uses?: string; run?: string; with?: Record<string, string> }[];
  };
}

const action = parse(fs.readFileSync(path.join(repoRoot, 'action.yml'), 'utf8')) as Action;

describe('the GitHub Action', () => {
  it('passes @action-validator/cli', () => {
    const result = validate(path.join(repoRoot, 'action.yml'));
    expect(result.status, result.output).toBe(0);
  });

  it('is rejected by the validator when broken, so the check above is real', () => {
    const dir = tempDir('action');
    try {
      const broken = structuredClone(action) as unknown as { runs: { steps: Record<string, unknown>[] } };
      delete broken.runs.steps[1]!.shell;
      fs.writeFileSync(path.join(dir, 'action.yml'), JSON.stringify(broken));
      expect(validate(path.join(dir, 'action.yml')).status).not.toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes a scenario, config, environment and report directory, and installs this release of the package', () => {
    expect(action.runs.using).toBe('composite');
    expect(Object.keys(action.inputs)).toEqual(
      expect.arrayContaining(['scenario', 'config', 'environment', 'report-directory']),
    );
    expect(action.inputs.version?.default).toBe(packageVersion);
    const install = action.runs.steps.find((step) => step.name === 'Install realtime-canary');
    expect(install?.run).toContain('npm install');
    expect(install?.run).toContain('realtime-canary@$CANARY_VERSION');
    const scripts = action.runs.steps.map((step) => step.run ?? '').join('\n');
    expect(scripts).not.toMatch(/tsx|src\/cli|npm ci/);
    // Inputs reach scripts through env, never pasted into the script text.
    expect(scripts).not.toContain('${{');
  });

  it('writes the summary to the job summary and uploads the JUnit and HTML reports even when the load fails', () => {
    const summary = action.runs.steps.find((step) => step.name === 'Job summary');
    expect(summary?.run).toContain('$GITHUB_STEP_SUMMARY');
    const uploads = action.runs.steps.filter((step) => step.uses?.startsWith('actions/upload-artifact@'));
    expect(uploads.map((step) => step.with?.path).join('\n')).toMatch(/junit\.xml[\s\S]*report\.html/);
    for (const step of [summary!, ...uploads]) expect((step as { if?: string }).if).toBe('always()');
    expect(action.outputs['exit-code']?.value).toBe('${{ steps.load.outputs.exit-code }}');
  });
});

describe('the GitLab CI template', () => {
  const template = parse(
    fs.readFileSync(path.join(repoRoot, 'ci', 'gitlab', 'realtime-canary.gitlab-ci.yml'), 'utf8'),
  ) as Record<
    string,
    {
      variables: Record<string, string>;
      script: string[];
      artifacts: { when: string; paths: string[]; reports: { junit: string } };
    }
  >;
  const job = template['.realtime-canary-load']!;

  it('is a hidden job that installs this release of the package and runs canary load from it', () => {
    expect(job).toBeDefined();
    expect(job.variables.CANARY_VERSION).toBe(packageVersion);
    const script = job.script.join('\n');
    expect(script).toContain('npm install');
    expect(script).toMatch(/^canary "\$\{args\[@\]\}"$/m);
    expect(script).toContain('--report-dir "$CANARY_REPORT_DIR"');
    expect(script).not.toMatch(/tsx|src\/cli|npm ci/);
  });

  it("hands junit.xml to GitLab's JUnit report integration and keeps the reports on failure", () => {
    expect(job.artifacts.when).toBe('always');
    expect(job.artifacts.reports.junit).toBe('$CANARY_REPORT_DIR/junit.xml');
    expect(job.artifacts.paths).toContain('$CANARY_REPORT_DIR/');
  });
});
