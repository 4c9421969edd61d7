/**
 * `canary diff <baseline> <suspect>`: the same probe against two environments at the same time
 * (or both read from Prometheus over a range), side by side per path, then the likely causes
 * ranked from the evidence. Exit 0 when they match within noise, 1 when they differ.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  loadCanaryConfig,
  probesFor,
  selectEnvironments,
  type CanaryConfig,
  type EnvironmentConfig,
} from '../../config/index.js';
import {
  diffByProbing,
  diffFromPrometheus,
  renderDiffHtml,
  renderDiffJson,
  renderDiffMarkdown,
  renderDiffText,
  type DiffReport,
} from '../../diagnosis/index.js';
import { resolveEnvironment, type ResolvedEnvironment } from '../../probe/index.js';
import { CanaryError, ExitCode, createLogger, durationFlag, type Logger } from '../../shared/index.js';
import { onRunSignals } from '../terminal.js';
import { faultSettingsSchema, startTarget } from '../../local-target/index.js';

interface DiffFlags {
  config: string;
  probe?: string;
  duration: string;
  prometheus?: string;
  range: string;
  format: string;
  out?: string;
}

const RENDERERS = {
  text: { render: renderDiffText, file: 'diff.txt' },
  json: { render: renderDiffJson, file: 'diff.json' },
  markdown: { render: renderDiffMarkdown, file: 'diff.md' },
  html: { render: renderDiffHtml, file: 'diff.html' },
} as const;

type Format = keyof typeof RENDERERS;

export function register(program: Command): void {
  program
    .command('diff')
    .description('compare two environments under the same probe and rank likely causes of the difference')
    .argument('<baseline>', 'the environment that works (e.g. dev)')
    .argument('<suspect>', 'the environment that does not (e.g. prod)')
    .option('--config <file>', 'config file', 'canary.yaml')
    .option('--probe <name>', 'probe to run in both (default: the first probe of the baseline)')
    .option('--duration <duration>', 'how long to probe both environments', '60s')
    .option('--prometheus <url>', 'read both environments from this Prometheus instead of probing')
    .option('--range <duration>', 'with --prometheus: how far back to look', '1h')
    .option('--format <format>', `stdout format: ${Object.keys(RENDERERS).join(', ')}`, 'text')
    .option('--out <dir>', 'write every format (diff.txt, .json, .md, .html) into this directory')
    .action(async (baseline: string, suspect: string, flags: DiffFlags) => {
      process.exitCode = await diff(baseline, suspect, flags);
    });
}

async function diff(baselineName: string, suspectName: string, flags: DiffFlags): Promise<number> {
  if (!(flags.format in RENDERERS)) {
    throw new CanaryError('CLI_USAGE', `--format ${flags.format} is not supported`, {
      hint: `use one of: ${Object.keys(RENDERERS).join(', ')}`,
    });
  }
  if (baselineName === suspectName) {
    throw new CanaryError('CLI_USAGE', `diff needs two different environments, got ${baselineName} twice`, {
      hint: 'canary diff dev prod',
    });
  }
  const logger = createLogger({ level: 'warn' });
  let report: DiffReport;
  if (flags.prometheus) {
    report = await diffFromPrometheus({
      url: flags.prometheus,
      baseline: baselineName,
      suspect: suspectName,
      rangeSeconds: durationFlag('--range', flags.range) / 1000,
    });
  } else {
    const config = loadCanaryConfig(flags.config, { localFaultsSchema: faultSettingsSchema });
    const [baselineConfig, suspectConfig] = [baselineName, suspectName].map(
      (name) => selectEnvironments(config, [name])[0],
    );
    if (!baselineConfig || !suspectConfig) throw new CanaryError('CLI_USAGE', 'unknown environment');
    const probe = pickProbe(config, baselineConfig, flags.probe);
    const envs: ResolvedEnvironment[] = [];
    const controller = new AbortController();
    let offSignals: (() => void) | undefined;
    try {
      for (const envConfig of [baselineConfig, suspectConfig])
        envs.push(await resolve(config, envConfig, logger));
      offSignals = onRunSignals(() => controller.abort());
      const [baseline, suspect] = envs as [ResolvedEnvironment, ResolvedEnvironment];
      report = await diffByProbing({
        baseline,
        suspect,
        probe,
        durationMs: durationFlag('--duration', flags.duration),
        logger,
        signal: controller.signal,
      });
    } finally {
      offSignals?.();
      await Promise.all(envs.map((env) => env.close()));
    }
  }
  process.stdout.write(RENDERERS[flags.format as Format].render(report));
  if (flags.out) {
    fs.mkdirSync(flags.out, { recursive: true });
    for (const { render, file } of Object.values(RENDERERS))
      fs.writeFileSync(path.join(flags.out, file), render(report));
    process.stderr.write(
      `canary: wrote ${Object.values(RENDERERS)
        .map((r) => r.file)
        .join(', ')} to ${flags.out}\n`,
    );
  }
  return report.ranking.withinNoise ? ExitCode.Ok : ExitCode.SloBreached;
}

function pickProbe(config: CanaryConfig, env: EnvironmentConfig, name: string | undefined) {
  const probes = probesFor(config, env.name);
  const probe = name === undefined ? probes[0] : config.probes.find((candidate) => candidate.name === name);
  if (!probe) {
    throw new CanaryError(
      'CLI_USAGE',
      name ? `--probe ${name}: no such probe in ${config.file}` : `no probe runs in ${env.name}`,
      {
        hint: `define one under probes: in ${config.file}, or pick one of: ${config.probes.map((p) => p.name).join(', ') || '(none)'}`,
      },
    );
  }
  return probe;
}

function resolve(
  config: CanaryConfig,
  envConfig: EnvironmentConfig,
  logger: Logger,
): Promise<ResolvedEnvironment> {
  return resolveEnvironment(envConfig, {
    file: config.sources.environments[envConfig.name] ?? config.file,
    logger,
    startLocalTarget: (request) => startTarget({ ...request, logger }),
  });
}
