// Every text that leaves the process (logs, check runs, comments, issues, Slack) passes through
// here. Two layers: known secret values registered at start-up are replaced wherever they appear,
// and anything shaped like a credential is masked even when nobody registered it.

import { processEnvironment, secretValues } from "./config/process-environment.js";

const knownSecrets = new Set<string>();

/** Registers a value (a password, a token, a whole URL) that must never be shown. */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 4) return;
  knownSecrets.add(value);
  try {
    const url = new URL(value);
    if (url.password) knownSecrets.add(decodeURIComponent(url.password));
    if (url.password) knownSecrets.add(url.password);
  } catch {
    // not a URL: the value itself is enough
  }
}

/** Registers the value of every variable that holds a secret whatever the server config says. */
export function registerEnvironmentSecrets(env: NodeJS.ProcessEnv = processEnvironment()): void {
  for (const value of secretValues(env)) registerSecret(value);
}

const patterns: Array<[RegExp, string]> = [
  // user:password@ inside any URL (postgres://, https://, …)
  [/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s/]*@/gi, "$1:***@"],
  // password=... in libpq keyword strings and query strings
  [/\b(password|passwd|pwd)\s*=\s*('[^']*'|"[^"]*"|[^\s&;]+)/gi, "$1=***"],
  // GitHub tokens, Slack webhook paths and tokens, bearer headers
  [/\b(gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})\b/g, "***"],
  [/hooks\.slack\.com\/services\/[A-Za-z0-9/]+/g, "hooks.slack.com/services/***"],
  [/\bxox[abpors]-[A-Za-z0-9-]+/g, "***"],
  [/\b(Bearer|token)\s+[A-Za-z0-9._~+/=-]{12,}/gi, "$1 ***"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, "***private key***"],
];

export function redact(text: string): string {
  let out = text;
  for (const secret of [...knownSecrets].sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join("***");
  }
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement);
  return out;
}

/** Redacts every string inside a JSON-like value (for request bodies). */
export function redactDeep<T>(value: T): T {
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}
