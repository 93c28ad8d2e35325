// docs/architecture.md's import rules, checked against the code: a newcomer who reads the page and
// the next engineer who breaks it both find out here, not in review.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const SRC = path.resolve(import.meta.dirname, "../src");
const DOMAIN = ["database", "health", "analytics", "backups", "commands", "config"];
const GITHUB_PACKAGES = /^(probot|@octokit\/)/;

/** What each room may not import (a room is a folder of src/, or github/webhooks and github/api). */
const FORBIDDEN: Record<string, { rooms: string[]; githubPackages?: boolean; except?: RegExp }> = {
  ...Object.fromEntries(
    DOMAIN.map((room) => [room, { rooms: ["github/webhooks", "github/api", "report", "runbooks", "jobs", "web", "cli"], githubPackages: true }]),
  ),
  store: { rooms: ["github/webhooks", "github/api", "report", "runbooks", "jobs", "web", "cli"], githubPackages: true },
  cli: { rooms: ["github/webhooks", "github/api", "report", "runbooks", "jobs", "web"], githubPackages: true },
  // Handlers match a re-requested Check Run by its name; they render and write nothing.
  "github/webhooks": { rooms: ["runbooks", "report", "web", "cli"], except: /^report\/check-names\.ts$/ },
  "github/api": { rooms: ["github/webhooks", "report", "runbooks", "jobs", "web", "cli"] },
  jobs: { rooms: ["github/webhooks", "report", "web", "cli"] },
  runbooks: { rooms: ["github/webhooks", "web", "cli"] },
  // report/ renders the runbooks' outcomes (plain data) and never runs them.
  report: { rooms: ["github/webhooks", "runbooks", "jobs", "web", "cli"], except: /^runbooks\/[a-z-]+-outcome\.ts$/ },
  web: { rooms: ["github/webhooks", "report", "cli"] },
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

/** The room of a path relative to src/: its folder, or github/<sub> for the two halves of github/. */
function roomOf(relative: string): string {
  const [first, second] = relative.split("/");
  if (!second) return "(root)";
  return first === "github" && relative.split("/").length > 2 ? `github/${second}` : first;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((match) => match[1]);
}

test("every module imports only what its room may (docs/architecture.md)", () => {
  const breaches: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const relative = path.relative(SRC, file);
    const rule = FORBIDDEN[roomOf(relative)];
    if (!rule) continue;
    for (const specifier of importsOf(file)) {
      if (specifier.startsWith(".")) {
        const target = path.relative(SRC, path.resolve(path.dirname(file), specifier)).replace(/\.js$/, ".ts");
        if (rule.rooms.includes(roomOf(target)) && !rule.except?.test(target)) breaches.push(`${relative} imports ${target}`);
      } else if (rule.githubPackages && GITHUB_PACKAGES.test(specifier)) {
        breaches.push(`${relative} imports ${specifier}`);
      }
    }
  }
  assert.deepEqual(breaches, []);
});

test("GitHub is read only in github/api and written only in report/", () => {
  const misplaced: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const relative = path.relative(SRC, file);
    const room = roomOf(relative);
    const text = readFileSync(file, "utf8");
    const reads = text.match(/\.rest\.[a-zA-Z]+\.(get|list)[A-Za-z]*\b|\.paginate\(/g) ?? [];
    const writes = text.match(/\.rest\.[a-zA-Z]+\.(create|update|delete|add|remove|set)[A-Za-z]*\(/g) ?? [];
    if (reads.length && room !== "github/api") misplaced.push(`${relative} reads GitHub: ${[...new Set(reads)].join(", ")}`);
    if (writes.length && room !== "report") misplaced.push(`${relative} writes to GitHub: ${[...new Set(writes)].join(", ")}`);
  }
  assert.deepEqual(misplaced, []);
});

test("environment variables are read in config/environment.ts (and its zod-free part) only", () => {
  // pg-tools hands the whole environment to pg_dump/pg_restore children; it reads no variable itself.
  // process-environment.ts is environment.ts's part without zod, so the command line starts fast.
  const allowed = new Set(["config/environment.ts", "config/process-environment.ts", "database/pg-tools.ts"]);
  const readers = sourceFiles(SRC)
    .map((file) => path.relative(SRC, file))
    .filter((relative) => !allowed.has(relative) && /process\.env\b/.test(readFileSync(path.join(SRC, relative), "utf8")));
  assert.deepEqual(readers, []);
});
