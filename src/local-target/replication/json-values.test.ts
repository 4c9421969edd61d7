import { describe, expect, it } from 'vitest';
import { compareText, parseArrayLiteral, toJsonValue } from './json-values.js';

const scalar = (name: string) => ({ name, elementName: null });

describe('column values as JSON', () => {
  it('types scalars the way Supabase records carry them', () => {
    expect(toJsonValue('42', scalar('int4'))).toBe(42);
    expect(toJsonValue('9007199254740991', scalar('int8'))).toBe(9007199254740991);
    expect(toJsonValue('1.50', scalar('numeric'))).toBe(1.5);
    expect(toJsonValue('NaN', scalar('float8'))).toBe('NaN');
    expect(toJsonValue('t', scalar('bool'))).toBe(true);
    expect(toJsonValue('f', scalar('bool'))).toBe(false);
    expect(toJsonValue('{"a": [1, {"b": null}]}', scalar('jsonb'))).toEqual({ a: [1, { b: null }] });
    expect(toJsonValue('7f1c3d9a-1111-4222-8333-444455556666', scalar('uuid'))).toBe(
      '7f1c3d9a-1111-4222-8333-444455556666',
    );
    expect(toJsonValue(null, scalar('int4'))).toBeNull();
  });

  it('prints timestamps like PostgREST (ISO with a T and a full offset)', () => {
    expect(toJsonValue('2025-11-06 10:00:00.123456+00', scalar('timestamptz'))).toBe(
      '2025-11-06T10:00:00.123456+00:00',
    );
    expect(toJsonValue('2025-11-06 10:00:00+05:30', scalar('timestamptz'))).toBe('2025-11-06T10:00:00+05:30');
    expect(toJsonValue('2025-11-06 10:00:00', scalar('timestamp'))).toBe('2025-11-06T10:00:00');
    expect(toJsonValue('infinity', scalar('timestamptz'))).toBe('infinity');
  });

  it('turns array literals into JSON arrays of typed elements', () => {
    expect(toJsonValue('{1,2,NULL}', { name: '_int4', elementName: 'int4' })).toEqual([1, 2, null]);
    expect(toJsonValue('{"a b","c\\"d",NULL,"NULL"}', { name: '_text', elementName: 'text' })).toEqual([
      'a b',
      'c"d',
      null,
      'NULL',
    ]);
    expect(toJsonValue('{{t,f},{f,t}}', { name: '_bool', elementName: 'bool' })).toEqual([
      [true, false],
      [false, true],
    ]);
    expect(parseArrayLiteral('[0:1]={x,y}')).toEqual(['x', 'y']);
    expect(parseArrayLiteral('{}')).toEqual([]);
  });

  it('orders values by their type', () => {
    expect(compareText('10', '9', 'int4')).toBe(1);
    expect(compareText('10', '9', 'text')).toBe(-1);
    expect(compareText('2025-01-01 00:00:00+00', '2025-01-01 00:00:00.5+00', 'timestamptz')).toBe(-1);
    expect(compareText('f', 't', 'bool')).toBeLessThan(0);
  });
});
