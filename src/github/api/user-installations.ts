// What a signed-in dashboard user may see, asked of GitHub with their user-to-server token (the App's
// OAuth flow): who they are, the App's installations they can reach, and those installations'
// repositories with their permission on each. The token is only ever sent in a header.
export interface GitHubEndpoints {
  /** https://github.com, or the GitHub Enterprise host: where the OAuth pages live. */
  web: string;
  /** https://api.github.com, or <host>/api/v3. */
  api: string;
}

export function gitHubEndpoints(gheHost: string | undefined, protocol: string): GitHubEndpoints {
  if (!gheHost) return { web: "https://github.com", api: "https://api.github.com" };
  return { web: `${protocol}://${gheHost}`, api: `${protocol}://${gheHost}/api/v3` };
}

export interface UserRepository {
  repo: string;
  owner: string;
  installationId: number;
  permission: "admin" | "maintain" | "write" | "triage" | "read" | "none";
}

interface RepoPermissions {
  admin?: boolean;
  maintain?: boolean;
  push?: boolean;
  triage?: boolean;
  pull?: boolean;
}

/** Trades the code GitHub handed back for a user token; throws GitHub's error (never the code or the secret). */
export async function exchangeOAuthCode(
  endpoints: GitHubEndpoints,
  credentials: { clientId: string; clientSecret: string },
  code: string,
  redirectUri: string,
): Promise<string> {
  const response = await fetch(`${endpoints.web}/login/oauth/access_token`, {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/json" },
    body: JSON.stringify({ client_id: credentials.clientId, client_secret: credentials.clientSecret, code, redirect_uri: redirectUri }),
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || !body.access_token)
    throw new Error(`GitHub refused the sign-in code: ${body.error ?? response.status} ${body.error_description ?? ""}`.trim());
  return body.access_token;
}

async function getJson<T>(endpoints: GitHubEndpoints, token: string, path: string): Promise<T> {
  const response = await fetch(`${endpoints.api}${path}`, {
    headers: { accept: "application/vnd.github+json", authorization: `Bearer ${token}`, "x-github-api-version": "2022-11-28" },
  });
  if (!response.ok) throw new Error(`GitHub answered ${response.status} to GET ${path.split("?")[0]}`);
  return (await response.json()) as T;
}

/** Every page of a listing that wraps its items in `key` (GitHub's /user/installations style). */
async function listAll<T>(endpoints: GitHubEndpoints, token: string, path: string, key: string): Promise<T[]> {
  const items: T[] = [];
  for (let page = 1; ; page += 1) {
    const body = await getJson<Record<string, unknown>>(endpoints, token, `${path}?per_page=100&page=${page}`);
    const batch = (body[key] ?? []) as T[];
    items.push(...batch);
    if (batch.length < 100) return items;
  }
}

export async function getSignedInUser(endpoints: GitHubEndpoints, token: string): Promise<string> {
  return (await getJson<{ login: string }>(endpoints, token, "/user")).login;
}

/** The repositories of the App's installations this user can access, with the user's permission on each. */
export async function listUserRepositories(endpoints: GitHubEndpoints, token: string): Promise<UserRepository[]> {
  const installations = await listAll<{ id: number }>(endpoints, token, "/user/installations", "installations");
  const repos: UserRepository[] = [];
  for (const installation of installations) {
    const listed = await listAll<{ full_name: string; owner: { login: string }; permissions?: RepoPermissions }>(
      endpoints,
      token,
      `/user/installations/${installation.id}/repositories`,
      "repositories",
    );
    for (const r of listed) repos.push({ repo: r.full_name, owner: r.owner.login, installationId: installation.id, permission: permissionOf(r.permissions) });
  }
  return repos;
}

function permissionOf(p: RepoPermissions | undefined): UserRepository["permission"] {
  if (p?.admin) return "admin";
  if (p?.maintain) return "maintain";
  if (p?.push) return "write";
  if (p?.triage) return "triage";
  if (p?.pull) return "read";
  return "none";
}
