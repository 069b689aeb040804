import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256, secretValueHash, sha256 } from './keyed-hash.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('sha256', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
  ])('matches the FIPS 180-4 example for %j', (input, digest) => {
    expect(hex(sha256(utf8(input)))).toBe(digest);
  });

  it('matches node:crypto at every length around the block and padding boundaries', () => {
    for (let length = 0; length <= 200; length++) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      expect(hex(sha256(data))).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });
});

describe('hmacSha256', () => {
  it.each([
    // RFC 4231 test cases 1, 2 and 6 (a key longer than a block).
    [
      new Uint8Array(20).fill(0x0b),
      'Hi There',
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    ],
    [
      utf8('Jefe'),
      'what do ya want for nothing?',
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    ],
    [
      new Uint8Array(131).fill(0xaa),
      'Test Using Larger Than Block-Size Key - Hash Key First',
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    ],
  ])('matches RFC 4231 (%#)', (key, message, mac) => {
    expect(hex(hmacSha256(key)(utf8(message)))).toBe(mac);
  });

  it('matches node:crypto for many messages under one key', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
    const mac = hmacSha256(key);
    for (let length = 0; length <= 150; length += 3) {
      const message = Uint8Array.from({ length }, (_, i) => (i * 13) & 0xff);
      expect(hex(mac(message))).toBe(createHmac('sha256', key).update(message).digest('hex'));
    }
  });
});

describe('secretValueHash', () => {
  it('is stable within a process, 16 hex digits, and tells values apart', () => {
    const hash = secretValueHash();
    expect(hash('sub-key-1')).toMatch(/^[0-9a-f]{16}$/);
    expect(secretValueHash()('sub-key-1')).toBe(hash('sub-key-1'));
    expect(hash('sub-key-2')).not.toBe(hash('sub-key-1'));
  });

  it('is keyed: it is not the plain SHA-256 or an unkeyed HMAC of the value', () => {
    const value = 'abc';
    const plain = createHash('sha256').update(value).digest('hex').slice(0, 16);
    const unkeyed = createHmac('sha256', '').update(value).digest('hex').slice(0, 16);
    expect(secretValueHash()(value)).not.toBe(plain);
    expect(secretValueHash()(value)).not.toBe(unkeyed);
  });
});
