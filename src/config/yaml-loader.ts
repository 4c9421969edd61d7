/**
 * Reads a versioned YAML file and validates it with a zod schema at the edge. Every problem is
 * reported at once, one line each, as `file: key.path: message — fix`, so a user fixes a file in
 * one pass instead of one error per run.
 */
import fs from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { CanaryError } from '../shared/index.js';

/** One validation problem, ready to print. */
export interface ConfigIssue {
  file: string;
  /** Dotted key path (`probes[0].interval`), or `(top level)`. */
  key: string;
  message: string;
  fix: string;
}

export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

export function formatIssueLine(issue: ConfigIssue): string {
  return `${issue.file}: ${issue.key}: ${issue.message} — ${issue.fix}`;
}

/**
 * Turns a ZodError into printable issues. With the schema, unknown keys get a "did you mean"
 * from the keys that object does accept.
 */
export function configIssues(
  file: string,
  error: z.ZodError,
  schema?: z.ZodType,
  keyPrefix: readonly PropertyKey[] = [],
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...keyPrefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const known = schema ? knownKeysAt(schema, issue.path) : [];
      for (const key of issue.keys) {
        const suggestion = closest(key, known);
        issues.push({
          file,
          key: formatKeyPath([...path, key]),
          message: `unknown key "${key}"`,
          fix: suggestion
            ? `did you mean "${suggestion}"?`
            : known.length > 0
              ? `remove it; allowed keys here: ${known.join(', ')}`
              : 'remove it',
        });
      }
      continue;
    }
    // Our own messages carry their fix after " — "; zod's built-in ones get one from fixFor().
    const [message, ownFix] = splitFix(issue.message);
    issues.push({ file, key: formatKeyPath(path), message, fix: ownFix ?? fixFor(issue) });
  }
  return issues;
}

/** `file: key.path: message — fix`, one line per issue. */
export function formatIssues(file: string, error: z.ZodError, schema?: z.ZodType): string {
  return configIssues(file, error, schema).map(formatIssueLine).join('\n');
}

/** The CONFIG_INVALID error listing every issue. */
export function configInvalid(issues: readonly ConfigIssue[]): CanaryError {
  const files = [...new Set(issues.map((i) => i.file))];
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return new CanaryError(
    'CONFIG_INVALID',
    `${files.join(', ')}: ${count}\n${issues.map((i) => '  ' + formatIssueLine(i)).join('\n')}`,
    { hint: 'fix every line above, then run again (docs/configuration.md documents each key)' },
  );
}

/** Parses YAML text; syntax errors become issues with line and column. */
export function parseYamlText(file: string, text: string): { data: unknown; issues: ConfigIssue[] } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      data: undefined,
      issues: doc.errors.map((e) => ({
        file,
        key: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)',
        message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
        fix: 'fix the YAML syntax (indentation, quotes, duplicate keys)',
      })),
    };
  }
  return { data: doc.toJS() as unknown, issues: [] };
}

export function readConfigFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CanaryError('CONFIG_NOT_FOUND', `cannot read ${file}: ${(error as Error).message}`, {
      hint: 'check the path (relative paths are resolved from the current directory)',
      cause: error,
    });
  }
}

/**
 * Reads `file`, parses YAML and validates with `schema`. Throws CONFIG_NOT_FOUND or
 * CONFIG_INVALID (every issue at once); returns the parsed, typed value.
 */
export function loadYamlFile<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  const { data, issues } = parseYamlText(file, readConfigFile(file));
  if (issues.length > 0) throw configInvalid(issues);
  const result = schema.safeParse(data ?? {});
  if (!result.success) throw configInvalid(configIssues(file, result.error, schema));
  return result.data;
}

function splitFix(message: string): [string, string | undefined] {
  const at = message.indexOf(' — ');
  return at < 0 ? [message, undefined] : [message.slice(0, at), message.slice(at + 3)];
}

function fixFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (/received undefined/.test(issue.message))
        return `add the required key (expected ${issue.expected})`;
      return `use a ${issue.expected} here`;
    case 'invalid_value':
      return `use one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `use a value of at least ${String(issue.minimum)}`;
    case 'too_big':
      return `use a value of at most ${String(issue.maximum)}`;
    case 'invalid_format':
      return `use a valid ${issue.format}`;
    case 'invalid_union':
      return 'match one of the documented forms (docs/configuration.md)';
    default:
      return 'see docs/configuration.md for this key';
  }
}

/** Keys an object schema at `path` accepts (walks wrappers, arrays, records and unions). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let nodes: z.core.$ZodType[] = [schema];
  for (const part of path) {
    nodes = nodes.flatMap((node) => unwrap(node)).flatMap((node) => child(node, part));
  }
  const keys = new Set<string>();
  for (const node of nodes.flatMap((n) => unwrap(n))) {
    if (node._zod.def.type === 'object') {
      for (const key of Object.keys((node as z.core.$ZodObject)._zod.def.shape)) keys.add(key);
    }
  }
  return [...keys];
}

function unwrap(node: z.core.$ZodType): z.core.$ZodType[] {
  const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return unwrap(def.innerType as z.core.$ZodType);
    case 'pipe':
      return unwrap(def.in as z.core.$ZodType);
    case 'lazy':
      return unwrap((def.getter as () => z.core.$ZodType)());
    case 'union':
      return (def.options as z.core.$ZodType[]).flatMap(unwrap);
    case 'intersection':
      return [...unwrap(def.left as z.core.$ZodType), ...unwrap(def.right as z.core.$ZodType)];
    default:
      return [node];
  }
}

function child(node: z.core.$ZodType, part: PropertyKey): z.core.$ZodType[] {
  const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
  if (def.type === 'object' && typeof part === 'string') {
    const shape = def.shape as Record<string, z.core.$ZodType>;
    return shape[part] ? [shape[part]] : [];
  }
  if (def.type === 'array' && typeof part === 'number') return [def.element as z.core.$ZodType];
  if (def.type === 'record') return [def.valueType as z.core.$ZodType];
  return [];
}

/** Closest candidate by edit distance, if it is plausibly a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  const allowed = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= allowed ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
