// What a lock or a rewrite would cost on the target: each table's estimated rows and total size,
// read from the catalog (never by scanning the table), for all tables in one round trip.
import pg from "pg";
import { redact } from "../redact.js";

export interface TableCost {
  /** The name as the caller wrote it (the map's key). */
  table: string;
  /** Estimated rows; -1 when unknown (table missing). */
  rows: number;
  /** pg_total_relation_size: heap, indexes and TOAST (summed over the partitions of a partitioned table). */
  bytes: number;
  exists: boolean;
  /**
   * Where `rows` comes from: "statistics" (pg_class.reltuples scaled to the current size, as the
   * planner does), "size" (never analyzed: pages × rows that fit a page at the columns' width, the
   * planner's own fallback), "none" (missing table).
   */
  rowsFrom: "statistics" | "size" | "none";
}

/** One leaf relation's catalog numbers, as the query returns them. */
interface LeafRow {
  ord: string;
  reltuples: number;
  relpages: number;
  current_pages: string;
  bytes: string;
  tuple_width: number;
  block_size: number;
}

// For a partitioned table the parent has no storage: sum its leaf partitions. pg_partition_tree()
// returns nothing for a plain table, hence the fallback to the relation itself.
const COST_QUERY = `
with wanted as (
  select ord, to_regclass(name) as relid from unnest($1::text[]) with ordinality as w(name, ord)
), leaves as (
  select w.ord, coalesce(t.relid, w.relid) as relid
    from wanted w
    left join lateral pg_partition_tree(w.relid) t on true
   where w.relid is not null and (t.relid is null or t.isleaf)
)
select l.ord, c.reltuples, c.relpages,
       pg_relation_size(c.oid) / current_setting('block_size')::int as current_pages,
       pg_total_relation_size(c.oid) as bytes,
       current_setting('block_size')::int as block_size,
       -- heap tuple header + line pointer + columns (fixed length, or 32 for variable length, as the planner guesses)
       (select 28 + coalesce(sum(case when a.attlen > 0 then a.attlen else 32 end), 0)::int
          from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as tuple_width
  from leaves l join pg_class c on c.oid = l.relid`;

/**
 * Names as written in SQL (`orders`, `shop.orders`, `"Order Items"`), resolved with to_regclass
 * against the connection's search_path. The map is keyed by the names given.
 */
export async function tableCosts(databaseUrl: string, tables: string[]): Promise<Map<string, TableCost>> {
  const names = [...new Set(tables)];
  // to_regclass raises (rather than returning null) on some malformed names in PostgreSQL 15: those never reach it.
  const resolvable = names.filter(isRelationName);
  const rows = resolvable.length ? await queryLeaves(databaseUrl, resolvable) : [];
  const costs = new Map<string, TableCost>(names.map((table) => [table, { table, rows: -1, bytes: 0, exists: false, rowsFrom: "none" }]));
  for (const row of rows) addLeaf(costs.get(resolvable[Number(row.ord) - 1])!, row);
  return costs;
}

function queryLeaves(databaseUrl: string, names: string[]): Promise<LeafRow[]> {
  return queryCatalog<LeafRow>(databaseUrl, COST_QUERY, names, "table sizes");
}

