// Runs a drift check for a runbook: the target's applied files come from the repository (git
// blobs), the comparison from the domain (database/drift). Never throws: a failure is a finding.
import type { ResolvedTarget } from "../config/server-config.js";
import { detectDrift } from "../database/drift/detect.js";
import { versionKey, type MigrationFile, type MigrationRef, type Problem } from "../database/migration-files.js";
import { redact } from "../redact.js";
import { recordDriftCheck } from "../store/drift-checks.js";
import type { DriftFinding } from "./drift-outcome.js";
import type pg from "pg";

/** The refs whose versions the target's history lists as in effect: the files that built its schema. */
export function appliedRefs(refs: MigrationRef[], history: Array<{ version: string; revertedAt: Date | null }>): MigrationRef[] {
  const inEffect = new Set(history.filter((h) => !h.revertedAt).map((h) => versionKey(h.version)));
  return refs.filter((r) => inEffect.has(versionKey(r.version)));
}

type Download = (refs: MigrationRef[]) => Promise<{ files: MigrationFile[]; problems: Problem[] }>;

/** Undefined when the target has no shadow server: drift needs one to build the expected schema. */
export async function checkDrift(target: ResolvedTarget, refs: MigrationRef[], download: Download): Promise<DriftFinding | undefined> {
  if (!target.shadowDatabaseUrl) return undefined;
  try {
    const { files } = await download(refs);
    const report = await detectDrift({ targetUrl: target.databaseUrl, shadowUrl: target.shadowDatabaseUrl, files });
    return { kind: "compared", environment: target.environment, differences: report.differences, unknownVersions: report.unknownVersions };
  } catch (error) {
    return { kind: "failed", environment: target.environment, error: redact(error instanceof Error ? error.message : String(error)) };
  }
}

/** Keeps `finding` as its environment's last drift check, which `/autopilot status` shows; `source` names the check. */
export async function recordDrift(db: pg.Pool, repo: string, source: string, finding: DriftFinding): Promise<void> {
  const result =
    finding.kind === "compared"
      ? { kind: finding.kind, differences: finding.differences, unknownVersions: finding.unknownVersions }
      : { kind: finding.kind, error: finding.error };
  await recordDriftCheck(db, repo, finding.environment, source, result);
}
