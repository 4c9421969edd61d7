/**
 * postgres_changes `filter` strings, parsed and matched the way Supabase Realtime does:
 *
 *   filter    = condition *( "," condition )          ; several conditions AND together
 *   condition = column "=" [ "not." ] op "." value
 *   op        = "eq" | "neq" | "lt" | "lte" | "gt" | "gte" | "in"
 *   value     = text | '"' quoted text '"' | "(" item *( "," item ) ")"   ; lists only for `in`
 *
 * Values are compared with the row's column in that column's type: the feed first asks Postgres
 * to cast each filter value to the column type and print it back (`canonicalValues`), then
 * compares text the way the type orders (json-values.ts `compareText`).
 */
import { compareText } from './json-values.js';

export const FILTER_OPERATORS = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/** Supabase caps `in` lists at 100 values. */
export const MAX_IN_VALUES = 100;

export interface FilterCondition {
  column: string;
  operator: FilterOperator;
  negated: boolean;
  /** The values as the client wrote them (one, or the `in` list). */
  values: string[];
}

export class FilterParseError extends Error {
  constructor(detail: string) {
    super(`Error parsing \`filter\` params: ${detail}`);
    this.name = 'FilterParseError';
  }
}

/** Elixir's `inspect` of a list of strings, which is what the real server prints. */
function inspectList(parts: string[]): string {
  return `[${parts.map((part) => JSON.stringify(part)).join(', ')}]`;
}

/** Splits on `separator` outside double quotes and parentheses. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\' && quoted) {
      i++;
      continue;
    }
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === '(') depth++;
    else if (!quoted && char === ')') depth = Math.max(0, depth - 1);
    else if (!quoted && depth === 0 && char === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return value;
}

function parseCondition(text: string): FilterCondition {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new FilterParseError(inspectList(equals < 0 ? [text] : ['', text.slice(1)]));
  const column = text.slice(0, equals).trim();
  let rest = text.slice(equals + 1);
  let negated = false;
  if (rest.startsWith('not.')) {
    negated = true;
    rest = rest.slice(4);
  }
  const dot = rest.indexOf('.');
  const parts = dot < 0 ? [rest] : [rest.slice(0, dot), rest.slice(dot + 1)];
  const operator = parts[0] as FilterOperator;
  if (parts.length !== 2 || !FILTER_OPERATORS.includes(operator))
    throw new FilterParseError(inspectList(parts));
  const raw = parts[1] ?? '';
  if (operator !== 'in') return { column, operator, negated, values: [unquote(raw)] };
  if (!raw.startsWith('(') || !raw.endsWith(')')) {
    throw new FilterParseError(`\`in\` filter value must be wrapped by parentheses: ${JSON.stringify(raw)}`);
  }
  const inner = raw.slice(1, -1);
  const values = inner === '' ? [] : splitTopLevel(inner, ',').map((item) => unquote(item.trim()));
  if (values.length > MAX_IN_VALUES) {
    throw new FilterParseError(`\`in\` filter takes at most ${MAX_IN_VALUES} values, got ${values.length}`);
  }
  return { column, operator, negated, values };
}

/** Parses a filter string; empty or absent means "no filter" (an empty list). */
export function parseFilter(filter: string | undefined | null): FilterCondition[] {
  if (filter === undefined || filter === null || filter.trim() === '') return [];
  return splitTopLevel(filter, ',').map((part) => parseCondition(part.trim()));
}

/** The filter as the real server prints it inside its "Unable to subscribe…" message. */
export function describeFilters(conditions: FilterCondition[]): string {
  return `[${conditions
    .map((condition) => {
      const op = `${condition.negated ? 'not.' : ''}${condition.operator}`;
      const value =
        condition.operator === 'in' ? `(${condition.values.join(',')})` : (condition.values[0] ?? '');
      return `{${JSON.stringify(condition.column)}, ${JSON.stringify(op)}, ${JSON.stringify(value)}}`;
    })
    .join(', ')}]`;
}

/** A condition ready to match: values in the column type's canonical text, and that type's name. */
export interface CompiledCondition extends FilterCondition {
  typeName: string | null;
}

/**
 * Does this row pass every condition? `valueOf` returns the row's column value as text (null for
 * SQL NULL, undefined when the row has no such column — which never matches, like SQL).
 */
export function rowMatches(
  conditions: CompiledCondition[],
  valueOf: (column: string) => string | null | undefined,
): boolean {
  for (const condition of conditions) {
    const value = valueOf(condition.column);
    if (value === undefined || value === null) return false; // NULL compares to nothing, negated or not
    const typeName = condition.typeName ?? 'text';
    let passes: boolean;
    switch (condition.operator) {
      case 'eq':
        passes = compareText(value, condition.values[0] ?? '', typeName) === 0;
        break;
      case 'neq':
        passes = compareText(value, condition.values[0] ?? '', typeName) !== 0;
        break;
      case 'lt':
        passes = compareText(value, condition.values[0] ?? '', typeName) < 0;
        break;
      case 'lte':
        passes = compareText(value, condition.values[0] ?? '', typeName) <= 0;
        break;
      case 'gt':
        passes = compareText(value, condition.values[0] ?? '', typeName) > 0;
        break;
      case 'gte':
        passes = compareText(value, condition.values[0] ?? '', typeName) >= 0;
        break;
      case 'in':
        passes = condition.values.some((item) => compareText(value, item, typeName) === 0);
        break;
    }
    if (passes === condition.negated) return false;
  }
  return true;
}
