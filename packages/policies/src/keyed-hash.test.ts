import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { secretValueHash } from './keyed-hash.ts';

describe('secretValueHash', () => {
  it('is stable within a process, 16 hex digits, and tells values apart', () => {
    const hash = secretValueHash();
    expect(hash('sub-key-1')).toMatch(/^[0-9a-f]{16}$/);
    expect(secretValueHash()('sub-key-1')).toBe(hash('sub-key-1'));
    expect(hash('sub-key-2')).not.toBe(hash('sub-key-1'));
  });

  it('is the HMAC-SHA-256 of the value under a key of its own, cut to 64 bits', () => {
    // No key to compare with, so check the shape an HMAC gives: a different value for every input
    // length around SHA-256's block and padding boundaries, none of them a plain digest.
    const hash = secretValueHash();
    const seen = new Set<string>();
    for (let length = 0; length <= 130; length++) {
      const value = 'k'.repeat(length);
      const digest = hash(value);
      expect(digest).not.toBe(createHash('sha256').update(value).digest('hex').slice(0, 16));
      seen.add(digest);
    }
    expect(seen.size).toBe(131);
  });

  it('is keyed: it is not the plain SHA-256 or an unkeyed HMAC of the value', () => {
    const value = 'abc';
    const plain = createHash('sha256').update(value).digest('hex').slice(0, 16);
    const unkeyed = createHmac('sha256', '').update(value).digest('hex').slice(0, 16);
    expect(secretValueHash()(value)).not.toBe(plain);
    expect(secretValueHash()(value)).not.toBe(unkeyed);
  });
});
