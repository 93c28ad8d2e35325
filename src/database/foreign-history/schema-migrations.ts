// `schema_migrations` is the name three tools use. golang-migrate keeps one row, (version bigint,
// dirty boolean), for the latest version it reached; dbmate and Rails keep one row per applied
// version, (version varchar). Rails also keeps ar_internal_metadata, which tells it from dbmate.
import type pg from "pg";
import type { ForeignHistory, ForeignHistoryReader } from "./reader.js";
import { columnsOf, findTable } from "./reader.js";

export const schemaMigrations: ForeignHistoryReader = {
  async read(client) {
    const table = await findTable(client, "schema_migrations");
    // autopilot.schema_migrations is ours, and is never on the search path's front by accident.
    if (!table || table.startsWith("autopilot.")) return undefined;
    const columns = await columnsOf(client, table);
    if (columns.has("dirty")) return golangMigrate(client, table);
    if (columns.size === 1 && columns.has("version")) return versionsOnly(client, table);
    return undefined; // someone else's table of that name
  },
};

async function golangMigrate(client: pg.ClientBase, table: string): Promise<ForeignHistory> {
  const { rows } = await client.query(`select version::text as version, dirty from ${table}`);
  return {
    tool: "golang-migrate",
    toolName: "golang-migrate",
    table,
    entries: rows.map((r) => ({ version: r.version, label: `version ${r.version}`, state: r.dirty ? "dirty" : "applied", coversEarlier: "latest" })),
  };
}

async function versionsOnly(client: pg.ClientBase, table: string): Promise<ForeignHistory> {
  const { rows } = await client.query(`select version::text as version from ${table}`);
  const [tool, toolName] = await whichOfDbmateAndRails(client);
  return { tool, toolName, table, entries: rows.map((r) => ({ version: r.version, label: `version ${r.version}`, state: "applied" })) };
}

async function whichOfDbmateAndRails(client: pg.ClientBase): Promise<[ForeignHistory["tool"], string]> {
  const metadata = await findTable(client, "ar_internal_metadata");
  return metadata ? ["rails", "Rails"] : ["dbmate-or-rails", "dbmate or Rails"];
}
