// Webhook deliveries for end-to-end tests: signed like GitHub signs them, with
// payloads that start from GitHub's own examples (@octokit/webhooks-examples) so
// every field the app does not expect to be overridden still has a real shape.
import { createHmac, randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { bigIdFor } from "./big-ids.js";
import type { CheckRunEvent, CheckSuiteEvent, IssueCommentEvent, PullRequestEvent, PullRequestReviewSubmittedEvent, PushEvent } from "@octokit/webhooks-types";

// Example payloads are deeply nested JSON we override field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

interface ExampleSet {
  name: string;
  examples: Json[];
}

const ZERO_SHA = "0".repeat(40);
let exampleSets: ExampleSet[] | undefined;

function allExamples(): ExampleSet[] {
  exampleSets ??= createRequire(import.meta.url)("@octokit/webhooks-examples") as ExampleSet[];
  return exampleSets;
}

/**
 * A deep copy of the example for `event`, preferring one with the given action
 * and an `installation` (an App always receives one), then any passing `filter`.
 */
export function exampleFor(event: string, action?: string, filter: (e: Json) => boolean = () => true): Json {
  const set = allExamples().find((s) => s.name === event);
  if (!set) throw new Error(`no webhook example for event "${event}"`);
  const ranked = [
    (e: Json) => (!action || e.action === action) && Boolean(e.installation) && filter(e),
    (e: Json) => (!action || e.action === action) && filter(e),
    (e: Json) => !action || e.action === action,
    () => true,
  ];
  for (const match of ranked) {
    const found = set.examples.find(match);
    if (found) return structuredClone(found);
  }
  throw new Error(`webhook example set "${event}" is empty`);
}

export function signPayload(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export async function sendWebhook(
  appUrl: string,
  opts: { event: string; payload: object; secret: string; deliveryId?: string; signature?: string },
): Promise<{ status: number; body: string }> {
  const body = JSON.stringify(opts.payload);
  const response = await fetch(`${appUrl.replace(/\/$/, "")}/api/github/webhooks`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/fake",
      "x-github-event": opts.event,
      "x-github-delivery": opts.deliveryId ?? randomUUID(),
      "x-hub-signature-256": opts.signature ?? signPayload(opts.secret, body),
    },
    body,
  });
  return { status: response.status, body: await response.text() };
}

// ---------------------------------------------------------------------------
// Shared overrides

function splitRepo(fullName: string): { owner: string; name: string } {
  const [owner, name] = fullName.split("/");
  if (!owner || !name) throw new Error(`repository must be "owner/name", got "${fullName}"`);
  return { owner, name };
}

/** Rewrites a repository object (as found in any payload) to be `fullName`, with an id above 2^32 unless given one. */
function setRepository(repo: Json, fullName: string, opts: { defaultBranch?: string; id?: number } = {}): Json {
  const { owner, name } = splitRepo(fullName);
  repo.name = name;
  repo.full_name = fullName;
  repo.html_url = `https://github.com/${fullName}`;
  repo.url = `https://api.github.com/repos/${fullName}`;
  repo.id = opts.id ?? bigIdFor(`repository ${fullName.toLowerCase()}`);
  if (opts.defaultBranch) {
    repo.default_branch = opts.defaultBranch;
    if ("master_branch" in repo) repo.master_branch = opts.defaultBranch;
  }
  repo.owner = { ...repo.owner, login: owner, id: bigIdFor(`user ${owner}`), name: owner, html_url: `https://github.com/${owner}` };
  return repo;
}

function setUser(user: Json | undefined, login: string, type = "User"): Json {
  return { ...(user ?? {}), login, id: bigIdFor(`user ${login}`), type, html_url: `https://github.com/${login}` };
}

function setInstallation(payload: Json, installationId: number): void {
  payload.installation = { id: installationId, node_id: `MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u${installationId}` };
}

/** Organization examples name the example owner; drop them unless they agree with the repo. */
function dropForeignOrganization(payload: Json): void {
  if (payload.organization && payload.organization.login !== payload.repository?.owner?.login) delete payload.organization;
}

