/**
 * Fault settings from the command line, for `canary target`:
 *
 *   --faults '<json>'            a settings object inline, e.g. '{"postgresChanges":{"dropRate":0.5}}'
 *   --faults faults.yaml         … or in a JSON / YAML file
 *   --fault path=value           one setting by key path (repeatable), e.g.
 *                                --fault postgresChanges.delayMs=200 --fault replicationPaused=true
 *
 * `--fault` values are read as JSON when they parse (numbers, booleans, null), else as text.
 * Assignments apply over the `--faults` object. The result is validated once, and every problem
 * is reported with its key path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CanaryError } from '../../shared/index.js';
import { FaultSettingsError, parseFaultSettings } from './fault-controller.js';
import type { FaultSettingsInput } from './fault-settings.js';

export interface FaultFlags {
  /** Inline JSON or a path to a JSON/YAML file. */
  faults?: string;
  /** `key.path=value` assignments. */
  fault?: string[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readSpec(spec: string, cwd: string): { value: unknown; source: string } {
  const trimmed = spec.trim();
  if (trimmed.startsWith('{')) {
    try {
      return { value: JSON.parse(trimmed) as unknown, source: '--faults' };
    } catch (error) {
      throw new CanaryError('CLI_USAGE', `--faults is not valid JSON: ${(error as Error).message}`, {
        hint: `quote the object for your shell, e.g. --faults '{"postgresChanges":{"dropRate":0.5}}'`,
      });
    }
  }
  const file = path.resolve(cwd, trimmed);
  if (!fs.existsSync(file)) {
    throw new CanaryError('CONFIG_NOT_FOUND', `fault settings file ${trimmed} does not exist`, {
      hint: 'pass a JSON/YAML file that exists, or an inline JSON object starting with {',
    });
  }
  const text = fs.readFileSync(file, 'utf8');
  try {
    const value = /\.ya?ml$/i.test(file) ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
    return { value: value ?? {}, source: trimmed };
  } catch (error) {
    throw new CanaryError('CONFIG_INVALID', `${trimmed}: cannot parse: ${(error as Error).message}`, {
      hint: 'fault settings files are one JSON or YAML object, e.g. postgresChanges: { dropRate: 0.5 }',
    });
  }
}

/** Turns `a.b=value` assignments into a nested object. */
export function parseFaultAssignments(assignments: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const equals = assignment.indexOf('=');
    const keyPath = equals < 0 ? '' : assignment.slice(0, equals).trim();
    if (equals < 0 || keyPath === '' || keyPath.split('.').some((key) => key === '')) {
      throw new CanaryError('CLI_USAGE', `--fault ${JSON.stringify(assignment)} is not key.path=value`, {
        hint: 'write one setting per --fault, e.g. --fault postgresChanges.dropRate=0.5',
      });
    }
    const raw = assignment.slice(equals + 1).trim();
    let value: unknown = raw;
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      // Not JSON: keep the text; validation says if the setting wanted something else.
    }
    const keys = keyPath.split('.');
    let node = out;
    keys.slice(0, -1).forEach((key) => {
      if (!isPlainObject(node[key])) node[key] = {};
      node = node[key] as Record<string, unknown>;
    });
    node[keys[keys.length - 1] ?? keyPath] = value;
  }
  return out;
}

function mergeInto(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const existing = out[key];
    out[key] = isPlainObject(existing) && isPlainObject(value) ? mergeInto(existing, value) : value;
  }
  return out;
}

/**
 * The fault settings the flags ask for, validated (undefined when no fault flag was given).
 * Pass the result as `startTarget({ faults })`.
 */
export function parseFaultFlags(
  flags: FaultFlags,
  cwd: string = process.cwd(),
): FaultSettingsInput | undefined {
  const assignments = flags.fault ?? [];
  if (flags.faults === undefined && assignments.length === 0) return undefined;
  let settings: Record<string, unknown> = {};
  let source = '--fault';
  if (flags.faults !== undefined) {
    const spec = readSpec(flags.faults, cwd);
    if (!isPlainObject(spec.value)) {
      throw new CanaryError('CONFIG_INVALID', `${spec.source}: fault settings must be an object`, {
        hint: 'write an object such as {"replicationPaused": true}',
      });
    }
    settings = spec.value;
    source = spec.source;
  }
  settings = mergeInto(settings, parseFaultAssignments(assignments));
  try {
    parseFaultSettings(settings);
  } catch (error) {
    if (!(error instanceof FaultSettingsError)) throw error;
    throw new CanaryError(
      'CONFIG_INVALID',
      `invalid fault settings:\n${error.details.map((issue) => `  ${source}: ${issue.path}: ${issue.message}`).join('\n')}`,
      {
        hint: 'fix each listed key; see src/local-target/faults/fault-settings.ts for every setting and its range',
      },
    );
  }
  return settings as FaultSettingsInput;
}
