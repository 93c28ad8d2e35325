// What every other migration tool's history looks like to Autopilot: the rows of its table, reduced
// to versions and states. Each tool's reader knows where its table lives and what its columns mean.
import type pg from "pg";

/** The tools whose history Autopilot can take over. */
export type ForeignTool = "supabase" | "flyway" | "golang-migrate" | "dbmate-or-rails" | "rails" | "node-pg-migrate" | "diesel" | "prisma";

export interface ForeignEntry {
  /** The version as the tool keeps it (`42`, `1.2`, `20240101120000`). */
  version: string;
  /** How the tool names the migration, for messages (`V42__add_users.sql`, `20240101_init`). */
  label: string;
  state: "applied" | "failed" | "dirty";
  /** When the tool recorded it; absent where the tool keeps no time. */
  appliedAt?: Date;
  durationMs?: number;
  /**
   * The row stands for every earlier version too: "latest" for golang-migrate's one row (its version
   * must be a file), "baseline" for a Flyway baseline (whose version need not be).
   */
  coversEarlier?: "latest" | "baseline";
  /** The tool's checksum of the file it ran (Flyway's), and how to compute it from a file's content. */
  checksum?: { value: string; of: (content: string | Buffer) => string };
}

export interface ForeignHistory {
  tool: ForeignTool;
  /** The tool's name as users know it: "Flyway", "dbmate or Rails". */
  toolName: string;
  /** The table read, schema-qualified. */
  table: string;
  entries: ForeignEntry[];
}

export interface ForeignHistoryReader {
  /** Reads the tool's history, or returns undefined when its table is not in the database. */
  read(client: pg.ClientBase): Promise<ForeignHistory | undefined>;
}

/** The table as `to_regclass` finds it on the search path (or schema-qualified), or undefined. */
export async function findTable(client: pg.ClientBase, name: string): Promise<string | undefined> {
  const { rows } = await client.query("select to_regclass($1)::text as found", [name]);
  return rows[0].found ?? undefined;
}

/** The column names of a table found by findTable. */
export async function columnsOf(client: pg.ClientBase, table: string): Promise<Map<string, string>> {
  const { rows } = await client.query(
    "select attname, format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped",
    [table],
  );
  return new Map(rows.map((r) => [r.attname as string, r.type as string]));
}
