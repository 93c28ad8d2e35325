// Findings as text for a terminal or a CI log: one greppable `path:line: severity rule-id: message`
// line each, the format compilers and Squawk use, so editors and CI problem matchers pick them up.
import type { LintFinding } from "./index.js";

export function formatFinding(finding: LintFinding): string {
  const ignored = finding.ignored ? ` (ignored: ${finding.ignored.reason})` : "";
  const downgraded = finding.downgraded ? ` (${finding.downgraded})` : "";
  return `${finding.path}:${finding.line}: ${finding.severity} ${finding.rule}: ${finding.message}${downgraded}${ignored}`;
}

/** Ignored findings are shown but never counted. */
export function countFindings(findings: LintFinding[]): { errors: number; warnings: number; notices: number; ignored: number } {
  const counted = findings.filter((f) => !f.ignored);
  return {
    errors: counted.filter((f) => f.severity === "error").length,
    warnings: counted.filter((f) => f.severity === "warning").length,
    notices: counted.filter((f) => f.severity === "notice").length,
    ignored: findings.length - counted.length,
  };
}
