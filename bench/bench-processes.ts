/**
 * How the benchmark scripts run their other processes: Node children (tsx) under a raised
 * descriptor limit, with an IPC channel, asked and answered one message at a time, and the
 * command-line flags they all read.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WANTED_FD_LIMIT = 200_000;
const REPLY_TIMEOUT_MS = 300_000;

export function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

/** A comma-separated list; `none` (or an empty value) is the empty list. */
export function listArgument(name: string, fallback: string): string[] {
  const value = argument(name, fallback).trim();
  if (value === '' || value === 'none') return [];
  return value.split(',').map((item) => item.trim());
}

export function positive(name: string, fallback: number): number {
  const value = Number(argument(name, String(fallback)));
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`--${name} must be a positive number (got "${argument(name, '')}")`);
  }
  return value;
}

function hardFdLimit(): number {
  const value = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return value === 'unlimited' ? WANTED_FD_LIMIT : Number(value);
}

export const fdLimit = Math.min(WANTED_FD_LIMIT, hardFdLimit());

/** Node (with tsx) running a script of bench/ under a raised descriptor limit, with an IPC channel. */
export function spawnNode(script: string, nodeFlags: string[], env: Record<string, string>): ChildProcess {
  return spawn(
    'bash',
    [
      '-c',
      `ulimit -n ${fdLimit} && exec "$0" "$@"`,
      process.execPath,
      '--import',
      'tsx',
      ...nodeFlags,
      path.join(HERE, script),
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
}

export function nextMessage<T>(child: ChildProcess, timeoutMs = REPLY_TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: T): void => {
      cleanup();
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`child process exited (${code}) before replying`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function ask<T>(child: ChildProcess, command: object): Promise<T> {
  const reply = nextMessage<T>(child);
  child.send(command);
  const message = await reply;
  if ((message as { kind?: string }).kind === 'error') {
    throw new Error((message as { message?: string }).message ?? 'child error');
  }
  return message;
}

export async function endChild(child: ChildProcess, command: object): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send(command);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Prints the machine and its load over the run (every results table names both) and returns the
 * load average at the end.
 */
export function printMachine(loadBefore: readonly number[], startedAtMs: number): number[] {
  const load = os.loadavg();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const average = (values: readonly number[]): string => values.map((v) => v.toFixed(1)).join(' / ');
  console.log(
    `Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  console.log(
    `Load average (1/5/15 min) at start ${average(loadBefore)}, at end ${average(load)}; ` +
      `descriptor limit per process ${fdLimit}; took ${((Date.now() - startedAtMs) / 1000).toFixed(0)} s`,
  );
  return load;
}

/**
 * A promise that `start` settles once with true or false, or that turns false after `timeoutMs`:
 * how every bench client waits for one socket or subscriber to come up.
 */
export function settlesWithin(
  timeoutMs: number,
  start: (settle: (ok: boolean) => void, isSettled: () => boolean) => void,
): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    start(settle, () => settled);
  });
}
