// How another tool's version string meets a file's. Tools spell one version differently: Flyway
// treats `1_1` and `1.1` alike, diesel drops the dashes of `2024-01-01-120000`, and leading zeros
// never matter (`0042` is `42`), as in Autopilot's own ordering.

/** The comparable form of a version: dot-separated parts, each without leading zeros. */
export function versionParts(version: string): string[] {
  return version
    .trim()
    .replace(/-/g, "")
    .replace(/_/g, ".")
    .split(".")
    .map((part) => (/^\d+$/.test(part) ? BigInt(part).toString() : part.toLowerCase()));
}

export function sameVersion(a: string, b: string): boolean {
  return versionParts(a).join(".") === versionParts(b).join(".");
}

/** Part by part, numbers numerically; a missing part sorts first (`1` < `1.1`). */
export function compareForeignVersions(a: string, b: string): number {
  const [x, y] = [versionParts(a), versionParts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === undefined) return -1;
    if (y[i] === undefined) return 1;
    const order = compareParts(x[i], y[i]);
    if (order !== 0) return order;
  }
  return 0;
}

function compareParts(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const [x, y] = [BigInt(a), BigInt(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
