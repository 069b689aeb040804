import { describe, expect, it } from 'vitest';
import { wholeMembers } from './json-prefix.ts';

describe('wholeMembers: the members of a JSON object that arrived whole', () => {
  it('keeps the top-level members sent before a long list cut short', () => {
    const body = '{"code":"600012","isRetryable":false,"errorData":[{"a":1},{"b":';
    expect(wholeMembers(body)).toEqual({ code: '600012', isRetryable: false });
  });

  it("keeps an OData error's code and message before its cut details", () => {
    const body = '{"error": {"code": "Throttled", "message": "slow down", "details": [{"code": "x"';
    expect(wholeMembers(body)).toEqual({ error: { code: 'Throttled', message: 'slow down' } });
  });

  it('drops a string, a number or a literal that was cut, and a key without its value', () => {
    expect(wholeMembers('{"code":"X","description":"half a sen')).toEqual({ code: 'X' });
    expect(wholeMembers('{"code":"X","count":12')).toEqual({ code: 'X' });
    expect(wholeMembers('{"code":"X","ok":tr')).toEqual({ code: 'X' });
    expect(wholeMembers('{"code":"X","next"')).toEqual({ code: 'X' });
    expect(wholeMembers('{"code":"X","next":')).toEqual({ code: 'X' });
  });

  it('keeps a number once a delimiter follows it, and strings with escaped quotes', () => {
    expect(wholeMembers('{"code":600012, "description":"say \\"no\\"", "data":[1')).toEqual({
      code: 600012,
      description: 'say "no"',
    });
  });

  it('stops at what is not JSON and keeps what came before it', () => {
    expect(wholeMembers('{"code":"X",}')).toEqual({ code: 'X' });
    expect(wholeMembers('{"code":"X", "more" 1}')).toEqual({ code: 'X' });
    expect(wholeMembers('{"code":"X"}trailing')).toEqual({ code: 'X' });
  });

  it('gives nothing for a body that is not an object, or with no member sent whole', () => {
    expect(wholeMembers('[1,2')).toBeUndefined();
    expect(wholeMembers('<html>')).toBeUndefined();
    expect(wholeMembers('')).toBeUndefined();
    expect(wholeMembers('{"description":"cut in the first member')).toBeUndefined();
  });

  it('closes every object still open, and keeps an array only whole', () => {
    expect(wholeMembers('{"a":{"b":{"c":1,"d":[')).toEqual({ a: { b: { c: 1 } } });
    expect(wholeMembers('{"a":[{"b":1}],"c":{"d":[1,')).toEqual({ a: [{ b: 1 }] });
  });
});
