// How a verification reads on the Check Run, the pull request's comment and Slack: "verified" or
// "regressed", with the figures (the hour before the change vs. now).
import type { CheckFigures, Regression, Verification } from "../health/verification.js";

const percent = (rate: number | null) => (rate === null ? "–" : `${Math.round(rate * 1000) / 10}%`);
const millis = (ms: number | null) => (ms === null ? "–" : `${Math.round(ms)} ms`);

/** A few words for the title: "verified" or "regressed: site down". */
export function verificationHeadline(v: Verification): string {
  if (!v.regressed) return `verified (${v.minutes} min)`;
  const names = [...new Set(v.regressions.map(shortReason))];
  return `regressed: ${names.join(", ")}`;
}

/** The section added to the summary: the verdict, the evidence and every check's figures. */
export function verificationSection(v: Verification): string {
  const watched = `${v.probes} probe round${v.probes === 1 ? "" : "s"} of ${v.minutes} min`;
  const verdict = v.regressed
    ? `**Verification: ❌ regressed** on **${v.environment}** after ${watched}:\n\n${v.regressions.map((r) => `- ${evidence(r)}`).join("\n")}`
    : `**Verification: ✅ verified** on **${v.environment}** (${watched}, compared with the hour before the change).`;
  const rows = v.checks.map(
    (c) =>
      `| ${c.check} | ${percent(c.baseline.errorRate)} → ${percent(c.now.errorRate)} | ${millis(c.baseline.p95Ms)} → ${millis(c.now.p95Ms)} | ${samples(c.baseline)} |`,
  );
  const table = ["| Check | Error rate (before → now) | p95 latency (before → now) | Probes in the hour before |", "|---|---|---|---|", ...rows].join("\n");
  return `${verdict}\n\n${table}`;
}

function samples(figures: CheckFigures): string {
  return figures.samples === 0 ? "none (no baseline)" : String(figures.samples);
}

function shortReason(r: Regression): string {
  switch (r.rule) {
    case "down":
      return `${r.check} down`;
    case "latency":
      return `${r.check} p95 ${millis(r.now.p95Ms)}`;
    case "errors":
      return `${r.check} error rate ${percent(r.now.errorRate)}`;
  }
}

function evidence(r: Regression): string {
  switch (r.rule) {
    case "down":
      return `\`${r.check}\` is down: its latest probe failed (error rate ${percent(r.now.errorRate)} now, ${percent(r.baseline.errorRate)} in the hour before).`;
    case "latency":
      return `\`${r.check}\` p95 latency is ${millis(r.now.p95Ms)}: over 2× the hour before (${millis(r.baseline.p95Ms)}) and over \`degraded_ms\` (${r.degradedMs} ms).`;
    case "errors":
      return `\`${r.check}\` error rate is ${percent(r.now.errorRate)}: over 3× the hour before (${percent(r.baseline.errorRate)}).`;
  }
}
