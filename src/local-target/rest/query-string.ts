/**
 * Parses PostgREST's query-string grammar into a small AST, checking every column name against
 * the schema cache. Supported (what supabase-js emits for the calls the harness makes):
 *
 *   select   = item ("," item)*          item = "*" | [alias ":"] column [json-path] ["::" type]
 *   json-path = ("->" key | "->>" key)+
 *   filter   = column "=" ["not."] op "." value      op = eq|neq|gt|gte|lt|lte|like|ilike|is|in
 *   logic    = ("or"|"and"|"not.or"|"not.and") "=(" cond ("," cond)* ")"
 *              cond = column "." ["not."] op "." value | ("or"|"and"|"not.or"|"not.and") "(" … ")"
 *   order    = column [".asc"|".desc"] [".nullsfirst"|".nullslast"] ("," …)*
 *   limit, offset = non-negative integers;  columns = column ("," column)*;  on_conflict = same
 */
import { parseError, unknownBodyColumn, unknownColumn } from './postgrest-error.js';
import type { TableInfo } from './schema-cache.js';

export const FILTER_OPERATORS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'is', 'in'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface ColumnRef {
  column: string;
  path: { arrow: '->' | '->>'; key: string }[];
}

export type SelectItem = { kind: 'star' } | { kind: 'column'; ref: ColumnRef; alias: string; cast?: string };

export type Condition =
  | { kind: 'filter'; ref: ColumnRef; negate: boolean; op: FilterOperator; value: string | string[] }
  | { kind: 'logic'; op: 'and' | 'or'; negate: boolean; conditions: Condition[] };

export interface OrderTerm {
  ref: ColumnRef;
  descending: boolean;
  nulls?: 'first' | 'last';
}

export interface ParsedQuery {
  select: SelectItem[];
  where: Condition[];
  order: OrderTerm[];
  limit?: number;
  offset?: number;
  columns?: string[];
  onConflict?: string[];
}

const RESERVED = new Set(['select', 'order', 'limit', 'offset', 'columns', 'on_conflict', 'apikey', 'vsn']);
const IS_VALUES = new Set(['null', 'not_null', 'true', 'false', 'unknown']);
const TYPE_NAME = /^[a-z_][a-z0-9_]*( [a-z_][a-z0-9_]*)*(\[\])?$/;

/** Splits on `separator` outside double quotes and parentheses. */
export function splitTopLevel(text: string, separator = ','): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] ?? '';
    if (char === '\\' && quoted && i + 1 < text.length) {
      current += char + (text[i + 1] ?? '');
      i += 1;
      continue;
    }
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === '(') depth += 1;
    else if (!quoted && char === ')') depth -= 1;
    if (char === separator && depth === 0 && !quoted) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  if (quoted || depth !== 0) throw parseError('Failed to parse: unbalanced quotes or parentheses', text);
  parts.push(current);
  return parts;
}

function unquote(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return trimmed.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return trimmed;
}

export class QueryParser {
  constructor(private readonly table: TableInfo) {}

  columnRef(text: string): ColumnRef {
    const [head, ...rest] = text.trim().split(/(->>|->)/);
    const column = unquote(head ?? '');
    if (column === '') throw parseError(`Failed to parse column name in "${text}"`);
    if (!this.table.columns.has(column)) throw unknownColumn(this.table.name, column);
    const path: ColumnRef['path'] = [];
    for (let i = 0; i < rest.length; i += 2) {
      const arrow = rest[i] as '->' | '->>';
      const key = unquote(rest[i + 1] ?? '');
      if (key === '') throw parseError(`Failed to parse JSON path in "${text}"`);
      path.push({ arrow, key });
    }
    if (path.length > 0 && !this.table.columns.get(column)?.isJson) {
      throw parseError(`JSON path used on column ${column}, which is not json or jsonb`);
    }
    return { column, path };
  }

