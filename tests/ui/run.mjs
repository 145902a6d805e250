// The browser scenarios' runner (started by tests/ui.rs, which passes the server's base URL
// and the scripted replies in the environment; see lib.mjs).
//
// Every file in scenarios/ exports `scenarios`: a list of `{ name, viewport?, focus?, run }`.
// Each scenario runs in a fresh browser context (its own sessionStorage, so its own sign-in)
// and page; `run({ page, context, browser, data, base })` throws to fail. Whatever the
// outcome, a screenshot of the page goes to `$EVENTCHAT_UI_SHOTS/<name>.png` (and one of the
// element `focus` names, if any, to `<name>.focus.png`). A scenario is bounded
// by SCENARIO_TIMEOUT_MS, the whole run by RUN_TIMEOUT_MS. `node run.mjs <filter>` runs the
// scenarios whose name contains <filter>. The last line is `ui: N passed, M failed`; the
// exit code is 0 only when nothing failed.
//
// To add a scenario: add it to a file of scenarios/ (or a new file there); nothing else.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { env } from "./lib.mjs";

const SCENARIO_TIMEOUT_MS = 60000;
const RUN_TIMEOUT_MS = 280000;
const here = new URL(".", import.meta.url).pathname;
const filter = process.argv[2] || "";

const timer = setTimeout(() => {
  console.error(`ui: the run took longer than ${RUN_TIMEOUT_MS / 1000} s`);
  process.exit(2);
}, RUN_TIMEOUT_MS);

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

async function load() {
  const dir = join(here, "scenarios");
  const all = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".mjs")).sort()) {
    const mod = await import(join(dir, f));
    for (const s of mod.scenarios || []) all.push({ ...s, file: f });
  }
  return all.filter((s) => s.name.includes(filter));
}

async function main() {
  if (!env.base) throw new Error("EVENTCHAT_UI_BASE_URL is not set (tests/ui.rs sets it)");
  const scenarios = await load();
  if (!scenarios.length) throw new Error(`no scenario matches ${JSON.stringify(filter)}`);
  const browser = await chromium.launch({
    executablePath: env.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  let passed = 0, failed = 0;
  try {
    for (const s of scenarios) {
      const context = await browser.newContext({
        viewport: s.viewport || { width: 1280, height: 800 },
        baseURL: env.base,
      });
      const page = await context.newPage();
      const consoleErrors = [];
      page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
      page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`console: ${m.text()}`); });
      const started = Date.now();
      let error = null;
      try {
        await withTimeout(s.run({ page, context, browser, data: env.data, base: env.base }), s.timeout || SCENARIO_TIMEOUT_MS, s.name);
      } catch (e) {
        error = e;
      }
      await page.screenshot({ path: join(env.shots, `${s.name}.png`), fullPage: true }).catch((e) => console.error(`screenshot of ${s.name}: ${e.message}`));
      if (s.focus) {
        await page.locator(s.focus).first().screenshot({ path: join(env.shots, `${s.name}.focus.png`), timeout: 3000 }).catch(() => {});
      }
      const ms = Date.now() - started;
      if (error) {
        failed++;
        console.log(`FAIL ${s.name} (${s.file}, ${ms} ms): ${error.message}`);
        if (!(error.name === "Failure")) console.log(error.stack);
        for (const line of consoleErrors) console.log(`  ${line}`);
      } else {
        passed++;
        console.log(`ok   ${s.name} (${ms} ms)`);
      }
      await context.close();
    }
  } finally {
    await browser.close();
  }
  console.log(`ui: ${passed} passed, ${failed} failed`);
  return failed;
}

main().then((failed) => {
  clearTimeout(timer);
  process.exit(failed ? 1 : 0);
}, (e) => {
  console.error(`ui: ${e.stack || e.message}`);
  console.log("ui: 0 passed, 1 failed");
  process.exit(1);
});
