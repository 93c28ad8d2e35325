// Finds the other migration tools' histories in a target database.
import type pg from "pg";
import type { ForeignHistory, ForeignHistoryReader } from "./reader.js";
import { diesel } from "./diesel.js";
import { flyway } from "./flyway.js";
import { nodePgMigrate } from "./node-pg-migrate.js";
import { prisma } from "./prisma.js";
import { schemaMigrations } from "./schema-migrations.js";
import { supabase } from "./supabase.js";
import { compareForeignVersions } from "./versions.js";

export type { ForeignEntry, ForeignHistory, ForeignTool } from "./reader.js";

const READERS: ForeignHistoryReader[] = [supabase, flyway, schemaMigrations, nodePgMigrate, diesel, prisma];

/** Every other tool's history present in the database (usually none or one). */
export async function readForeignHistories(client: pg.ClientBase): Promise<ForeignHistory[]> {
  const found: ForeignHistory[] = [];
  for (const reader of READERS) {
    const history = await reader.read(client);
    if (history) found.push(history);
  }
  return found;
}

/** "Flyway up to version 42" (or "Flyway, with an empty history table"). */
export function describeForeignHistory(history: ForeignHistory): string {
  const latest = latestVersion(history);
  return latest ? `${history.toolName} up to version ${latest}` : `${history.toolName}, whose history table ${history.table} is empty`;
}

export function latestVersion(history: ForeignHistory): string | undefined {
  return history.entries
    .map((e) => e.version)
    .sort(compareForeignVersions)
    .at(-1);
}
