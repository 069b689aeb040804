/**
 * A random version-4 UUID for generated headers (MS-RequestId, MS-CorrelationId).
 *
 * Browsers offer `crypto.randomUUID` only in secure contexts (HTTPS, localhost): on a plain-HTTP
 * origin it is missing and calling it threw `crypto.randomUUID is not a function`. `getRandomValues`
 * exists in every context, so the UUID is built from it there (RFC 9562, section 5.4).
 */
export function randomUuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40; // version 4
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // variant 10xx
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
