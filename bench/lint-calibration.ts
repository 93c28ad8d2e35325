// Lints a whole migration history (up and down files) and prints, per rule, how many findings each
// severity got: the calibration table in docs/lint-rules.md. Usage:
//   node --import tsx bench/lint-calibration.ts fixtures/kratos-migrations
import { lintDownFile } from "../src/database/lint/down-files.js";
import { ensureLintReady, lintMigrations, type LintFinding } from "../src/database/lint/index.js";
import { loadMigrationDirectory } from "../src/database/migration-files.js";

const dir = process.argv[2] ?? "fixtures/kratos-migrations";
await ensureLintReady();
const { files } = await loadMigrationDirectory(dir);
// The up files as one run, in order (as a plan lints them), so each file's rules know what the earlier ones defined.
const findings: LintFinding[] = [
  ...lintMigrations(files.map((file) => ({ path: file.path, sql: file.sql, noTransaction: file.directives.noTransaction }))),
  ...files.flatMap((file) => (file.down ? lintDownFile(file.down) : [])),
];

const SEVERITIES = ["error", "warning", "notice"] as const;
const byRule = new Map<string, Record<string, number>>();
for (const finding of findings) {
  const counts = byRule.get(finding.rule) ?? { error: 0, warning: 0, notice: 0 };
  counts[finding.severity]++;
  byRule.set(finding.rule, counts);
}
console.log(`${files.length} files, ${files.filter((f) => f.down).length} down files, ${findings.length} findings`);
console.log(`| Rule | ${SEVERITIES.join(" | ")} |\n|---|---|---|---|`);
for (const [rule, counts] of [...byRule].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`| \`${rule}\` | ${SEVERITIES.map((s) => counts[s]).join(" | ")} |`);
}