// ---------------------------------------------------------------------------
// Builders

export interface PushOptions {
  repo: string;
  ref?: string;
  before: string;
  after: string;
  installationId: number;
  sender?: string;
  defaultBranch?: string;
  message?: string;
  /** Paths per kind for head_commit and the single commit listed (GitHub lists at most 20 here). */
  added?: string[];
  modified?: string[];
  removed?: string[];
  repoId?: number;
}

export function pushPayload(o: PushOptions): PushEvent {
  const p = exampleFor("push", undefined, (e) => String(e.ref).startsWith("refs/heads/") && Boolean(e.head_commit));
  const ref = o.ref ?? `refs/heads/${o.defaultBranch ?? "main"}`;
  const sender = o.sender ?? "octocat";
  setRepository(p.repository, o.repo, { defaultBranch: o.defaultBranch ?? "main", id: o.repoId });
  Object.assign(p, {
    ref,
    before: o.before,
    after: o.after,
    created: o.before === ZERO_SHA,
    deleted: o.after === ZERO_SHA,
    forced: false,
    base_ref: null,
    compare: `https://github.com/${o.repo}/compare/${o.before.slice(0, 12)}...${o.after.slice(0, 12)}`,
    sender: setUser(p.sender, sender),
    pusher: { name: sender, email: `${sender}@users.noreply.github.com` },
  });
  if (o.after === ZERO_SHA) {
    p.head_commit = null;
    p.commits = [];
  } else {
    p.head_commit = {
      ...p.head_commit,
      id: o.after,
      message: o.message ?? p.head_commit.message,
      url: `https://github.com/${o.repo}/commit/${o.after}`,
      timestamp: new Date().toISOString(),
      added: o.added ?? [],
      modified: o.modified ?? [],
      removed: o.removed ?? [],
    };
    p.commits = [structuredClone(p.head_commit)];
  }
  setInstallation(p, o.installationId);
  dropForeignOrganization(p);
  return p as PushEvent;
}

export interface PullRequestOptions {
  action: string;
  repo: string;
  number: number;
  headSha: string;
  baseRef?: string;
  headRef?: string;
  baseSha?: string;
  installationId: number;
  /** Head lives in a fork (`<login>/<name>`), as with outside contributors. */
  fork?: boolean;
  login?: string;
  title?: string;
  body?: string;
  merged?: boolean;
  mergeCommitSha?: string;
  defaultBranch?: string;
}

export function pullRequestPayload(o: PullRequestOptions): PullRequestEvent {
  const p = exampleFor("pull_request", o.action);
  const login = o.login ?? "octocat";
  const baseRef = o.baseRef ?? o.defaultBranch ?? "main";
  const headRef = o.headRef ?? "feature";
  const { name } = splitRepo(o.repo);
  setRepository(p.repository, o.repo, { defaultBranch: o.defaultBranch ?? "main" });
  const pr = p.pull_request;
  const closed = o.action === "closed";
  const merged = o.merged ?? false;
  Object.assign(pr, {
    id: bigIdFor(`pull ${o.repo}#${o.number}`),
    number: o.number,
    title: o.title ?? pr.title,
    body: o.body ?? pr.body,
    state: closed ? "closed" : "open",
    merged,
    merged_at: merged ? new Date().toISOString() : null,
    closed_at: closed ? new Date().toISOString() : null,
    merge_commit_sha: o.mergeCommitSha ?? pr.merge_commit_sha,
    html_url: `https://github.com/${o.repo}/pull/${o.number}`,
    url: `https://api.github.com/repos/${o.repo}/pulls/${o.number}`,
    user: setUser(pr.user, login),
  });
  const headRepo = o.fork
    ? { ...setRepository(structuredClone(p.repository), `${login}/${name}`, { id: Number(p.repository.id) + 1_000_000 }), fork: true }
    : structuredClone(p.repository);
  pr.head = { ...pr.head, sha: o.headSha, ref: headRef, label: `${headRepo.owner.login}:${headRef}`, repo: headRepo, user: headRepo.owner };
  pr.base = {
    ...pr.base,
    sha: o.baseSha ?? pr.base.sha,
    ref: baseRef,
    label: `${p.repository.owner.login}:${baseRef}`,
    repo: structuredClone(p.repository),
    user: p.repository.owner,
  };
  p.number = o.number;
  p.sender = setUser(p.sender, login);
  setInstallation(p, o.installationId);
  dropForeignOrganization(p);
  return p as PullRequestEvent;
}

