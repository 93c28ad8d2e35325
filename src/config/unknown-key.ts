// The message for a config key nobody knows, apart from the YAML reading (yaml-errors.ts): the
// lint's settings use it too, and `plan --lint` should not load a YAML parser to lint a directory.
import { closest } from "../did-you-mean.js";

/** `unknown key "rolback" — did you mean "rollback"?`; without a close spelling, the keys that are known. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const guess = closest(key, known);
  if (guess) return `unknown key "${key}" — did you mean "${guess}"?`;
  return known.length ? `unknown key "${key}" (known keys: ${known.join(", ")})` : `unknown key "${key}"`;
}
