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
