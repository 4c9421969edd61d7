/**
 * The catalogue of subcommands. Adding a command = one file in this folder + one line here.
 */
import type { Command } from 'commander';
import { register as generate } from './generate.js';

type Register = (program: Command) => void;

const commands: Register[] = [generate];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
