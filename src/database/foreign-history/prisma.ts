// Prisma's _prisma_migrations: one row per attempt of a `<timestamp>_<name>` folder. A row with
// `rolled_back_at` was undone with `prisma migrate resolve --rolled-back` and does not count; one
// without `finished_at` is a migration that failed (Prisma's P3009) and blocks the take-over.
import type { ForeignHistoryReader } from "./reader.js";
import { findTable } from "./reader.js";
import { leadingNumber } from "./node-pg-migrate.js";

export const prisma: ForeignHistoryReader = {
  async read(client) {
    const table = await findTable(client, "_prisma_migrations");
    if (!table) return undefined;
    const { rows } = await client.query(
      `select migration_name, started_at, finished_at from ${table} where rolled_back_at is null order by started_at, migration_name`,
    );
    return {
      tool: "prisma",
      toolName: "Prisma",
      table,
      entries: rows.map((r) => ({
        version: leadingNumber(r.migration_name),
        label: r.migration_name,
        state: r.finished_at ? "applied" : "failed",
        appliedAt: r.finished_at ?? r.started_at,
        durationMs: r.finished_at ? Math.max(0, r.finished_at.getTime() - r.started_at.getTime()) : undefined,
      })),
    };
  },
};
