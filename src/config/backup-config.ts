// Where a target's backups go and how they are sealed: the server config's `backups` section, which
// `targets[].backups` overrides key by key. The schema checks shapes; `backupEnvironmentProblems`
// checks, at start-up, that every variable it names is set and every key is 32 bytes; and
// `resolveBackupSettings` turns both into what the backup service needs for one target.
import { createHash } from "node:crypto";
import { z } from "zod";
import { backupScheduleKey, backupScheduleKeys, drillScheduleKeys } from "./backup-schedule-config.js";
import { processEnvironment } from "./environment.js";
import type { ConfigProblem } from "./yaml-errors.js";
import { targetOf } from "./targets-of.js";

const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

/** "" or "backups/": object keys are joined to it as they are, so a prefix that names a folder ends in "/". */
const prefix = z
  .string()
  .regex(/^([A-Za-z0-9._-]+\/)*$/, 'must be empty or folder names each followed by "/" (like "backups/")')
  .default("");

const bucket = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, "must be a bucket name (lower-case letters, digits, '.', '-', '_')");

export const s3Schema = z.strictObject({
  endpoint: z.url({ error: 'must be a URL like "https://s3.eu-west-1.amazonaws.com"' }).optional(),
  region: z.string().min(1).default("us-east-1"),
  bucket,
  prefix,
  access_key_id_env: envVarName,
  secret_access_key_env: envVarName,
  force_path_style: z.boolean({ error: "must be true or false" }).default(false),
});

export const supabaseSchema = z.strictObject({
  url_env: envVarName,
  service_key_env: envVarName,
  bucket,
  prefix,
});

const storeKind = z.enum(["local", "supabase", "s3"]);
export type BackupStoreKind = z.infer<typeof storeKind>;

const overrideFields = {
  store: storeKind.optional(),
  directory: z.string().min(1).optional(),
  retention_days: z.number().int().positive().optional(),
  s3: s3Schema.optional(),
  supabase: supabaseSchema.optional(),
  encryption_key_env: envVarName.optional(),
  previous_keys_env: envVarName.optional(),
  ...drillScheduleKeys,
  ...backupScheduleKey,
};

/** `targets[].backups`: any key of the server-wide section, for this target only. */
export const targetBackupsSchema = z.strictObject(overrideFields);

export const BACKUP_DEFAULTS = { store: "local", directory: "./.autopilot/backups", retention_days: 30 } as const;

export const backupsSchema = z
  .strictObject({
    ...overrideFields,
    store: storeKind.default(BACKUP_DEFAULTS.store),
    directory: z.string().min(1).default(BACKUP_DEFAULTS.directory),
    retention_days: z.number().int().positive().default(BACKUP_DEFAULTS.retention_days),
    ...backupScheduleKeys,
  })
  .default(BACKUP_DEFAULTS);

export type BackupsSection = z.infer<typeof backupsSchema>;
export type TargetBackups = z.infer<typeof targetBackupsSchema>;

interface HasBackups {
  backups: BackupsSection;
  targets: Array<{ repo: string; environment: string; backups?: TargetBackups; shadow_database_url_env?: string }>;
}

