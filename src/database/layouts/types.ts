// One migration layout: how another tool names its files. Every layout feeds the same engine (plan,
// lint, rehearsal, backup, apply, rollback), so a layout only says which files are migrations, what
// their versions and names are, and which file undoes which.

export const LAYOUT_NAMES = ["autopilot", "supabase", "flyway", "golang-migrate", "dbmate", "diesel", "prisma"] as const;
export type LayoutName = (typeof LAYOUT_NAMES)[number];

/** What a file's path says about it. `key` pairs an up file with its down file. */
export interface LayoutEntry {
  version: string;
  name: string;
  role: "up" | "down" | "repeatable";
  key: string;
}

export interface MigrationLayout {
  name: LayoutName;
  /** Migrations are folders (`<version>_<name>/up.sql`) rather than files directly in the directory. */
  perFolder: boolean;
  /** Whether the layout has down files at all (prisma does not): rollback says so when not. */
  hasDownFiles: boolean;
  /** How files are named, for the message on a bad name. */
  naming: string;
  /** Whether this path (relative to the migrations directory) is one the layout reads; others (README.md, migration_lock.toml) are ignored. */
  considers(relative: string): boolean;
  /** Parses a considered path; null when it is named wrongly. */
  parse(relative: string): LayoutEntry | null;
  /** Why a file the layout's tool reads is not read here, to warn about; undefined for any other file. */
  unread?(relative: string): string | undefined;
  /** dbmate keeps both directions in one file: its up and down halves, line numbers kept. */
  sections?(sql: string): { up: string; down?: string; noTransaction: boolean; problems: Array<{ line: number; message: string }> };
}

/** `.sql` files directly in the directory. */
export const topLevelSql = (relative: string) => !relative.includes("/") && relative.toLowerCase().endsWith(".sql");

/** `.sql` files one folder down. */
export const folderSql = (relative: string) => relative.split("/").length === 2 && relative.toLowerCase().endsWith(".sql");
