// Query performance of a target database, read from its statistics views: the slowest statements
// (pg_stat_statements, when installed and readable), tables read mostly by sequential scans (index
// candidates) and tables whose dead tuples call for a VACUUM (pg_stat_user_tables).
//
// Strictly read-only: one session, one READ ONLY transaction, rolled back. Recommendations are text
// for a person; nothing is ever applied.
import pg from "pg";

export interface SlowStatement {
  /** Normalized text ($1 for constants), at most 200 characters. */
  query: string;
  calls: number;
  meanMs: number;
  totalMs: number;
}

export interface SeqScanCandidate {
  table: string;
  seqScans: number;
  idxScans: number;
  rows: number;
  recommendation: string;
}

export interface VacuumCandidate {
  table: string;
  deadTuples: number;
  liveTuples: number;
  deadRatio: number;
  recommendation: string;
}

export interface QueryPerformance {
  /** pg_stat_statements is installed in this database and readable by this role. */
  available: boolean;
  slowest: SlowStatement[];
  seqScanCandidates: SeqScanCandidate[];
  vacuumCandidates: VacuumCandidate[];
}

export const QUERY_PERFORMANCE_THRESHOLDS = {
  /** Statements listed, slowest mean time first. */
  slowestLimit: 10,
  queryChars: 200,
  /**
   * A table is an index candidate when sequential scans outnumber index scans, it holds more than
   * `seqScanMinRows` rows (below that a sequential scan is the right plan), and it was scanned at
   * least `seqScanMinScans` times (a few come from pg_dump backups, ANALYZE and one-off reports).
   */
  seqScanMinRows: 1000,
  seqScanMinScans: 50,
  /** A table needs VACUUM when over 20 % of its tuples are dead and there are more than 1000 of them. */
  deadRatio: 0.2,
  deadMinTuples: 1000,
  candidatesLimit: 10,
  /** Each statistics query gets this long; a busy target is never held up by a report. */
  statementTimeoutMs: 10_000,
} as const;

const T = QUERY_PERFORMANCE_THRESHOLDS;

export async function queryPerformance(databaseUrl: string): Promise<QueryPerformance> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "autopilot-insights" });
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query("begin transaction read only");
    await client.query(`set local statement_timeout = ${T.statementTimeoutMs}`);
    const slowest = await slowestStatements(client);
    const seqScanCandidates = await seqScans(client);
    const vacuumCandidates = await deadTuples(client);
    return { available: slowest !== null, slowest: slowest ?? [], seqScanCandidates, vacuumCandidates };
  } finally {
    await client.query("rollback").catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** null when pg_stat_statements is not installed here, not preloaded, or not readable. */
async function slowestStatements(client: pg.Client): Promise<SlowStatement[] | null> {
  const { rows: ext } = await client.query(
    `select quote_ident(n.nspname) as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
      where e.extname = 'pg_stat_statements'`,
  );
  if (ext.length === 0) return null;
  // Installed but not in shared_preload_libraries, reading the view raises: a savepoint keeps the
  // transaction usable for the table statistics that follow.
  await client.query("savepoint statements");
  try {
    const { rows } = await client.query(
      `select left(query, $1::int) as query, calls::float8 as calls, mean_exec_time as mean_ms, total_exec_time as total_ms
         from ${ext[0].schema}.pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database()) and calls > 0
          -- Session and transaction control is never what makes a database slow.
          and query !~* '^\\s*(begin|start|commit|end|rollback|savepoint|release|set|reset|show|discard|deallocate)\\y'
        order by mean_exec_time desc
        limit $2::int`,
      [T.queryChars, T.slowestLimit],
    );
    await client.query("release savepoint statements");
    return rows.map((r) => ({ query: oneLine(r.query), calls: Number(r.calls), meanMs: round(r.mean_ms), totalMs: round(r.total_ms) }));
  } catch {
    await client.query("rollback to savepoint statements");
    return null;
  }
}

async function seqScans(client: pg.Client): Promise<SeqScanCandidate[]> {
  const { rows } = await client.query(
    `select format('%I.%I', s.schemaname, s.relname) as "table", seq_scan::float8 as seq, coalesce(idx_scan, 0)::float8 as idx,
            -- The planner's count (ANALYZE, VACUUM) when there is one: n_live_tup drifts between them.
            (case when c.reltuples >= 0 then c.reltuples::bigint else n_live_tup end)::float8 as rows,
            case when seq_scan > 0 then seq_tup_read::float8 / seq_scan else 0 end as rows_per_scan
       from pg_stat_user_tables s join pg_class c on c.oid = s.relid
      where seq_scan > coalesce(idx_scan, 0) and seq_scan >= $1 and (case when c.reltuples >= 0 then c.reltuples::bigint else n_live_tup end) > $2
      order by seq_tup_read desc, 1
      limit $3`,
    [T.seqScanMinScans, T.seqScanMinRows, T.candidatesLimit],
  );
  return rows.map((r) => ({
    table: r.table,
    seqScans: r.seq,
    idxScans: r.idx,
    rows: r.rows,
    recommendation:
      `${r.seq} sequential scans against ${r.idx} index scans, reading ~${Math.round(r.rows_per_scan)} rows each: ` +
      `find the columns its queries filter or join on (EXPLAIN, pg_stat_statements) and consider ` +
      `\`CREATE INDEX CONCURRENTLY … ON ${r.table} (…)\` in a no-transaction migration`,
  }));
}

async function deadTuples(client: pg.Client): Promise<VacuumCandidate[]> {
  const { rows } = await client.query(
    `select format('%I.%I', s.schemaname, s.relname) as "table", n_dead_tup::float8 as dead, n_live_tup::float8 as live,
            n_dead_tup::float8 / nullif(n_live_tup + n_dead_tup, 0) as ratio,
            coalesce(greatest(last_vacuum, last_autovacuum)::text, 'never') as last_vacuum,
            coalesce(c.reloptions @> array['autovacuum_enabled=false'], false) as autovacuum_off
       from pg_stat_user_tables s join pg_class c on c.oid = s.relid
      where n_dead_tup > $1 and n_dead_tup::float8 / nullif(n_live_tup + n_dead_tup, 0) > $2
      order by n_dead_tup desc, 1
      limit $3`,
    [T.deadMinTuples, T.deadRatio, T.candidatesLimit],
  );
  return rows.map((r) => ({
    table: r.table,
    deadTuples: r.dead,
    liveTuples: r.live,
    deadRatio: round(r.ratio, 4),
    recommendation:
      `${Math.round(r.ratio * 100)} % dead tuples (${r.dead} dead, ${r.live} live; last vacuum: ${r.last_vacuum}): ` +
      `run \`VACUUM (ANALYZE) ${r.table}\`` +
      (r.autovacuum_off
        ? "; autovacuum is disabled for this table (autovacuum_enabled = false), re-enable it"
        : "; if it keeps growing, lower its autovacuum_vacuum_scale_factor"),
  }));
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();
const round = (value: number, digits = 2) => Number(Number(value).toFixed(digits));
