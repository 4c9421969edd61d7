/**
 * The catalogue of subcommands. Adding a command = one file in this folder + one line here.
 */
import type { Command } from 'commander';
import { register as audit } from './audit.js';
import { register as diff } from './diff.js';
import { register as generate } from './generate.js';
import { register as init } from './init.js';
import { register as load } from './load.js';
import { register as mechanics } from './mechanics.js';
import { register as run } from './run.js';
import { register as slo } from './slo.js';
import { register as target } from './target.js';

type Register = (program: Command) => void;

const commands: Register[] = [init, generate, target, run, load, slo, audit, diff, mechanics];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
