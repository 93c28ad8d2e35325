// The Supabase CLI's supabase_migrations.schema_migrations: (version text, statements text[], name
// text, …). The version is the file's timestamp; the CLI keeps no applied time.
import type { ForeignHistoryReader } from "./reader.js";
import { findTable } from "./reader.js";

export const supabase: ForeignHistoryReader = {
  async read(client) {
    const table = await findTable(client, "supabase_migrations.schema_migrations");
    if (!table) return undefined;
    const { rows } = await client.query(`select * from ${table} order by version`);
    return {
      tool: "supabase",
      toolName: "the Supabase CLI",
      table,
      entries: rows.map((r) => ({ version: r.version, label: r.name ? `${r.version}_${r.name}` : `version ${r.version}`, state: "applied" })),
    };
  },
};
