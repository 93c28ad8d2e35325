// The pages before sign-in: the invitation to sign in, and how to turn the dashboard on.
import { html, type Html } from "./html.js";

export const DASHBOARD_OFF =
  "The /autopilot dashboard is off. To turn it on, set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (your GitHub App's OAuth credentials; " +
  "Probot's setup wizard writes them to .env) and AUTOPILOT_SECRET (signs the session cookies), and set the App's callback URL to " +
  "https://<this host>/autopilot/callback. See README, section Dashboard.\n";

export function signInPage(message?: string): Html {
  return html`${message ? html`<p class="notice" role="alert">${message}</p>` : ""}
    <h2>Sign in</h2>
    <p>
      Autopilot shows you the repositories where it is installed and that you can access on GitHub, and lets you act on them as your permission there allows.
    </p>
    <p><a class="button" href="/autopilot/login">Sign in with GitHub</a></p>`;
}
