/**
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), synchronous and dependency-free, for the keyed
 * hash of credential values (keyed-hash.ts). Written out here rather than taken from a library so
 * that it costs about 1 KB in a browser bundle (a general-purpose hash library cost 7 KB minified),
 * and only in bundles that reach it. Checked against node:crypto in hmac-sha256.test.ts.
 *
 * Not constant-time, which its use does not need: the key never leaves the process and the values
 * hashed are the caller's own headers.
 */

/** FIPS 180-4 §5.3.3 initial hash value, then §4.2.2 round constants, as 72 big-endian words. */
const CONSTANTS_HEX =
  '6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19428a2f9871374491b5c0fbcfe9b5dba5' +
  '3956c25b59f111f1923f82a4ab1c5ed5d807aa9812835b01243185be550c7dc372be5d7480deb1fe9bdc06a7c19bf174' +
  'e49b69c1efbe47860fc19dc6240ca1cc2de92c6f4a7484aa5cb0a9dc76f988da983e5152a831c66db00327c8bf597fc7' +
  'c6e00bf3d5a7914706ca63511429296727b70a852e1b21384d2c6dfc53380d13650a7354766a0abb81c2c92e92722c85' +
  'a2bfe8a1a81a664bc24b8b70c76c51a3d192e819d6990624f40e3585106aa07019a4c1161e376c082748774c34b0bcb5' +
  '391c0cb34ed8aa4a5b9cca4f682e6ff3748f82ee78a5636f84c878148cc7020890befffaa4506cebbef9a3f7c67178f2';

let constants: Uint32Array | undefined;

/** Parsed on first use, so that merely importing the module costs nothing. */
function words(): Uint32Array {
  constants ??= Uint32Array.from({ length: 72 }, (_, i) =>
    Number.parseInt(CONSTANTS_HEX.slice(i * 8, i * 8 + 8), 16),
  );
  return constants;
}

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/** The SHA-256 digest of `message`, 32 bytes. */
export function sha256(message: Uint8Array): Uint8Array {
  const k = words();
  // The message, a 1 bit, zeros, and its length in bits as a 64-bit big-endian number (§5.1.1).
  const padded = new Uint8Array((((message.length + 8) >> 6) + 1) * 64);
  padded.set(message);
  padded[message.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(message.length / 2 ** 29));
  view.setUint32(padded.length - 4, (message.length * 8) >>> 0);

  const hash = k.slice(0, 8);
  const w = new Uint32Array(64);
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getUint32(offset + t * 4);
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15] as number;
      const b = w[t - 2] as number;
      w[t] =
        (w[t - 16] as number) +
        (rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3)) +
        (w[t - 7] as number) +
        (rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10));
    }
    let [a, b, c, d, e, f, g, h] = hash as unknown as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    for (let t = 0; t < 64; t++) {
      const t1 =
        (h +
          (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
          ((e & f) ^ (~e & g)) +
          (k[t + 8] as number) +
          (w[t] as number)) |
        0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    [a, b, c, d, e, f, g, h].forEach((value, i) => {
      hash[i] = (hash[i] as number) + value;
    });
  }
  const digest = new Uint8Array(32);
  const out = new DataView(digest.buffer);
  hash.forEach((value, i) => {
    out.setUint32(i * 4, value);
  });
  return digest;
}

/** HMAC-SHA-256 of `message` under `key` (RFC 2104), 32 bytes. */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  const block = new Uint8Array(64);
  block.set(key.length > 64 ? sha256(key) : key);
  const pad = (byte: number, tail: Uint8Array): Uint8Array => {
    const data = new Uint8Array(64 + tail.length);
    block.forEach((value, i) => {
      data[i] = value ^ byte;
    });
    data.set(tail, 64);
    return data;
  };
  return sha256(pad(0x5c, sha256(pad(0x36, message))));
}
