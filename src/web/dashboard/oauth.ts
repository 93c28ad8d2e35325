// "Sign in with GitHub": the GitHub App's web flow. The `state` travels in a signed, short-lived
// cookie and must come back unchanged; the code is traded for a user token, which lists what the user
// may see and is then dropped: it is never stored, logged, or sent to the browser.
import type { IncomingMessage, ServerResponse } from "node:http";
import type pg from "pg";
import { exchangeOAuthCode, getSignedInUser, listUserRepositories, type GitHubEndpoints, type UserRepository } from "../../github/api/user-installations.js";
import type { Logger } from "../../logger.js";
import { deleteSession, saveSession } from "../../store/dashboard-sessions.js";
import {
  clearCookie,
  isHttps,
  randomToken,
  readCookie,
  SESSION_COOKIE,
  SESSION_SECONDS,
  setCookie,
  signValue,
  STATE_COOKIE,
  STATE_SECONDS,
  verifyValue,
} from "../session-cookie.js";
import { page } from "./layout.js";
import { signInPage } from "./sign-in.js";

export interface OAuthSettings {
  clientId: string;
  clientSecret: string;
  secret: string;
  endpoints: GitHubEndpoints;
  db: pg.Pool;
  allowedOrgs: string[];
  log: Logger;
}

/** Where GitHub sends the user back: this server's /autopilot/callback (the App's callback URL). */
function callbackUrl(req: IncomingMessage): string {
  return `${isHttps(req) ? "https" : "http"}://${req.headers.host ?? "localhost"}/autopilot/callback`;
}

export function signIn(req: IncomingMessage, res: ServerResponse, settings: OAuthSettings): void {
  const state = randomToken();
  const authorize = new URL(`${settings.endpoints.web}/login/oauth/authorize`);
  authorize.searchParams.set("client_id", settings.clientId);
  authorize.searchParams.set("redirect_uri", callbackUrl(req));
  authorize.searchParams.set("state", state);
  res
    .writeHead(302, {
      location: authorize.toString(),
      "set-cookie": setCookie(req, STATE_COOKIE, signValue(settings.secret, state, new Date(Date.now() + STATE_SECONDS * 1000)), STATE_SECONDS),
      "cache-control": "no-store",
    })
    .end();
}

export async function callback(req: IncomingMessage, res: ServerResponse, url: URL, settings: OAuthSettings): Promise<void> {
  const expected = verifyValue(settings.secret, readCookie(req, STATE_COOKIE));
  const given = url.searchParams.get("state");
  const code = url.searchParams.get("code");
  if (!expected || !given || given !== expected || !code) {
    settings.log.warn("dashboard: a sign-in came back with a missing or wrong state; refused");
    return refuse(req, res, 400, "Sign-in refused: it did not start here or took too long (the state does not match). Please sign in again.");
  }
  let login: string;
  let repos: UserRepository[];
  try {
    const token = await exchangeOAuthCode(settings.endpoints, settings, code, callbackUrl(req));
    login = await getSignedInUser(settings.endpoints, token);
    repos = await listUserRepositories(settings.endpoints, token);
  } catch (error) {
    settings.log.warn({ err: (error as Error).message }, "dashboard: sign-in failed at GitHub");
    return refuse(req, res, 502, "Sign-in failed: GitHub did not confirm it. Please try again.");
  }
  const allowed = settings.allowedOrgs.map((o) => o.toLowerCase());
  const visible = allowed.length ? repos.filter((r) => allowed.includes(r.owner.toLowerCase())) : repos;
  if (allowed.length && visible.length === 0) {
    settings.log.info({ login }, "dashboard: sign-in refused, no installation in dashboard.allowed_orgs");
    return refuse(req, res, 403, `Sign-in refused: this dashboard is for members of ${settings.allowedOrgs.join(", ")}.`);
  }
  const sessionId = randomToken();
  const expiresAt = new Date(Date.now() + SESSION_SECONDS * 1000);
  await saveSession(settings.db, sessionId, {
    login,
    repos: visible.map((r) => ({ repo: r.repo, installationId: r.installationId, permission: r.permission })),
    csrf: randomToken(),
    expiresAt,
  });
  settings.log.info({ login, repositories: visible.length }, "dashboard: signed in");
  res
    .writeHead(303, {
      location: "/autopilot",
      "set-cookie": [setCookie(req, SESSION_COOKIE, signValue(settings.secret, sessionId, expiresAt), SESSION_SECONDS), clearCookie(req, STATE_COOKIE)],
      "cache-control": "no-store",
    })
    .end();
}

export async function signOut(req: IncomingMessage, res: ServerResponse, sessionId: string, settings: OAuthSettings): Promise<void> {
  await deleteSession(settings.db, sessionId);
  res.writeHead(303, { location: "/autopilot", "set-cookie": clearCookie(req, SESSION_COOKIE), "cache-control": "no-store" }).end();
}

function refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  res
    .writeHead(status, { "content-type": "text/html; charset=utf-8", "set-cookie": clearCookie(req, STATE_COOKIE), "cache-control": "no-store" })
    .end(page("Sign in", signInPage(message), undefined, false));
}
