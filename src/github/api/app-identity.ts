// Who "the app itself" is on GitHub (`GET /app`), so that the finders in issues.ts find only what the
// app wrote before report/ edits it. Markers in comments and issues (the sticky plan comment, an incident,
// the weekly issue) are trusted only where the app wrote them: anyone can paste a marker.
import type { GitHubClient } from "./client.js";

export interface AppIdentity {
  id: number;
  /** `<app-slug>[bot]`, the author of what the app writes with its installation token. */
  botLogin: string;
}

/** What GitHub says about the author of a comment or an issue. */
export interface Authored {
  user?: { login: string } | null;
  performed_via_github_app?: { id: number } | null;
}

let cached: Promise<AppIdentity> | undefined;

/** The app's id and bot login (`GET /app`, which Octokit's app auth signs with the app's JWT); asked once per process. */
export function appIdentity(github: GitHubClient): Promise<AppIdentity> {
  cached ??= askGitHub(github).catch((error: unknown) => {
    cached = undefined; // a GitHub hiccup: ask again next time
    throw error;
  });
  return cached;
}

async function askGitHub(github: GitHubClient): Promise<AppIdentity> {
  const { data } = await github.rest.apps.getAuthenticated();
  if (!data?.slug) throw new Error("GET /app answered without the app's slug");
  return { id: data.id, botLogin: `${data.slug}[bot]` };
}

export function writtenByApp(item: Authored, app: AppIdentity): boolean {
  return item.user?.login.toLowerCase() === app.botLogin.toLowerCase() || item.performed_via_github_app?.id === app.id;
}
