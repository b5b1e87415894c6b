/**
 * Fixed log-scale histograms: how the sandbox keeps per-minute latency data that answers percentiles
 * (ExtendedStatistic `p99`, `p99.9`) correctly for a mixture of versions. A percentile of a mixture is not
 * a mixture of percentiles, so each minute keeps the weight (requests) in each bin, summed over every
 * version that served in that minute, and a percentile is read from the summed bins.
 *
 * Bins cover 0.1 ms to 10,000 s (values in the metric's unit: seconds for TargetResponseTime) with a 5%
 * width each, so a percentile is read within 5% of its value (interpolated geometrically inside the bin,
 * which is much closer in practice). Bin 0 holds everything below the lowest edge.
 */

const LOWEST = 1e-4;
const RATIO = 1.05;
const LOG_RATIO = Math.log(RATIO);
/** Bins above the underflow bin; the last one also holds everything above its upper edge. */
const BINS = Math.ceil(Math.log(1e4 / LOWEST) / LOG_RATIO);

/** Weights (e.g. requests) per bin; index 0 is the underflow bin. */
export type Histogram = Float64Array;

export const emptyHistogram = (): Histogram => new Float64Array(BINS + 1);

/** Lower edge of bin `i` (bin 0 starts at 0). */
const lowerEdge = (i: number): number => (i === 0 ? 0 : LOWEST * RATIO ** (i - 1));

const binOf = (value: number): number => {
  if (value < LOWEST) return 0;
  return Math.min(BINS, 1 + Math.floor(Math.log(value / LOWEST) / LOG_RATIO));
};

/** Adds `weight` observations of `value`. */
export const addValue = (histogram: Histogram, value: number, weight = 1): void => {
  histogram[binOf(value)] = (histogram[binOf(value)] ?? 0) + weight;
};

/** Adds `weight` times a distribution (bin probabilities summing to 1) to the histogram. */
export const addDistribution = (histogram: Histogram, distribution: Histogram, weight: number): void => {
  for (let i = 0; i < distribution.length; i += 1) {
    const p = distribution[i] ?? 0;
    if (p > 0) histogram[i] = (histogram[i] ?? 0) + p * weight;
  }
};

/** The sum of two histograms (a new one). */
export const mergeHistograms = (
  a: Histogram | undefined,
  b: Histogram | undefined,
): Histogram | undefined => {
  if (!a) return b ? Float64Array.from(b) : undefined;
  const merged = Float64Array.from(a);
  if (b) addDistribution(merged, b, 1);
  return merged;
};

/**
 * The `percent`-th percentile (0-100) of the observations, or undefined when there are none: the value
 * below which `percent`% of the weight lies, interpolated geometrically inside its bin.
 */
export const percentileOf = (histogram: Histogram, percent: number): number | undefined => {
  let total = 0;
  for (const w of histogram) total += w;
  if (total <= 0) return undefined;
  const target = (percent / 100) * total;
  let below = 0;
  let last = 0;
  for (let i = 0; i < histogram.length; i += 1) {
    const w = histogram[i] ?? 0;
    if (w <= 0) continue;
    last = i;
    if (below + w >= target) {
      const fraction = Math.min(1, Math.max(0, (target - below) / w));
      if (i === 0) return LOWEST * fraction;
      return lowerEdge(i) * RATIO ** fraction;
    }
    below += w;
  }
  return lowerEdge(last) * RATIO;
};

/**
 * The `percent`-th percentile CloudWatch would read from `samples` values drawn from the histogram's
 * distribution: the nearest-rank sample, rank ceil(p * n), whose expected place in the distribution is
 * rank / (n + 1) (the expected CDF of the k-th smallest of n). For many samples it is the distribution's
 * own percentile; for few it is lower (p99 of 5 values is their largest, about the 83rd percentile).
 * Without a sample count (0) the distribution's percentile is returned.
 */
export const samplePercentileOf = (
  histogram: Histogram,
  percent: number,
  samples: number,
): number | undefined => {
  if (!(samples > 0)) return percentileOf(histogram, percent);
  const rank = Math.max(1, Math.ceil((percent / 100) * samples));
  return percentileOf(histogram, Math.min(100, (100 * rank) / (samples + 1)));
};

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, error under 1.5e-7). */
const normalCdf = (z: number): number => {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
};

/** z of the 99th percentile of the standard normal distribution. */
const Z99 = 2.326_347_874;

/**
 * The largest p99/mean ratio a log-normal distribution can have: p99 = mean * exp(Z99 * s - s^2 / 2) is
 * largest at s = Z99.
 */
export const MAX_P99_TO_MEAN = Math.exp((Z99 * Z99) / 2);

const distributions = new Map<string, Histogram>();
let last: { mean: number; p99: number; histogram?: Histogram } = { mean: Number.NaN, p99: Number.NaN };

/**
 * Bin probabilities of the log-normal distribution with this mean and 99th percentile (same unit as the
 * bins). Log-normal is the usual shape of service latency: a body near the median and a long right tail.
 * A p99 equal to the mean is a single value; the ratio p99/mean must be between 1 and MAX_P99_TO_MEAN
 * (about 15), which the scenario schema checks.
 */
export const logNormalDistribution = (mean: number, p99: number): Histogram => {
  // Traffic asks for the same one every minute: answered without building the key.
  if (mean === last.mean && p99 === last.p99 && last.histogram) return last.histogram;
  const key = `${mean}|${p99}`;
  const cached = distributions.get(key);
  if (cached) {
    last = { mean, p99, histogram: cached };
    return cached;
  }
  const histogram = emptyHistogram();
  const ratio = mean > 0 ? Math.min(MAX_P99_TO_MEAN, Math.max(1, p99 / mean)) : 1;
  // p99 / mean = exp(Z99 s - s^2/2): the smaller root is the shape whose mean and p99 are the given ones.
  const s = Z99 - Math.sqrt(Math.max(0, Z99 * Z99 - 2 * Math.log(ratio)));
  if (mean <= 0 || s < 1e-9) {
    addValue(histogram, mean, 1);
  } else {
    const mu = Math.log(mean) - (s * s) / 2;
    const cdf = (edge: number): number => (edge <= 0 ? 0 : normalCdf((Math.log(edge) - mu) / s));
    for (let i = 0; i <= BINS; i += 1) {
      const upper = i === BINS ? 1 : cdf(lowerEdge(i + 1));
      histogram[i] = upper - cdf(lowerEdge(i));
    }
  }
  distributions.set(key, histogram);
  last = { mean, p99, histogram };
  return histogram;
};