/** One catalog query given the table names, on its own short connection; errors redacted, their code kept. */
async function queryCatalog<Row extends object>(databaseUrl: string, sql: string, names: string[], what: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "autopilot-plan", connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined); // a dropped connection surfaces as the query's error
  try {
    await client.connect();
    return (await client.query(sql, [names])).rows as Row[];
  } catch (error) {
    const failure = new Error(redact(`could not read ${what}: ${(error as Error).message ?? String(error)}`)) as Error & { code?: string };
    failure.code = (error as { code?: string }).code; // kept for isUnavailable()
    throw failure;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const CHECKS_QUERY = `
select w.name, c.conname, c.convalidated, pg_get_constraintdef(c.oid) as definition
  from unnest($1::text[]) as w(name)
  join pg_constraint c on c.conrelid = to_regclass(w.name)
 where c.contype = 'c'`;

/** A CHECK constraint on the target: its table as the caller named it, its name and its definition. */
export interface TargetCheck {
  table: string;
  constraint: string;
  /** False for one added NOT VALID and not validated since: it proves nothing about the rows already there. */
  validated: boolean;
  /** As pg_get_constraintdef prints it: `CHECK ((note IS NOT NULL))`. */
  definition: string;
}

/** The CHECK constraints of the tables (names as written in SQL, as for tableCosts), in one round trip. */
export async function checkConstraints(databaseUrl: string, tables: string[]): Promise<TargetCheck[]> {
  const names = [...new Set(tables)].filter(isRelationName);
  if (names.length === 0) return [];
  const rows = await queryCatalog<{ name: string; conname: string; convalidated: boolean; definition: string }>(
    databaseUrl,
    CHECKS_QUERY,
    names,
    "CHECK constraints",
  );
  return rows.map((row) => ({ table: row.name, constraint: row.conname, validated: row.convalidated, definition: row.definition }));
}

function addLeaf(cost: TableCost, leaf: LeafRow): void {
  const estimate = estimateRows(leaf);
  const first = !cost.exists;
  cost.exists = true;
  cost.rows = (first ? 0 : cost.rows) + estimate.rows;
  cost.bytes += Number(leaf.bytes);
  // A partitioned table counts as measured only when every partition is.
  cost.rowsFrom = first || cost.rowsFrom === "statistics" ? estimate.from : cost.rowsFrom;
}

/**
 * The planner's estimate (estimate_rel_size): the row density the last VACUUM/ANALYZE saw, times
 * the pages the table has now, so a table loaded since its last analyze is not reported as tiny.
 * reltuples = -1 means never vacuumed or analyzed; then density comes from the tuple width.
 */
function estimateRows(leaf: LeafRow): { rows: number; from: "statistics" | "size" } {
  const currentPages = Number(leaf.current_pages);
  if (leaf.reltuples >= 0 && leaf.relpages > 0) return { rows: Math.round((leaf.reltuples / leaf.relpages) * currentPages), from: "statistics" };
  if (leaf.reltuples >= 0 && currentPages === 0) return { rows: leaf.reltuples, from: "statistics" };
  if (currentPages === 0) return { rows: 0, from: "size" }; // never analyzed, but no pages: empty
  const pageHeader = 24;
  const rowsPerPage = Math.max(1, Math.floor((leaf.block_size - pageHeader) / Math.max(1, leaf.tuple_width)));
  return { rows: currentPages * rowsPerPage, from: "size" };
}

// A name as PostgreSQL's parser would accept it: one or two identifiers, each plain or double-quoted.
const IDENTIFIER = String.raw`(?:"(?:[^"]|"")+"|[\p{L}_][\p{L}\p{N}_$]*)`;
const RELATION_NAME = new RegExp(String.raw`^${IDENTIFIER}(?:\.${IDENTIFIER})?$`, "u");

function isRelationName(name: string): boolean {
  return RELATION_NAME.test(name);
}

// ---- human formatting ---------------------------------------------------------------------------

/** "rewrites orders (≈12.4M rows, 3.1 GB) under ACCESS EXCLUSIVE"; "locks orders (≈1,204 rows, 96 kB) under SHARE". */
export function describeCost(cost: TableCost, lock?: string, rewrites?: boolean): string {
  const verb = rewrites ? "rewrites" : "locks";
  const under = lock ? ` under ${lock}` : "";
  if (!cost.exists) return `${verb} ${cost.table} (not on the target yet)${under}`;
  const unanalyzed = cost.rowsFrom === "size" && cost.rows > 0 ? ", never analyzed" : "";
  return `${verb} ${cost.table} (${formatRows(cost.rows)}${unanalyzed}, ${formatBytes(cost.bytes)})${under}`;
}

/** "≈1 row", "≈1,204 rows", "≈45.3k rows", "≈12.4M rows", "≈2.1B rows". */
export function formatRows(rows: number): string {
  if (rows < 0) return "rows unknown";
  const count = rows < 10_000 ? Math.round(rows).toLocaleString("en-US") : scaled(rows, 1000, ["k", "M", "B", "T"], "");
  return `≈${count} ${Math.round(rows) === 1 ? "row" : "rows"}`;
}

/** "512 bytes", "96 kB", "3.1 GB": 1024-based, with PostgreSQL's unit names (pg_size_pretty). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  return scaled(bytes, 1024, ["kB", "MB", "GB", "TB", "PB"], " ");
}

/** One decimal below 100 of a unit ("3.1", "12.4"), none above ("453"), trailing ".0" dropped. */
function scaled(value: number, base: number, units: string[], space: string): string {
  let amount = value / base;
  let unit = 0;
  while (unit < units.length - 1 && Number(amount.toFixed(amount < 100 ? 1 : 0)) >= base) {
    amount /= base;
    unit++;
  }
  const digits = amount < 100 ? amount.toFixed(1).replace(/\.0$/, "") : amount.toFixed(0);
  return `${digits}${space}${units[unit]}`;
}
