// /autopilot: the dashboard people sign in to with GitHub (the App's OAuth flow). Each user sees the
// repositories GitHub says they can access, and may press the buttons their permission allows there.
// Routes: GET /autopilot, /autopilot/login, /autopilot/callback, /autopilot/repos/<owner>/<name>[/confirm],
// POST /autopilot/repos/<owner>/<name>/actions, POST /autopilot/logout.
import { listDeadLetters } from "../store/dead-letters.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import type pg from "pg";
import type { CommandPolicy, Permission } from "../commands/authorize.js";
import type { ServerConfig } from "../config/server-config.js";
import type { GitHubEndpoints } from "../github/api/user-installations.js";
import type { Logger } from "../logger.js";
import { audit } from "../store/audit.js";
import { findSession, type DashboardSession, type SessionRepo } from "../store/dashboard-sessions.js";
import { listOpenFindings } from "../analytics/finding-store.js";
import {
  auditTrail,
  environmentFacts,
  hourlyActivity,
  repositoryCharts,
  incidents,
  recentRuns,
  repoHealth,
  timelineMarks,
} from "../store/dashboard-queries.js";
import type { NewRun, Run } from "../store/runs.js";
import { allowedActions, confirmRollbackPage, DASHBOARD_VERBS, type DashboardVerb } from "./dashboard/actions.js";
import { page } from "./dashboard/layout.js";
import { overviewPage } from "./dashboard/overview.js";
import { repositoryPage } from "./dashboard/repository.js";
import { DASHBOARD_OFF, signInPage } from "./dashboard/sign-in.js";
import { callback, signIn, signOut, type OAuthSettings } from "./dashboard/oauth.js";
import { readCookie, SESSION_COOKIE, verifyValue } from "./session-cookie.js";
import { targetsOf } from "../config/targets-of.js";

export interface DashboardOptions {
  db: pg.Pool;
  /** AUTOPILOT_SECRET, the cookies' HMAC key. */
  secret?: string;
  oauth?: { clientId: string; clientSecret: string };
  endpoints: GitHubEndpoints;
  serverConfig: ServerConfig;
  /** The server's command policy (floor and production environments). */
  policy: CommandPolicy;
  enqueue(run: NewRun): Promise<Run | undefined>;
  log: Logger;
}

interface Viewer extends DashboardSession {
  sessionId: string;
}

export function dashboardHandler(options: DashboardOptions) {
  const settings: OAuthSettings | undefined =
    options.oauth && options.secret
      ? {
          ...options.oauth,
          secret: options.secret,
          endpoints: options.endpoints,
          db: options.db,
          allowedOrgs: options.serverConfig.dashboard.allowed_orgs,
          log: options.log,
        }
      : undefined;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!isDashboardPath(url.pathname)) return false;
    if (!settings) {
      res.writeHead(403, { "content-type": "text/plain; charset=utf-8" }).end(DASHBOARD_OFF);
      return true;
    }
    try {
      await route(req, res, url, settings, options);
    } catch (error) {
      options.log.error({ err: error }, "dashboard: the page failed");
      if (!res.headersSent) res.writeHead(503, { "content-type": "text/plain" }).end("The dashboard cannot answer now (the store is unavailable?).\n");
    }
    return true;
  };
}

const isDashboardPath = (path: string) => /^\/autopilot\/?$/.test(path) || /^\/autopilot\/(login|callback|logout|repos\/.+)$/.test(path);

async function route(req: IncomingMessage, res: ServerResponse, url: URL, settings: OAuthSettings, options: DashboardOptions): Promise<void> {
  const { pathname } = url;
  if (req.method === "GET" && pathname === "/autopilot/login") return signIn(req, res, settings);
  if (req.method === "GET" && pathname === "/autopilot/callback") return callback(req, res, url, settings);
  const viewer = await viewerOf(req, settings.secret, options.db);
  if (!viewer) {
    if (req.method !== "GET") return void res.writeHead(401, { "content-type": "text/plain" }).end("Sign in first: /autopilot\n");
    return sendHtml(res, 200, page("Sign in", signInPage(), undefined, false));
  }
  if (req.method === "POST" && pathname === "/autopilot/logout") {
    if (!(await csrfHolds(req, viewer, res))) return;
    return signOut(req, res, viewer.sessionId, settings);
  }
  if (req.method === "GET" && /^\/autopilot\/?$/.test(pathname)) return overview(res, viewer, options);
  const match = /^\/autopilot\/repos\/([^/]+)\/([^/]+)(\/confirm|\/actions)?$/.exec(pathname);
  const repo = match
    ? viewer.repos.find((r) => r.repo.toLowerCase() === `${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}`.toLowerCase())
    : undefined;
  // A repository the user cannot access looks like one that does not exist.
  if (!match || !repo || repo.permission === "none")
    return sendHtml(res, 404, page("Not found", signInPage("No such repository among those you can access."), viewer));
  if (req.method === "GET" && !match[3]) return repository(res, url, viewer, repo, options);
  if (req.method === "GET" && match[3] === "/confirm") {
    const environment = url.searchParams.get("environment") ?? "";
    return sendHtml(res, 200, page(`Roll back ${repo.repo}`, confirmRollbackPage(repo.repo, environment, viewer.csrf), viewer, false));
  }
  if (req.method === "POST" && match[3] === "/actions") return act(req, res, viewer, repo, options);
  res.writeHead(405, { "content-type": "text/plain" }).end("Method not allowed\n");
}

async function viewerOf(req: IncomingMessage, secret: string, db: pg.Pool): Promise<Viewer | undefined> {
  const sessionId = verifyValue(secret, readCookie(req, SESSION_COOKIE));
  if (!sessionId) return undefined;
  const session = await findSession(db, sessionId);
  return session ? { ...session, sessionId } : undefined;
}

