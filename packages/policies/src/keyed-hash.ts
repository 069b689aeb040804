/**
 * A keyed hash for values that must never appear verbatim (a `keyHeader` that carries a credential):
 * HMAC-SHA-256 (RFC 2104, FIPS 180-4) under a random key, written out here.
 *
 * Why this hash:
 * - It must be a keyed PRF, not a plain or merely salted fast hash: an endpoint key is logged, and a
 *   log reader who could compute the hash (FNV, an unsalted SHA-256, or FNV behind a salt whose 32-bit
 *   state one known pair gives away) could test guesses of a low-entropy secret offline. Without the
 *   key, an HMAC digest says nothing about the value.
 * - `resolve` is synchronous and policies has no dependencies and no `node:` imports, so neither Web
 *   Crypto's asynchronous `subtle.sign` nor `node:crypto` fits; only `crypto.getRandomValues` (which
 *   browsers offer in non-secure contexts too) is used, for the key.
 * - SHA-256 is the hash every platform audits; HMAC keeps it sound for short, structured inputs.
 *
 * The key and the padded key blocks are processed once per key, so each value costs two compressions
 * for a value up to 55 bytes (one more per further 64 bytes).
 */

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

const INITIAL_STATE = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

const BLOCK_BYTES = 64;

/** The message schedule, shared: hashing is synchronous, so no two compressions overlap. */
const SCHEDULE = new Uint32Array(64);

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/** Processes one 64-byte block of `data` at `offset` into `state` (FIPS 180-4 §6.2.2). */
function compress(state: Uint32Array, data: Uint8Array, offset: number): void {
  const w = SCHEDULE;
  for (let t = 0; t < 16; t++) {
    const i = offset + t * 4;
    w[t] =
      ((data[i] as number) << 24) |
      ((data[i + 1] as number) << 16) |
      ((data[i + 2] as number) << 8) |
      (data[i + 3] as number);
  }
  for (let t = 16; t < 64; t++) {
    const w15 = w[t - 15] as number;
    const w2 = w[t - 2] as number;
    const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
    w[t] = (w[t - 16] as number) + s0 + (w[t - 7] as number) + s1;
  }
  let a = state[0] as number;
  let b = state[1] as number;
  let c = state[2] as number;
  let d = state[3] as number;
  let e = state[4] as number;
  let f = state[5] as number;
  let g = state[6] as number;
  let h = state[7] as number;
  for (let t = 0; t < 64; t++) {
    const t1 =
      (h +
        (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
        ((e & f) ^ (~e & g)) +
        (K[t] as number) +
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
  state[0] = (state[0] as number) + a;
  state[1] = (state[1] as number) + b;
  state[2] = (state[2] as number) + c;
  state[3] = (state[3] as number) + d;
  state[4] = (state[4] as number) + e;
  state[5] = (state[5] as number) + f;
  state[6] = (state[6] as number) + g;
  state[7] = (state[7] as number) + h;
}

/**
 * Finishes a SHA-256 whose state has already absorbed `prefixBytes` (a multiple of 64): absorbs
 * `data`, pads (0x80, zeros, the bit length) and returns the 32-byte digest. `state` is not modified.
 */
function finish(start: Uint32Array, prefixBytes: number, data: Uint8Array): Uint8Array {
  const state = start.slice();
  const padded = new Uint8Array(Math.ceil((data.length + 9) / BLOCK_BYTES) * BLOCK_BYTES);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  const bits = (prefixBytes + data.length) * 8;
  view.setUint32(padded.length - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(padded.length - 4, bits >>> 0);
  for (let offset = 0; offset < padded.length; offset += BLOCK_BYTES) compress(state, padded, offset);
  const digest = new Uint8Array(32);
  const out = new DataView(digest.buffer);
  for (let i = 0; i < 8; i++) out.setUint32(i * 4, state[i] ?? 0);
  return digest;
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  return finish(new Uint32Array(INITIAL_STATE), 0, data);
}

/** The state after absorbing one block: the key XOR a pad byte (RFC 2104's K ^ ipad, K ^ opad). */
function padState(key: Uint8Array, pad: number): Uint32Array {
  const block = new Uint8Array(BLOCK_BYTES).fill(pad);
  for (let i = 0; i < key.length; i++) block[i] = (key[i] ?? 0) ^ pad;
  const state = new Uint32Array(INITIAL_STATE);
  compress(state, block, 0);
  return state;
}

/** HMAC-SHA-256 under `key`, with the key's blocks processed once: `hmac(message)` is the 32-byte MAC. */
export function hmacSha256(key: Uint8Array): (message: Uint8Array) => Uint8Array {
  const blockKey = key.length > BLOCK_BYTES ? sha256(key) : key;
  const inner = padState(blockKey, 0x36);
  const outer = padState(blockKey, 0x5c);
  return (message) => finish(outer, BLOCK_BYTES, finish(inner, BLOCK_BYTES, message));
}

let processHash: ((value: string) => string) | undefined;

/**
 * The process-wide hash of secret values: the first 64 bits of HMAC-SHA-256 under a 256-bit key drawn
 * once per process (so one value gets the same key in every resolver of a process, and a different
 * one in the next process), as 16 hex digits. Sixty-four bits keep keys short; two values colliding
 * would only share a breaker.
 * @throws Error when the platform has no `crypto.getRandomValues`.
 */
export function secretValueHash(): (value: string) => string {
  if (processHash !== undefined) return processHash;
  const random = globalThis.crypto?.getRandomValues?.bind(globalThis.crypto);
  if (random === undefined) throw new Error('crypto.getRandomValues is not available');
  const mac = hmacSha256(random(new Uint8Array(32)));
  const encoder = new TextEncoder();
  processHash = (value) => toHex(mac(encoder.encode(value)).subarray(0, 8));
  return processHash;
}

function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
