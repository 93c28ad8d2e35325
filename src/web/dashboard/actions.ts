// The dashboard's buttons: the slash commands heal, backup, rollback (last, after a confirmation page),
// lock and unlock. Shown only where the user's permission allows them; the server checks again on
// POST, and the command run checks once more with GitHub's current answer.
import { authorize, type CommandPolicy, type Permission } from "../../commands/authorize.js";
import { html, repoPath, type Html } from "./html.js";

export const DASHBOARD_VERBS = ["heal", "backup", "rollback", "lock", "unlock"] as const;
export type DashboardVerb = (typeof DASHBOARD_VERBS)[number];

/** `allowed(verb, environment)`: whether the user may press that button. */
export type AllowedActions = (verb: DashboardVerb, environment: string) => { allowed: true } | { allowed: false; reason: string };

export function allowedActions(permission: Permission, policy: CommandPolicy, login: string): AllowedActions {
  return (verb, environment) => {
    const decision = authorize({ verb, environment, line: 0, text: verb }, permission, policy, environment, login);
    return decision.allowed ? { allowed: true } : { allowed: false, reason: decision.reason };
  };
}

const LABELS: Record<DashboardVerb, string> = { heal: "Heal now", backup: "Back up", rollback: "Roll back last…", lock: "Lock", unlock: "Unlock" };

function button(repo: string, verb: DashboardVerb, environment: string, csrf: string, allowed: AllowedActions): Html {
  const decision = allowed(verb, environment);
  if (!decision.allowed) return html`<button type="button" class="secondary" disabled title="${decision.reason}">${LABELS[verb]}</button> `;
  if (verb === "rollback") {
    return html`<form class="inline" method="get" action="${repoPath(repo)}/confirm">
      <input type="hidden" name="environment" value="${environment}" /> <button class="danger" type="submit">${LABELS[verb]}</button>
    </form> `;
  }
  return html`<form class="inline" method="post" action="${repoPath(repo)}/actions">
    <input type="hidden" name="csrf" value="${csrf}" /> <input type="hidden" name="verb" value="${verb}" /><input
      type="hidden"
      name="environment"
      value="${environment}"
    />
    ${verb === "lock" ? html`<label class="inline">Reason <input name="reason" maxlength="200" size="16" /></label>` : ""}<button type="submit">
      ${LABELS[verb]}
    </button>
  </form> `;
}

export function actionButtons(repo: string, environments: string[], allowed: AllowedActions, csrf: string): Html {
  const heal = button(repo, "heal", environments[0] ?? "production", csrf, allowed);
  return html`<p>${heal}</p>
    ${environments.map(
      (e) => html`<p><strong>${e}</strong>: ${(["backup", "rollback", "lock", "unlock"] as const).map((verb) => button(repo, verb, e, csrf, allowed))}</p>`,
    )}
    <p class="muted">A greyed-out button needs more permission on the repository (hover it to see why).</p>`;
}

export function confirmRollbackPage(repo: string, environment: string, csrf: string): Html {
  return html`<h2>Roll back ${environment} of ${repo}?</h2>
    <p>
      This reverts the last migration applied to <strong>${environment}</strong> (its <code>.down.sql</code>, or a restore of the backup taken before it), as
      <code>/autopilot rollback last</code> does.
    </p>
    <form method="post" action="${repoPath(repo)}/actions">
      <input type="hidden" name="csrf" value="${csrf}" /> <input type="hidden" name="verb" value="rollback" /><input
        type="hidden"
        name="environment"
        value="${environment}"
      /><input type="hidden" name="confirm" value="yes" /> <button class="danger" type="submit">Yes, roll back ${environment}</button>
      <a href="${repoPath(repo)}">Cancel</a>
    </form>`;
}
