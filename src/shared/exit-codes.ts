/**
 * Process exit codes, one per outcome, so CI can tell "SLO breached" from "harness broken".
 * Documented in docs/errors.md; a test keeps the two in sync.
 */
export const ExitCode = {
  /** Every SLO met (or the command simply succeeded). */
  Ok: 0,
  /** The run completed and at least one SLO or audit check failed. */
  SloBreached: 1,
  /** The run itself failed: bad config, target unreachable, harness overloaded, crash. */
  RunFailed: 2,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
