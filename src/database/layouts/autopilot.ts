// Autopilot's own layout: `<version>_<name>.sql`, optional `<version>_<name>.down.sql`.
import { topLevelSql, type MigrationLayout } from "./types.js";

const NAME = /^(\d+)_([^/\\]+?)(\.down)?\.sql$/;

export const autopilotLayout: MigrationLayout = {
  name: "autopilot",
  perFolder: false,
  hasDownFiles: true,
  naming: "migrations are named <version>_<name>.sql (digits, underscore, name), e.g. 0001_create_users.sql",
  considers: topLevelSql,
  parse(relative) {
    const match = NAME.exec(relative);
    if (!match || match[2].startsWith(".")) return null;
    return { version: match[1], name: match[2], role: match[3] ? "down" : "up", key: `${match[1]}_${match[2]}` };
  },
};
