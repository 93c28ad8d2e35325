// The layouts by name, and which one a directory is written in when the repo config does not say.
import { autopilotLayout } from "./autopilot.js";
import { dbmateLayout, hasDbmateMarkers } from "./dbmate.js";
import { dieselLayout } from "./diesel.js";
import { flywayLayout } from "./flyway.js";
import { golangMigrateLayout } from "./golang-migrate.js";
import { prismaLayout } from "./prisma.js";
import { SUPABASE_DIRECTORY, supabaseLayout } from "./supabase.js";
import type { LayoutName, MigrationLayout } from "./types.js";

export { LAYOUT_NAMES, type LayoutEntry, type LayoutName, type MigrationLayout } from "./types.js";
export { SUPABASE_DIRECTORY } from "./supabase.js";
export { hasDbmateMarkers } from "./dbmate.js";
export { DIESEL_CONFIG, dieselMigrationsDirectory } from "./diesel.js";

const LAYOUTS: Record<LayoutName, MigrationLayout> = {
  autopilot: autopilotLayout,
  supabase: supabaseLayout,
  flyway: flywayLayout,
  "golang-migrate": golangMigrateLayout,
  dbmate: dbmateLayout,
  diesel: dieselLayout,
  prisma: prismaLayout,
};

export function layoutNamed(name: LayoutName): MigrationLayout {
  return LAYOUTS[name];
}

/** The layout a run uses, and why: set in the repo config (or `--layout`), or detected from these files. */
export interface LayoutChoice {
  name: LayoutName;
  /** Up to three files (relative to the directory) that gave the layout away; absent when it was set. */
  detectedFrom?: string[];
}

/** A one-line account for the plan: `flyway (detected from V1__init.sql, V2__users.sql …)`. */
export function describeLayout(choice: LayoutChoice): string {
  if (!choice.detectedFrom) return `${choice.name} (set by migrations.layout)`;
  if (choice.detectedFrom.length === 0) return `${choice.name} (the default: no migration files to tell from)`;
  return `${choice.name} (detected from ${choice.detectedFrom.join(", ")}${choice.detectedFrom.length >= 3 ? " …" : ""})`;
}

// Name patterns that give each family of layouts away. `.down.sql` is left out: autopilot and
// golang-migrate share it. autopilot, supabase and dbmate share `<version>_<name>.sql` ("plain").
const FAMILIES: Array<{ family: LayoutName | "plain"; pattern: RegExp }> = [
  { family: "diesel", pattern: /^[^/]+\/(up|down)\.sql$/ },
  { family: "prisma", pattern: /^[^/]+\/migration\.sql$/ },
  { family: "flyway", pattern: /^([VU]\d[\d._]*__|R__)[^/]+\.sql$/ },
  { family: "golang-migrate", pattern: /^\d+_[^/]+\.up\.sql$/ },
  { family: "plain", pattern: /^\d+_[^/]+(?<!\.down)\.sql$/ },
];

export type Detection = { choice: LayoutChoice } | { error: string };

/**
 * Detects the layout from the paths (relative to `directory`); `contentOf`, when the files are at
 * hand (the CLI), tells dbmate files from autopilot ones by their `-- migrate:up` markers.
 * Files of two families at once are refused with examples of each, rather than guessed.
 */
export function detectLayout(relatives: string[], directory: string, contentOf?: (relative: string) => string | undefined): Detection {
  const hits = new Map<string, string[]>();
  for (const relative of [...relatives].sort()) {
    const family = FAMILIES.find((f) => f.pattern.test(relative))?.family;
    if (!family) continue;
    // Appended in place: copying the list for each file made detection quadratic (36 ms over 1,000 files).
    const files = hits.get(family);
    if (files) files.push(relative);
    else hits.set(family, [relative]);
  }
  if (hits.size > 1) {
    const examples = [...hits].map(([family, files]) => `${family === "plain" ? "autopilot" : family} (${files.slice(0, 3).join(", ")})`);
    return { error: `${directory || "."} mixes migration layouts: ${examples.join(" and ")}; keep one layout there or set migrations.layout` };
  }
  const [family, files] = [...hits][0] ?? ["plain", []];
  const detectedFrom = files.slice(0, 3);
  if (family !== "plain") return { choice: { name: family as LayoutName, detectedFrom } };
  if (isSupabaseDirectory(directory)) return { choice: { name: "supabase", detectedFrom: detectedFrom.length ? detectedFrom : [] } };
  const dbmate = contentOf && files.filter((f) => hasDbmateMarkers(contentOf(f) ?? ""));
  if (dbmate?.length) return { choice: { name: "dbmate", detectedFrom: dbmate.slice(0, 3) } };
  return { choice: { name: "autopilot", detectedFrom } };
}

const isSupabaseDirectory = (directory: string) => directory.replace(/\/+$/, "") === SUPABASE_DIRECTORY || directory.endsWith(`/${SUPABASE_DIRECTORY}`);
