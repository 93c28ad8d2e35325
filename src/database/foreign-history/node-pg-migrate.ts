// node-pg-migrate's pgmigrations: (id serial, name, run_on) with `name` the file name without its
// extension (`1700000000000_create-users`); the version is the number it starts with.
import type { ForeignHistoryReader } from "./reader.js";
import { findTable } from "./reader.js";

export const nodePgMigrate: ForeignHistoryReader = {
  async read(client) {
    const table = await findTable(client, "pgmigrations");
    if (!table) return undefined;
    const { rows } = await client.query(`select name, run_on from ${table} order by id`);
    return {
      tool: "node-pg-migrate",
      toolName: "node-pg-migrate",
      table,
      entries: rows.map((r) => ({ version: leadingNumber(r.name), label: r.name, state: "applied", appliedAt: r.run_on })),
    };
  },
};

/** `1700000000000_create-users` → `1700000000000`; a name without one is kept whole (and will not match a file). */
export function leadingNumber(name: string): string {
  return /^(\d+)/.exec(name)?.[1] ?? name;
}
