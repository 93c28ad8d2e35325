// The Supabase CLI's layout: `supabase/migrations/<timestamp>_<name>.sql`, forward only.
import { topLevelSql, type MigrationLayout } from "./types.js";

const NAME = /^(\d+)_([^/\\]+?)\.sql$/;

export const SUPABASE_DIRECTORY = "supabase/migrations";

export const supabaseLayout: MigrationLayout = {
  name: "supabase",
  perFolder: false,
  hasDownFiles: false,
  naming: "Supabase migrations are named <timestamp>_<name>.sql, e.g. 20240101120000_create_users.sql",
  considers: topLevelSql,
  parse(relative) {
    const match = NAME.exec(relative);
    if (!match || match[2].startsWith(".")) return null;
    return { version: match[1], name: match[2], role: "up", key: match[1] };
  },
};