  select(text: string | null): SelectItem[] {
    if (text === null || text.trim() === '' || text.trim() === '*') return [{ kind: 'star' }];
    return splitTopLevel(text.replace(/\s+(?=(?:[^"]*"[^"]*")*[^"]*$)/g, '')).map((raw): SelectItem => {
      if (raw === '*') return { kind: 'star' };
      if (raw.includes('(')) {
        throw parseError(
          `Failed to parse select parameter (${raw})`,
          'resource embedding and aggregates are not supported by the local target',
        );
      }
      let rest = raw;
      let alias: string | undefined;
      const aliasMatch = /^([^:"]+|"[^"]+"):(?!:)(.+)$/.exec(rest);
      if (aliasMatch) {
        alias = unquote(aliasMatch[1] ?? '');
        rest = aliasMatch[2] ?? '';
      }
      let cast: string | undefined;
      const castAt = rest.lastIndexOf('::');
      if (castAt >= 0) {
        cast = rest.slice(castAt + 2).toLowerCase();
        rest = rest.slice(0, castAt);
        if (!TYPE_NAME.test(cast)) throw parseError(`Failed to parse cast type "${cast}"`);
      }
      const ref = this.columnRef(rest);
      const last = ref.path[ref.path.length - 1];
      return { kind: 'column', ref, alias: alias ?? (last ? last.key : ref.column), cast };
    });
  }

  /** `value` is what follows `column=` (e.g. `not.in.(1,2)`). */
  filter(column: string, value: string): Condition {
    let rest = value;
    let negate = false;
    if (rest.startsWith('not.')) {
      negate = true;
      rest = rest.slice(4);
    }
    const dot = rest.indexOf('.');
    const op = (dot < 0 ? rest : rest.slice(0, dot)) as FilterOperator;
    if (!FILTER_OPERATORS.includes(op)) {
      throw parseError(
        `Failed to parse filter "${column}=${value}"`,
        `unknown or unsupported operator "${op}"`,
      );
    }
    if (dot < 0)
      throw parseError(`Failed to parse filter "${column}=${value}"`, 'the operator needs a value');
    const operand = rest.slice(dot + 1);
    const ref = this.columnRef(column);
    if (op === 'in') {
      if (!operand.startsWith('(') || !operand.endsWith(')')) {
        throw parseError(`Failed to parse filter "${column}=${value}"`, 'in. takes a list like in.(a,b,c)');
      }
      const inner = operand.slice(1, -1);
      return {
        kind: 'filter',
        ref,
        negate,
        op,
        value: inner === '' ? [] : splitTopLevel(inner).map(unquote),
      };
    }
    if (op === 'is' && !IS_VALUES.has(operand.toLowerCase())) {
      throw parseError(
        `Failed to parse filter "${column}=${value}"`,
        'is. takes null, not_null, true, false or unknown',
      );
    }
    return { kind: 'filter', ref, negate, op, value: op === 'is' ? operand.toLowerCase() : operand };
  }

  /** `or=(…)` / `and=(…)` and the conditions nested inside them. */
  logic(key: string, value: string): Condition {
    const negate = key.startsWith('not.');
    const op = (negate ? key.slice(4) : key) as 'and' | 'or';
    if (!value.startsWith('(') || !value.endsWith(')')) {
      throw parseError(
        `Failed to parse logic tree (${value})`,
        `${key} takes a list like ${key}=(a.eq.1,b.eq.2)`,
      );
    }
    const conditions = splitTopLevel(value.slice(1, -1)).map((item) => {
      const nested = /^(not\.)?(and|or)(\(.*\))$/s.exec(item);
      if (nested) return this.logic(`${nested[1] ?? ''}${nested[2]}`, nested[3] ?? '');
      const arrowFree = item.replace(/->>?[^.]*/g, (match) => match.replace(/\./g, '\u0000'));
      const dot = arrowFree.indexOf('.');
      if (dot < 0)
        throw parseError(`Failed to parse logic tree (${value})`, `"${item}" is not column.op.value`);
      return this.filter(item.slice(0, dot), item.slice(dot + 1));
    });
    return { kind: 'logic', op, negate, conditions };
  }

  order(text: string): OrderTerm[] {
    return splitTopLevel(text).map((term) => {
      const parts = term.split('.');
      const modifiers: string[] = [];
      while (
        parts.length > 1 &&
        ['asc', 'desc', 'nullsfirst', 'nullslast'].includes(parts[parts.length - 1] ?? '')
      ) {
        modifiers.unshift(parts.pop() ?? '');
      }
      const ref = this.columnRef(parts.join('.'));
      return {
        ref,
        descending: modifiers.includes('desc'),
        nulls: modifiers.includes('nullsfirst')
          ? 'first'
          : modifiers.includes('nullslast')
            ? 'last'
            : undefined,
      };
    });
  }

  bodyColumns(names: string[]): string[] {
    for (const name of names)
      if (!this.table.columns.has(name)) throw unknownBodyColumn(this.table.name, name);
    return names;
  }

  parse(params: URLSearchParams): ParsedQuery {
    const parsed: ParsedQuery = { select: this.select(params.get('select')), where: [], order: [] };
    for (const [key, value] of params) {
      if (key === 'or' || key === 'and' || key === 'not.or' || key === 'not.and') {
        parsed.where.push(this.logic(key, value));
      } else if (!RESERVED.has(key)) {
        parsed.where.push(this.filter(key, value));
      }
    }
    const order = params.get('order');
    if (order) parsed.order = this.order(order);
    for (const key of ['limit', 'offset'] as const) {
      const raw = params.get(key);
      if (raw === null) continue;
      if (!/^\d+$/.test(raw))
        throw parseError(`"${raw}" is not a valid ${key}`, `${key} must be a non-negative integer`);
      parsed[key] = Number(raw);
    }
    const columns = params.get('columns');
    if (columns) parsed.columns = this.bodyColumns(splitTopLevel(columns).map(unquote));
    const onConflict = params.get('on_conflict');
    if (onConflict) parsed.onConflict = this.bodyColumns(splitTopLevel(onConflict).map(unquote));
    return parsed;
  }
}
