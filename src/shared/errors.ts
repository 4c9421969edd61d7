/**
 * Stable error codes with a hint that says what to do. Every user-facing failure is a
 * CanaryError carrying one of these codes; docs/errors.md lists them and a test keeps
 * the table and this module in sync.
 */
import { ExitCode } from './exit-codes.js';

export const ErrorCodes = {
  CONFIG_INVALID: {
    exit: ExitCode.RunFailed,
    summary: 'A config, probe, scenario or SLO file failed validation.',
  },
  CONFIG_NOT_FOUND: {
    exit: ExitCode.RunFailed,
    summary: 'A config file named on the command line does not exist.',
  },
  ENV_VAR_MISSING: { exit: ExitCode.RunFailed, summary: 'A secret referenced by env-var name is not set.' },
  CLI_USAGE: { exit: ExitCode.RunFailed, summary: 'A command-line flag or argument is missing or invalid.' },
  PORT_IN_USE: { exit: ExitCode.RunFailed, summary: 'A port the command must listen on is taken.' },
  TARGET_START_FAILED: {
    exit: ExitCode.RunFailed,
    summary: 'The local target (embedded Postgres, HTTP, Realtime) failed to start.',
  },
  TARGET_UNREACHABLE: {
    exit: ExitCode.RunFailed,
    summary: 'An environment could not be reached or rejected the configured keys.',
  },
  AUTH_FAILED: {
    exit: ExitCode.RunFailed,
    summary: 'A synthetic mechanic could not sign in, or its credentials or token were refused.',
  },
  HARNESS_OVERLOADED: {
    exit: ExitCode.RunFailed,
    summary: 'The harness itself was saturated; its measurements cannot be trusted.',
  },
  PROMETHEUS_QUERY_FAILED: {
    exit: ExitCode.RunFailed,
    summary: 'A PromQL query against the configured Prometheus failed.',
  },
  UNSAFE_LOAD: {
    exit: ExitCode.RunFailed,
    summary: 'A load scenario against a non-local environment was not explicitly allowed.',
  },
  RUN_INTERRUPTED: {
    exit: ExitCode.RunFailed,
    summary: 'The run was interrupted (Ctrl-C); its report is partial and has no full verdict.',
  },
  INTERNAL: { exit: ExitCode.RunFailed, summary: 'An unexpected failure inside the harness.' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class CanaryError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CanaryError';
    this.code = code;
    this.hint = options.hint;
  }

  get exitCode(): ExitCode {
    return ErrorCodes[this.code].exit;
  }

  /** One line for people: the problem, then what to do. */
  format(): string {
    return this.hint ? `${this.code}: ${this.message}\n  fix: ${this.hint}` : `${this.code}: ${this.message}`;
  }
}

export function isCanaryError(error: unknown): error is CanaryError {
  return error instanceof CanaryError;
}
