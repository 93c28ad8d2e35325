// A fake GitHub REST API (GitHub Enterprise layout: everything under /api/v3)
// that the app reaches over real HTTP. It keeps enough state (repos, commits,
// check runs, issues, comments, pulls, deployments) to answer like GitHub,
// checks every JSON request body against GitHub's OpenAPI description, and
// only accepts the credentials GitHub would (an App JWT, or tokens it issued).
import { createHash, createPublicKey, createVerify, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { bigIdFor, FIRST_BIG_ID } from "./big-ids.js";
import { validateRequest } from "./openapi-validator.js";

// ---------------------------------------------------------------------------
// Public types

export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export interface RecordedRequest {
  method: string;
  /** Path as sent, without `/api/v3` and the query string (still URL-encoded). */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
  status: number;
  /** The installation token (or "jwt") the request authenticated with. */
  token?: string;
  installationId?: number;
  /** When it arrived (performance.now()). */
  receivedAt: number;
}

export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
  annotation_level: "notice" | "warning" | "failure";
  message: string;
  title?: string;
  raw_details?: string;
}

export interface CheckRunAction {
  label: string;
  description: string;
  identifier: string;
}

export interface CheckRunState {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  started_at: string | null;
  completed_at: string | null;
  details_url: string | null;
  external_id: string | null;
  output: { title: string | null; summary: string | null; text: string | null; annotations: Annotation[] };
  actions: CheckRunAction[];
  /** How many PATCHes were applied after the create. */
  updates: number;
}

export interface PullSpec {
  number: number;
  merged_at?: string | null;
  title?: string;
  user?: string;
  /** Who merged it (`merged_by`); none when unset. */
  mergedBy?: string;
  state?: "open" | "closed";
  headRef?: string;
  baseRef?: string;
  body?: string;
}

export interface CommentState {
  id: number;
  issueNumber: number;
  body: string;
  user: string;
  created_at: string;
  updated_at: string;
  reactions: Array<{ id: number; content: string; user: string }>;
}

export interface IssueState {
  number: number;
  id: number;
  title: string;
  body: string | null;
  state: "open" | "closed";
  state_reason: string | null;
  labels: string[];
  assignees: string[];
  user: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface DeploymentState {
  id: number;
  sha: string;
  ref: string;
  environment: string;
  task: string;
  description: string | null;
  payload: unknown;
  statuses: Array<{ id: number; state: string; description?: string; environment_url?: string; log_url?: string }>;
}

export interface FakeGitHubOptions {
  /** The App id GET /app reports; when set, a JWT's `iss` must equal it. Default 1. */
  appId?: number;
  /** When set, App JWTs must be signed by this key (else they are only decoded and their times checked). */
  privateKey?: string;
  /** The App's slug; its bot user is `<slug>[bot]`. */
  appSlug?: string;
}

// ---------------------------------------------------------------------------
// Internal state

interface TreeEntry {
  name: string;
  type: "blob" | "tree";
  mode: "100644" | "040000";
  sha: string;
}

interface Commit {
  sha: string;
  tree: string;
  parents: string[];
  message: string;
  date: string;
}

interface Pull extends PullSpec {
  headSha: string;
}

interface Review {
  id: number;
  user: string;
  state: string;
  commit_id: string;
  submitted_at: string;
}

interface Repo {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  private: boolean;
  defaultBranch: string;
  installationId?: number;
  createdAt: string;
  commits: Map<string, Commit>;
  branches: Map<string, string>;
  permissions: Map<string, Permission>;
  pullsForCommit: Map<string, number[]>;
  pulls: Map<number, Pull>;
  reviews: Map<number, Review[]>;
  issues: Map<number, IssueState>;
  comments: CommentState[];
  checkRuns: Map<number, CheckRunState>;
  deployments: DeploymentState[];
}

interface Ctx {
  req: IncomingMessage;
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  installationId?: number;
  /** The signed-in user of a user-to-server token (the App's OAuth flow). */
  userLogin?: string;
}

interface Reply {
  status: number;
  body?: unknown;
  /** Sent as-is instead of JSON (raw media type). */
  raw?: Buffer;
  headers?: Record<string, string>;
}

type Handler = (ctx: Ctx) => Reply;

interface Route {
  method: string;
  regex: RegExp;
  keys: string[];
  handler: Handler;
  auth: "jwt" | "token" | "user";
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: unknown[],
  ) {
    super(message);
  }
}

const API_PREFIX = "/api/v3";
const EPOCH = Date.parse("2025-01-01T00:00:00Z");
const MAX_COMMENT = 65536;
const MAX_CONTENT_INLINE = 1024 * 1024;

const notFound = (): HttpError => new HttpError(404, "Not Found");
const invalid = (message: string): HttpError => new HttpError(422, message);

// ---------------------------------------------------------------------------
// Git object hashing: real SHAs, so callers can compare with `git hash-object`.

function gitHash(type: string, content: Buffer): string {
  return createHash("sha1").update(`${type} ${content.length}\0`).update(content).digest("hex");
}

export function gitBlobSha(content: string | Buffer): string {
  return gitHash("blob", typeof content === "string" ? Buffer.from(content) : content);
}

/** Git sorts tree entries by name, comparing a subtree's name as if it ended in "/". */
function sortTreeEntries(entries: TreeEntry[]): TreeEntry[] {
  const key = (e: TreeEntry) => (e.type === "tree" ? `${e.name}/` : e.name);
  return entries.sort((a, b) => Buffer.compare(Buffer.from(key(a)), Buffer.from(key(b))));
}

function treeObject(entries: TreeEntry[]): Buffer {
  return Buffer.concat(entries.flatMap((e) => [Buffer.from(`${e.mode === "040000" ? "40000" : e.mode} ${e.name}\0`), Buffer.from(e.sha, "hex")]));
}

function base64Lines(data: Buffer): string {
  // GitHub wraps base64 at 60 columns; clients must tolerate the newlines.
  return (data.toString("base64").match(/.{1,60}/g) ?? []).join("\n") + (data.length ? "\n" : "");
}

