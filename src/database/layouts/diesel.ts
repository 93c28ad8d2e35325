// Diesel's layout: one folder per migration, `<version>_<name>/up.sql` and `down.sql`. Diesel writes
// versions as `2017-10-12-213331` and records them without the dashes, as we do.
import { folderSql, type MigrationLayout } from "./types.js";

const NAME = /^(\d[\d-]*)_([^/\\]+)\/(up|down)\.sql$/;

export const dieselLayout: MigrationLayout = {
  name: "diesel",
  perFolder: true,
  hasDownFiles: true,
  naming: "diesel migrations are folders <version>_<name>/ holding up.sql and down.sql, e.g. 2017-10-12-213331_create_users/up.sql",
  considers: folderSql,
  unread: (relative) =>
    relative.endsWith("/metadata.toml")
      ? "diesel's metadata.toml is not read: if it says run_in_transaction = false, make -- autopilot:no-transaction the first line of up.sql"
      : undefined,
  parse(relative) {
    const match = NAME.exec(relative);
    if (!match || match[1].endsWith("-")) return null;
    const version = match[1].replace(/-/g, "");
    return { version, name: match[2], role: match[3] === "down" ? "down" : "up", key: `${version}_${match[2]}` };
  },
};

/** diesel CLI's configuration file, at the project's root. */
export const DIESEL_CONFIG = "diesel.toml";

/**
 * The directory diesel.toml names for migrations (`[migrations_directory]` with `dir = "…"`, relative
 * to the file), or undefined when it names none. Only that table's `dir` key is read.
 */
export function dieselMigrationsDirectory(toml: string): string | undefined {
  let inTable = false;
  for (const raw of toml.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    const table = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (table) inTable = table[1] === "migrations_directory";
    const dir = inTable && /^dir\s*=\s*(?:"([^"]*)"|'([^']*)')$/.exec(line);
    if (dir) return (dir[1] ?? dir[2]).replace(/^\.\//, "").replace(/\/+$/, "") || undefined;
  }
  return undefined;
}
