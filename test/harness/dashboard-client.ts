// A browser's part of the dashboard's sign-in, over plain HTTP: follows the OAuth redirects through the
// fake GitHub by hand and keeps the cookies, so tests can also replay, tamper with or drop them.
export const DASHBOARD_ENV = {
  GITHUB_CLIENT_ID: "Iv1.dashboardtest",
  GITHUB_CLIENT_SECRET: "dashboard-client-secret-value",
  AUTOPILOT_SECRET: "dashboard-cookie-hmac-key",
};

export function cookiesOf(response: Response): Record<string, string> {
  const jar: Record<string, string> = {};
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const [name, ...value] = pair!.split("=");
    jar[name!.trim()] = value.join("=");
  }
  return jar;
}

export const cookieHeader = (jar: Record<string, string>) =>
  Object.entries(jar)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");

export interface SignedIn {
  cookie: string;
  session: string;
  setCookieLines: string[];
}

/** Signs in through /autopilot/login → GitHub's authorize page → /autopilot/callback, as the fake's browser user. */
export async function signIn(appUrl: string): Promise<SignedIn> {
  const login = await fetch(`${appUrl}/autopilot/login`, { redirect: "manual" });
  if (login.status !== 302) throw new Error(`GET /autopilot/login answered ${login.status}`);
  const state = cookiesOf(login);
  const authorize = await fetch(login.headers.get("location")!, { redirect: "manual" });
  if (authorize.status !== 302) throw new Error(`the fake's authorize page answered ${authorize.status}: ${await authorize.text()}`);
  const callback = await fetch(authorize.headers.get("location")!, { redirect: "manual", headers: { cookie: cookieHeader(state) } });
  if (callback.status !== 303) throw new Error(`the callback answered ${callback.status}: ${await callback.text()}`);
  const jar = cookiesOf(callback);
  return { cookie: cookieHeader(jar), session: jar.autopilot_session!, setCookieLines: callback.headers.getSetCookie() };
}

export async function getPage(appUrl: string, path: string, cookie?: string): Promise<{ status: number; html: string }> {
  const response = await fetch(`${appUrl}${path}`, { redirect: "manual", headers: cookie ? { cookie } : {} });
  return { status: response.status, html: await response.text() };
}

export async function postForm(appUrl: string, path: string, cookie: string, fields: Record<string, string>): Promise<Response> {
  return fetch(`${appUrl}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
}

export const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