export interface IssueCommentOptions {
  action?: string;
  repo: string;
  issueNumber: number;
  isPullRequest: boolean;
  body: string;
  login: string;
  installationId: number;
  userType?: "User" | "Bot";
  /** Match a comment seeded with FakeGitHub.addComment so reactions/replies find it (default: an id above 2^32). */
  commentId?: number;
  authorAssociation?: string;
}

export function issueCommentPayload(o: IssueCommentOptions): IssueCommentEvent {
  const action = o.action ?? "created";
  const p = exampleFor("issue_comment", action);
  setRepository(p.repository, o.repo);
  const user = setUser(p.comment.user, o.login, o.userType ?? "User");
  const issueUrl = `https://api.github.com/repos/${o.repo}/issues/${o.issueNumber}`;
  Object.assign(p.issue, {
    id: bigIdFor(`issue ${o.repo}#${o.issueNumber}`),
    number: o.issueNumber,
    url: issueUrl,
    html_url: `https://github.com/${o.repo}/${o.isPullRequest ? "pull" : "issues"}/${o.issueNumber}`,
  });
  if (o.isPullRequest) {
    p.issue.pull_request = {
      url: `https://api.github.com/repos/${o.repo}/pulls/${o.issueNumber}`,
      html_url: `https://github.com/${o.repo}/pull/${o.issueNumber}`,
      diff_url: `https://github.com/${o.repo}/pull/${o.issueNumber}.diff`,
      patch_url: `https://github.com/${o.repo}/pull/${o.issueNumber}.patch`,
    };
  } else {
    delete p.issue.pull_request;
  }
  Object.assign(p.comment, {
    id: o.commentId ?? bigIdFor(`comment ${o.repo}#${o.issueNumber} ${o.body}`),
    body: o.body,
    user,
    issue_url: issueUrl,
    author_association: o.authorAssociation ?? p.comment.author_association,
  });
  p.action = action;
  p.sender = { ...user };
  setInstallation(p, o.installationId);
  dropForeignOrganization(p);
  return p as IssueCommentEvent;
}

export interface PullRequestReviewOptions {
  repo: string;
  installationId: number;
  number: number;
  /** The reviewer. */
  login: string;
  state: "approved" | "changes_requested" | "commented";
  /** The head the review looked at. */
  commitId: string;
  /** Set when the pull request is already merged: its merge commit. */
  mergeCommitSha?: string;
}

export function pullRequestReviewPayload(o: PullRequestReviewOptions): PullRequestReviewSubmittedEvent {
  const p = exampleFor("pull_request_review", "submitted");
  setRepository(p.repository, o.repo);
  const reviewer = setUser(p.review.user, o.login);
  Object.assign(p.review, { user: reviewer, state: o.state, commit_id: o.commitId, submitted_at: new Date().toISOString() });
  Object.assign(p.pull_request, {
    number: o.number,
    url: `https://api.github.com/repos/${o.repo}/pulls/${o.number}`,
    html_url: `https://github.com/${o.repo}/pull/${o.number}`,
    state: o.mergeCommitSha ? "closed" : "open",
    merged_at: o.mergeCommitSha ? new Date().toISOString() : null,
    closed_at: o.mergeCommitSha ? new Date().toISOString() : null,
    merge_commit_sha: o.mergeCommitSha ?? null,
  });
  p.action = "submitted";
  p.sender = { ...reviewer };
  setInstallation(p, o.installationId);
  dropForeignOrganization(p);
  return p as PullRequestReviewSubmittedEvent;
}