/** The section that applies to one target: the server-wide one, each key the target sets replaced. */
export function effectiveBackups(config: HasBackups, target?: { backups?: TargetBackups }): BackupsSection {
  const merged: BackupsSection = { ...config.backups };
  for (const [key, value] of Object.entries(target?.backups ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/** A remote store without its section is a config error, found with the others (zod superRefine). */
export function refineStoreSections(config: HasBackups, ctx: z.RefinementCtx): void {
  const check = (section: BackupsSection, path: PropertyKey[]) => {
    if (section.store === "s3" && !section.s3)
      ctx.addIssue({ code: "custom", path: [...path, "s3"], message: "store: s3 needs an s3 section (bucket and credentials)" });
    if (section.store === "supabase" && !section.supabase) {
      ctx.addIssue({ code: "custom", path: [...path, "supabase"], message: "store: supabase needs a supabase section (url_env, service_key_env, bucket)" });
    }
  };
  check(config.backups, ["backups"]);
  config.targets.forEach((t, i) => t.backups && check(effectiveBackups(config, t), ["targets", i, "backups"]));
  // A drill restores into a scratch database on the target's shadow server: without one it could never run.
  config.targets.forEach((t, i) => {
    if (t.backups?.verify_schedule && !t.shadow_database_url_env)
      ctx.addIssue({
        code: "custom",
        path: ["targets", i, "backups", "verify_schedule"],
        message: "restore drills need a shadow server: set shadow_database_url_env on this target",
      });
  });
}

export interface S3Settings {
  endpoint?: string;
  region: string;
  bucket: string;
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SupabaseSettings {
  url: string;
  serviceKey: string;
  bucket: string;
  prefix: string;
}

/** A 32-byte key and the id written into every backup it seals (a hash prefix: it says which key, never the key). */
export interface BackupKey {
  id: string;
  key: Buffer;
}

export interface BackupSettings {
  store: BackupStoreKind;
  directory: string;
  retentionDays: number;
  s3?: S3Settings;
  supabase?: SupabaseSettings;
  /** The key new backups are sealed with; none: backups are stored as pg_dump wrote them. */
  encryptionKey?: BackupKey;
  /** Every key a backup may be opened with: the current one and those of previous_keys_env. */
  keyRing: BackupKey[];
  /** Names the variables for messages ("AUTOPILOT_BACKUP_KEY, AUTOPILOT_BACKUP_OLD_KEYS"). */
  keyVariables: string[];
}

export class BackupSettingsError extends Error {}

export function backupKeyId(key: Buffer): string {
  return createHash("sha256").update("autopilot-backup-key").update(key).digest("hex").slice(0, 16);
}

/** Reads a base64 key; the message never quotes the value. */
function decodeKey(value: string, variable: string): BackupKey | string {
  const trimmed = value.trim();
  const key = Buffer.from(trimmed, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== 32) {
    return `$${variable} must hold a 32-byte key in base64 (44 characters, e.g. from \`openssl rand -base64 32\`), got ${key.length} bytes`;
  }
  return { id: backupKeyId(key), key };
}

/** Every variable the section names that is unset or malformed, worded for the operator. */
function sectionProblems(section: BackupsSection, env: NodeJS.ProcessEnv): Array<{ key: string; message: string }> {
  const problems: Array<{ key: string; message: string }> = [];
  const need = (key: string, variable: string | undefined) => {
    if (variable && !env[variable]) problems.push({ key, message: `$${variable} is not set` });
  };
  if (section.store === "s3" && section.s3) {
    need("s3.access_key_id_env", section.s3.access_key_id_env);
    need("s3.secret_access_key_env", section.s3.secret_access_key_env);
  }
  if (section.store === "supabase" && section.supabase) {
    need("supabase.url_env", section.supabase.url_env);
    need("supabase.service_key_env", section.supabase.service_key_env);
    const url = section.supabase.url_env && env[section.supabase.url_env];
    if (url && !URL.canParse(url))
      problems.push({ key: "supabase.url_env", message: `$${section.supabase.url_env} must be a URL like https://<project>.supabase.co` });
  }
  if (section.encryption_key_env) {
    need("encryption_key_env", section.encryption_key_env);
    const value = env[section.encryption_key_env];
    const key = value ? decodeKey(value, section.encryption_key_env) : undefined;
    if (typeof key === "string") problems.push({ key: "encryption_key_env", message: key });
  }
  if (section.previous_keys_env) {
    const value = env[section.previous_keys_env] ?? "";
    for (const [i, part] of splitKeys(value).entries()) {
      const key = decodeKey(part, `${section.previous_keys_env} (key ${i + 1})`);
      if (typeof key === "string") problems.push({ key: "previous_keys_env", message: key });
    }
  }
  return problems;
}

function splitKeys(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Start-up check of every backup section against the environment: all problems at once, by key. */
export function backupEnvironmentProblems(file: string, config: HasBackups, env: NodeJS.ProcessEnv = processEnvironment()): ConfigProblem[] {
  const problems = sectionProblems(config.backups, env).map((p) => ({ file, key: `backups.${p.key}`, message: p.message }));
  config.targets.forEach((t, i) => {
    if (!t.backups) return;
    for (const p of sectionProblems(effectiveBackups(config, t), env)) problems.push({ file, key: `targets[${i}].backups.${p.key}`, message: p.message });
  });
  // The same problem reached through the server-wide section and a target's is one problem to fix.
  return problems.filter((p, i) => problems.findIndex((q) => q.message === p.message) === i);
}

/** The settings of one target's backups, secrets read from `env`. */
export function resolveBackupSettings(config: HasBackups, repo: string, environment: string, env: NodeJS.ProcessEnv = processEnvironment()): BackupSettings {
  const target = targetOf(config, repo, environment);
  const section = effectiveBackups(config, target);
  const problems = sectionProblems(section, env);
  if (problems.length) throw new BackupSettingsError(`backups of ${repo} / ${environment}: ${problems.map((p) => `${p.key}: ${p.message}`).join("; ")}`);
  const current = section.encryption_key_env ? (decodeKey(env[section.encryption_key_env]!, section.encryption_key_env) as BackupKey) : undefined;
  const previous = section.previous_keys_env
    ? splitKeys(env[section.previous_keys_env] ?? "").map((v) => decodeKey(v, section.previous_keys_env!) as BackupKey)
    : [];
  const s3 = section.store === "s3" ? section.s3 : undefined;
  const supabase = section.store === "supabase" ? section.supabase : undefined;
  return {
    store: section.store,
    directory: section.directory,
    retentionDays: section.retention_days,
    s3: s3 && {
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: s3.bucket,
      prefix: s3.prefix,
      forcePathStyle: s3.force_path_style,
      accessKeyId: env[s3.access_key_id_env]!,
      secretAccessKey: env[s3.secret_access_key_env]!,
    },
    supabase: supabase && {
      url: env[supabase.url_env]!.replace(/\/+$/, ""),
      serviceKey: env[supabase.service_key_env]!,
      bucket: supabase.bucket,
      prefix: supabase.prefix,
    },
    encryptionKey: current,
    keyRing: [...(current ? [current] : []), ...previous],
    keyVariables: [section.encryption_key_env, section.previous_keys_env].filter((v): v is string => Boolean(v)),
  };
}

/** The values that are secrets (credentials, keys; each previous key on its own), for redaction. */
export function backupSecretValues(config: HasBackups, env: NodeJS.ProcessEnv = processEnvironment()): string[] {
  const sections = [config.backups, ...config.targets.map((t) => t.backups ?? {})] as TargetBackups[];
  const variables = sections.flatMap((s) => [
    s.s3?.access_key_id_env,
    s.s3?.secret_access_key_env,
    s.supabase?.service_key_env,
    s.encryption_key_env,
    s.previous_keys_env,
  ]);
  return variables.flatMap((v) => (v && env[v] ? [env[v]!, ...splitKeys(env[v]!)] : []));
}
