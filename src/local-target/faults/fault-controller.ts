/**
 * Holds the target's current fault settings, validates updates, counts injected faults and
 * notifies the parts that re-arm on change. SQL-level faults (publication, RLS policy) are
 * applied through the `applySql` hook so this module stays free of database code.
 */
import { z } from 'zod';
import type { FaultController } from '../components.js';
import type { TargetMetrics } from '../target-metrics.js';
import {
  faultSettingsSchema,
  type FaultKind,
  type FaultSettings,
  type FaultSettingsInput,
} from './fault-settings.js';

export interface FaultControllerOptions {
  metrics: TargetMetrics;
  initial?: FaultSettingsInput;
  /** Seed for the fault dice, so a test can replay the same drops. Omit for Math.random. */
  seed?: number;
  /** Apply / revert faults that live in the database (publication membership, RLS policy). */
  applySql?: (next: FaultSettings, previous: FaultSettings) => Promise<void>;
}

/** One validation problem: the dotted key path (`(root)` for the whole object) and what is wrong. */
export interface FaultSettingsIssue {
  path: string;
  message: string;
}

export class FaultSettingsError extends Error {
  /** The same problems with their key paths kept apart, for APIs that answer in JSON. */
  readonly details: FaultSettingsIssue[];

  constructor(
    readonly issues: string[],
    details?: FaultSettingsIssue[],
  ) {
    super(`invalid fault settings: ${issues.join('; ')}`);
    this.name = 'FaultSettingsError';
    this.details =
      details ??
      issues.map((issue) => {
        const colon = issue.indexOf(': ');
        return colon < 0
          ? { path: '(root)', message: issue }
          : { path: issue.slice(0, colon), message: issue.slice(colon + 2) };
      });
  }
}

/** mulberry32: small, fast, good enough for fault dice; not for anything secret. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every problem in `input`, one per key (an unknown key is reported at its own path). */
export function faultSettingsIssues(error: z.ZodError): FaultSettingsIssue[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: [...base, key].join('.'),
        message: `unknown fault setting; remove it (known here: ${knownKeysAt(base).join(', ')})`,
      }));
    }
    return [{ path: base.join('.') || '(root)', message: issue.message }];
  });
}

/** The setting names valid at a key path, so an unknown-key error can list them. */
function knownKeysAt(path: string[]): string[] {
  let schema: z.ZodType = faultSettingsSchema;
  for (const key of path) {
    const inner = unwrapObject(schema);
    const next = inner?.shape[key];
    if (!next) return [];
    schema = next;
  }
  return Object.keys(unwrapObject(schema)?.shape ?? {});
}

function unwrapObject(schema: z.ZodType): z.ZodObject | undefined {
  let current: z.ZodType = schema;
  for (let depth = 0; depth < 5; depth++) {
    if (current instanceof z.ZodObject) return current;
    if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap() as z.ZodType;
      continue;
    }
    return undefined;
  }
  return undefined;
}

/** Validates a complete settings object (defaults filled in); throws FaultSettingsError with every issue. */
export function parseFaultSettings(input: unknown): FaultSettings {
  const result = faultSettingsSchema.safeParse(input);
  if (!result.success) {
    const details = faultSettingsIssues(result.error);
    throw new FaultSettingsError(
      details.map((detail) => `${detail.path}: ${detail.message}`),
      details,
    );
  }
  return result.data;
}

const parseSettings = parseFaultSettings;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep-merge a patch into plain settings (objects merge, everything else replaces). */
function merge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const existing = out[key];
    out[key] = isPlainObject(existing) && isPlainObject(value) ? merge(existing, value) : value;
  }
  return out;
}

export function createFaultController(options: FaultControllerOptions): FaultController & {
  /** Apply the initial settings' SQL faults; startTarget calls it once migrations ran. */
  init(): Promise<void>;
} {
  const random = options.seed === undefined ? Math.random : seededRandom(options.seed);
  const listeners = new Set<(settings: FaultSettings) => void>();
  let current = parseSettings(options.initial ?? {});
  const none = parseSettings({});

  /** Database faults are injected once, when switched on; count them like the others. */
  function countSqlFaults(next: FaultSettings, previous: FaultSettings): void {
    if (next.publicationMissing && !previous.publicationMissing) {
      options.metrics.faultsInjected.inc({ fault: 'publication_missing', path: 'postgres_changes' });
    }
    if (next.realtimeSelectPolicyMissing && !previous.realtimeSelectPolicyMissing) {
      options.metrics.faultsInjected.inc({ fault: 'realtime_policy_missing', path: 'postgres_changes' });
    }
    if (next.messagesPolicyMissing && !previous.messagesPolicyMissing) {
      options.metrics.faultsInjected.inc({ fault: 'messages_policy_missing', path: 'broadcast' });
    }
    if (next.broadcastTriggerMissing && !previous.broadcastTriggerMissing) {
      options.metrics.faultsInjected.inc({ fault: 'broadcast_trigger_missing', path: 'broadcast' });
    }
    if (next.messageInsertDelayMs > 0 && previous.messageInsertDelayMs === 0) {
      options.metrics.faultsInjected.inc({ fault: 'message_insert_slow', path: 'broadcast' });
    }
  }

  async function replace(next: FaultSettings): Promise<FaultSettings> {
    const previous = current;
    if (options.applySql) await options.applySql(next, previous);
    current = next;
    countSqlFaults(next, previous);
    for (const listener of listeners) listener(current);
    return current;
  }

  return {
    get current() {
      return current;
    },
    async init() {
      if (options.applySql) await options.applySql(current, none);
      countSqlFaults(current, none);
    },
    async update(patch) {
      if (!isPlainObject(patch))
        throw new FaultSettingsError(['(root): expected an object of fault settings']);
      return replace(parseSettings(merge(current as unknown as Record<string, unknown>, patch)));
    },
    async reset() {
      return replace(none);
    },
    record(kind: FaultKind, path) {
      options.metrics.faultsInjected.inc({ fault: kind, path });
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    sampleDelay(fault) {
      if (fault.delayMs === 0 && fault.jitterMs === 0) return 0;
      const jitter = fault.jitterMs === 0 ? 0 : (random() * 2 - 1) * fault.jitterMs;
      return Math.max(0, fault.delayMs + jitter);
    },
    roll(rate) {
      if (rate <= 0) return false;
      if (rate >= 1) return true;
      return random() < rate;
    },
  };
}
