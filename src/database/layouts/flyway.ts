// Flyway's layout: versioned `V<version>__<name>.sql`, undo `U<version>__<name>.sql`, repeatable
// `R__<name>.sql`. A version's parts are separated by `.` or `_` (Flyway reads `2_1` as 2.1) and
// compare numerically part by part; repeatables have no version and re-run when their checksum changes.
import { topLevelSql, type MigrationLayout } from "./types.js";

const VERSIONED = /^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$/;
const REPEATABLE = /^R__(.+)\.sql$/;

/** The version a repeatable is recorded under in the history: its name, never a number. */
export const repeatableVersion = (name: string) => `R__${name}`;

export const flywayLayout: MigrationLayout = {
  name: "flyway",
  perFolder: false,
  hasDownFiles: true,
  naming: "Flyway migrations are named V<version>__<name>.sql (undo U<version>__<name>.sql, repeatable R__<name>.sql), e.g. V1.1__create_users.sql",
  considers: topLevelSql,
  parse(relative) {
    const repeatable = REPEATABLE.exec(relative);
    if (repeatable) return { version: repeatableVersion(repeatable[1]), name: repeatable[1], role: "repeatable", key: relative };
    const match = VERSIONED.exec(relative);
    if (!match) return null;
    const version = match[2].replace(/_/g, ".");
    return { version, name: match[3], role: match[1] === "U" ? "down" : "up", key: version };
  },
};
