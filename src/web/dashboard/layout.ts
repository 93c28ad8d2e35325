// The page shell: inline CSS (no external requests), readable contrast, a layout that folds to one
// column on a phone, and a 30 s refresh by a tiny inline script (the page needs no script to work).
import { html, raw, type Html } from "./html.js";

const STYLE = `
:root{--fg:#1f2328;--muted:#57606a;--bg:#fff;--card:#f6f8fa;--line:#d0d7de;--up:#116329;--down:#a40e26;--warn:#7d4e00;--accent:#0550ae}
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.75rem 1rem;border-bottom:1px solid var(--line)}
header h1{font-size:1.2rem;margin:0}header a{color:var(--accent)}main{padding:1rem;max-width:1200px;margin:auto}
a{color:var(--accent)}a:focus,button:focus,input:focus,select:focus{outline:3px solid #0969da;outline-offset:2px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem}
.card h2,.card h3{font-size:1rem;margin:.1rem 0 .5rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.15rem .75rem;margin:0}dt{color:var(--muted)}dd{margin:0}
.up,.success,.healthy,.ok{color:var(--up);font-weight:600}.down,.failure,.unhealthy,.error,.refused{color:var(--down);font-weight:600}
.degraded,.maintenance,.action_required,.queued,.in_progress,.neutral,.warning{color:var(--warn);font-weight:600}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
.scroll{overflow-x:auto}svg{max-width:100%;height:auto;background:#fff;border:1px solid var(--line);border-radius:6px}
form.inline{display:inline}button,.button{font:inherit;padding:.4rem .8rem;border-radius:6px;border:1px solid #1f883d;background:#1f883d;color:#fff;cursor:pointer;min-height:44px}
button.danger{background:#cf222e;border-color:#cf222e}button.secondary{background:#fff;color:var(--fg);border-color:var(--line)}
.notice{padding:.5rem 1rem;border:1px solid var(--line);border-left:4px solid var(--accent);background:var(--card);margin-bottom:1rem}
.legend span{margin-right:1rem}.muted{color:var(--muted)}label{display:block;margin:.25rem 0}
@media (max-width:600px){main{padding:.5rem}th,td{padding:.25rem}body{font-size:14px}}
`;

// Reloads every 30 s unless the user is typing into a form.
const REFRESH = `setInterval(function(){if(!document.activeElement||!document.activeElement.form)location.reload()},30000)`;

export function page(title: string, body: Html, user?: { login: string; csrf: string }, refresh = true): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>${title} · Autopilot</title>
        <style>
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <h1><a href="/autopilot">Autopilot</a> · ${title}</h1>
          ${
            user
              ? html`<form class="inline" method="post" action="/autopilot/logout">
                  <span>Signed in as <strong>${user.login}</strong></span> <input type="hidden" name="csrf" value="${user.csrf}" />
                  <button class="secondary" type="submit">Sign out</button>
                </form>`
              : ""
          }
        </header>
        <main id="main">${body}</main>
        ${refresh ? raw(`<script>${REFRESH}</script>`) : ""}
      </body>
    </html>`.text;
}
