// What one plan or migrate run will take on: linting costs about 80 MB of memory per MB of SQL, so a
// run refuses an oversized batch before it downloads or lints anything, and says which file or how
// many.
import type { MigrationRef, Problem } from "./migration-files.js";

export const MAX_FILES_PER_RUN = 1000;
export const MAX_FILE_BYTES = 5 * 1024 * 1024;

const mb = (bytes: number) => `${(bytes / (1 << 20)).toFixed(1)} MB`;

/**
 * Errors for a batch that is too large: more than MAX_FILES_PER_RUN files, or any file over
 * MAX_FILE_BYTES (`sizeOf` gives a file's size from the listing, before any download).
 */
export function batchTooLarge(pending: MigrationRef[], sizeOf: (path: string) => number | undefined): Problem[] {
  const problems: Problem[] = [];
  if (pending.length > MAX_FILES_PER_RUN) {
    problems.push({
      code: "too-many-files",
      path: pending[MAX_FILES_PER_RUN].path,
      severity: "error",
      message: `${pending.length} migration files are pending; one run takes at most ${MAX_FILES_PER_RUN}: merge them in smaller batches (the first file over the limit is ${pending[MAX_FILES_PER_RUN].filename})`,
    });
  }
  for (const ref of pending) {
    const size = sizeOf(ref.path);
    if (size !== undefined && size > MAX_FILE_BYTES) {
      problems.push({
        code: "file-too-large",
        path: ref.path,
        severity: "error",
        message: `${ref.filename} is ${mb(size)}; a migration file may be at most ${mb(MAX_FILE_BYTES)} (split it into several files)`,
      });
    }
  }
  return problems;
}