export interface CheckRunOptions {
  action: string;
  repo: string;
  installationId: number;
  headSha: string;
  checkRunId?: number;
  name?: string;
  status?: string;
  conclusion?: string | null;
  externalId?: string;
  /** For action "requested_action": the button's identifier. */
  requestedAction?: string;
  /** The app that owns the run (apps usually ignore runs of other apps). */
  appId?: number;
  headBranch?: string;
  login?: string;
  pullRequests?: Array<{ number: number; headRef?: string; baseRef?: string }>;
}

export function checkRunPayload(o: CheckRunOptions): CheckRunEvent {
  const p = exampleFor("check_run", o.action);
  setRepository(p.repository, o.repo);
  const run = p.check_run;
  const checkRunId = o.checkRunId ?? bigIdFor(`check run ${o.repo}@${o.headSha} ${o.name ?? run.name}`);
  Object.assign(run, {
    id: checkRunId,
    name: o.name ?? run.name,
    head_sha: o.headSha,
    status: o.status ?? run.status,
    conclusion: o.conclusion === undefined ? run.conclusion : o.conclusion,
    external_id: o.externalId ?? run.external_id,
    url: `https://api.github.com/repos/${o.repo}/check-runs/${checkRunId}`,
    pull_requests: pullRefs(o.repo, o.headSha, o.pullRequests),
  });
  if (o.appId !== undefined) run.app = { ...run.app, id: o.appId };
  run.check_suite = {
    ...run.check_suite,
    id: bigIdFor(`check suite ${o.repo}@${o.headSha}`),
    head_sha: o.headSha,
    head_branch: o.headBranch ?? run.check_suite?.head_branch,
    pull_requests: run.pull_requests,
  };
  if (o.action === "requested_action") p.requested_action = { identifier: o.requestedAction ?? "rollback" };
  else delete p.requested_action;
  p.sender = setUser(p.sender, o.login ?? "octocat");
  setInstallation(p, o.installationId);
  dropForeignOrganization(p);
  return p as CheckRunEvent;
}

export interface CheckSuiteOptions {
  action: string;
  repo: string;
  installationId: number;
  headSha: string;
  headBranch?: string;
  before?: string;
  appId?: number;
  login?: string;
  pullRequests?: Array<{ number: number; headRef?: string; baseRef?: string }>;
}

export function checkSuitePayload(o: CheckSuiteOptions): CheckSuiteEvent {
  const p = exampleFor("check_suite", o.action);
  setRepository(p.repository, o.repo);
  Object.assign(p.check_suite, {
    id: bigIdFor(`check suite ${o.repo}@${o.headSha}`),
    head_sha: o.headSha,
    after: o.headSha,
    before: o.before ?? p.check_suite.before,
    head_branch: o.headBranch ?? p.check_suite.head_branch,
    pull_requests: pullRefs(o.repo, o.headSha, o.pullRequests),
  });
  if (p.check_suite.head_commit) p.check_suite.head_commit = { ...p.check_suite.head_commit, id: o.headSha };
  if (o.appId !== undefined) p.check_suite.app = { ...p.check_suite.app, id: o.appId };
  p.sender = setUser(p.sender, o.login ?? "octocat");
  setInstallation(p, o.installationId);
  dropForeignOrganization(p);
  return p as CheckSuiteEvent;
}

/** The minimal pull-request references GitHub embeds in check runs and suites. */
function pullRefs(repo: string, headSha: string, pulls: CheckRunOptions["pullRequests"] = []): Json[] {
  return pulls.map((pr) => ({
    url: `https://api.github.com/repos/${repo}/pulls/${pr.number}`,
    id: bigIdFor(`pull ${repo}#${pr.number}`),
    number: pr.number,
    head: { ref: pr.headRef ?? "feature", sha: headSha, repo: repoRef(repo) },
    base: { ref: pr.baseRef ?? "main", sha: ZERO_SHA, repo: repoRef(repo) },
  }));
}

function repoRef(fullName: string): Json {
  return { id: bigIdFor(`repository ${fullName.toLowerCase()}`), url: `https://api.github.com/repos/${fullName}`, name: splitRepo(fullName).name };
}
