// Reads a repository through the API: its config on the default branch, and its migration files
// at a commit. Listing comes from the Git trees API, so only blobs the history does not already
// know are ever downloaded.
import { REPO_CONFIG_PATH } from "../../config/repo-config.js";
import { SUPABASE_DIRECTORY } from "../../database/layouts/index.js";
import { DEFAULT_DIRECTORY } from "../../database/migration-files.js";
import type { GitHubClient, RepoRef } from "./client.js";

type ContentData = Awaited<ReturnType<GitHubClient["rest"]["repos"]["getContent"]>>["data"];

function configText(data: ContentData): string | null {
  if (Array.isArray(data) || data.type !== "file" || !("content" in data)) return null;
  return Buffer.from(data.content, "base64").toString("utf8");
}

const statusOf = (error: unknown) => (error as { status?: number }).status;

/**
 * `.github/autopilot.yml` read again and again (every job, every push to a feature branch, the
 * scheduler's discovery): each read is conditional on the ETag of the last one, and GitHub answers
 * an unchanged file with a 304 that costs nothing against the rate limit. A changed file comes back in full, with its new ETag.
 */
export class RepoConfigReader {
  private readonly cache = new Map<string, CachedConfig>();
  /** Whether moves of default branches are being heard (`listening`): only then is a config trusted. */
  private listening = false;
  /** Bumped by `forget`: a read that started before the default branch moved must not cache its answer. */
  private readonly generations = new Map<string, number>();
  private epoch = 0;
  private readonly inFlight = new Map<string, Promise<string | null>>();

  /** `now`: the clock trust is measured by (tests move their own; the HTTP client keeps the real one). */
  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The config as GitHub has it now. Reads of one config at once share one request (a burst of pushes
   * to a repository whose config is not cached yet asks once); a read after the default branch moved
   * never joins one that started before.
   */
  read(github: GitHubClient, repo: RepoRef, ref: string): Promise<string | null> {
    const flight = `${cacheKey(repo, ref)} ${this.generationOf(repo)}`;
    let reading = this.inFlight.get(flight);
    if (!reading) {
      reading = this.ask(github, repo, ref).finally(() => this.inFlight.delete(flight));
      this.inFlight.set(flight, reading);
    }
    return reading;
  }