// ---------------------------------------------------------------------------

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  readonly url: string;
  readonly host: string;

  private readonly repos = new Map<string, Repo>();
  private readonly blobs = new Map<string, Buffer>();
  private readonly trees = new Map<string, TreeEntry[]>();
  private readonly tokens = new Map<string, { installationId: number; expiresAt: number }>();
  private readonly failures: Array<{ method: string; pattern: RegExp; status: number; remaining: number; retryAfterSeconds?: number }> = [];
  private readonly lateAnswers: Array<{ method: string; pattern: RegExp; ms: number; remaining: number }> = [];
  /** What x-ratelimit-remaining says on every answer (of 5000). */
  private rateRemaining = 4999;
  private readonly routes: Route[] = [];
  private readonly appSlug: string;
  private readonly appId: number;
  /** Only an explicitly configured App id is checked against the JWT's `iss`. */
  private readonly checkIssuer: boolean;
  private readonly publicKey?: ReturnType<typeof createPublicKey>;
  private nextIdValue = FIRST_BIG_ID;
  private clock = 0;
  private oauthApp?: { clientId: string; clientSecret: string };
  /** Who the browser is signed in to GitHub as: the user the authorize page hands a code for. */
  private browserUser?: string;
  private readonly oauthCodes = new Map<string, { login: string; clientId: string; redirectUri: string }>();
  private readonly userTokens = new Map<string, string>();

  private constructor(
    private readonly server: Server,
    opts: FakeGitHubOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.host = `127.0.0.1:${port}`;
    this.url = `http://${this.host}`;
    this.appSlug = opts.appSlug ?? "autopilot";
    this.appId = opts.appId ?? 1;
    this.checkIssuer = opts.appId !== undefined;
    if (opts.privateKey) this.publicKey = createPublicKey(opts.privateKey);
    this.registerRoutes();
  }

  static async start(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const fake = new FakeGitHub(server, opts);
    server.on("request", (req, res) => void fake.handle(req, res));
    return fake;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** `http://127.0.0.1:PORT/api/v3`, Octokit's baseUrl. */
  get apiUrl(): string {
    return this.url + API_PREFIX;
  }

  /** The App's bot login, author of everything the app writes. */
  get botLogin(): string {
    return `${this.appSlug}[bot]`;
  }

  // -------------------------------------------------------------------------
  // Test-facing state API

  /** Many repositories of one installation, each with `files` committed on main (a fleet for pacing tests). */
  addReposWithFiles(fullNames: string[], installationId: number, files: Record<string, string>): void {
    for (const fullName of fullNames) {
      this.addRepo(fullName, { installationId });
      this.commit(fullName, files, { branch: "main" });
    }
  }

  addRepo(fullName: string, opts: { installationId?: number; defaultBranch?: string; private?: boolean; id?: number } = {}): void {
    const [owner, name] = fullName.split("/");
    if (!owner || !name) throw new Error(`repository must be "owner/name", got "${fullName}"`);
    this.repos.set(fullName.toLowerCase(), {
      id: opts.id ?? this.nextId(),
      owner,
      name,
      fullName,
      private: opts.private ?? false,
      defaultBranch: opts.defaultBranch ?? "main",
      installationId: opts.installationId,
      createdAt: this.now(),
      commits: new Map(),
      branches: new Map(),
      permissions: new Map(),
      pullsForCommit: new Map(),
      pulls: new Map(),
      reviews: new Map(),
      issues: new Map(),
      comments: [],
      checkRuns: new Map(),
      deployments: [],
    });
  }

  /** Records a full snapshot of the repo's files as a new commit on `branch` and returns its SHA. */
  commit(fullName: string, files: Record<string, string | Buffer>, opts: { branch?: string; message?: string } = {}): string {
    const repo = this.repoOrThrow(fullName);
    const branch = opts.branch ?? repo.defaultBranch;
    const parent = repo.branches.get(branch);
    const tree = this.writeTree(files);
    const date = this.now();
    const parents = parent ? [parent] : [];
    const message = opts.message ?? `Update ${Object.keys(files).length} files`;
    const seconds = Math.floor(Date.parse(date) / 1000);
    const text =
      `tree ${tree}\n` +
      parents.map((p) => `parent ${p}\n`).join("") +
      `author Octo Cat <octocat@example.com> ${seconds} +0000\n` +
      `committer Octo Cat <octocat@example.com> ${seconds} +0000\n\n${message}\n`;
    const sha = gitHash("commit", Buffer.from(text));
    repo.commits.set(sha, { sha, tree, parents, message, date });
    repo.branches.set(branch, sha);
    return sha;
  }

  setPermission(fullName: string, login: string, permission: Permission): void {
    this.repoOrThrow(fullName).permissions.set(login.toLowerCase(), permission);
  }

  /** The pull requests GitHub associates with a commit; also creates/updates those pulls. */
  setPullsForCommit(fullName: string, sha: string, pulls: PullSpec[]): void {
    const repo = this.repoOrThrow(fullName);
    repo.pullsForCommit.set(
      sha,
      pulls.map((p) => p.number),
    );
    for (const spec of pulls) {
      const existing = repo.pulls.get(spec.number);
      repo.pulls.set(spec.number, { ...existing, ...spec, headSha: existing?.headSha ?? sha });
    }
  }

  setReviews(
    fullName: string,
    pullNumber: number,
    reviews: Array<{ user: string; state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED"; commit_id?: string }>,
  ): void {
    const repo = this.repoOrThrow(fullName);
    const headSha = repo.pulls.get(pullNumber)?.headSha ?? "";
    repo.reviews.set(
      pullNumber,
      reviews.map((r) => ({ id: this.nextId(), user: r.user, state: r.state, commit_id: r.commit_id ?? headSha, submitted_at: this.now() })),
    );
  }

  /** Seeds an issue (e.g. the one a slash-command comment is posted on). Returns its number. */
  addIssue(
    fullName: string,
    opts: { number?: number; title?: string; body?: string; labels?: string[]; state?: "open" | "closed"; user?: string; closedAt?: string } = {},
  ): number {
    const repo = this.repoOrThrow(fullName);
    const issue = this.newIssue(repo, {
      number: opts.number,
      title: opts.title ?? "Seeded issue",
      body: opts.body ?? null,
      labels: opts.labels ?? [],
      user: opts.user ?? "octocat",
    });
    // `closedAt` backdates the closing (and the last update), e.g. an incident resolved long ago.
    if (opts.state === "closed") {
      const closedAt = opts.closedAt ?? this.now();
      Object.assign(issue, { state: "closed", state_reason: "completed", closed_at: closedAt, updated_at: closedAt });
    }
    return issue.number;
  }

  /** Seeds a comment (creating an open issue if the number is unknown). Returns the comment id. */
  addComment(fullName: string, issueNumber: number, opts: { body: string; user?: string; id?: number }): number {
    const repo = this.repoOrThrow(fullName);
    if (!this.issueExists(repo, issueNumber)) this.addIssue(fullName, { number: issueNumber });
    return this.newComment(repo, issueNumber, opts.body, opts.user ?? "octocat", opts.id).id;
  }

  checkRuns(fullName: string): CheckRunState[] {
    return [...this.repoOrThrow(fullName).checkRuns.values()].map((r) => structuredClone(r));
  }

  comments(fullName: string, issueNumber: number): Array<{ id: number; body: string; user: string; reactions: string[] }> {
    return this.repoOrThrow(fullName)
      .comments.filter((c) => c.issueNumber === issueNumber)
      .map((c) => ({ id: c.id, body: c.body, user: c.user, reactions: c.reactions.map((r) => r.content) }));
  }

  issues(fullName: string): IssueState[] {
    return [...this.repoOrThrow(fullName).issues.values()].map((i) => structuredClone(i));
  }

  deployments(fullName: string): DeploymentState[] {
    return this.repoOrThrow(fullName).deployments.map((d) => structuredClone(d));
  }

  /**
   * How the contents endpoint served `path` of a repository: `full` reads (200, counted against the
   * rate limit) and `notModified` (304 to an If-None-Match that still matched, free on GitHub).
   */
  contentReads(fullName: string, path: string): { full: number; notModified: number; conditionalFull: number } {
    const wanted = `/repos/${fullName}/contents/${path}`.toLowerCase();
    const reads = this.requests.filter((r) => r.method === "GET" && decodeURIComponent(r.path).toLowerCase() === wanted);
    return {
      full: reads.filter((r) => r.status === 200).length,
      notModified: reads.filter((r) => r.status === 304).length,
      // Full reads that carried an ETag which no longer matched: the file had changed.
      conditionalFull: reads.filter((r) => r.status === 200 && r.headers["if-none-match"]).length,
    };
  }

  /** Answer the next `times` requests matching method + path (without /api/v3) with `status`. */
  failNext(method: string, pathPattern: RegExp, status: number, times = 1): void {
    this.failures.push({ method: method.toUpperCase(), pattern: pathPattern, status, remaining: times });
  }

  /** A slow GitHub: the next `times` requests matching method + path are answered `ms` late. */
  answerLate(method: string, pathPattern: RegExp, ms: number, times = 1): void {
    this.lateAnswers.push({ method: method.toUpperCase(), pattern: pathPattern, ms, remaining: times });
  }

  /** GitHub's secondary rate limit: the next `times` matching requests get a 403 with `retry-after`. */
  secondaryLimitNext(method: string, pathPattern: RegExp, retryAfterSeconds: number, times = 1): void {
    this.failures.push({ method: method.toUpperCase(), pattern: pathPattern, status: 403, remaining: times, retryAfterSeconds });
  }

  /** The primary budget every answer reports from now on (x-ratelimit-remaining, of 5000). */
  setRateRemaining(remaining: number): void {
    this.rateRemaining = remaining;
  }

  /** The App's OAuth credentials: the only client the OAuth endpoints accept. */
  setOAuthApp(clientId: string, clientSecret: string): void {
    this.oauthApp = { clientId, clientSecret };
  }

  /** The user signed in to GitHub in the browser: /login/oauth/authorize approves the App for them at once. */
  signInAs(login: string): void {
    this.browserUser = login;
  }

  /** The user-to-server tokens handed out so far (to prove none leaks into logs or pages). */
  issuedUserTokens(): string[] {
    return [...this.userTokens.keys()];
  }

  /** Forget every issued token, as if they expired: the next request must re-authenticate. */
  revokeTokens(): void {
    this.tokens.clear();
  }

  // -------------------------------------------------------------------------
  // HTTP plumbing

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? "/", this.url);
    const method = (req.method ?? "GET").toUpperCase();
    const path = url.pathname.startsWith(API_PREFIX) ? url.pathname.slice(API_PREFIX.length) || "/" : url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const record: RecordedRequest = { method, path, query, headers: req.headers, body: undefined, status: 0, receivedAt: performance.now() };
    const late = this.lateAnswers.find((l) => l.remaining > 0 && l.method === method && l.pattern.test(path));
    if (late) {
      late.remaining -= 1;
      await new Promise((resolve) => setTimeout(resolve, late.ms));
    }
    let reply: Reply;
    try {
      record.body = parseJsonBody(req, raw);
      if (url.pathname.startsWith("/login/oauth/")) reply = this.oauth(method, url, record.body);
      else if (!url.pathname.startsWith(API_PREFIX)) throw notFound();
      else reply = this.dispatch({ req, method, path, params: {}, query, body: record.body }, record);
    } catch (error) {
      reply = errorReply(error);
    }
    record.status = reply.status;
    this.requests.push(record);
    this.send(res, reply);
  }

  /**
   * GitHub's web flow: the authorize page redirects back with a one-time code and the caller's `state`
   * (the fake's browser user approves at once); the code, with the client's id and secret and the same
   * redirect_uri, is traded once for a user token.
   */
  private oauth(method: string, url: URL, body: unknown): Reply {
    if (method === "GET" && url.pathname === "/login/oauth/authorize") {
      const clientId = url.searchParams.get("client_id") ?? "";
      const redirectUri = url.searchParams.get("redirect_uri") ?? "";
      if (!this.oauthApp || clientId !== this.oauthApp.clientId) return { status: 404, body: { message: "unknown client_id" } };
      if (!/^https?:\/\//.test(redirectUri)) return { status: 400, body: { message: "redirect_uri must be an http(s) URL" } };
      if (!this.browserUser) return { status: 401, body: { message: "no user is signed in to the fake GitHub (call signInAs)" } };
      const code = randomBytes(10).toString("hex");
      this.oauthCodes.set(code, { login: this.browserUser, clientId, redirectUri });
      const back = new URL(redirectUri);
      back.searchParams.set("code", code);
      const state = url.searchParams.get("state");
      if (state !== null) back.searchParams.set("state", state);
      return { status: 302, headers: { location: back.toString() } };
    }
    if (method === "POST" && url.pathname === "/login/oauth/access_token") {
      const form = (typeof body === "string" ? Object.fromEntries(new URLSearchParams(body)) : (body ?? {})) as Record<string, unknown>;
      const grant = this.oauthCodes.get(String(form.code ?? ""));
      const fail = (error: string) => ({ status: 200, body: { error, error_description: error.replace(/_/g, " ") } });
      if (!this.oauthApp || form.client_id !== this.oauthApp.clientId || form.client_secret !== this.oauthApp.clientSecret)
        return fail("incorrect_client_credentials");
      if (!grant || grant.clientId !== form.client_id) return fail("bad_verification_code");
      if (form.redirect_uri !== undefined && form.redirect_uri !== grant.redirectUri) return fail("redirect_uri_mismatch");
      this.oauthCodes.delete(String(form.code));
      const token = `ghu_${randomBytes(18).toString("base64url")}`;
      this.userTokens.set(token, grant.login);
      return { status: 200, body: { access_token: token, token_type: "bearer", scope: "" } };
    }
    throw notFound();
  }

  private dispatch(ctx: Ctx, record: RecordedRequest): Reply {
    const failure = this.takeFailure(ctx.method, ctx.path);
    if (failure?.retryAfterSeconds !== undefined) {
      return {
        status: 403,
        headers: { "retry-after": String(failure.retryAfterSeconds) },
        body: { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." },
      };
    }
    if (failure) return { status: failure.status, body: { message: `Injected failure (${failure.status})` } };
    const match = this.matchRoute(ctx.method, ctx.path);
    this.authenticate(ctx, match?.route.auth ?? (/^\/app(\/|$)/.test(ctx.path) ? "jwt" : "token"), record);
    this.validateBody(ctx);
    if (!match) throw notFound();
    return match.route.handler({ ...ctx, params: match.params });
  }

  private takeFailure(method: string, path: string) {
    const failure = this.failures.find((f) => f.remaining > 0 && f.method === method && f.pattern.test(path));
    if (!failure) return undefined;
    failure.remaining -= 1;
    return failure;
  }

  private validateBody(ctx: Ctx): void {
    const errors = validateRequest(ctx.method, ctx.path, ctx.body);
    if (errors.length === 0) return;
    this.violations.push(...errors);
    throw new HttpError(422, "Invalid request.", errors);
  }

  /** A semantic rule GitHub enforces beyond the schema: a 422, recorded like a schema violation. */
  private rule(ok: boolean, ctx: Ctx, message: string): void {
    if (ok) return;
    this.violations.push(`${ctx.method} ${ctx.path}: ${message}`);
    throw invalid(message);
  }

  private send(res: ServerResponse, reply: Reply): void {
    const headers: Record<string, string> = {
      "x-github-request-id": randomBytes(8).toString("hex").toUpperCase(),
      "x-github-media-type": "github.v3; format=json",
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": String(this.rateRemaining),
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
      ...reply.headers,
    };
    if (reply.raw) {
      res.writeHead(reply.status, { "content-type": "text/plain; charset=utf-8", ...headers });
      res.end(reply.raw);
      return;
    }
    if (reply.status === 204 || reply.body === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    res.writeHead(reply.status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(reply.body));
  }

  // -------------------------------------------------------------------------
  // Authentication

  private authenticate(ctx: Ctx, kind: "jwt" | "token" | "user", record: RecordedRequest): void {
    const header = ctx.req.headers.authorization ?? "";
    const [scheme, credential] = header.split(/\s+/, 2);
    if (!scheme || !credential) throw new HttpError(401, "Requires authentication");
    if (kind === "user") {
      // /user/* answers only a user-to-server token, never an installation token or the App's JWT.
      const login = ["token", "bearer"].includes(scheme.toLowerCase()) ? this.userTokens.get(credential) : undefined;
      if (!login) throw new HttpError(401, "Bad credentials");
      record.token = credential;
      ctx.userLogin = login;
      return;
    }
    if (kind === "jwt") {
      if (scheme.toLowerCase() !== "bearer") throw new HttpError(401, "A JSON web token could not be decoded");
      this.verifyJwt(credential);
      record.token = "jwt";
      return;
    }
    if (!["token", "bearer"].includes(scheme.toLowerCase())) throw new HttpError(401, "Bad credentials");
    const token = this.tokens.get(credential);
    if (!token || token.expiresAt < Date.now()) throw new HttpError(401, "Bad credentials");
    record.token = credential;
    record.installationId = ctx.installationId = token.installationId;
  }

  private verifyJwt(jwt: string): void {
    const parts = jwt.split(".");
    const decode = (s: string | undefined): Record<string, unknown> => {
      try {
        return JSON.parse(Buffer.from(s ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
      } catch {
        throw new HttpError(401, "A JSON web token could not be decoded");
      }
    };
    if (parts.length !== 3) throw new HttpError(401, "A JSON web token could not be decoded");
    const header = decode(parts[0]);
    const claims = decode(parts[1]);
    if (header.alg !== "RS256") throw new HttpError(401, "'alg' must be RS256");
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp, iss } = claims as { iat?: number; exp?: number; iss?: unknown };
    if (typeof iat !== "number" || iat > now + 60)
      throw new HttpError(401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
    if (typeof exp !== "number" || exp < now)
      throw new HttpError(401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires");
    if (exp - iat > 660) throw new HttpError(401, "'Expiration time' claim ('exp') is too far in the future");
    if (this.checkIssuer && String(iss) !== String(this.appId)) throw new HttpError(401, `'Issuer' claim ('iss') must be ${this.appId}`);
    if (!this.publicKey) return;
    const verifier = createVerify("RSA-SHA256").update(`${parts[0]}.${parts[1]}`);
    if (!verifier.verify(this.publicKey, Buffer.from(parts[2] ?? "", "base64url"))) {
      throw new HttpError(401, "A JSON web token could not be decoded");
    }
  }

  // -------------------------------------------------------------------------
  // Routing

  /** `:name` matches one segment, `*name` the rest of the path (maybe empty). */
  private on(method: string, pattern: string, handler: Handler, auth: "jwt" | "token" | "user" = "token"): void {
    const keys: string[] = [];
    const source = pattern.replace(/[:*](\w+)/g, (m, key: string) => {
      keys.push(key);
      return m.startsWith("*") ? "(.*)" : "([^/]+)";
    });
    this.routes.push({ method, regex: new RegExp(`^${source}/?$`), keys, handler, auth });
  }

  private matchRoute(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.regex.exec(path);
      if (!m) continue;
      const params = Object.fromEntries(route.keys.map((k, i) => [k, decodeURIComponent(m[i + 1] ?? "")]));
      return { route, params };
    }
    return undefined;
  }

  private registerRoutes(): void {
    // App (JWT)
    this.on("GET", "/app", () => ({ status: 200, body: this.appJson() }), "jwt");
    this.on(
      "GET",
      "/app/installations",
      (c) =>
        this.paginate(
          c,
          this.installationIds().map((id) => this.installationJson(id)),
        ),
      "jwt",
    );
    this.on("POST", "/app/installations/:id/access_tokens", (c) => this.createToken(c), "jwt");
    this.on("GET", "/repos/:owner/:repo/installation", (c) => this.repoInstallation(c), "jwt");
    // Installation (token)
    this.on("GET", "/installation/repositories", (c) => this.installationRepositories(c));
    // The signed-in user (user-to-server token from the OAuth flow)
    this.on("GET", "/user", (c) => ({ status: 200, body: this.userJson(c.userLogin ?? "") }), "user");
    this.on("GET", "/user/installations", (c) => this.userInstallations(c), "user");
    this.on("GET", "/user/installations/:id/repositories", (c) => this.userInstallationRepositories(c), "user");
    this.on("GET", "/repos/:owner/:repo", (c) => ({ status: 200, body: this.repoJson(this.repoFor(c)) }));
    // Git data
    this.on("GET", "/repos/:owner/:repo/contents/*path", (c) => conditional(c, this.getContents(c)));
    this.on("GET", "/repos/:owner/:repo/git/trees/*sha", (c) => this.getTree(c));
    this.on("GET", "/repos/:owner/:repo/git/blobs/:sha", (c) => this.getBlob(c));
    this.on("GET", "/repos/:owner/:repo/git/ref/*ref", (c) => this.getRef(c));
    this.on("GET", "/repos/:owner/:repo/branches/*branch", (c) => this.getBranch(c));
    this.on("GET", "/repos/:owner/:repo/compare/*basehead", (c) => this.compare(c));
    // Check runs (the /check-runs and /pulls suffixes must win over GET /commits/*ref)
    this.on("POST", "/repos/:owner/:repo/check-runs", (c) => this.createCheckRun(c));
    this.on("PATCH", "/repos/:owner/:repo/check-runs/:id", (c) => this.updateCheckRun(c));
    this.on("GET", "/repos/:owner/:repo/check-runs/:id", (c) => ({ status: 200, body: this.checkRunJson(this.repoFor(c), this.checkRunFor(c)) }));
    this.on("GET", "/repos/:owner/:repo/commits/*ref/check-runs", (c) => this.listCheckRuns(c));
    this.on("GET", "/repos/:owner/:repo/commits/*sha/pulls", (c) => this.pullsForCommit(c));
    this.on("GET", "/repos/:owner/:repo/commits/*ref", (c) => this.getCommit(c));
    // Pulls
    this.on("GET", "/repos/:owner/:repo/pulls/:n/reviews", (c) => this.listReviews(c));
    this.on("GET", "/repos/:owner/:repo/pulls/:n", (c) => ({ status: 200, body: this.pullJson(this.repoFor(c), this.pullFor(c)) }));
    // Issues and comments (literal /issues/comments before /issues/:n)
    this.on("GET", "/repos/:owner/:repo/issues/comments/:id", (c) => ({
      status: 200,
      body: this.commentJson(this.repoFor(c), this.commentFor(c, this.repoFor(c))),
    }));
    this.on("PATCH", "/repos/:owner/:repo/issues/comments/:id", (c) => this.updateComment(c));
    this.on("POST", "/repos/:owner/:repo/issues/comments/:id/reactions", (c) => this.addReaction(c));
    this.on("GET", "/repos/:owner/:repo/issues", (c) => this.listIssues(c));
    this.on("POST", "/repos/:owner/:repo/issues", (c) => this.createIssue(c));
    this.on("GET", "/repos/:owner/:repo/issues/:n", (c) => this.getIssue(c));
    this.on("PATCH", "/repos/:owner/:repo/issues/:n", (c) => this.updateIssue(c));
    this.on("GET", "/repos/:owner/:repo/issues/:n/comments", (c) => this.listComments(c));
    this.on("POST", "/repos/:owner/:repo/issues/:n/comments", (c) => this.createComment(c));
    this.on("POST", "/repos/:owner/:repo/issues/:n/labels", (c) => this.addLabels(c));
    // Collaborators, deployments
    this.on("GET", "/repos/:owner/:repo/collaborators/:user/permission", (c) => this.permission(c));
    this.on("POST", "/repos/:owner/:repo/deployments", (c) => this.createDeployment(c));
    this.on("POST", "/repos/:owner/:repo/deployments/:id/statuses", (c) => this.createDeploymentStatus(c));
  }

  // -------------------------------------------------------------------------
  // Helpers

  private nextId(): number {
    return this.nextIdValue++;
  }

  /** Real time, strictly increasing, so timestamps (and commit SHAs) are distinct and compare with the app's clock. */
  private now(): string {
    this.clock = Math.max(Date.now(), this.clock + 1);
    return new Date(this.clock).toISOString();
  }

  private repoOrThrow(fullName: string): Repo {
    const repo = this.repos.get(fullName.toLowerCase());
    if (!repo) throw new Error(`FakeGitHub: unknown repository ${fullName}; call addRepo first`);
    return repo;
  }

  /**
   * The repo named by the URL, as the caller's installation sees it: another
   * installation's repo is invisible (404), except for reads of public repos.
   */
  private repoFor(ctx: Ctx): Repo {
    const repo = this.repos.get(`${ctx.params.owner}/${ctx.params.repo}`.toLowerCase());
    if (!repo) throw notFound();
    if (ctx.installationId !== undefined && repo.installationId !== ctx.installationId) {
      if (repo.private || ctx.method !== "GET") throw notFound();
    }
    return repo;
  }

  private paginate(ctx: Ctx, items: unknown[], wrap?: (page: unknown[]) => unknown): Reply {
    const perPage = Math.min(Math.max(Number(ctx.query.per_page) || 30, 1), 100);
    const page = Math.max(Number(ctx.query.page) || 1, 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const link = (p: number, rel: string) => {
      const q = new URLSearchParams({ ...ctx.query, per_page: String(perPage), page: String(p) });
      return `<${this.apiUrl}${ctx.path}?${q}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(page - 1, "prev"));
    if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
    if (page > 1) links.push(link(1, "first"));
    return { status: 200, body: wrap ? wrap(slice) : slice, headers: links.length ? { link: links.join(", ") } : {} };
  }

  private userJson(login: string): Record<string, unknown> {
    const isBot = login.endsWith("[bot]");
    return {
      login,
      id: idFromString(login),
      node_id: `U_${login}`,
      type: isBot ? "Bot" : "User",
      site_admin: false,
      html_url: `https://github.com/${isBot ? `apps/${login.slice(0, -5)}` : login}`,
      url: `${this.apiUrl}/users/${encodeURIComponent(login)}`,
      avatar_url: `https://avatars.githubusercontent.com/u/${idFromString(login)}?v=4`,
    };
  }

  /** GitHub names the app behind what an app's token wrote; a person's own writing has none. */
  private performedVia(login: string): Record<string, unknown> | null {
    return login === this.botLogin ? this.appJson() : null;
  }

  // -------------------------------------------------------------------------
  // App and installations

  private appJson(): Record<string, unknown> {
    return {
      id: this.appId,
      slug: this.appSlug,
      node_id: `A_${this.appId}`,
      name: this.appSlug,
      description: "Fake app",
      owner: this.userJson("octocat"),
      external_url: "https://example.org",
      html_url: `https://github.com/apps/${this.appSlug}`,
      created_at: new Date(EPOCH).toISOString(),
      updated_at: new Date(EPOCH).toISOString(),
      permissions: { checks: "write", contents: "read", issues: "write", pull_requests: "read", deployments: "write", metadata: "read" },
      events: ["push", "pull_request", "check_run", "check_suite", "issue_comment"],
      installations_count: this.installationIds().length,
    };
  }

  private installationIds(): number[] {
    const ids = [...this.repos.values()].map((r) => r.installationId).filter((id): id is number => id !== undefined);
    return [...new Set(ids)];
  }

  private installationJson(id: number): Record<string, unknown> {
    const owner = [...this.repos.values()].find((r) => r.installationId === id)?.owner ?? "octocat";
    return {
      id,
      account: { ...this.userJson(owner), type: "Organization" },
      app_id: this.appId,
      app_slug: this.appSlug,
      target_id: idFromString(owner),
      target_type: "Organization",
      repository_selection: "selected",
      access_tokens_url: `${this.apiUrl}/app/installations/${id}/access_tokens`,
      repositories_url: `${this.apiUrl}/installation/repositories`,
      html_url: `https://github.com/organizations/${owner}/settings/installations/${id}`,
      permissions: this.appJson().permissions,
      events: this.appJson().events,
      created_at: new Date(EPOCH).toISOString(),
      updated_at: new Date(EPOCH).toISOString(),
      single_file_name: null,
      suspended_at: null,
      suspended_by: null,
    };
  }

  private createToken(ctx: Ctx): Reply {
    const id = Number(ctx.params.id);
    if (!this.installationIds().includes(id)) throw notFound();
    const token = `ghs_${randomBytes(18).toString("base64url").replace(/[-_]/g, "x")}`;
    const expiresAt = Date.now() + 3600_000;
    this.tokens.set(token, { installationId: id, expiresAt });
    return {
      status: 201,
      body: {
        token,
        expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
        permissions: this.appJson().permissions,
        repository_selection: "selected",
      },
    };
  }

  private repoInstallation(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    if (repo.installationId === undefined) throw notFound();
    return { status: 200, body: this.installationJson(repo.installationId) };
  }

  private installationRepositories(ctx: Ctx): Reply {
    const repos = [...this.repos.values()].filter((r) => r.installationId === ctx.installationId);
    return this.paginate(
      ctx,
      repos.map((r) => this.repoJson(r)),
      (page) => ({
        total_count: repos.length,
        repository_selection: "selected",
        repositories: page,
      }),
    );
  }

  /** The user's role on a repository, as GET .../collaborators/:user/permission reports it. */
  private roleOf(repo: Repo, login: string): Permission {
    return repo.permissions.get(login.toLowerCase()) ?? (repo.private ? "none" : "read");
  }

  /** Repositories of an installation the user has explicit access to (GitHub lists no others). */
  private userRepos(login: string, installationId?: number): Repo[] {
    return [...this.repos.values()].filter(
      (r) =>
        r.installationId !== undefined &&
        (installationId === undefined || r.installationId === installationId) &&
        (r.permissions.get(login.toLowerCase()) ?? "none") !== "none",
    );
  }

  private userInstallations(ctx: Ctx): Reply {
    const ids = [...new Set(this.userRepos(ctx.userLogin ?? "").map((r) => r.installationId!))];
    return this.paginate(
      ctx,
      ids.map((id) => this.installationJson(id)),
      (page) => ({ total_count: ids.length, installations: page }),
    );
  }

  private userInstallationRepositories(ctx: Ctx): Reply {
    const login = ctx.userLogin ?? "";
    const repos = this.userRepos(login, Number(ctx.params.id));
    if (repos.length === 0) throw notFound();
    const flags = (role: Permission) => {
      const rank = ["none", "read", "triage", "write", "maintain", "admin"].indexOf(role);
      return { admin: rank >= 5, maintain: rank >= 4, push: rank >= 3, triage: rank >= 2, pull: rank >= 1 };
    };
    return this.paginate(
      ctx,
      repos.map((r) => ({ ...this.repoJson(r), permissions: flags(this.roleOf(r, login)) })),
      (page) => ({ total_count: repos.length, repository_selection: "selected", repositories: page }),
    );
  }

  private repoJson(repo: Repo): Record<string, unknown> {
    const api = `${this.apiUrl}/repos/${repo.fullName}`;
    return {
      id: repo.id,
      node_id: `R_${repo.id}`,
      name: repo.name,
      full_name: repo.fullName,
      private: repo.private,
      visibility: repo.private ? "private" : "public",
      owner: { ...this.userJson(repo.owner), type: "Organization" },
      html_url: `https://github.com/${repo.fullName}`,
      url: api,
      description: null,
      fork: false,
      archived: false,
      disabled: false,
      default_branch: repo.defaultBranch,
      created_at: repo.createdAt,
      updated_at: repo.createdAt,
      pushed_at: repo.createdAt,
      permissions: { admin: false, maintain: false, push: false, triage: false, pull: true },
    };
  }

  // -------------------------------------------------------------------------
  // Git data

  /** Writes blobs and (nested) trees for a flat path → content map; returns the root tree SHA. */
  private writeTree(files: Record<string, string | Buffer>): string {
    const root: DirNode = new Map();
    for (const [rawPath, content] of Object.entries(files)) {
      const parts = rawPath
        .replace(/^\.?\//, "")
        .split("/")
        .filter(Boolean);
      let dir = root;
      for (const part of parts.slice(0, -1)) {
        let child = dir.get(part);
        if (!(child instanceof Map)) dir.set(part, (child = new Map()));
        dir = child;
      }
      const data = typeof content === "string" ? Buffer.from(content) : content;
      const sha = gitBlobSha(data);
      this.blobs.set(sha, data);
      dir.set(parts[parts.length - 1] ?? "", sha);
    }
    return this.writeDir(root);
  }

  private writeDir(dir: DirNode): string {
    const entries: TreeEntry[] = [...dir].map(([name, child]) =>
      child instanceof Map ? { name, type: "tree", mode: "040000", sha: this.writeDir(child) } : { name, type: "blob", mode: "100644", sha: child },
    );
    sortTreeEntries(entries);
    const sha = gitHash("tree", treeObject(entries));
    this.trees.set(sha, entries);
    return sha;
  }

  /** Branch name, `refs/heads/x`, `heads/x`, full SHA or a unique prefix of ≥ 7 characters. */
  private resolveCommit(repo: Repo, ref: string | undefined): Commit | undefined {
    const name = (ref ?? repo.defaultBranch).replace(/^refs\//, "").replace(/^heads\//, "");
    const branchSha = repo.branches.get(name);
    if (branchSha) return repo.commits.get(branchSha);
    if (!/^[0-9a-f]{7,40}$/i.test(name)) return undefined;
    const exact = repo.commits.get(name.toLowerCase());
    if (exact) return exact;
    const matches = [...repo.commits.values()].filter((c) => c.sha.startsWith(name.toLowerCase()));
    return matches.length === 1 ? matches[0] : undefined;
  }

  private commitOr404(repo: Repo, ref: string | undefined): Commit {
    const commit = this.resolveCommit(repo, ref);
    if (!commit) throw new HttpError(404, `No commit found for the ref ${ref ?? repo.defaultBranch}`);
    return commit;
  }

  /** Every path under a tree: blobs and subtrees, depth first as GitHub lists them. */
  private flatten(treeSha: string, prefix = ""): Array<TreeEntry & { path: string }> {
    const out: Array<TreeEntry & { path: string }> = [];
    for (const entry of this.trees.get(treeSha) ?? []) {
      const path = prefix + entry.name;
      out.push({ ...entry, path });
      if (entry.type === "tree") out.push(...this.flatten(entry.sha, `${path}/`));
    }
    return out;
  }

  private fileMap(treeSha: string): Map<string, string> {
    return new Map(
      this.flatten(treeSha)
        .filter((e) => e.type === "blob")
        .map((e) => [e.path, e.sha]),
    );
  }

  private getContents(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const commit = this.commitOr404(repo, ctx.query.ref);
    const path = ctx.params.path?.replace(/\/+$/, "") ?? "";
    const entries = this.flatten(commit.tree);
    const ref = ctx.query.ref ?? repo.defaultBranch;
    if (path === "" || entries.some((e) => e.path === path && e.type === "tree")) {
      const children = entries.filter((e) => e.path.startsWith(path ? `${path}/` : "") && !e.path.slice(path ? path.length + 1 : 0).includes("/"));
      return { status: 200, body: children.map((e) => this.contentEntryJson(repo, e, ref)) };
    }
    const file = entries.find((e) => e.path === path && e.type === "blob");
    if (!file) throw notFound();
    const data = this.blobs.get(file.sha) ?? Buffer.alloc(0);
    if (wantsRaw(ctx)) return { status: 200, raw: data };
    const inline = data.length <= MAX_CONTENT_INLINE;
    return {
      status: 200,
      body: {
        ...this.contentEntryJson(repo, file, ref),
        content: inline ? base64Lines(data) : "",
        encoding: inline ? "base64" : "none",
      },
    };
  }

  private contentEntryJson(repo: Repo, e: TreeEntry & { path: string }, ref: string): Record<string, unknown> {
    const api = `${this.apiUrl}/repos/${repo.fullName}`;
    const isFile = e.type === "blob";
    const self = `${api}/contents/${e.path}?ref=${encodeURIComponent(ref)}`;
    const git = `${api}/git/${isFile ? "blobs" : "trees"}/${e.sha}`;
    const html = `https://github.com/${repo.fullName}/${isFile ? "blob" : "tree"}/${ref}/${e.path}`;
    return {
      type: isFile ? "file" : "dir",
      name: e.name,
      path: e.path,
      sha: e.sha,
      size: isFile ? (this.blobs.get(e.sha)?.length ?? 0) : 0,
      url: self,
      git_url: git,
      html_url: html,
      download_url: isFile ? `${this.url}/raw/${repo.fullName}/${ref}/${e.path}` : null,
      _links: { self, git, html },
    };
  }

  private getTree(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const ref = ctx.params.sha ?? "";
    const treeSha = this.trees.has(ref) ? ref : this.resolveCommit(repo, ref)?.tree;
    if (!treeSha) throw notFound();
    const recursive = ctx.query.recursive !== undefined && ctx.query.recursive !== "0" && ctx.query.recursive !== "false";
    const entries = recursive ? this.flatten(treeSha) : (this.trees.get(treeSha) ?? []).map((e) => ({ ...e, path: e.name }));
    const api = `${this.apiUrl}/repos/${repo.fullName}/git`;
    return {
      status: 200,
      body: {
        sha: treeSha,
        url: `${api}/trees/${treeSha}`,
        truncated: false,
        tree: entries.map((e) => ({
          path: e.path,
          mode: e.mode,
          type: e.type,
          sha: e.sha,
          ...(e.type === "blob" ? { size: this.blobs.get(e.sha)?.length ?? 0 } : {}),
          url: `${api}/${e.type === "blob" ? "blobs" : "trees"}/${e.sha}`,
        })),
      },
    };
  }

  private getBlob(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const sha = ctx.params.sha?.toLowerCase() ?? "";
    // Blobs are stored once per fake; a repo only sees those its own commits reach.
    const reachable = [...repo.commits.values()].some((c) => this.flatten(c.tree).some((e) => e.sha === sha));
    const data = this.blobs.get(sha);
    if (!data || !reachable) throw notFound();
    if (wantsRaw(ctx)) return { status: 200, raw: data };
    return {
      status: 200,
      body: {
        sha,
        node_id: `B_${sha}`,
        size: data.length,
        url: `${this.apiUrl}/repos/${repo.fullName}/git/blobs/${sha}`,
        content: base64Lines(data),
        encoding: "base64",
      },
    };
  }

  private getRef(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const ref = ctx.params.ref ?? "";
    const branch = ref.startsWith("heads/") ? ref.slice("heads/".length) : undefined;
    const sha = branch ? repo.branches.get(branch) : undefined;
    if (!sha) throw notFound();
    return {
      status: 200,
      body: {
        ref: `refs/${ref}`,
        node_id: `REF_${sha}`,
        url: `${this.apiUrl}/repos/${repo.fullName}/git/refs/${ref}`,
        object: { sha, type: "commit", url: `${this.apiUrl}/repos/${repo.fullName}/git/commits/${sha}` },
      },
    };
  }

  private getBranch(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const name = ctx.params.branch ?? "";
    const sha = repo.branches.get(name);
    if (!sha) throw new HttpError(404, "Branch not found");
    return {
      status: 200,
      body: {
        name,
        commit: this.commitJson(repo, this.commitOr404(repo, sha), false),
        protected: false,
        _links: { self: `${this.apiUrl}/repos/${repo.fullName}/branches/${name}`, html: `https://github.com/${repo.fullName}/tree/${name}` },
      },
    };
  }

  private getCommit(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const commit = this.resolveCommit(repo, ctx.params.ref);
    if (!commit) throw invalid(`No commit found for SHA: ${ctx.params.ref}`);
    return { status: 200, body: this.commitJson(repo, commit, true) };
  }

  private commitJson(repo: Repo, commit: Commit, withFiles: boolean): Record<string, unknown> {
    const person = { name: "Octo Cat", email: "octocat@example.com", date: commit.date };
    const api = `${this.apiUrl}/repos/${repo.fullName}`;
    const files = withFiles ? this.diffFiles(commit.parents[0] && repo.commits.get(commit.parents[0])?.tree, commit.tree) : undefined;
    return {
      sha: commit.sha,
      node_id: `C_${commit.sha}`,
      url: `${api}/commits/${commit.sha}`,
      html_url: `https://github.com/${repo.fullName}/commit/${commit.sha}`,
      commit: {
        message: commit.message,
        author: person,
        committer: person,
        tree: { sha: commit.tree, url: `${api}/git/trees/${commit.tree}` },
        url: `${api}/git/commits/${commit.sha}`,
        comment_count: 0,
      },
      author: this.userJson("octocat"),
      committer: this.userJson("octocat"),
      parents: commit.parents.map((sha) => ({ sha, url: `${api}/commits/${sha}` })),
      ...(files ? { files, stats: { total: files.length, additions: 0, deletions: 0 } } : {}),
    };
  }

  /** Changed paths between two trees (no patches: line counts are reported as 0). */
  private diffFiles(fromTree: string | undefined, toTree: string): Array<Record<string, unknown>> {
    const before = fromTree ? this.fileMap(fromTree) : new Map<string, string>();
    const after = this.fileMap(toTree);
    const files: Array<Record<string, unknown>> = [];
    const entry = (filename: string, status: string, sha: string) => ({ sha, filename, status, additions: 0, deletions: 0, changes: 0 });
    for (const [path, sha] of after) {
      const old = before.get(path);
      if (old === undefined) files.push(entry(path, "added", sha));
      else if (old !== sha) files.push(entry(path, "modified", sha));
    }
    for (const [path, sha] of before) if (!after.has(path)) files.push(entry(path, "removed", sha));
    return files.sort((a, b) => String(a.filename).localeCompare(String(b.filename)));
  }

  private compare(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const [baseRef, headRef] = (ctx.params.basehead ?? "").split("...");
    const base = this.commitOr404(repo, baseRef);
    const head = this.commitOr404(repo, headRef);
    const ahead: Commit[] = [];
    for (let c: Commit | undefined = head; c && c.sha !== base.sha; c = c.parents[0] ? repo.commits.get(c.parents[0]) : undefined) ahead.unshift(c);
    const reached = ahead.length === 0 || ahead[0]?.parents[0] === base.sha;
    return {
      status: 200,
      body: {
        status: head.sha === base.sha ? "identical" : reached ? "ahead" : "diverged",
        ahead_by: ahead.length,
        behind_by: reached ? 0 : 1,
        total_commits: ahead.length,
        base_commit: this.commitJson(repo, base, false),
        merge_base_commit: this.commitJson(repo, base, false),
        commits: ahead.map((c) => this.commitJson(repo, c, false)),
        files: this.diffFiles(base.tree, head.tree),
      },
    };
  }

  // -------------------------------------------------------------------------
  // Check runs

  private createCheckRun(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const body = ctx.body as Record<string, unknown>;
    this.rule(repo.commits.has(String(body.head_sha)), ctx, `No commit found for SHA: ${String(body.head_sha)}`);
    const run: CheckRunState = {
      id: this.nextId(),
      name: String(body.name),
      head_sha: String(body.head_sha),
      status: "queued",
      conclusion: null,
      started_at: this.now(),
      completed_at: null,
      details_url: null,
      external_id: null,
      output: { title: null, summary: null, text: null, annotations: [] },
      actions: [],
      updates: 0,
    };
    this.applyCheckRunChanges(ctx, run, body);
    repo.checkRuns.set(run.id, run);
    return { status: 201, body: this.checkRunJson(repo, run) };
  }

  private updateCheckRun(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const run = this.checkRunFor(ctx);
    const next = structuredClone(run);
    this.applyCheckRunChanges(ctx, next, ctx.body as Record<string, unknown>);
    next.updates += 1;
    repo.checkRuns.set(run.id, next);
    return { status: 200, body: this.checkRunJson(repo, next) };
  }

  private checkRunFor(ctx: Ctx): CheckRunState {
    const run = this.repoFor(ctx).checkRuns.get(Number(ctx.params.id));
    if (!run) throw notFound();
    return run;
  }

  /** Merges a create/update body into the run, enforcing the rules GitHub applies beyond the schema. */
  private applyCheckRunChanges(ctx: Ctx, run: CheckRunState, body: Record<string, unknown>): void {
    const conclusion = body.conclusion as string | undefined;
    const status = conclusion ? "completed" : ((body.status as string | undefined) ?? run.status);
    this.rule(status !== "completed" || Boolean(conclusion ?? run.conclusion), ctx, "conclusion is required when status is completed");
    this.rule(!body.completed_at || Boolean(conclusion ?? run.conclusion), ctx, "conclusion is required when completed_at is provided");
    const output = body.output as { title?: string; summary?: string; text?: string; annotations?: Annotation[] } | undefined;
    for (const a of output?.annotations ?? []) {
      const hasColumns = a.start_column !== undefined || a.end_column !== undefined;
      this.rule(
        !hasColumns || a.start_line === a.end_line,
        ctx,
        `annotation ${a.path}:${a.start_line}: columns are only allowed when start_line equals end_line`,
      );
      this.rule(a.end_line >= a.start_line, ctx, `annotation ${a.path}:${a.start_line}: end_line is before start_line`);
    }
    for (const action of (body.actions as CheckRunAction[] | undefined) ?? []) {
      this.rule((action.description ?? "").length <= 40, ctx, `action "${action.label}": description is longer than 40 characters`);
    }
    if (body.name !== undefined) run.name = String(body.name);
    if (body.details_url !== undefined) run.details_url = String(body.details_url);
    if (body.external_id !== undefined) run.external_id = String(body.external_id);
    if (body.started_at !== undefined) run.started_at = String(body.started_at);
    run.status = status;
    if (conclusion) run.conclusion = conclusion;
    if (status === "completed") run.completed_at = (body.completed_at as string | undefined) ?? run.completed_at ?? this.now();
    if (output) {
      if (output.title !== undefined) run.output.title = output.title;
      if (output.summary !== undefined) run.output.summary = output.summary;
      if (output.text !== undefined) run.output.text = output.text;
      run.output.annotations.push(...(output.annotations ?? []));
    }
    if (body.actions !== undefined) run.actions = body.actions as CheckRunAction[];
  }

  private checkRunJson(repo: Repo, run: CheckRunState): Record<string, unknown> {
    const api = `${this.apiUrl}/repos/${repo.fullName}`;
    return {
      id: run.id,
      node_id: `CR_${run.id}`,
      name: run.name,
      head_sha: run.head_sha,
      external_id: run.external_id ?? "",
      url: `${api}/check-runs/${run.id}`,
      html_url: `https://github.com/${repo.fullName}/runs/${run.id}`,
      details_url: run.details_url ?? `https://github.com/apps/${this.appSlug}`,
      status: run.status,
      conclusion: run.conclusion,
      started_at: run.started_at,
      completed_at: run.completed_at,
      output: {
        title: run.output.title,
        summary: run.output.summary,
        text: run.output.text,
        annotations_count: run.output.annotations.length,
        annotations_url: `${api}/check-runs/${run.id}/annotations`,
      },
      check_suite: { id: idFromString(`${repo.fullName}@${run.head_sha}`) },
      app: { id: this.appId, slug: this.appSlug, name: this.appSlug, owner: this.userJson("octocat") },
      pull_requests: [],
    };
  }

  private listCheckRuns(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const commit = this.resolveCommit(repo, ctx.params.ref);
    if (!commit) throw invalid(`No commit found for SHA: ${ctx.params.ref}`);
    const runs = [...repo.checkRuns.values()]
      .filter((r) => r.head_sha === commit.sha)
      .filter((r) => !ctx.query.check_name || r.name === ctx.query.check_name)
      .filter((r) => !ctx.query.status || r.status === ctx.query.status)
      .sort((a, b) => b.id - a.id);
    return this.paginate(
      ctx,
      runs.map((r) => this.checkRunJson(repo, r)),
      (page) => ({ total_count: runs.length, check_runs: page }),
    );
  }

  // -------------------------------------------------------------------------
  // Pull requests

  private pullsForCommit(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const commit = this.resolveCommit(repo, ctx.params.sha);
    if (!commit) throw invalid(`No commit found for SHA: ${ctx.params.sha}`);
    const numbers = repo.pullsForCommit.get(commit.sha) ?? [];
    return this.paginate(
      ctx,
      numbers.map((n) => this.pullJson(repo, repo.pulls.get(n) as Pull)),
    );
  }

  private pullFor(ctx: Ctx): Pull {
    const pull = this.repoFor(ctx).pulls.get(Number(ctx.params.n));
    if (!pull) throw notFound();
    return pull;
  }

  private pullJson(repo: Repo, pull: Pull): Record<string, unknown> {
    const merged = Boolean(pull.merged_at);
    const repoJson = this.repoJson(repo);
    const baseRef = pull.baseRef ?? repo.defaultBranch;
    const headRef = pull.headRef ?? `feature-${pull.number}`;
    return {
      id: idFromString(`${repo.fullName}#${pull.number}`),
      node_id: `PR_${pull.number}`,
      number: pull.number,
      state: pull.state ?? (merged ? "closed" : "open"),
      locked: false,
      draft: false,
      title: pull.title ?? `Pull request #${pull.number}`,
      body: pull.body ?? null,
      user: this.userJson(pull.user ?? "octocat"),
      labels: [],
      merged,
      merged_at: pull.merged_at ?? null,
      merged_by: merged && pull.mergedBy ? this.userJson(pull.mergedBy) : null,
      closed_at: pull.merged_at ?? null,
      merge_commit_sha: merged ? pull.headSha : null,
      html_url: `https://github.com/${repo.fullName}/pull/${pull.number}`,
      url: `${this.apiUrl}/repos/${repo.fullName}/pulls/${pull.number}`,
      issue_url: `${this.apiUrl}/repos/${repo.fullName}/issues/${pull.number}`,
      head: { label: `${repo.owner}:${headRef}`, ref: headRef, sha: pull.headSha, repo: repoJson, user: repoJson.owner },
      base: { label: `${repo.owner}:${baseRef}`, ref: baseRef, sha: repo.branches.get(baseRef) ?? null, repo: repoJson, user: repoJson.owner },
      author_association: "MEMBER",
    };
  }

  private listReviews(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const pull = this.pullFor(ctx);
    const reviews = repo.reviews.get(pull.number) ?? [];
    return this.paginate(
      ctx,
      reviews.map((r) => ({
        id: r.id,
        node_id: `PRR_${r.id}`,
        user: this.userJson(r.user),
        state: r.state,
        commit_id: r.commit_id,
        submitted_at: r.submitted_at,
        body: "",
        author_association: "MEMBER",
      })),
    );
  }

  // -------------------------------------------------------------------------
  // Issues, comments, labels, reactions

  private issueExists(repo: Repo, n: number): boolean {
    return repo.issues.has(n) || repo.pulls.has(n);
  }

  private newIssue(repo: Repo, fields: { number?: number; title: string; body: string | null; labels: string[]; user: string }): IssueState {
    const taken = [...repo.issues.keys(), ...repo.pulls.keys()];
    const number = fields.number ?? Math.max(0, ...taken) + 1;
    const at = this.now();
    const issue: IssueState = {
      number,
      id: this.nextId(),
      title: fields.title,
      body: fields.body,
      state: "open",
      state_reason: null,
      labels: [...new Set(fields.labels)],
      assignees: [],
      user: fields.user,
      created_at: at,
      updated_at: at,
      closed_at: null,
    };
    repo.issues.set(number, issue);
    return issue;
  }

  private newComment(repo: Repo, issueNumber: number, body: string, user: string, id?: number): CommentState {
    const at = this.now();
    const comment: CommentState = { id: id ?? this.nextId(), issueNumber, body, user, created_at: at, updated_at: at, reactions: [] };
    repo.comments.push(comment);
    return comment;
  }

  /** The issue view of issue or pull request `n` (pull requests are issues too). */
  private issueJson(repo: Repo, n: number): Record<string, unknown> {
    const api = `${this.apiUrl}/repos/${repo.fullName}`;
    const issue = repo.issues.get(n);
    const pull = repo.pulls.get(n);
    const base = {
      id: issue?.id ?? idFromString(`${repo.fullName}#${n}`),
      node_id: `I_${n}`,
      number: n,
      url: `${api}/issues/${n}`,
      html_url: `https://github.com/${repo.fullName}/${pull ? "pull" : "issues"}/${n}`,
      comments: repo.comments.filter((c) => c.issueNumber === n).length,
      locked: false,
      author_association: "NONE",
      assignee: null,
      milestone: null,
    };
    if (issue) {
      return {
        ...base,
        title: issue.title,
        body: issue.body,
        state: issue.state,
        state_reason: issue.state_reason,
        labels: issue.labels.map((name) => labelJson(repo, name)),
        assignees: issue.assignees.map((a) => this.userJson(a)),
        user: this.userJson(issue.user),
        performed_via_github_app: this.performedVia(issue.user),
        created_at: issue.created_at,
        updated_at: issue.updated_at,
        closed_at: issue.closed_at,
      };
    }
    const pr = this.pullJson(repo, pull as Pull);
    return {
      ...base,
      title: pr.title,
      body: pr.body,
      state: pr.state,
      labels: [],
      assignees: [],
      user: pr.user,
      closed_at: pr.closed_at,
      pull_request: { url: pr.url, html_url: pr.html_url, merged_at: pr.merged_at },
    };
  }

  private issueNumber(ctx: Ctx, repo: Repo): number {
    const n = Number(ctx.params.n);
    if (!this.issueExists(repo, n)) throw notFound();
    return n;
  }

  private listIssues(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const state = ctx.query.state ?? "open";
    const labels = (ctx.query.labels ?? "")
      .split(",")
      .map((l) => l.trim().toLowerCase())
      .filter(Boolean);
    // `since`: only issues updated at or after the given time, as GitHub filters it.
    const since = ctx.query.since === undefined ? undefined : Date.parse(ctx.query.since);
    if (since !== undefined && Number.isNaN(since)) throw invalid(`since must be an ISO 8601 timestamp, got ${ctx.query.since}`);
    const sortKey = (i: IssueState) => (ctx.query.sort === "updated" ? Date.parse(i.updated_at) : i.number);
    const issues = [...repo.issues.values()]
      .filter((i) => state === "all" || i.state === state)
      .filter((i) => labels.every((l) => i.labels.some((x) => x.toLowerCase() === l)))
      .filter((i) => !ctx.query.creator || i.user.toLowerCase() === ctx.query.creator.toLowerCase())
      .filter((i) => since === undefined || Date.parse(i.updated_at) >= since)
      .sort((a, b) => (ctx.query.direction === "asc" ? sortKey(a) - sortKey(b) : sortKey(b) - sortKey(a)));
    return this.paginate(
      ctx,
      issues.map((i) => this.issueJson(repo, i.number)),
    );
  }

  private createIssue(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const body = ctx.body as { title: string | number; body?: string; labels?: Array<string | { name?: string }>; assignees?: string[] };
    this.rule((body.body ?? "").length <= MAX_COMMENT, ctx, `body is too long (maximum is ${MAX_COMMENT} characters)`);
    const issue = this.newIssue(repo, { title: String(body.title), body: body.body ?? null, labels: labelNames(body.labels), user: this.botLogin });
    issue.assignees = body.assignees ?? [];
    return { status: 201, body: this.issueJson(repo, issue.number) };
  }

  private getIssue(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    return { status: 200, body: this.issueJson(repo, this.issueNumber(ctx, repo)) };
  }

  private updateIssue(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const issue = repo.issues.get(this.issueNumber(ctx, repo));
    if (!issue) throw invalid("Pull requests are not editable through this fake issues endpoint");
    const body = ctx.body as {
      title?: string;
      body?: string | null;
      state?: "open" | "closed";
      state_reason?: string | null;
      labels?: Array<string | { name?: string }>;
      assignees?: string[];
    };
    this.rule((body.body ?? "").length <= MAX_COMMENT, ctx, `body is too long (maximum is ${MAX_COMMENT} characters)`);
    if (body.title !== undefined) issue.title = String(body.title);
    if (body.body !== undefined) issue.body = body.body;
    if (body.labels !== undefined) issue.labels = labelNames(body.labels);
    if (body.assignees !== undefined) issue.assignees = body.assignees;
    if (body.state && body.state !== issue.state) {
      issue.state = body.state;
      issue.closed_at = body.state === "closed" ? this.now() : null;
      issue.state_reason = body.state === "closed" ? (body.state_reason ?? "completed") : "reopened";
    } else if (body.state_reason !== undefined) {
      issue.state_reason = body.state_reason;
    }
    issue.updated_at = this.now();
    return { status: 200, body: this.issueJson(repo, issue.number) };
  }

  private addLabels(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const n = this.issueNumber(ctx, repo);
    const issue = repo.issues.get(n);
    const raw = Array.isArray(ctx.body) ? ctx.body : (ctx.body as { labels?: unknown[] }).labels;
    const added = labelNames(raw as Array<string | { name?: string }> | undefined);
    if (issue) issue.labels = [...new Set([...issue.labels, ...added])];
    return { status: 200, body: (issue?.labels ?? added).map((name) => labelJson(repo, name)) };
  }

  private commentJson(repo: Repo, c: CommentState): Record<string, unknown> {
    const api = `${this.apiUrl}/repos/${repo.fullName}`;
    const counts: Record<string, number> = {};
    for (const r of c.reactions) counts[r.content] = (counts[r.content] ?? 0) + 1;
    return {
      id: c.id,
      node_id: `IC_${c.id}`,
      url: `${api}/issues/comments/${c.id}`,
      html_url: `https://github.com/${repo.fullName}/issues/${c.issueNumber}#issuecomment-${c.id}`,
      issue_url: `${api}/issues/${c.issueNumber}`,
      body: c.body,
      user: this.userJson(c.user),
      performed_via_github_app: this.performedVia(c.user),
      created_at: c.created_at,
      updated_at: c.updated_at,
      author_association: c.user === this.botLogin ? "NONE" : "MEMBER",
      reactions: { url: `${api}/issues/comments/${c.id}/reactions`, total_count: c.reactions.length, ...counts },
    };
  }

  private listComments(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const n = this.issueNumber(ctx, repo);
    const since = ctx.query.since ? Date.parse(ctx.query.since) : undefined;
    const comments = repo.comments.filter((c) => c.issueNumber === n).filter((c) => since === undefined || Date.parse(c.updated_at) >= since);
    return this.paginate(
      ctx,
      comments.map((c) => this.commentJson(repo, c)),
    );
  }

  private createComment(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const n = this.issueNumber(ctx, repo);
    const text = String((ctx.body as { body: string }).body);
    this.rule(text.length <= MAX_COMMENT, ctx, `body is too long (maximum is ${MAX_COMMENT} characters)`);
    return { status: 201, body: this.commentJson(repo, this.newComment(repo, n, text, this.botLogin)) };
  }

  private commentFor(ctx: Ctx, repo: Repo): CommentState {
    const comment = repo.comments.find((c) => c.id === Number(ctx.params.id));
    if (!comment) throw notFound();
    return comment;
  }

  private updateComment(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const comment = this.commentFor(ctx, repo);
    const text = String((ctx.body as { body: string }).body);
    this.rule(text.length <= MAX_COMMENT, ctx, `body is too long (maximum is ${MAX_COMMENT} characters)`);
    comment.body = text;
    comment.updated_at = this.now();
    return { status: 200, body: this.commentJson(repo, comment) };
  }

  private addReaction(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const comment = this.commentFor(ctx, repo);
    const content = String((ctx.body as { content: string }).content);
    const user = this.botLogin;
    // GitHub answers 200 with the existing reaction when the same user reacts twice.
    const existing = comment.reactions.find((r) => r.user === user && r.content === content);
    const reaction = existing ?? { id: this.nextId(), content, user };
    if (!existing) comment.reactions.push(reaction);
    return {
      status: existing ? 200 : 201,
      body: { id: reaction.id, node_id: `REA_${reaction.id}`, user: this.userJson(user), content, created_at: this.now() },
    };
  }

  // -------------------------------------------------------------------------
  // Collaborators and deployments

  private permission(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const login = ctx.params.user ?? "";
    // Unset users: a public repo is readable by anyone, a private one by no one.
    const role = repo.permissions.get(login.toLowerCase()) ?? (repo.private ? "none" : "read");
    // The legacy `permission` field only knows admin/write/read/none; role_name keeps the detail.
    const legacy: Record<Permission, string> = { admin: "admin", maintain: "write", write: "write", triage: "read", read: "read", none: "none" };
    const rank = ["none", "read", "triage", "write", "maintain", "admin"].indexOf(role);
    return {
      status: 200,
      body: {
        permission: legacy[role],
        role_name: role === "none" ? "none" : role,
        user: {
          ...this.userJson(login),
          permissions: { pull: rank >= 1, triage: rank >= 2, push: rank >= 3, maintain: rank >= 4, admin: rank >= 5 },
          role_name: role,
        },
      },
    };
  }

  private createDeployment(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const body = ctx.body as { ref: string; environment?: string; task?: string; description?: string | null; payload?: unknown };
    const commit = this.resolveCommit(repo, body.ref);
    this.rule(Boolean(commit), ctx, `No ref found for: ${body.ref}`);
    const deployment: DeploymentState = {
      id: this.nextId(),
      sha: (commit as Commit).sha,
      ref: body.ref,
      environment: body.environment ?? "production",
      task: body.task ?? "deploy",
      description: body.description ?? null,
      payload: parsePayload(body.payload),
      statuses: [],
    };
    repo.deployments.push(deployment);
    return { status: 201, body: this.deploymentJson(repo, deployment) };
  }

  private deploymentJson(repo: Repo, d: DeploymentState): Record<string, unknown> {
    const api = `${this.apiUrl}/repos/${repo.fullName}`;
    const at = this.now();
    return {
      id: d.id,
      node_id: `DE_${d.id}`,
      url: `${api}/deployments/${d.id}`,
      sha: d.sha,
      ref: d.ref,
      task: d.task,
      payload: d.payload,
      original_environment: d.environment,
      environment: d.environment,
      description: d.description,
      creator: this.userJson(this.botLogin),
      created_at: at,
      updated_at: at,
      statuses_url: `${api}/deployments/${d.id}/statuses`,
      repository_url: api,
      transient_environment: false,
      production_environment: d.environment === "production",
    };
  }

  private createDeploymentStatus(ctx: Ctx): Reply {
    const repo = this.repoFor(ctx);
    const deployment = repo.deployments.find((d) => d.id === Number(ctx.params.id));
    if (!deployment) throw notFound();
    const body = ctx.body as { state: string; description?: string; environment_url?: string; log_url?: string; environment?: string };
    const status = { id: this.nextId(), state: body.state, description: body.description, environment_url: body.environment_url, log_url: body.log_url };
    deployment.statuses.push(status);
    const api = `${this.apiUrl}/repos/${repo.fullName}`;
    return {
      status: 201,
      body: {
        ...status,
        node_id: `DES_${status.id}`,
        url: `${api}/deployments/${deployment.id}/statuses/${status.id}`,
        environment: body.environment ?? deployment.environment,
        target_url: body.log_url ?? "",
        creator: this.userJson(this.botLogin),
        created_at: this.now(),
        updated_at: this.now(),
        deployment_url: `${api}/deployments/${deployment.id}`,
        repository_url: api,
      },
    };
  }
}

// ---------------------------------------------------------------------------
// Module helpers

type DirNode = Map<string, DirNode | string>;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseJsonBody(req: IncomingMessage, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    if (/json/.test(req.headers["content-type"] ?? "")) throw new HttpError(400, "Problems parsing JSON");
    return text;
  }
}

function wantsRaw(ctx: Ctx): boolean {
  return /application\/vnd\.github(\.v3)?\.raw/.test(String(ctx.req.headers.accept ?? ""));
}

/**
 * GitHub's conditional requests: a 200 carries an ETag of its content, and a request whose
 * If-None-Match names the current ETag gets an empty 304 instead (which GitHub does not count
 * against the rate limit).
 */
function conditional(ctx: Ctx, reply: Reply): Reply {
  if (reply.status !== 200) return reply;
  const content = reply.raw ?? Buffer.from(JSON.stringify(reply.body));
  const etag = `W/"${createHash("sha1").update(content).digest("hex")}"`;
  const sent = String(ctx.req.headers["if-none-match"] ?? "")
    .split(",")
    .map((t) => t.trim());
  if (sent.includes(etag) || sent.includes("*")) return { status: 304, headers: { etag } };
  return { ...reply, headers: { ...reply.headers, etag } };
}

function errorReply(error: unknown): Reply {
  const docs = "https://docs.github.com/rest";
  if (error instanceof HttpError) {
    return {
      status: error.status,
      body: { message: error.message, ...(error.errors ? { errors: error.errors } : {}), documentation_url: docs, status: String(error.status) },
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { message: `FakeGitHub internal error: ${message}`, documentation_url: docs, status: "500" } };
}

/** Stable ids (above 2^32, like GitHub's) for users, pulls, suites derived from their names. */
function idFromString(s: string): number {
  return bigIdFor(s);
}

function labelNames(labels: Array<string | { name?: string }> | undefined): string[] {
  return [...new Set((labels ?? []).map((l) => (typeof l === "string" ? l : (l.name ?? ""))).filter(Boolean))];
}

function labelJson(repo: Repo, name: string): Record<string, unknown> {
  const id = idFromString(`${repo.fullName}:${name}`);
  return { id, node_id: `LA_${id}`, name, color: "ededed", default: false, description: null };
}

function parsePayload(payload: unknown): unknown {
  if (typeof payload !== "string") return payload ?? {};
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}
