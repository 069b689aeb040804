/**
 * A keyed hash for values that must never appear verbatim (a `keyHeader` that carries a credential):
 * HMAC-SHA-256 under a random per-process key (hmac-sha256.ts: synchronous, no dependencies, runs
 * in browsers and every server runtime).
 *
 * Why this hash:
 * - It must be a keyed PRF, not a plain or merely salted fast hash: an endpoint key is logged, and a
 *   log reader who could compute the hash (FNV, an unsalted SHA-256, or FNV behind a salt whose 32-bit
 *   state one known pair gives away) could test guesses of a low-entropy secret offline. Without the
 *   key, an HMAC digest says nothing about the value.
 * - `resolve` is synchronous and policies has no `node:` imports, so neither Web Crypto's asynchronous
 *   `subtle.sign` nor `node:crypto` fits; only `crypto.getRandomValues` (which browsers offer in
 *   non-secure contexts too) is used, for the key.
 */
import { hmacSha256 } from './hmac-sha256.ts';

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
  if (random === undefined) throw new Error('breakwater: crypto.getRandomValues is not available');
  const key = random(new Uint8Array(32));
  const encoder = new TextEncoder();
  processHash = (value) => toHex(hmacSha256(key, encoder.encode(value)).subarray(0, 8));
  return processHash;
}

function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
