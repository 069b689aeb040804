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
  return SCALE * (seconds - cubicPeak(wMax)) ** 3 + wMax;
}

/** K: the seconds the curve takes from `BETA` x `wMax` back to `wMax`, where its convex half starts. */
export function cubicPeak(wMax: number): number {
  return Math.cbrt((wMax * (1 - BETA)) / SCALE);
}

/**
 * The calls the curve lets out between `from` and `to` seconds after the throttle (its integral):
 * what a queue paced by it can expect to send in that time if no 429 comes.
 */
export function cubicSends(wMax: number, from: number, to: number): number {
  const k = cubicPeak(wMax);
  const integral = (t: number): number => (SCALE / 4) * (t - k) ** 4 + wMax * t;
  return integral(to) - integral(from);
}
