// diesel's __diesel_schema_migrations: (version varchar(50), run_on timestamp). The version is the
// folder's leading timestamp without separators: `2024-01-01-120000_create_users` → `20240101120000`.
import type { ForeignHistoryReader } from "./reader.js";
import { findTable } from "./reader.js";

export const diesel: ForeignHistoryReader = {
  async read(client) {
    const table = await findTable(client, "__diesel_schema_migrations");
    if (!table) return undefined;
    const { rows } = await client.query(`select version, run_on from ${table} order by version`);
    return {
      tool: "diesel",
      toolName: "diesel",
      table,
      entries: rows.map((r) => ({ version: r.version, label: `version ${r.version}`, state: "applied", appliedAt: r.run_on })),
    };
  },
};
