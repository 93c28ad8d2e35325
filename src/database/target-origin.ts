// What a target without Autopilot history holds: another tool's history, tables some earlier process
// created, or nothing. Migrating the first case or the second from file one would fail at best and
// damage data at worst, so they stop a run until someone adopts or baselines.
import pg from "pg";
import { readHistory } from "./history.js";
import { describeForeignHistory, latestVersion, readForeignHistories } from "./foreign-history/index.js";

export interface ForeignSummary {
  toolName: string;
  table: string;
  latestVersion?: string;
  /** "Flyway up to version 42". */
  description: string;
}

export type TargetOrigin =
  { kind: "autopilot" } | { kind: "foreign"; histories: ForeignSummary[] } | { kind: "populated"; tableCount: number; tables: string[] } | { kind: "empty" };

// Schemas a platform creates in every database (Supabase's auth, storage, …): their tables are not the user's.
const PLATFORM_SCHEMAS = [
  "information_schema",
  "autopilot",
  "auth",
  "storage",
  "realtime",
  "_realtime",
  "supabase_functions",
  "supabase_migrations",
  "extensions",
  "graphql",
  "graphql_public",
  "vault",
  "pgsodium",
  "pgsodium_masks",
  "net",
  "cron",
  "pgbouncer",
  "_analytics",
];

const SHOWN_TABLES = 5;

/** `historyKnownEmpty`: the caller has just read an empty Autopilot history, so it is not read again. */
export async function targetOrigin(client: pg.ClientBase, opts: { historyKnownEmpty?: boolean } = {}): Promise<TargetOrigin> {
  if (!opts.historyKnownEmpty && (await readHistory(client)).length > 0) return { kind: "autopilot" };
  const foreign = await readForeignHistories(client);
  if (foreign.length) {
    return {
      kind: "foreign",
      histories: foreign.map((h) => ({ toolName: h.toolName, table: h.table, latestVersion: latestVersion(h), description: describeForeignHistory(h) })),
    };
  }
  const tables = await userTables(client);
  return tables.length ? { kind: "populated", tableCount: tables.length, tables: tables.slice(0, SHOWN_TABLES) } : { kind: "empty" };
}

export async function targetOriginFromUrl(url: string, opts: { historyKnownEmpty?: boolean } = {}): Promise<TargetOrigin> {
  const client = new pg.Client({ connectionString: url, application_name: "autopilot" });
  client.on("error", () => undefined); // a dropped connection surfaces as the query's error
  await client.connect();
  try {
    return await targetOrigin(client, opts);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Tables (not an extension's, not a platform's) in the order of their names. */
async function userTables(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query(
    `select format('%I.%I', n.nspname, c.relname) as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition
        and n.nspname <> all($1::text[]) and n.nspname not like 'pg\\_%'
        and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
      order by 1`,
    [PLATFORM_SCHEMAS],
  );
  return rows.map((r) => r.name);
}

/** The sentence a run that stops on another tool's history shows. */
export function foreignHistorySentence(histories: ForeignSummary[], adoptCommand: string): string {
  if (histories.length > 1) {
    const list = histories.map((h) => `${h.description} (\`${h.table}\`)`).join(", ");
    return `this database holds the histories of several tools: ${list}. Autopilot does not guess which one is right: drop the stale table(s), then run ${adoptCommand}`;
  }
  return `this database was migrated by ${histories[0].description}; run ${adoptCommand} to continue from there`;
}
