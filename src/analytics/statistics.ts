// The statistics the anomaly scan and the alert rules stand on: robust outlier scores, a least-squares
// line with its goodness of fit, and percentiles computed the way PostgreSQL's percentile_cont does
// (so a value computed here and one aggregated in SQL agree).
import { linearRegression, linearRegressionLine, median as ssMedian, medianAbsoluteDeviation, rSquared } from "simple-statistics";

/** 0.6745 is the 0.75 quantile of the standard normal: it makes MAD comparable to a standard deviation. */
export const MODIFIED_Z_CONSTANT = 0.6745;

/** Iglewicz & Hoaglin's cut-off for the modified z-score. */
export const MODIFIED_Z_THRESHOLD = 3.5;

export interface MadFloor {
  /** The smallest MAD used, in the data's unit (e.g. 1 ms). */
  minMad: number;
  /** The smallest MAD used, as a fraction of the baseline median (e.g. 0.05 = 5 %). */
  minMadRatio: number;
}

/**
 * A baseline that never varies has MAD 0, and then any difference at all would score infinity;
 * the floor says how small a spread we are willing to believe.
 */
export const DEFAULT_MAD_FLOOR: MadFloor = { minMad: 1e-6, minMadRatio: 0.01 };

export interface RobustBaseline {
  median: number;
  /** Median absolute deviation, unscaled, as measured. */
  mad: number;
  /** The MAD actually divided by: the measured one, or the floor when that is larger. */
  effectiveMad: number;
}

export function median(values: readonly number[]): number {
  requireValues(values, "median");
  return ssMedian(values);
}

export function robustBaseline(values: readonly number[], floor: MadFloor = DEFAULT_MAD_FLOOR): RobustBaseline {
  requireValues(values, "robustBaseline");
  const center = ssMedian(values);
  const mad = medianAbsoluteDeviation(values);
  const effectiveMad = Math.max(mad, floor.minMad, floor.minMadRatio * Math.abs(center));
  return { median: center, mad, effectiveMad };
}

/** 0.6745·(x − median)/MAD: positive when x is above the baseline's median. */
export function modifiedZScore(x: number, baseline: RobustBaseline): number {
  return (MODIFIED_Z_CONSTANT * (x - baseline.median)) / baseline.effectiveMad;
}

/** The smallest value whose modified z-score exceeds `threshold` (the "slower than this" line). */
export function flagLevel(baseline: RobustBaseline, threshold = MODIFIED_Z_THRESHOLD): number {
  return baseline.median + (threshold * baseline.effectiveMad) / MODIFIED_Z_CONSTANT;
}

export interface LineFit {
  /** Change of y per unit of x. */
  slope: number;
  /** y at x = 0. */
  intercept: number;
  /** Share of y's variance the line explains, 0–1. */
  rSquared: number;
  points: number;
}

/** Least-squares line through (x, y) points. */
export function fitLine(points: ReadonlyArray<readonly [number, number]>): LineFit {
  if (points.length < 2) throw new Error("fitLine needs at least two points");
  const data = points.map(([x, y]) => [x, y]);
  const { m, b } = linearRegression(data);
  const ys = points.map(([, y]) => y);
  // A series without variance has nothing to explain: R² is undefined there, and its flat line
  // fits perfectly, so call it 1 rather than let NaN leak into comparisons.
  const flat = ys.every((y) => y === ys[0]);
  const r2 = flat ? 1 : rSquared(data, linearRegressionLine({ m, b }));
  return { slope: m, intercept: b, rSquared: Math.max(0, Math.min(1, r2)), points: points.length };
}

/**
 * The p-quantile (0–1) with linear interpolation between closest ranks, like PostgreSQL's
 * percentile_cont and numpy's default.
 */
export function percentile(values: readonly number[], p: number): number {
  requireValues(values, "percentile");
  if (!(p >= 0 && p <= 1)) throw new RangeError(`percentile must be within 0..1, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
}

export function p95(values: readonly number[]): number {
  return percentile(values, 0.95);
}

export function mean(values: readonly number[]): number {
  requireValues(values, "mean");
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

function requireValues(values: readonly number[], what: string): void {
  if (values.length === 0) throw new Error(`${what} of an empty list`);
}
