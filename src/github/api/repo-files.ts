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
  private readonly cache = new Map<string, { etag: string; text: string | null; parsed?: { parse: (text: string | null) => unknown; value: unknown } }>();

  async read(github: GitHubClient, repo: RepoRef, ref: string): Promise<string | null> {
    const key = cacheKey(repo, ref);
    const cached = this.cache.get(key);
    try {
      const response = await github.rest.repos.getContent({
        ...repo,
        path: REPO_CONFIG_PATH,
        ref,
        headers: cached ? { "if-none-match": cached.etag } : {},
      });
      const text = configText(response.data);
      if (response.headers.etag) this.cache.set(key, { etag: response.headers.etag, text });
      else this.cache.delete(key);
      return text;
    } catch (error) {
      if (statusOf(error) === 304 && cached) return cached.text;
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
    const entry = this.cache.get(cacheKey(repo, ref));
    if (!entry || entry.text !== text) return parse(text);
    if (entry.parsed?.parse !== parse) entry.parsed = { parse, value: parse(text) };
    return entry.parsed.value as T;
  }

  /** Drops what is cached for repositories other than these (uninstalled, renamed). */
  keepOnly(repos: Array<{ repo: RepoRef; ref: string }>): void {
    const keep = new Set(repos.map(({ repo, ref }) => cacheKey(repo, ref)));
    for (const key of this.cache.keys()) if (!keep.has(key)) this.cache.delete(key);
  }
}

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
