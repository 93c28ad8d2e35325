// Signed cookies for the dashboard: `<value>.<expiry seconds>.<HMAC-SHA256 of both>` keyed by
// AUTOPILOT_SECRET. A cookie whose signature does not match, or whose expiry has passed, is no cookie.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const SESSION_COOKIE = "autopilot_session";
export const STATE_COOKIE = "autopilot_oauth_state";
export const SESSION_SECONDS = 8 * 3600;
export const STATE_SECONDS = 600;

export const randomToken = () => randomBytes(32).toString("base64url");

function signature(secret: string, payload: string): string {
  return createHmac("sha256", secret).update(payload).digest("base64url");
}

export function signValue(secret: string, value: string, expiresAt: Date): string {
  const payload = `${value}.${Math.floor(expiresAt.getTime() / 1000)}`;
  return `${payload}.${signature(secret, payload)}`;
}

/** The value of a signed cookie, if its signature holds and it has not expired. */
export function verifyValue(secret: string, signed: string | undefined, now = Date.now()): string | undefined {
  const parts = signed?.split(".") ?? [];
  if (parts.length !== 3) return undefined;
  const [value, expiry, given] = parts as [string, string, string];
  const expected = Buffer.from(signature(secret, `${value}.${expiry}`));
  const actual = Buffer.from(given);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
  if (!/^\d+$/.test(expiry) || Number(expiry) * 1000 <= now) return undefined;
  return value;
}

export function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return undefined;
}

/** Secure only over https (directly, or behind a proxy that says so), or the browser would drop it on http://localhost. */
export function isHttps(req: IncomingMessage): boolean {
  const forwarded = String(req.headers["x-forwarded-proto"] ?? "")
    .split(",")[0]
    ?.trim();
  return forwarded === "https" || Boolean((req.socket as { encrypted?: boolean }).encrypted);
}

export function setCookie(req: IncomingMessage, name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/autopilot; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${isHttps(req) ? "; Secure" : ""}`;
}

export function clearCookie(req: IncomingMessage, name: string): string {
  return setCookie(req, name, "", 0);
}
