#!/usr/bin/env node
/**
 * The `canary` command: the composition root. Each subcommand lives in src/cli/commands/<name>.ts
 * and exports `register(program)`. This folder may import every area; no area imports it.
 * Errors become exit codes here (docs/errors.md): CanaryError → its code's exit, anything else → 2.
 */
import { Command, CommanderError } from 'commander';
import { loadEnvFile } from '../config/index.js';
import { CANARY_VERSION, ExitCode, isCanaryError, resolveShippedFile } from '../shared/index.js';
import { registerCommands } from './commands/index.js';

/** Options naming files the package also ships (canary.yaml, environments/, slos/). */
const SHIPPED_FILE_OPTIONS = ['config', 'slos'] as const;

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('canary')
    .description('Realtime Canary: synthetic monitoring and load tests for Supabase Realtime delivery.')
    .version(CANARY_VERSION, '-V, --version', 'print the version and exit')
    .option(
      '--env-file <file>',
      'read KEY=value lines (e.g. what `canary target` prints) into the environment first; ' +
        'variables already set win (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .exitOverride()
    .showHelpAfterError('(run `canary --help` for usage)');
  registerCommands(program);
  program.hook('preAction', (root, action) => {
    for (const file of (root.opts() as { envFile: string[] }).envFile) loadEnvFile(file);
    // CANARY_CONFIG (from the environment or an --env-file) replaces the built-in default config.
    const fromEnv = process.env.CANARY_CONFIG;
    if (fromEnv && action.options.some((option) => option.long === '--config')) {
      if (action.getOptionValueSource('config') === 'default')
        action.setOptionValueWithSource('config', fromEnv, 'env');
    }
    // A config or SLO file missing from the current directory is the package's own copy: an
    // installed `canary run` in an empty directory runs the built-in canary.yaml.
    for (const key of SHIPPED_FILE_OPTIONS) {
      const value: unknown = action.getOptionValue(key);
      const source = action.getOptionValueSource(key);
      if (typeof value === 'string' && source !== undefined)
        action.setOptionValueWithSource(key, resolveShippedFile(value), source);
    }
  });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.Ok;
      if (error.code === 'commander.help') return ExitCode.Ok;
      return ExitCode.RunFailed;
    }
    if (isCanaryError(error)) {
      process.stderr.write(`canary: ${error.format()}\n`);
      return error.exitCode;
    }
    process.stderr.write(
      `canary: INTERNAL: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCode.RunFailed;
  }
}

const code = await main(process.argv);
process.exitCode = code;
