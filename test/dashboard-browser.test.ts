// The dashboard in a real browser (Chromium from Debian's packages, driven by playwright-core): sign
// in through the fake GitHub, open a repository, see its charts, press "Heal now" and see the run
// appear. Saves a screenshot of each page into docs/screenshots/ (the README shows them).
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { chromium, type Browser, type Page } from "playwright-core";
import { rollUpHealth } from "../src/store/health-rollups.js";
import { DASHBOARD_ENV } from "./harness/dashboard-client.js";
import { shopRepo } from "./harness/fixtures.js";
import { seedHealthHistory } from "./harness/health-history.js";
import { REPO, Scenario } from "./harness/scenario.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = path.resolve(import.meta.dirname, "../docs/screenshots");
const missing = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`;

describe("the dashboard in Chromium", { skip: missing }, () => {
  let s: Scenario;
  let browser: Browser;
  let page: Page;
  before(async () => {
    s = await Scenario.start({ env: DASHBOARD_ENV });
    s.github.setOAuthApp(DASHBOARD_ENV.GITHUB_CLIENT_ID, DASHBOARD_ENV.GITHUB_CLIENT_SECRET);
    s.github.setPermission(REPO, "octo-admin", "admin");
    s.github.signInAs("octo-admin");
    s.commit(shopRepo([]));
    await seedHealthHistory((sql, params) => s.storeQuery(sql, params), [REPO], { days: 7, stepMinutes: 15 });
    await rollUpSeededWeek(s);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  // The week was written behind the rollups, into hours the scheduler may already have rolled up
  // (empty) when the app started: until its next roll-up a minute later the charts would miss those
  // hours. Roll up now, as that pass would.
  async function rollUpSeededWeek(scenario: Scenario): Promise<void> {
    const pool = new pg.Pool({ connectionString: scenario.store.url, max: 1 });
    try {
      while (!(await rollUpHealth(pool))) await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await pool.end();
    }
  }

  test("sign in with GitHub, open the repository, see a chart, heal now, and see the run appear", async () => {
    await page.goto(`${s.app.url}/autopilot`);
    await page.screenshot({ path: path.join(SCREENSHOTS, "sign-in.png") });
    await page.getByRole("link", { name: "Sign in with GitHub" }).click();
    await page.getByText("Signed in as").waitFor();
    assert.equal(new URL(page.url()).pathname, "/autopilot");
    await page.getByRole("region", { name: `${REPO} production` }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, "overview.png"), fullPage: true });

    await page.getByRole("link", { name: REPO }).first().click();
    const chart = page.locator("svg.chart").first();
    await chart.waitFor();
    assert.ok((await chart.locator("path").count()) >= 2, "p50 and p95 lines are drawn");
    assert.ok((await page.locator("rect.maintenance-window").count()) > 0, "the maintenance window is shaded");
    assert.ok((await page.locator("g.mark-deployment").count()) > 0, "the deployment is marked");

    await page.getByRole("button", { name: "Heal now" }).click();
    await page.getByRole("status").filter({ hasText: "Queued as run" }).waitFor();
    const runs = page.locator("#runs table");
    for (let tries = 0; !(await runs.getByRole("cell", { name: "heal", exact: true }).count()); tries++) {
      assert.ok(tries < 100, "the heal run appears under Runs");
      await page.waitForTimeout(300);
      await page.reload();
    }
    await page.screenshot({ path: path.join(SCREENSHOTS, "repository.png"), fullPage: true });

    await page.getByRole("button", { name: "Roll back last…" }).first().click();
    await page.getByRole("button", { name: "Yes, roll back production" }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, "confirm-rollback.png") });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${s.app.url}/autopilot`);
    await page.screenshot({ path: path.join(SCREENSHOTS, "overview-phone.png"), fullPage: true });
  });
});
