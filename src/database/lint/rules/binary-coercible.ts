// Type changes PostgreSQL makes in the catalog alone. Its documentation (ALTER TABLE, Notes): "when
// changing the type of an existing column, if the USING clause does not change the column contents
// and the old type is either binary coercible to the new type or an unconstrained domain over the new
// type, a table rewrite is not needed" — https://www.postgresql.org/docs/current/sql-altertable.html.
// A limit that only grows is such a case too (the types' length-coercion support functions drop the
// check), and timestamp ↔ timestamptz is one when the session's time zone is UTC.
import type { TypeName } from "libpg-query";
import { typeKey, typeModifiers } from "../ast.js";

type Modifiers = number[];

/** A length limit (varchar(n), varbit(n), timestamp(p)) that is lifted or raised, never lowered. */
const limitGrows = (from: Modifiers, to: Modifiers) => to.length === 0 || (from.length > 0 && to[0] >= from[0]);

/** numeric(p, s) → numeric(p2 ≥ p, s), or → numeric with no limit; the scale must stay. */
const precisionGrows = (from: Modifiers, to: Modifiers) => to.length === 0 || (from.length > 0 && to[0] >= from[0] && (to[1] ?? 0) === (from[1] ?? 0));

const always = () => true;

/** old type → new type → whether the change keeps the stored values (given both types' modifiers). */
const SAME_STORAGE: Readonly<Record<string, Readonly<Record<string, (from: Modifiers, to: Modifiers, utc: boolean) => boolean>>>> = {
  varchar: { varchar: limitGrows, text: always },
  text: { varchar: (_, to) => to.length === 0 },
  numeric: { numeric: precisionGrows },
  varbit: { varbit: limitGrows },
  cidr: { inet: always },
  timestamp: { timestamp: limitGrows, timestamptz: (_, to, utc) => utc && to.length === 0 },
  timestamptz: { timestamptz: limitGrows, timestamp: (_, to, utc) => utc && to.length === 0 },
};

/** Whether changing a column from `from` to `to` keeps every stored value as it is (no rewrite); false when `from` is unknown. */
export function keepsStoredValues(from: TypeName | undefined, to: TypeName | undefined, sessionInUtc: boolean): boolean {
  if (!from || !to || from.arrayBounds?.length || to.arrayBounds?.length) return false;
  const [fromModifiers, toModifiers] = [typeModifiers(from), typeModifiers(to)];
  const [fromKey, toKey] = [typeKey(from), typeKey(to)];
  if (fromKey === toKey && fromModifiers.join() === toModifiers.join()) return true;
  return SAME_STORAGE[fromKey]?.[toKey]?.(fromModifiers, toModifiers, sessionInUtc) ?? false;
}
