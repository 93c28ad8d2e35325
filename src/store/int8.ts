// bigint (int8) columns: node-postgres returns them as strings, because an int8 may exceed 2^53.
// Every id the store keeps is below that (GitHub's check-run, installation, comment and repository
// ids are 64-bit and already past 2^32, but far from 2^53; our own bigserial ids even more so), so
// they are read back as exact numbers here — never through a `::int` cast, which overflows at 2^31.

/** An int8 column's value as an exact number; throws, naming the column, when it is not one. */
export function int8(value: unknown, column: string): number {
  const number = typeof value === "number" ? value : typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number)) throw new Error(`${column} is ${JSON.stringify(value)}, not an integer JavaScript holds exactly (at most 2^53 - 1)`);
  return number;
}

/** As int8, with SQL null kept as null. */
export function nullableInt8(value: unknown, column: string): number | null {
  return value === null || value === undefined ? null : int8(value, column);
}
