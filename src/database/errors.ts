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

// PostgreSQL quotes the offending row's values in some errors (`Key (email)=(ada@example.org)
// already exists.`, `Failing row contains (…)`). Those values are production data: each pattern
// keeps the text around them, so the message still says which key or row is wrong. A value may span
// lines (a text column with newlines), so it ends only where its field does: at the next field of the
// rendered error (`HINT:`…), a blank line, a code fence, or the end of the text.
const FIELD_END = String.raw`\.?(?:$|\n(?:\n|\x60{3}|(?:ERROR|DETAIL|HINT|SQLSTATE|CONTEXT|WHERE):))`;
const COLUMNS = String.raw`\((?:[^()]|\([^()]*\))+\)`;
const ROW_VALUE_PATTERNS: Array<[RegExp, string]> = [
  // unique, exclusion and foreign-key details: `Key (cols)=(values) already exists|is duplicated|…`
  [
    new RegExp(
      String.raw`(\b[Kk]ey ${COLUMNS}=)\([\s\S]*?\)(?=\s+(?:already exists|is duplicated|is not present|is still referenced|conflicts with)|${FIELD_END})`,
      "g",
    ),
    "$1(…)",
  ],
  // check and not-null violations
  [new RegExp(String.raw`(\bFailing row contains )\([\s\S]*?\)(?=${FIELD_END})`, "g"), "$1(…)"],
  // partitioning: `Partition key of the failing row contains (region) = (eu).`
  [new RegExp(String.raw`(\bfailing row contains ${COLUMNS} = )\([\s\S]*?\)(?=${FIELD_END})`, "gi"), "$1(…)"],
  // a row's value that does not convert (e.g. ALTER COLUMN … TYPE over existing data); a title cut
  // to its length limit may have lost the closing quote
  [new RegExp(String.raw`(\binvalid input (?:syntax|value) for [^:\n]+: )"[\s\S]*?(?:"(?=${FIELD_END})|$)`, "g"), '$1"…"'],
];

/** Replaces the row values PostgreSQL quotes in error text with `…`, keeping the message's shape. */
export function hideRowValues(text: string): string {
  let out = text;
  for (const [pattern, replacement] of ROW_VALUE_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
