/**
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), synchronous and dependency-free, for the keyed
 * hash of credential values (keyed-hash.ts). Written out here rather than taken from a library
 * because every browser bundle of `wrapFetch` carries it (options are checked at run time): it costs
 * 1.4 KB minified there, where @noble/hashes cost 7 KB. Checked against node:crypto and the FIPS 180-4
 * and RFC 4231 examples in hmac-sha256.test.ts.
 *
 * Not constant-time, which its use does not need: the key never leaves the process and the values
 * hashed are the caller's own headers.
 */

let constants: Uint32Array | undefined;

/**
 * FIPS 180-4's initial hash value (§5.3.3: the first 32 bits of the fractional parts of the square
 * roots of the first 8 primes) then its round constants (§4.2.2: of the cube roots of the first 64),
 * as 72 words. Computed exactly in integers on first use: shorter than the 72 words written out, and
 * no floating-point root whose last bit could differ between engines.
 */
function words(): Uint32Array {
  if (constants) return constants;
  const primes: bigint[] = [];
  for (let n = 2n; primes.length < 64; n++) {
    if (primes.every((p) => n % p !== 0n)) primes.push(n);
  }
  // floor(root(p * 2^(32 * degree))) keeps 32 fraction bits of root(p); the mask drops its integer part.
  const fraction = (p: bigint, degree: bigint): number =>
    Number(integerRoot(p << (32n * degree), degree) & 0xffffffffn);
  constants = Uint32Array.from([
    ...primes.slice(0, 8).map((p) => fraction(p, 2n)),
    ...primes.map((p) => fraction(p, 3n)),
  ]);
  return constants;
}

/** floor(n^(1/degree)) by Newton's method from above, in integers. */
function integerRoot(n: bigint, degree: bigint): bigint {
  let x = 1n << (BigInt(n.toString(2).length) / degree + 1n);
  for (;;) {
    const next = ((degree - 1n) * x + n / x ** (degree - 1n)) / degree;
    if (next >= x) return x;
    x = next;
  }
}

/** The eight working variables a..h of §6.2.2, read from the hash state. */
type EightWords = [number, number, number, number, number, number, number, number];

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
    let [a, b, c, d, e, f, g, h] = hash as unknown as EightWords;
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
