// Decides what a run would apply, and refuses when the files and the target's history disagree:
// an applied file that changed, a new file slotted before already-applied ones, two files with
// one version. Pure: the same plan backs the PR check, the push runbook and the CLI.
import type { Problem } from "./errors.js";
import { compareVersions, isVersioned, versionKey, type MigrationRef } from "./migration-files.js";

export interface AppliedMigration {
  version: string;
  name: string;
  checksum: string;
  appliedAt: Date;
  durationMs: number;
  appliedBy: string;
  commitSha: string | null;
  revertedAt: Date | null;
}

export interface Plan {
  pending: MigrationRef[];
  /** History rows still in effect (not reverted), in version order. */
  applied: AppliedMigration[];
  problems: Problem[];
}

const short = (sha: string) => `${sha.slice(0, 12)}…`;

export function plan(refs: MigrationRef[], applied: AppliedMigration[], opts: { outOfOrder: boolean }): Plan {
  const inEffect = applied.filter((row) => row.revertedAt === null).sort((a, b) => compareVersions(a.version, b.version));
  const appliedByVersion = new Map(inEffect.map((row) => [versionKey(row.version), row]));
  const { unique, problems } = rejectDuplicates(refs);
  // Repeatables sort after every version: the latest applied version is the last numbered one.
  const latestApplied = inEffect.filter((row) => isVersioned(row.version)).at(-1);
  const pending: MigrationRef[] = [];

  for (const ref of unique) {
    const row = appliedByVersion.get(versionKey(ref.version));
    // A repeatable runs again whenever it changes: that is what it is for.
    if (ref.repeatable) {
      if (row?.checksum !== ref.checksum) pending.push(ref);
      continue;
    }
    if (row && row.checksum !== ref.checksum) problems.push(checksumChanged(ref, row));
    if (row) continue;
    if (latestApplied && !opts.outOfOrder && compareVersions(ref.version, latestApplied.version) < 0) {
      problems.push(outOfOrder(ref, latestApplied));
    }
    pending.push(ref);
  }
  problems.push(...missingFiles(refs, inEffect));
  return { pending: pending.sort((a, b) => compareVersions(a.version, b.version)), applied: inEffect, problems };
}

/** Every file of a shared version is refused: which one the author meant is not ours to guess. */
function rejectDuplicates(refs: MigrationRef[]): { unique: MigrationRef[]; problems: Problem[] } {
  const groups = new Map<string, MigrationRef[]>();
  for (const ref of refs) groups.set(versionKey(ref.version), [...(groups.get(versionKey(ref.version)) ?? []), ref]);
  const problems: Problem[] = [];
  const unique: MigrationRef[] = [];
  for (const group of groups.values()) {
    if (group.length === 1) unique.push(group[0]);
    else for (const ref of group) problems.push(duplicate(ref, group));
  }
  return { unique, problems };
}

export function checksumChangedMessage(filename: string, appliedChecksum: string, checksum: string): string {
  return `${filename} was applied with checksum ${short(appliedChecksum)}, now ${short(checksum)}: an applied migration must not change; add a new migration instead`;
}

function checksumChanged(ref: MigrationRef, row: AppliedMigration): Problem {
  return { code: "checksum-mismatch", path: ref.path, message: checksumChangedMessage(ref.filename, row.checksum, ref.checksum), severity: "error" };
}

function outOfOrder(ref: MigrationRef, latest: AppliedMigration): Problem {
  return {
    code: "out-of-order",
    path: ref.path,
    message: `${ref.filename} sorts before ${latest.version}_${latest.name}, which is already applied; renumber it after ${latest.version} (or allow out-of-order migrations)`,
    severity: "error",
  };
}

function duplicate(ref: MigrationRef, group: MigrationRef[]): Problem {
  const others = group
    .filter((r) => r !== ref)
    .map((r) => r.filename)
    .join(", ");
  return { code: "duplicate-version", path: ref.path, message: `${ref.filename} has the same version as ${others}`, severity: "error" };
}

function missingFiles(refs: MigrationRef[], inEffect: AppliedMigration[]): Problem[] {
  const present = new Set(refs.map((r) => versionKey(r.version)));
  return inEffect
    .filter((row) => !present.has(versionKey(row.version)))
    .map((row) => ({
      code: "missing-file",
      path: `${row.version}_${row.name}.sql`,
      message: `${row.version}_${row.name}.sql was applied on ${row.appliedAt.toISOString()} but its file is gone`,
      severity: "warning" as const,
    }));
}
