// Matches another tool's history to the repository's files. Pure: it decides which files count as
// applied and lists every disagreement, and never guesses past one — with any mismatch the caller
// records nothing.
import type { MigrationRef } from "../migration-files.js";
import type { ForeignEntry, ForeignHistory } from "./reader.js";
import { compareForeignVersions, sameVersion } from "./versions.js";

export interface AdoptedFile {
  ref: MigrationRef;
  appliedAt?: Date;
  durationMs?: number;
}

export interface AdoptionPlan {
  adopted: AdoptedFile[];
  /** Each one a sentence saying what disagrees and what to fix. */
  mismatches: string[];
}

/** `contents`: the files' contents by path, to compare with a tool's checksums (Flyway's); files absent from it are not compared. */
export function planAdoption(history: ForeignHistory, refs: MigrationRef[], contents: Map<string, string | Buffer> = new Map()): AdoptionPlan {
  const mismatches: string[] = [];
  const adopted = new Map<MigrationRef, AdoptedFile>();
  // Matched but changed since the tool ran them: reported once, not again as a gap.
  const disputed = new Set<MigrationRef>();
  if (history.entries.length === 0) mismatches.push(`${history.table} is empty: ${history.toolName} applied nothing, so there is nothing to adopt`);
  for (const entry of history.entries) {
    const problem = unusable(history, entry);
    if (problem) {
      mismatches.push(problem);
      continue;
    }
    const ref = refs.find((r) => sameVersion(r.version, entry.version));
    if (!ref && entry.coversEarlier !== "baseline") {
      mismatches.push(
        `${history.toolName} applied ${named(entry)} but no migration file has that version: restore the file, or remove the row from ${history.table} if it was never meant to be applied`,
      );
      continue;
    }
    const changed = ref && changedSinceRun(history, entry, ref, contents.get(ref.path));
    if (changed) {
      mismatches.push(changed);
      disputed.add(ref);
      continue;
    }
    if (ref) adopted.set(ref, { ref, appliedAt: entry.appliedAt, durationMs: entry.durationMs });
    if (entry.coversEarlier) {
      for (const earlier of refs.filter((r) => compareForeignVersions(r.version, entry.version) < 0 && !adopted.has(r))) adopted.set(earlier, { ref: earlier });
    }
  }
  mismatches.push(...gaps(history, refs, adopted, disputed));
  const ordered = [...adopted.values()].sort((a, b) => compareForeignVersions(a.ref.version, b.ref.version));
  return { adopted: ordered, mismatches };
}

function unusable(history: ForeignHistory, entry: ForeignEntry): string | undefined {
  if (entry.state === "failed") {
    return `${history.toolName} marks ${named(entry)} as failed: finish or repair it with ${history.toolName} first (or fix the database by hand and correct ${history.table})`;
  }
  if (entry.state === "dirty") {
    return `${history.toolName} marks version ${entry.version} dirty (it failed half-way): fix the database by hand, then \`migrate force\` the right version, and adopt again`;
  }
  return undefined;
}

/** A file whose content is not what the tool ran: its checksum then differs from the one the tool recorded. */
function changedSinceRun(history: ForeignHistory, entry: ForeignEntry, ref: MigrationRef, content: string | Buffer | undefined): string | undefined {
  if (!entry.checksum || content === undefined) return undefined;
  const now = entry.checksum.of(content);
  if (now === entry.checksum.value) return undefined;
  return `${history.toolName} ran ${named(entry)} with checksum ${entry.checksum.value}, but ${ref.path} now has checksum ${now}: the file changed after ${history.toolName} applied it; restore it as it was applied (or, if the database has the change, correct ${history.table} with \`flyway repair\`) and adopt again`;
}

/** "V42__users.sql (version 42)", or "version 42" where the tool keeps nothing else. */
function named(entry: ForeignEntry): string {
  return entry.label === `version ${entry.version}` ? entry.label : `${entry.label} (version ${entry.version})`;
}

/** A file older than the latest adopted version that the tool never recorded: applied or not, nobody can say. */
function gaps(history: ForeignHistory, refs: MigrationRef[], adopted: Map<MigrationRef, AdoptedFile>, disputed: Set<MigrationRef>): string[] {
  const latest = [...adopted.keys()]
    .map((r) => r.version)
    .sort(compareForeignVersions)
    .at(-1);
  if (!latest) return [];
  return refs
    .filter((r) => !adopted.has(r) && !disputed.has(r) && compareForeignVersions(r.version, latest) < 0)
    .map(
      (r) =>
        `${r.path} (version ${r.version}) sorts before version ${latest}, which ${history.toolName} applied, but ${history.table} has no record of it: apply it with ${history.toolName} first, or remove the file if it is obsolete`,
    );
}
