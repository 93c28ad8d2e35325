// Says in words what a restore discards (loss-report.ts): for rollback and migrate Check Runs,
// command replies and the command line alike.
import type { LossEstimate, TableLoss } from "./loss-report.js";

const COUNT = new Intl.NumberFormat("en-US");
const MAX_TABLES_LISTED = 20;

/** "Restoring backup `bk_…` (taken 42 min ago) discards writes made since: orders +1,204 inserted / 310 updated; …" */
export function describeLoss(estimate: LossEstimate, now = new Date()): string {
  // A date read back from a stored outcome (JSON) is a string.
  const head = `Restoring backup \`${estimate.backupId}\` (taken ${ageOf(new Date(estimate.backupTakenAt), now)} ago)`;
  const listed = estimate.tables.slice(0, MAX_TABLES_LISTED).map(describeTable);
  const more = estimate.tables.length - listed.length;
  if (more > 0) listed.push(`and ${more} more table(s)`);
  const lines = [
    listed.length
      ? `${head} discards writes made since: ${listed.join("; ")}.`
      : estimate.caveats.length
        ? `${head}: the statistics count no writes since it was taken, but see below.`
        : `${head} discards no writes: the statistics count none since it was taken.`,
    ...estimate.caveats.map((c) => `⚠️ ${c}.`),
  ];
  return lines.join("\n\n");
}

function describeTable(t: TableLoss): string {
  const name = t.table.startsWith("public.") ? t.table.slice("public.".length) : t.table;
  const parts = [
    t.inserted ? `+${COUNT.format(t.inserted)} inserted` : "",
    t.updated ? `${COUNT.format(t.updated)} updated` : "",
    t.deleted ? `${COUNT.format(t.deleted)} deleted` : "",
  ].filter(Boolean);
  const notes = [t.created ? "created since: the restore drops it" : "", t.atLeast ? "at least" : ""].filter(Boolean);
  return `${name} ${parts.join(" / ")}${notes.length ? ` (${notes.join(", ")})` : ""}`;
}

/** "42 min", "5 h", "3 days": how long ago `then` was. */
export function ageOf(then: Date, now: Date): string {
  const minutes = Math.max(0, Math.round((now.getTime() - then.getTime()) / 60_000));
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`;
}
