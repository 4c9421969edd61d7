/**
 * Turns column values from Postgres's text output (as pgoutput sends them, and as `::text`
 * prints them) into the JSON values Supabase puts in postgres_changes records: numbers for
 * numeric types, booleans, parsed json/jsonb, ISO timestamps as PostgREST prints them, arrays as
 * JSON arrays. Anything else stays the text Postgres printed (uuid, text, date, interval, …).
 *
 * Timestamps assume the session printed them with `DateStyle=ISO` and `TimeZone=UTC`, which the
 * replication connection sets.
 */

export interface ColumnType {
  /** pg_type.typname, e.g. `int4`, `timestamptz`, `_text`. */
  name: string;
  /** For arrays, the element's typname; otherwise null. */
  elementName: string | null;
}

const NUMERIC_TYPES = new Set(['int2', 'int4', 'int8', 'oid', 'float4', 'float8', 'numeric', 'money']);

export function isNumericType(typeName: string): boolean {
  return NUMERIC_TYPES.has(typeName) && typeName !== 'money';
}

function scalarToJson(text: string, typeName: string): unknown {
  switch (typeName) {
    case 'bool':
      return text === 't' || text === 'true';
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
    case 'float4':
    case 'float8':
    case 'numeric': {
      const value = Number(text);
      // to_jsonb prints NaN / Infinity as strings; so do we.
      return Number.isFinite(value) ? value : text;
    }
    case 'json':
    case 'jsonb':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    case 'timestamptz':
      return isoTimestamp(text, true);
    case 'timestamp':
      return isoTimestamp(text, false);
    default:
      return text;
  }
}

/** `2025-11-25 15:24:10.123456+00` → `2025-11-25T15:24:10.123456+00:00` (to_jsonb's shape). */
function isoTimestamp(text: string, withZone: boolean): string {
  if (text === 'infinity' || text === '-infinity') return text;
  const withT = text.replace(' ', 'T');
  if (!withZone) return withT;
  return withT.replace(/([+-]\d{2})$/, '$1:00');
}

/** Converts one column value; `null` stays null. */
export function toJsonValue(text: string | null, type: ColumnType): unknown {
  if (text === null) return null;
  if (type.elementName !== null && type.name.startsWith('_')) {
    const parsed = parseArrayLiteral(text);
    return mapArray(parsed, type.elementName);
  }
  return scalarToJson(text, type.name);
}

type ArrayItem = string | null | ArrayItem[];

function mapArray(items: ArrayItem[], elementName: string): unknown[] {
  return items.map((item) =>
    item === null
      ? null
      : Array.isArray(item)
        ? mapArray(item, elementName)
        : scalarToJson(item, elementName),
  );
}

/**
 * Parses a Postgres array literal (`{1,2}`, `{"a b",NULL}`, `{{1,2},{3,4}}`), with an optional
 * dimension prefix (`[0:1]={…}`). Elements stay text; NULL (unquoted) becomes null.
 */
export function parseArrayLiteral(text: string): ArrayItem[] {
  let position = text.startsWith('[') ? text.indexOf('=') + 1 : 0;
  function parseLevel(): ArrayItem[] {
    if (text[position] !== '{') throw new Error(`array literal expected '{' at ${position}: ${text}`);
    position++;
    const items: ArrayItem[] = [];
    if (text[position] === '}') {
      position++;
      return items;
    }
    for (;;) {
      const char = text[position];
      if (char === '{') {
        items.push(parseLevel());
      } else if (char === '"') {
        position++;
        let value = '';
        while (position < text.length && text[position] !== '"') {
          if (text[position] === '\\') position++;
          value += text[position] ?? '';
          position++;
        }
        position++; // closing quote
        items.push(value);
      } else {
        let end = position;
        while (end < text.length && text[end] !== ',' && text[end] !== '}') end++;
        const raw = text.slice(position, end);
        items.push(raw === 'NULL' ? null : raw);
        position = end;
      }
      const separator = text[position];
      position++;
      if (separator === '}') return items;
      if (separator !== ',') throw new Error(`array literal expected ',' or '}' at ${position - 1}: ${text}`);
    }
  }
  return parseLevel();
}

/**
 * Orders two values of the same column for lt/lte/gt/gte filters. Numbers compare numerically;
 * ISO timestamps and dates compare as text (same zone, so text order is time order); everything
 * else in byte order, like Postgres's C collation the target runs with.
 */
export function compareText(left: string, right: string, typeName: string): number {
  if (isNumericType(typeName)) {
    const a = Number(left);
    const b = Number(right);
    if (Number.isFinite(a) && Number.isFinite(b)) return a === b ? 0 : a < b ? -1 : 1;
  }
  if (typeName === 'bool') {
    const a = left === 't' ? 1 : 0;
    const b = right === 't' ? 1 : 0;
    return a - b;
  }
  return left === right ? 0 : left < right ? -1 : 1;
}
