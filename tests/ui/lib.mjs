// Helpers shared by the browser scenarios: the run's settings, sign-in, bounded waits and
// assertions with clear messages, and the chat panel's selectors.
//
// Every wait has a bound (`timeout`, default 10 s) and fails with what it waited for and
// what it saw last; no scenario sleeps to assert.

export const env = {
  base: process.env.EVENTCHAT_UI_BASE_URL,
  shots: process.env.EVENTCHAT_UI_SHOTS,
  chromium: process.env.EVENTCHAT_UI_CHROMIUM || "/usr/bin/chromium",
  data: JSON.parse(process.env.EVENTCHAT_UI_DATA || "{}"),
};

export class Failure extends Error {
  constructor(message) {
    super(message);
    this.name = "Failure";
  }
}

export function assert(cond, message) {
  if (!cond) throw new Failure(message);
}

export function assertEq(actual, expected, what) {
  if (actual !== expected) {
    throw new Failure(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

// Polls `probe` (sync or async; a truthy answer ends the wait) until `timeout` ms passed.
export async function waitUntil(probe, what, { timeout = 10000, every = 50 } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = `error: ${e.message}`;
    }
    if (Date.now() > end) throw new Failure(`timed out after ${timeout} ms waiting for ${what} (last seen: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, every));
  }
}

// Signs in through the dev sign-in page by clicking the user, and lands on `next`.
export async function signIn(page, email, next, base = env.base) {
  await page.goto(`${base}/?next=${encodeURIComponent(next)}`);
  const button = page.locator(`button.user-button[data-email="${email}"]`);
  await button.waitFor({ timeout: 10000 });
  await button.click();
  await page.waitForURL((u) => u.pathname === next, { timeout: 10000 }).catch(async () => {
    const status = await page.locator("#signin-status").textContent().catch(() => "");
    throw new Failure(`sign-in as ${email} did not reach ${next} (at ${page.url()}; status: ${status})`);
  });
}

// The chat panel of a page (the first, or the one of an assistant type).
export function panel(page, agent) {
  return page.locator(agent ? `.chat-panel[data-agent="${agent}"]` : ".chat-panel").first();
}

export const sel = {
  input: ".chat-input",
  send: ".chat-send",
  assistant: ".chat-msg.assistant .chat-bubble",
  user: ".chat-msg.user .chat-bubble",
  workflow: ".chat-workflow",
  history: ".chat-history-toggle",
  historyRow: ".chat-history-list > li",
};

// The text of the panel's newest assistant message, and whether it is still streaming.
export async function lastAssistant(p) {
  return p.evaluate((root) => {
    const all = root.querySelectorAll(".chat-msg.assistant");
    const last = all[all.length - 1];
    if (!last) return null;
    return { text: last.querySelector(".chat-bubble").textContent, streaming: last.dataset.streaming === "true", count: all.length };
  });
}

// Types a message into the panel's composer and sends it with Enter.
export async function ask(p, text) {
  const input = p.locator(sel.input);
  await input.fill(text);
  await input.press("Enter");
}

// Waits for the newest assistant message (the `n`-th, counting from 1, when given) to have
// finished streaming, and returns its text.
export async function answer(p, { n, timeout = 15000 } = {}) {
  const done = await waitUntil(async () => {
    const a = await lastAssistant(p);
    return a && !a.streaming && (!n || a.count >= n) ? a : null;
  }, `assistant message ${n ?? ""} to finish`, { timeout });
  return done.text;
}

// Records every distinct text the newest assistant message shows, from now on (a
// MutationObserver in the page); `take()` returns them in order. With `newOnly` (the
// default) only messages that appear after the call count.
export async function recordTexts(p, { newOnly = true } = {}) {
  await p.evaluate((root, newOnly) => {
    const seen = [];
    root.__texts = seen;
    const start = newOnly ? root.querySelectorAll(".chat-msg.assistant").length : 0;
    const note = () => {
      const all = root.querySelectorAll(".chat-msg.assistant .chat-bubble");
      const last = all.length > start ? all[all.length - 1] : null;
      const t = last ? last.textContent : "";
      if (t && seen[seen.length - 1] !== t) seen.push(t);
    };
    root.__observer?.disconnect();
    root.__observer = new MutationObserver(note);
    root.__observer.observe(root, { subtree: true, childList: true, characterData: true });
    note();
  }, newOnly);
  return { take: () => p.evaluate((root) => root.__texts.slice()) };
}

// A ChatKit request from the page, with the signed-in user's token (to check the server's
// view of what the page shows).
export async function chatkit(page, body) {
  return page.evaluate(async (b) => {
    const r = await fetch("/api/chatkit", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${sessionStorage.getItem("eventchat.token")}` },
      body: JSON.stringify(b),
    });
    return { status: r.status, body: await r.json() };
  }, body);
}
