// The pages' scenarios: sign-in, the venue dashboard (seeded data, three event assistants
// streaming at once), the two-party change-request flow across two browser contexts, the
// admin page, a client refused the dashboard, and the event page on a phone. The mock
// model's rules are in tests/ui.rs ("slow": 80 deltas 40 ms apart; "change": the client's
// requestElementChange tool; "what changed": the thread's newest hidden note).
import { join } from "node:path";
import { answer, ask, assert, assertEq, env, lastAssistant, panel, sel, signIn, waitUntil } from "../lib.mjs";

const d = env.data;
const script = d.script || {};
const dashboard = `/venues/${d.venue_id}`;

// The dashboard's event list on its "All upcoming" tab; returns the rows' event ids.
async function allUpcoming(page) {
  await page.locator('#events button[data-range="all"]').click();
  await waitUntil(async () => (await page.locator("#events tbody tr").count()) >= 3, "three or more upcoming events");
  return page.locator("#events tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.eventId));
}

function eventPanel(page, eventId) {
  return page.locator(`.event-panel[data-event-id="${eventId}"] .chat-panel`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(env.shots, `${name}.png`), fullPage: true });
}

export const scenarios = [
  {
    name: "page-sign-in",
    async run({ page }) {
      await page.goto("/");
      await page.locator("button.user-button").first().waitFor({ timeout: 10000 });
      for (const group of ["Venue staff", "Clients", "Admins"]) {
        assert(await page.getByRole("heading", { name: group }).isVisible(), `the ${group} group is listed`);
      }
      assert(await page.locator(`button.user-button[data-email="${d.staff_email}"]`).isVisible(), "the demo staff user is listed");
      const cookies = await page.context().cookies();
      assertEq(cookies.length, 0, "cookies set by the sign-in page");
    },
  },
  {
    name: "page-dashboard",
    async run({ page }) {
      await signIn(page, d.staff_email, dashboard);
      await page.locator("#tasks li").first().waitFor({ timeout: 10000 });
      const tasks = await page.locator("#tasks li strong").allTextContents();
      assert(tasks.includes("Send stage and AV plan to Lumen Lighting"), `seeded tasks shown: ${JSON.stringify(tasks)}`);
      await allUpcoming(page);
      const names = await page.locator("#events tbody tr td:nth-child(2) a").allTextContents();
      for (const n of ["Grace's 30th Birthday", "BrightLabs Product Launch", "Emily & James Wedding"]) {
        assert(names.includes(n), `seeded event ${n} listed: ${JSON.stringify(names)}`);
      }
      assert(await page.locator("#change-requests li.change-request").count() >= 1, "the seeded open change request is listed");
      assert(await page.locator("#messages li").count() >= 1, "recent messages are listed");
      await panel(page, "venue_general").locator(sel.input).waitFor({ timeout: 10000 });
      assertEq(await page.locator("body").evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, "no horizontal scrolling at 1280 px");
    },
  },
  {
    name: "page-dashboard-three-panels",
    timeout: 90000,
    async run({ page }) {
      await signIn(page, d.staff_email, dashboard);
      const ids = (await allUpcoming(page)).slice(0, 3);
      for (const id of ids) {
        await page.locator(`#events tr[data-event-id="${id}"] button.open-panel`).click();
        await eventPanel(page, id).locator(sel.input).waitFor({ timeout: 10000 });
      }
      assertEq(await page.locator(".event-panel").count(), 3, "open event panels");
      // Send in all three, then see all three streaming at the same moment.
      for (const id of ids) await ask(eventPanel(page, id), `Please be slow for event ${id}`);
      await waitUntil(async () => {
        const states = await Promise.all(ids.map((id) => lastAssistant(eventPanel(page, id))));
        return states.every((s) => s && s.streaming && s.text.length > 0);
      }, "all three panels streaming at once", { timeout: 15000 });
      await shot(page, "page-dashboard-three-panels.streaming");
      for (const id of ids) {
        const text = await answer(eventPanel(page, id), { timeout: 30000 });
        assertEq(text, script.slow, `panel ${id}'s whole answer`);
      }
    },
  },
  {
    name: "page-two-party-approval",
    timeout: 90000,
    async run({ page, browser }) {
      // The client, on the event page, in this context.
      await signIn(page, d.client_email, `/events/${d.event_id}`);
      const client = panel(page, "client");
      await client.locator(sel.input).waitFor({ timeout: 10000 });
      // The staff, on the dashboard, in a second context (their own sign-in).
      const staffContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: env.base });
      try {
        const staff = await staffContext.newPage();
        await signIn(staff, d.staff_email, dashboard);
        await staff.locator("#change-requests h2").waitFor({ timeout: 10000 });
        const wanted = "Add a chocolate fountain for the reception";
        const request = staff.locator("#change-requests li.change-request").filter({ hasText: wanted });
        assertEq(await request.count(), 0, "the new request before the client asks");

        await ask(client, "Can we make a change to the menu?");
        assertEq(await answer(client, { timeout: 20000 }), script.after_change, "the client's answer");
        const asked = Date.now();
        // The dashboard learns it from its live feed, without a reload.
        await request.first().waitFor({ timeout: 5000 });
        console.log(`  two-party: the dashboard showed the new request ${Date.now() - asked} ms after the client's answer ended`);
        await staff.screenshot({ path: join(env.shots, "page-two-party-approval.staff.png"), fullPage: true });

        const requestId = await request.first().getAttribute("data-request-id");
        await request.first().locator("input[name=note]").fill("Lovely idea");
        await request.first().locator("button.approve").click();
        await waitUntil(async () => (await staff.locator(`#change-requests li[data-request-id="${requestId}"]`).count()) === 0, "the approved request to leave the open list");

        // The client's page learns it from its live feed ...
        const mine = page.locator(`#change-requests li[data-request-id="${requestId}"]`);
        await waitUntil(async () => (await mine.getAttribute("data-status").catch(() => null)) === "approved", "the client's page to show the request approved", { timeout: 5000 });
        // ... and so does the client's live thread: its next turn is told.
        const before = (await lastAssistant(client))?.count || 0;
        await ask(client, "So what changed?");
        const update = await answer(client, { n: before + 1, timeout: 20000 });
        assert(/approved/i.test(update), `the client's thread was told of the approval: ${JSON.stringify(update)}`);
      } finally {
        await staffContext.close();
      }
    },
  },
  {
    name: "page-admin",
    async run({ page, browser }) {
      // A live thread actor to look at: a client's thread, made in its own context.
      const clientContext = await browser.newContext({ baseURL: env.base });
      let threadId;
      try {
        const cp = await clientContext.newPage();
        await signIn(cp, d.client_email, `/events/${d.event_id}`);
        const p = panel(cp, "client");
        await p.locator(sel.input).waitFor({ timeout: 10000 });
        await p.locator(".chat-new").click().catch(() => {});
        await ask(p, "Hello from the admin scenario");
        await answer(p, { timeout: 15000 });
        threadId = await cp.evaluate(async () => {
          const r = await fetch("/api/chatkit", { method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${sessionStorage.getItem("eventchat.token")}` }, body: JSON.stringify({ type: "threads.list", params: { limit: 1, order: "desc" } }) });
          return (await r.json()).data[0].id;
        });
      } finally {
        await clientContext.close();
      }
      await signIn(page, d.admin_email, "/admin");
      const row = page.locator(`#actors tr[data-thread-id="${threadId}"]`);
      await row.waitFor({ timeout: 10000 });
      const figures = await page.locator(".stat .value").allTextContents();
      assert(figures.length >= 4 && figures.every((f) => f !== "–"), `metrics figures shown: ${JSON.stringify(figures)}`);
      assert(await page.locator("table tr[data-venue-id]").count() >= 1, "a venue supervisor is listed");
      await shot(page, "page-admin.before-stop");
      await row.locator("button.stop").click();
      await waitUntil(async () => (await row.count()) === 0, "the stopped actor to leave the list", { timeout: 10000 });
    },
  },
  {
    name: "page-dashboard-search",
    async run({ page }) {
      await signIn(page, d.staff_email, dashboard);
      const box = page.getByRole("searchbox", { name: "Search chats and messages" });
      await box.fill("vegetarian tasting");
      await box.press("Enter");
      const hit = page.locator(".search-results li.search-hit").first();
      await hit.waitFor({ timeout: 10000 });
      const marks = await page.locator(".search-results mark").allTextContents();
      assert(marks.some((m) => /vegetarian|tasting/i.test(m)), `highlighted matches: ${JSON.stringify(marks)}`);
      // The snippet is text with <mark> only: no other element came from the server's HTML.
      const other = await page.locator(".search-results .snippet *:not(mark)").count();
      assertEq(other, 0, "elements other than <mark> inside snippets");
    },
  },
  {
    name: "page-client-refused-dashboard",
    async run({ page }) {
      await signIn(page, d.client_email, `/events/${d.event_id}`);
      await page.goto(dashboard);
      await page.getByRole("heading", { name: "This dashboard is not yours" }).waitFor({ timeout: 10000 });
      const text = await page.locator("body").innerText();
      for (const secret of ["Send stage and AV plan", "Harborview Loft", "Recent messages", "Grace's 30th Birthday"]) {
        assert(!text.includes(secret), `the refused page shows ${JSON.stringify(secret)}`);
      }
      assertEq(await page.locator("#tasks, #events, .chat-panel").count(), 0, "dashboard parts in the DOM");
    },
  },
  {
    name: "page-event-phone",
    viewport: { width: 390, height: 844 },
    async run({ page }) {
      await signIn(page, d.client_email, `/events/${d.event_id}`);
      await page.locator("#elements tbody tr").first().waitFor({ timeout: 10000 });
      await panel(page, "client").locator(sel.input).waitFor({ timeout: 10000 });
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(width <= 390, `the event page is ${width} px wide on a 390 px phone`);
    },
  },
];
