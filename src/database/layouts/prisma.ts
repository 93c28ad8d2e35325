// Prisma Migrate's layout: one folder per migration, `<timestamp>_<name>/migration.sql`. Forward
// only: Prisma writes no down files (migration_lock.toml beside the folders is not SQL and is ignored).
import { folderSql, type MigrationLayout } from "./types.js";

const NAME = /^(\d+)_([^/\\]+)\/migration\.sql$/;

export const prismaLayout: MigrationLayout = {
  name: "prisma",
  perFolder: true,
  hasDownFiles: false,
  naming: "Prisma migrations are folders <timestamp>_<name>/ holding migration.sql, e.g. 20240101120000_init/migration.sql",
  considers: folderSql,
  parse(relative) {
    const match = NAME.exec(relative);
    return match ? { version: match[1], name: match[2], role: "up", key: match[1] } : null;
  },
};
