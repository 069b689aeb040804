import { describe, expect, it } from 'vitest';
import { memoizableUrl } from './url-memo.ts';

describe('memoizableUrl', () => {
  it('lets a plain URL be remembered, and no URL that may carry a secret', () => {
    expect(memoizableUrl('https://api.test/v1/customers/42')).toBe(true);
    for (const text of [
      'https://api.test/v1/items?access_token=t',
      'https://api.test/v1/items#token=t',
      'https://user:pw@api.test/v1/items',
      'data:text/plain,secret',
    ]) {
      expect(memoizableUrl(text)).toBe(false);
    }
  });
});
