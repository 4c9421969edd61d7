/**
 * Turns a parsed REST request into one parameterised SQL statement. Identifiers come only from
 * the schema cache and are always double-quoted; every value is a bind parameter. Results are
 * aggregated to JSON by Postgres (json_agg), so timestamps and numbers are formatted exactly the
 * way PostgREST formats them.
 */
import { parseError } from './postgrest-error.js';
import type { ColumnRef, Condition, OrderTerm, ParsedQuery, SelectItem } from './query-string.js';
import type { TableInfo } from './schema-cache.js';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export class SqlBuilder {
  readonly params: unknown[] = [];

  constructor(private readonly table: TableInfo) {}

  get qualifiedTable(): string {
    return `${quoteIdent(this.table.schema)}.${quoteIdent(this.table.name)}`;
  }

  param(value: unknown, cast?: string): string {
    this.params.push(value);
    return cast ? `$${this.params.length}::${cast}` : `$${this.params.length}`;
  }

  columnExpr(ref: ColumnRef): string {
    let expr = quoteIdent(ref.column);
    for (const step of ref.path) {
      expr += /^-?\d+$/.test(step.key)
        ? `${step.arrow}${this.param(Number(step.key), 'int')}`
        : `${step.arrow}${this.param(step.key, 'text')}`;
    }
    return expr;
  }

  selectList(items: SelectItem[]): string {
    return items
      .map((item) => {
        if (item.kind === 'star') return '*';
        const expr = this.columnExpr(item.ref);
        // cast passed the TYPE_NAME check in the parser (letters, digits, _, spaces, []).
        return `${item.cast ? `(${expr})::${item.cast}` : expr} as ${quoteIdent(item.alias)}`;
      })
      .join(', ');
  }

  /** Bind a filter value; json paths ending in ->> compare as text, -> as jsonb. */
  private bindFor(ref: ColumnRef, value: unknown): string {
    const last = ref.path[ref.path.length - 1];
    if (!last) return this.param(value);
    return last.arrow === '->>' ? this.param(value, 'text') : this.param(value, 'jsonb');
  }

  condition(condition: Condition): string {
    if (condition.kind === 'logic') {
      if (condition.conditions.length === 0) return condition.negate ? 'false' : 'true';
      const joined = condition.conditions.map((inner) => this.condition(inner)).join(` ${condition.op} `);
      return condition.negate ? `not (${joined})` : `(${joined})`;
    }
    const column = this.columnExpr(condition.ref);
    let sql: string;
    switch (condition.op) {
      case 'eq':
        sql = `${column} = ${this.bindFor(condition.ref, condition.value)}`;
        break;
      case 'neq':
        sql = `${column} <> ${this.bindFor(condition.ref, condition.value)}`;
        break;
      case 'gt':
        sql = `${column} > ${this.bindFor(condition.ref, condition.value)}`;
        break;
      case 'gte':
        sql = `${column} >= ${this.bindFor(condition.ref, condition.value)}`;
        break;
      case 'lt':
        sql = `${column} < ${this.bindFor(condition.ref, condition.value)}`;
        break;
      case 'lte':
        sql = `${column} <= ${this.bindFor(condition.ref, condition.value)}`;
        break;
      case 'like':
      case 'ilike': {
        const pattern = String(condition.value).replace(/\*/g, '%');
        sql = `${column}::text ${condition.op} ${this.param(pattern, 'text')}`;
        break;
      }
      case 'in': {
        const values = Array.isArray(condition.value) ? condition.value : [condition.value];
        if (values.length === 0) sql = 'false';
        else if (condition.ref.path.length > 0)
          sql = `${column}::text = any(${this.param(values, 'text[]')})`;
        else sql = `${column} = any(${this.param(values)})`;
        break;
      }
      case 'is': {
        const keyword = {
          null: 'null',
          not_null: 'not null',
          true: 'true',
          false: 'false',
          unknown: 'unknown',
        }[String(condition.value)];
        if (!keyword) throw parseError(`is.${String(condition.value)} is not supported`);
        sql = `${column} is ${keyword}`;
        break;
      }
    }
    return condition.negate ? `not (${sql})` : sql;
  }

  where(conditions: Condition[]): string {
    if (conditions.length === 0) return '';
    return ` where ${conditions.map((condition) => this.condition(condition)).join(' and ')}`;
  }

  orderBy(terms: OrderTerm[]): string {
    if (terms.length === 0) return '';
    const parts = terms.map(
      (term) =>
        `${this.columnExpr(term.ref)} ${term.descending ? 'desc' : 'asc'}${term.nulls ? ` nulls ${term.nulls}` : ''}`,
    );
    return ` order by ${parts.join(', ')}`;
  }

  page(query: ParsedQuery): string {
    let sql = '';
    if (query.limit !== undefined) sql += ` limit ${this.param(query.limit, 'bigint')}`;
    if (query.offset !== undefined) sql += ` offset ${this.param(query.offset, 'bigint')}`;
    return sql;
  }

  /** Wraps a row source so Postgres returns `{ body: json text, first: json text, n }`. */
  static aggregate(source: string, cte = false): string {
    const from = cte ? 'pgrst_rows' : `(${source}) pgrst_rows`;
    const prefix = cte ? `with pgrst_rows as (${source}) ` : '';
    return `${prefix}select coalesce(json_agg(pgrst_rows), '[]')::text as body, (json_agg(pgrst_rows) -> 0)::text as first, count(*)::int as n from ${from}`;
  }

  selectStatement(query: ParsedQuery): string {
    const source = `select ${this.selectList(query.select)} from ${this.qualifiedTable}${this.where(query.where)}${this.orderBy(query.order)}${this.page(query)}`;
    return SqlBuilder.aggregate(source);
  }

  countStatement(query: ParsedQuery): string {
    return `select count(*)::int as total from ${this.qualifiedTable}${this.where(query.where)}`;
  }

  /** Bind a body value for a column: json/jsonb columns get JSON text, everything else as is. */
  bodyValue(column: string, value: unknown): string {
    const info = this.table.columns.get(column);
    if (info?.isJson) return this.param(value === null || value === undefined ? null : JSON.stringify(value));
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      // An object for a non-JSON column: let Postgres reject it as bad input (22P02 → 400).
      return this.param(JSON.stringify(value));
    }
    return this.param(value);
  }
}
