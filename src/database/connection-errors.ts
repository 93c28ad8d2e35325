// Which failures mean "the database is not there right now" (worth retrying later) rather than
// "what we asked was wrong".
import { LockTimeoutError } from "./migrator.js";

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);
// 08: connection exceptions; 57P01-03: admin shutdown, crash shutdown, cannot connect now; 53300: too many connections.
const SQLSTATES = /^(08...|57P0[123]|53300)$/;

export function isUnavailable(error: unknown): boolean {
  if (error instanceof LockTimeoutError) return true;
  const e = error as { code?: string; message?: string; errors?: unknown[] };
  if (e?.code && (NETWORK_CODES.has(e.code) || SQLSTATES.test(e.code))) return true;
  if (Array.isArray(e?.errors) && e.errors.some(isUnavailable)) return true; // AggregateError (IPv4 + IPv6)
  return /Connection terminated|connect ECONNREFUSED|the database system is (starting up|shutting down)/i.test(e?.message ?? "");
}
