// Drift: how the target's live schema differs from the schema its applied migrations build. The
// applied files (those the target's history lists as in effect) run through the real migrator into
// a scratch database on the shadow server, both schemas are read from the catalogs and compared.
// The target is only read. The scratch database is dropped whatever happens.
import pg from "pg";
import { redact } from "../../redact.js";
import { readHistory } from "../history.js";
import { versionKey, type MigrationFile } from "../migration-files.js";
import { migrate } from "../migrator.js";
import { createScratchDatabase, dropScratchDatabase, scratchDatabaseName, scratchDatabaseUrl } from "../scratch-databases.js";
import { compareSchemas, type DriftDifference } from "./compare.js";
import { readSchema, type SchemaSnapshot } from "./schema-objects.js";

export interface DriftInput {
  targetUrl: string;
  /** A server where we may CREATE DATABASE (the plan's shadow server). */
  shadowUrl: string;
  /** The repository's migration files; those the target has applied are rebuilt. */
  files: MigrationFile[];
  onProgress?: (message: string) => void;
}

export interface DriftReport {
  differences: DriftDifference[];
  /** How many applied files the expected schema was built from. */
  appliedFiles: number;
  /** Versions the target's history lists as applied that no file in the repository has: the comparison misses what they did. */
  unknownVersions: string[];
  durationMs: number;
}

export class DriftError extends Error {}

/** Throws a DriftError (credentials redacted) when either database cannot be read or the files do not rebuild. */
export async function detectDrift(input: DriftInput): Promise<DriftReport> {
  const started = performance.now();
  const say = (message: string) => input.onProgress?.(message);
  const { applied, unknownVersions, target } = await step("could not read the target's schema", () => readTarget(input));
  const name = scratchDatabaseName();
  say(`creating scratch database ${name}`);
  await step("could not create the scratch database", () => createScratchDatabase(input.shadowUrl, name));
  try {
    const scratchUrl = scratchDatabaseUrl(input.shadowUrl, name);
    say(`applying ${applied.length} applied migration file(s) to it`);
    await rebuild(scratchUrl, applied);
    const expected = await step("could not read the scratch database's schema", () => withClient(scratchUrl, readSchema));
    return {
      differences: compareSchemas(target, expected),
      appliedFiles: applied.length,
      unknownVersions,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    say(`dropping scratch database ${name}`);
    await dropScratchDatabase(input.shadowUrl, name).catch(() => undefined); // the next start's leftover clean-up drops it
  }
}

async function readTarget(input: DriftInput): Promise<{ applied: MigrationFile[]; unknownVersions: string[]; target: SchemaSnapshot }> {
  return withClient(input.targetUrl, async (client) => {
    const inEffect = (await readHistory(client)).filter((row) => !row.revertedAt);
    const byVersion = new Map(input.files.map((file) => [versionKey(file.version), file]));
    const applied = inEffect.flatMap((row) => byVersion.get(versionKey(row.version)) ?? []);
    const unknownVersions = inEffect.filter((row) => !byVersion.has(versionKey(row.version))).map((row) => row.version);
    return { applied, unknownVersions, target: await readSchema(client) };
  });
}

async function rebuild(scratchUrl: string, applied: MigrationFile[]): Promise<void> {
  const result = await step("could not rebuild the schema from the applied files", () =>
    migrate({ databaseUrl: scratchUrl, migrations: applied, appliedBy: "autopilot-drift", commitSha: null }),
  );
  const failure = result.failure;
  if (failure) {
    throw new DriftError(
      redact(
        `could not rebuild the schema from the applied files: ${failure.file.path}:${failure.line}: ${failure.message}${failure.code ? ` (SQLSTATE ${failure.code})` : ""}`,
      ),
    );
  }
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: "autopilot-drift", connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined); // a dropped connection surfaces as the pending query's error
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function step<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DriftError) throw error;
    throw new DriftError(redact(`${what}: ${error instanceof Error ? error.message : String(error)}`));
  }
}