  private async ask(github: GitHubClient, repo: RepoRef, ref: string): Promise<string | null> {
    const key = cacheKey(repo, ref);
    const cached = this.cache.get(key);
    const generation = this.generationOf(repo);
    try {
      const response = await github.rest.repos.getContent({
        ...repo,
        path: REPO_CONFIG_PATH,
        ref,
        headers: cached ? { "if-none-match": cached.etag } : {},
      });
      const text = configText(response.data);
      if (response.headers.etag && generation === this.generationOf(repo)) this.cache.set(key, confirmed({ etag: response.headers.etag, text }, this.now()));
      else this.cache.delete(key);
      return text;
    } catch (error) {
      if (statusOf(error) === 304 && cached) {
        if (generation === this.generationOf(repo)) confirmed(cached, this.now());
        return cached.text;
      }
      this.cache.delete(key);
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  /**
   * The config read as `read` does, then `parse`d only when its text changed: parsing and validating
   * the YAML cost a push to a feature branch more than the conditional read itself (measured by
   * `npm run drill:load`). `parse` must be one function kept by the caller (its result is reused
   * while the text is the same), and callers must not modify what it returns.
   */
  async readParsed<T>(github: GitHubClient, repo: RepoRef, ref: string, parse: (text: string | null) => T): Promise<T> {
    const text = await this.read(github, repo, ref);
    return this.parsedOf(cacheKey(repo, ref), text, parse);
  }

  /**
   * `readParsed` without asking GitHub while the config is known to be the default branch's current
   * one: confirmed by GitHub within `TRUSTED_FOR_MS` and no push to the default branch seen since
   * (`forget`, on every replica through the store's notifications, while `listen` says they arrive). Routing a push to a feature branch
   * then costs no request at all; a conditional read only when the branch moved or the trust ran out.
   */
  async readParsedTrusted<T>(github: GitHubClient, repo: RepoRef, ref: string, parse: (text: string | null) => T): Promise<T> {
    return this.parsedOf(cacheKey(repo, ref), await this.readTrusted(github, repo, ref), parse);
  }

  /**
   * `read` without asking GitHub while the cached text is trusted (see `readParsedTrusted`). Late in
   * its trust, the text is still answered at once and asked for again behind it, so a config in use
   * is renewed before its trust runs out instead of costing a push's acknowledgement a request.
   */
  async readTrusted(github: GitHubClient, repo: RepoRef, ref: string): Promise<string | null> {
    if (!this.trusts(repo, ref)) return this.read(github, repo, ref);
    const cached = this.cache.get(cacheKey(repo, ref))!;
    // A failed renewal drops the entry (read's own rule): the next reader asks, and sees the error.
    if (this.now() >= cached.renewAt) this.read(github, repo, ref).catch(() => {});
    return cached.text;
  }

  /** Whether `readTrusted` would answer from the cache now, without asking GitHub. */
  trusts(repo: RepoRef, ref: string): boolean {
    const cached = this.cache.get(cacheKey(repo, ref));
    return this.listening && cached !== undefined && this.now() - cached.confirmedAt < TRUSTED_FOR_MS;
  }

  /**
   * The repository's default branch moved (a push to it): its config must be asked for again. The
   * ETag stays, so a push that left the config alone costs a 304.
   */
  forget(fullName: string): void {
    const repo = fullName.toLowerCase();
    this.generations.set(repo, (this.generations.get(repo) ?? 0) + 1);
    for (const [key, entry] of this.cache) if (key.startsWith(`${repo}@`)) entry.confirmedAt = 0;
  }

  /**
   * Whether every move of a default branch reaches `forget` from now on. Until it does (and after it
   * stopped), configs are always asked for, and what was confirmed before is not trusted again.
   */
  listen(listening: boolean): void {
    if (listening && !this.listening) {
      // A read under way may have been answered before a move nobody heard: it must not confirm.
      this.epoch++;
      for (const entry of this.cache.values()) entry.confirmedAt = 0;
    }
    this.listening = listening;
  }

  /** Drops what is cached for repositories other than these (uninstalled, renamed). */
  keepOnly(repos: Array<{ repo: RepoRef; ref: string }>): void {
    const keep = new Set(repos.map(({ repo, ref }) => cacheKey(repo, ref)));
    for (const key of this.cache.keys()) if (!keep.has(key)) this.cache.delete(key);
  }

  private parsedOf<T>(key: string, text: string | null, parse: (text: string | null) => T): T {
    const entry = this.cache.get(key);
    if (!entry || entry.text !== text) return parse(text);
    if (entry.parsed?.parse !== parse) entry.parsed = { parse, value: parse(text) };
    return entry.parsed.value as T;
  }

  private generationOf(repo: RepoRef): string {
    return `${this.epoch}.${this.generations.get(`${repo.owner}/${repo.repo}`.toLowerCase()) ?? 0}`;
  }
}

interface CachedConfig {
  etag: string;
  text: string | null;
  /** When GitHub last said this is the file (a full answer or a 304). */
  confirmedAt: number;
  /** From when a trusted read asks again behind its answer (`readTrusted`). */
  renewAt: number;
  parsed?: { parse: (text: string | null) => unknown; value: unknown };
}

/**
 * GitHub has just said this is the file. Its renewal falls at a random point between 60 % and 90 % of
 * the trust, so the configs a start-up or a discovery round confirmed together are not all asked for
 * again in the same minute.
 */
function confirmed<T extends Omit<CachedConfig, "confirmedAt" | "renewAt">>(entry: T, now: number): T & CachedConfig {
  return Object.assign(entry, { confirmedAt: now, renewAt: now + TRUSTED_FOR_MS * (0.6 + 0.3 * Math.random()) });
}

/**
 * How long a confirmed config routes pushes without asking GitHub. Pushes to the default branch end
 * the trust at once; this bounds the cost of one the App never received (a failed delivery). A config
 * read during its trust's last 40 % is renewed behind the answer (`readTrusted`).
 */
export const TRUSTED_FOR_MS = 10 * 60_000;

function cacheKey(repo: RepoRef, ref: string): string {
  return `${repo.owner}/${repo.repo}@${ref}`.toLowerCase();
}

export interface TreeEntry {
  path: string;
  sha: string;
  /** Bytes, as the listing tells them: a file can be judged before it is downloaded. */
  size?: number;
}

/**
 * The blobs inside `directory` at `commitSha`, and one folder down (diesel and Prisma keep a folder
 * per migration). Walks one tree per path segment, then lists that directory's own tree
 * recursively, instead of a recursive listing of the whole repository, which GitHub truncates on
 * large repositories. An absent default `migrations` directory gives way to `supabase/migrations`.
 */
export async function listDirectory(github: GitHubClient, repo: RepoRef, commitSha: string, directory: string): Promise<TreeEntry[]> {
  let listed = directory;
  let treeSha = await treeOf(github, repo, commitSha, directory);
  if (!treeSha && directory === DEFAULT_DIRECTORY) [listed, treeSha] = [SUPABASE_DIRECTORY, await treeOf(github, repo, commitSha, SUPABASE_DIRECTORY)];
  if (!treeSha) return [];
  const prefix = listed.replace(/\/+$/, "");
  // The repository's root is listed flat: recursively it would be the whole repository.
  const { data } = await github.rest.git.getTree({ ...repo, tree_sha: treeSha, ...(prefix ? { recursive: "true" } : {}) });
  return data.tree
    .filter((entry) => entry.type === "blob" && entry.path && entry.sha && entry.path.split("/").length <= 2)
    .map((entry) => ({ path: prefix ? `${prefix}/${entry.path}` : entry.path!, sha: entry.sha!, size: entry.size }));
}

/** The SHA of the tree at `directory`, or undefined when there is no such folder. */
async function treeOf(github: GitHubClient, repo: RepoRef, commitSha: string, directory: string): Promise<string | undefined> {
  let treeSha = commitSha;
  for (const segment of directory.split("/").filter(Boolean)) {
    const { data } = await github.rest.git.getTree({ ...repo, tree_sha: treeSha });
    const next = data.tree.find((entry) => entry.path === segment && entry.type === "tree");
    if (!next?.sha) return undefined;
    treeSha = next.sha;
  }
  return treeSha;
}

/** Downloads blobs by SHA, a few at a time. */
export async function downloadBlobs(github: GitHubClient, repo: RepoRef, shas: string[], concurrency = 8): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const queue = [...new Set(shas)];
  const worker = async () => {
    for (let sha = queue.shift(); sha; sha = queue.shift()) {
      const { data } = await github.rest.git.getBlob({ ...repo, file_sha: sha });
      out.set(sha, Buffer.from(data.content, data.encoding === "base64" ? "base64" : "utf8"));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  return out;
}
