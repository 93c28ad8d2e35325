// Taking over a database Autopilot did not migrate: adopt another tool's history, or baseline the
// files up to a version. Either records files as applied without running them, under the migration
// lock, and only into an empty history; neither touches the other tool's table.
import { recordTakenOver, readHistory, type HistoryRow } from "./history.js";
import type { MigrationRef } from "./migration-files.js";
import { readForeignHistories, type ForeignHistory } from "./foreign-history/index.js";
import { planAdoption } from "./foreign-history/adoption.js";
import { compareForeignVersions, sameVersion } from "./foreign-history/versions.js";
import { withMigrationLock } from "./target-session.js";

export type TakeOverResult =
  /** `history`: the target's history as recorded, so a migration that goes on need not read it again. */
  | { kind: "recorded"; from: string; recorded: MigrationRef[]; history: HistoryRow[] }
  /** Nothing recorded: each mismatch says what to fix. */
  | { kind: "mismatches"; from: string; mismatches: string[] }
  /** Nothing recorded: why the take-over does not apply to this database. */
  /** `historyWritten`: refused because the Autopilot history is not (or no longer) empty. */
  | { kind: "refused"; reason: string; historyWritten?: boolean };

interface TargetOptions {
  databaseUrl: string;
  /** With their SQL (the CLI's files) their contents are compared with the tool's checksums; else see `contentsOf`. */
  refs: Array<MigrationRef & { sql?: string }>;
  lockWaitSeconds?: number;
}

interface AdoptOptions extends TargetOptions {
  /** Reads these files' contents (the App downloads them), for the tool's checksums. */
  contentsOf?: (refs: MigrationRef[]) => Promise<Map<string, string | Buffer>>;
}

export function adoptForeignHistory(opts: AdoptOptions): Promise<TakeOverResult> {
  return underLock(opts, async (client) => {
    const refused = await nonEmptyHistory(client, "adopt");
    if (refused) return refused;
    const histories = await readForeignHistories(client);
    if (histories.length === 0) {
      return { kind: "refused", reason: "no other tool's migration history was found in this database, so there is nothing to adopt (see baseline)" };
    }
    if (histories.length > 1) {
      const tools = histories.map((h) => `${h.toolName} (${h.table})`).join(", ");
      return { kind: "refused", reason: `several tools' histories were found: ${tools}; drop the stale one(s) so that one remains, then adopt again` };
    }
    const [history] = histories;
    const { adopted, mismatches } = planAdoption(history, opts.refs, await checkedContents(history, opts));
    if (mismatches.length) return { kind: "mismatches", from: history.toolName, mismatches };
    const appliedBy = `adopted from ${history.toolName}`;
    const entries = adopted.map(({ ref, appliedAt, durationMs }) => ({ ...nameOf(ref), appliedAt, durationMs, appliedBy }));
    const recorded = await recordTakenOver(client, entries);
    if (!recorded) return raced("adopt");
    return { kind: "recorded", from: history.toolName, recorded: adopted.map((a) => a.ref), history: recorded };
  });
}

/**
 * `historyKnownEmpty`: the caller (a migration's first run) has just read an empty history, so it is not
 * read again; a history written since is still refused, by recordTakenOver, as a race.
 */
export function baselineHistory(opts: TargetOptions & { version: string; by: string; historyKnownEmpty?: boolean }): Promise<TakeOverResult> {
  return underLock(opts, async (client) => {
    const refused = opts.historyKnownEmpty ? undefined : await nonEmptyHistory(client, "baseline");
    if (refused) return refused;
    if (!opts.refs.some((r) => sameVersion(r.version, opts.version))) {
      return { kind: "refused", reason: `no migration file has version ${opts.version}: the baseline names the last file the database already has` };
    }
    const upTo = opts.refs.filter((r) => compareForeignVersions(r.version, opts.version) <= 0);
    const appliedBy = `baselined by ${opts.by}`;
    const recorded = await recordTakenOver(
      client,
      upTo.map((ref) => ({ ...nameOf(ref), appliedBy })),
    );
    if (!recorded) return raced("baseline");
    return { kind: "recorded", from: `baseline ${opts.version}`, recorded: upTo, history: recorded };
  });
}

/** The contents of the files the tool kept checksums for (only Flyway does): nothing is read for the others. */
async function checkedContents(history: ForeignHistory, opts: AdoptOptions): Promise<Map<string, string | Buffer>> {
  const versions = history.entries.filter((e) => e.checksum).map((e) => e.version);
  const refs = opts.refs.filter((r) => versions.some((v) => sameVersion(r.version, v)));
  if (refs.length === 0) return new Map();
  if (opts.contentsOf) return opts.contentsOf(refs);
  return new Map(refs.flatMap((r) => (r.sql === undefined ? [] : [[r.path, r.sql] as const])));
}

function underLock(opts: TargetOptions, work: Parameters<typeof withMigrationLock<TakeOverResult>>[1]): Promise<TakeOverResult> {
  return withMigrationLock({ databaseUrl: opts.databaseUrl, applicationName: "autopilot-take-over", lockWaitSeconds: opts.lockWaitSeconds ?? 60 }, work);
}

async function nonEmptyHistory(client: Parameters<typeof readHistory>[0], verb: string): Promise<TakeOverResult | undefined> {
  const history = await readHistory(client);
  if (history.length === 0) return undefined;
  const latest = history.filter((h) => !h.revertedAt).at(-1)?.version ?? "none in effect";
  return {
    kind: "refused",
    reason: `this database already has Autopilot history (${history.length} row(s), latest ${latest}); ${verb} only records into an empty history`,
    historyWritten: true,
  };
}

function raced(verb: string): TakeOverResult {
  return { kind: "refused", reason: `another run wrote Autopilot history while ${verb} was running; nothing was recorded`, historyWritten: true };
}

function nameOf(ref: MigrationRef) {
  return { version: ref.version, name: ref.name, checksum: ref.checksum };
}
