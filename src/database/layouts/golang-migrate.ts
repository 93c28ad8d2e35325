// golang-migrate's layout: `<version>_<name>.up.sql` and `<version>_<name>.down.sql`.
import { topLevelSql, type MigrationLayout } from "./types.js";

const NAME = /^(\d+)_([^/\\]+?)\.(up|down)\.sql$/;

export const golangMigrateLayout: MigrationLayout = {
  name: "golang-migrate",
  perFolder: false,
  hasDownFiles: true,
  naming: "golang-migrate migrations are named <version>_<name>.up.sql and <version>_<name>.down.sql, e.g. 000001_create_users.up.sql",
  considers: topLevelSql,
  parse(relative) {
    const match = NAME.exec(relative);
    if (!match || match[2].startsWith(".")) return null;
    return { version: match[1], name: match[2], role: match[3] === "down" ? "down" : "up", key: match[1] };
  },
};
