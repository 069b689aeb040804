/**
 * The rate curve of AWS SDK's adaptive retry mode (botocore `retries/throttling.py` CubicCalculator,
 * after TCP CUBIC, RFC 8312): a throttle cuts the rate to `BETA` x the rate it hit, then it recovers
 * along W(t) = C (t - K)^3 + Wmax, concave up to Wmax (reached at t = K), convex beyond it, so a
 * limiter that moved is found again quickly while the rate that tripped it is approached carefully.
 */

/** The multiplicative cut on a throttle (botocore `beta`). */
export const BETA = 0.7;
/** How fast the curve grows, in calls/s per s^3 (botocore `scale_constant`). */
const SCALE = 0.4;

/**
 * The rate `seconds` after a throttle hit at `wMax` calls/s: `BETA` x `wMax` at 0, `wMax` at K, above
 * it after. K = cbrt(wMax (1 - BETA) / C).
 */
export function cubicRate(wMax: number, seconds: number): number {
  const k = Math.cbrt((wMax * (1 - BETA)) / SCALE);
  return SCALE * (seconds - k) ** 3 + wMax;
}
