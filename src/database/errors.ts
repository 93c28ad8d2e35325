// Shared shapes for what the migration engine reports, and the errors it throws. Problems are data
// (a plan, a lint or a check run lists them); thrown errors are for "try again later" situations.

export interface Problem {
  code:
    | "checksum-mismatch"
    | "out-of-order"
    | "duplicate-version"
    | "bad-filename"
    | "bad-directive"
    | "not-utf8"
    | "missing-down"
    | "orphan-down"
    | "missing-file"
    | (string & {});
  /** Repository-relative (or directory-relative) path of the offending file. */
  path: string;
  line?: number;
  message: string;
  severity: "error" | "warning";
}

export function hasErrors(problems: Problem[]): boolean {
  return problems.some((p) => p.severity === "error");
}

/** The advisory lock on the target could not be taken before the deadline: another run holds it. */
export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
}

/** The target database could not be reached or dropped the connection; the caller may retry. */
export class TargetUnavailableError extends Error {
  override name = "TargetUnavailableError";
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}
