// Reads the sample repository in fixtures/shop as a map of repository paths to contents.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../../fixtures/shop");

export function shopMigration(name: string): string {
  return readFileSync(path.join(root, "migrations", name), "utf8");
}

export function shopRepo(migrations = readdirSync(path.join(root, "migrations"))): Record<string, string> {
  const files: Record<string, string> = { ".github/autopilot.yml": readFileSync(path.join(root, "autopilot.yml"), "utf8") };
  for (const name of migrations) files[`migrations/${name}`] = shopMigration(name);
  return files;
}