function environmentsOf(repo: string, options: DashboardOptions): string[] {
  const bound = targetsOf(options.serverConfig, repo).map((t) => t.environment);
  return [...new Set(bound)];
}

async function overview(res: ServerResponse, viewer: Viewer, options: DashboardOptions): Promise<void> {
  const visible = viewer.repos.filter((r) => r.permission !== "none");
  const names = visible.map((r) => r.repo);
  const [health, facts] = await Promise.all([repoHealth(options.db, names), environmentFacts(options.db, names)]);
  const repos = visible.map((r) => {
    const mine = facts.filter((f) => f.repo.toLowerCase() === r.repo.toLowerCase());
    return {
      repo: r.repo,
      permission: r.permission,
      environments: [...new Set([...environmentsOf(r.repo, options), ...mine.map((f) => f.environment)])],
      health: health.get(r.repo.toLowerCase()),
      facts: mine,
    };
  });
  sendHtml(res, 200, page("Repositories", overviewPage(repos), viewer));
}

/** The repository page's data, every query at once. */
export async function repositoryData(db: pg.Pool, repo: string) {
  const [{ latency, uptime }, marks, open, findings, activity, runs, trail, deadLetters] = await Promise.all([
    repositoryCharts(db, repo),
    timelineMarks(db, repo),
    incidents(db, repo),
    listOpenFindings(db, repo.toLowerCase()),
    hourlyActivity(db, repo),
    recentRuns(db, repo),
    auditTrail(db, repo),
    listDeadLetters(db, { repo, limit: 20 }),
  ]);
  return { latency, uptime, marks, incidents: open, findings, activity, runs, audit: trail, deadLetters };
}

async function repository(res: ServerResponse, url: URL, viewer: Viewer, repo: SessionRepo, options: DashboardOptions): Promise<void> {
  const data = await repositoryData(options.db, repo.repo);
  const queued = url.searchParams.get("queued");
  const refused = url.searchParams.get("refused");
  const notice = queued ? `Queued as run #${queued}; it appears under Runs below.` : refused ? `Refused: ${refused}` : undefined;
  const body = repositoryPage({
    repo: repo.repo,
    webUrl: options.endpoints.web,
    environments: environmentsOf(repo.repo, options).length ? environmentsOf(repo.repo, options) : options.policy.productionEnvironments.slice(0, 1),
    allowed: allowedActions(repo.permission as Permission, options.policy, viewer.login),
    csrf: viewer.csrf,
    notice,
    ...data,
  });
  sendHtml(res, 200, page(repo.repo, body, viewer));
}

/** A button: CSRF checked, the user's permission checked, then the same command run a slash command makes. */
async function act(req: IncomingMessage, res: ServerResponse, viewer: Viewer, repo: SessionRepo, options: DashboardOptions): Promise<void> {
  const form = await readForm(req);
  if (!form || !csrfMatches(form.get("csrf"), viewer.csrf))
    return void res.writeHead(403, { "content-type": "text/plain" }).end("CSRF token missing or wrong: reload the page and try again.\n");
  const verb = form.get("verb") as DashboardVerb;
  const environment = form.get("environment") ?? "";
  const reason = (form.get("reason") ?? "").replace(/[\p{C}]/gu, "").slice(0, 200) || undefined;
  if (!DASHBOARD_VERBS.includes(verb) || !/^[\w.-]+$/.test(environment))
    return void res.writeHead(400, { "content-type": "text/plain" }).end("Unknown action or environment.\n");
  if (verb === "rollback" && form.get("confirm") !== "yes")
    return redirect(res, `${repoUrl(repo.repo)}/confirm?environment=${encodeURIComponent(environment)}`);
  const decision = allowedActions(repo.permission as Permission, options.policy, viewer.login)(verb, environment);
  if (!decision.allowed) {
    await audit(options.db, {
      actor: viewer.login,
      repo: repo.repo,
      environment,
      action: verb,
      outcome: "refused",
      detail: { via: "dashboard", reason: decision.reason },
    });
    return sendHtml(res, 403, page(repo.repo, signInPage(`Refused: ${decision.reason}.`), viewer));
  }
  const run = await options.enqueue({
    kind: "command",
    trigger: "dashboard",
    repo: repo.repo,
    installationId: repo.installationId,
    ref: null,
    commitSha: null,
    requestedBy: viewer.login,
    deliveryId: null,
    params: { verb, environment, ...(verb === "lock" && reason ? { reason } : {}) },
  });
  redirect(res, `${repoUrl(repo.repo)}?queued=${run?.id ?? ""}`);
}

const repoUrl = (repo: string) => `/autopilot/repos/${repo.split("/").map(encodeURIComponent).join("/")}`;

async function csrfHolds(req: IncomingMessage, viewer: Viewer, res: ServerResponse): Promise<boolean> {
  const form = await readForm(req);
  if (form && csrfMatches(form.get("csrf"), viewer.csrf)) return true;
  res.writeHead(403, { "content-type": "text/plain" }).end("CSRF token missing or wrong: reload the page and try again.\n");
  return false;
}

function csrfMatches(given: string | null, expected: string): boolean {
  const a = Buffer.from(given ?? "");
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16_384) return undefined;
  }
  return new URLSearchParams(body);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, "cache-control": "no-store" }).end();
}

function sendHtml(res: ServerResponse, status: number, body: string): void {
  res
    .writeHead(status, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      // Only our own inline style and the refresh script; nothing is loaded from elsewhere.
      "content-security-policy":
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
      "x-content-type-options": "nosniff",
    })
    .end(body);
}
