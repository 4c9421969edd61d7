import { describe, expect, it } from 'vitest';
import {
  describeFilters,
  FilterParseError,
  parseFilter,
  rowMatches,
  type CompiledCondition,
} from './change-filter.js';

const compiled = (filter: string, typeName: string): CompiledCondition[] =>
  parseFilter(filter).map((condition) => ({ ...condition, typeName }));

describe('postgres_changes filters', () => {
  it('parses every documented operator, not. and comma-AND, with quoted values', () => {
    expect(parseFilter('id=eq.1')).toEqual([{ column: 'id', operator: 'eq', negated: false, values: ['1'] }]);
    expect(parseFilter('status=not.in.(queued,"a,b")')).toEqual([
      { column: 'status', operator: 'in', negated: true, values: ['queued', 'a,b'] },
    ]);
    expect(parseFilter('n=gt.0,n=lte.10').map((c) => c.operator)).toEqual(['gt', 'lte']);
    expect(parseFilter('note=eq.a.b')).toEqual([
      { column: 'note', operator: 'eq', negated: false, values: ['a.b'] },
    ]);
    expect(parseFilter('')).toEqual([]);
    expect(parseFilter(undefined)).toEqual([]);
  });

  it("rejects malformed filters with the real server's wording", () => {
    expect(() => parseFilter('n=foo.1')).toThrow(new FilterParseError('["foo", "1"]'));
    expect(() => parseFilter('n=hey')).toThrow('Error parsing `filter` params: ["hey"]');
    expect(() => parseFilter('justtext')).toThrow('Error parsing `filter` params: ["justtext"]');
    expect(() => parseFilter('n=in.1,2')).toThrow(/must be wrapped by parentheses/);
    const tooMany = `n=in.(${Array.from({ length: 101 }, (_, i) => i).join(',')})`;
    expect(() => parseFilter(tooMany)).toThrow(/at most 100 values/);
  });

  it('compares numbers numerically and text in byte order', () => {
    const row = (n: string) => (column: string) => (column === 'n' ? n : undefined);
    expect(rowMatches(compiled('n=gt.9', 'int4'), row('10'))).toBe(true);
    expect(rowMatches(compiled('n=gt.9', 'text'), row('10'))).toBe(false);
    expect(rowMatches(compiled('n=in.(1,2,3)', 'int4'), row('2'))).toBe(true);
    expect(rowMatches(compiled('n=not.in.(1,2,3)', 'int4'), row('2'))).toBe(false);
    expect(rowMatches(compiled('n=neq.2', 'int4'), row('2'))).toBe(false);
    expect(rowMatches(compiled('n=gte.2,n=lt.3', 'numeric'), row('2.5'))).toBe(true);
  });

  it('never matches NULL or a missing column, negated or not', () => {
    expect(rowMatches(compiled('n=eq.1', 'int4'), () => null)).toBe(false);
    expect(rowMatches(compiled('n=not.eq.1', 'int4'), () => null)).toBe(false);
    expect(rowMatches(compiled('n=neq.1', 'int4'), () => undefined)).toBe(false);
  });

  it('prints filters the way the unable-to-subscribe message shows them', () => {
    expect(describeFilters(parseFilter('id=eq.abc'))).toBe('[{"id", "eq", "abc"}]');
    expect(describeFilters(parseFilter('n=not.in.(1,2)'))).toBe('[{"n", "not.in", "(1,2)"}]');
    expect(describeFilters([])).toBe('[]');
  });
});
