// The chat panel's scenarios, on the client's event page (`/events/{id}`, the `client`
// assistant). The mock model's rules (tests/ui.rs): a message with "guests" gets a
// viewGuestList tool round then `script.after_guests`; "slow" gets `script.slow` (80 deltas,
// 40 ms apart); "markdown" gets `script.markdown`; "flaky" fails mid-reply the first time;
// anything else gets `You said "<last word>". Happy to help!`.
import {
  answer, ask, assert, assertEq, chatkit, env, lastAssistant, panel, recordTexts, sel, signIn, waitUntil,
} from "../lib.mjs";
import { startProxy } from "../proxy.mjs";

const d = env.data;
const script = d.script || {};
const echo = (word) => `${script.echo_prefix}"${word}". Happy to help!`;
const words = (text) => text.trim().split(/\s+/).filter(Boolean).length;

async function openEvent(page, eventId = d.event_id, base = env.base) {
  const path = `/events/${eventId}`;
  await signIn(page, d.client_email, path, base);
  const p = panel(page, "client");
  await p.locator(sel.input).waitFor({ timeout: 10000 });
  return p;
}

// Waits until the newest assistant message streams and shows at least `n` words.
async function streamedWords(p, n) {
  return waitUntil(async () => {
    const a = await lastAssistant(p);
    return a && a.streaming && words(a.text) >= n ? a : null;
  }, `a streaming reply with ${n} words`);
}

// Every text seen while streaming is a prefix of `full`, and at least `min` partial texts
// were seen (the reply streamed, it did not just appear whole).
function assertStreamedPrefixes(seen, full, min) {
  const bad = seen.find((t) => !full.startsWith(t));
  assert(bad === undefined, `a streamed text is not a prefix of the reply (lost or doubled text): ${JSON.stringify(bad)}`);
  const partial = seen.filter((t) => t !== full).length;
  assert(partial >= min, `only ${partial} partial texts were seen while streaming (expected ${min} or more)`);
}

async function sendButtonSays(p, label, timeout = 10000) {
  await waitUntil(async () => (await p.locator(sel.send).textContent()) === label, `the composer button to say ${label}`, { timeout });
}

const chat = [
  {
    name: "chat-client-question-and-tool",
    async run({ page }) {
      // Through a proxy that delivers the tool round's stream one frame every 80 ms, as a
      // slow network would: on loopback the whole round arrives in one read, and only its
      // end would be drawn.
      const proxy = await startProxy(env.base);
      try {
        const p = await openEvent(page, d.event_id, proxy.url);
        // An empty thread offers the assistant's starter prompts.
        const starters = p.locator(".chat-starter");
        await starters.first().waitFor({ timeout: 10000 });
        const labels = await starters.allTextContents();
        assert(labels.includes("Show me my event details"), `starter prompts: ${JSON.stringify(labels)}`);

        const tasks = [];
        await page.exposeFunction("__taskSeen", (t) => tasks.push(t));
        await p.evaluate((root) => {
          new MutationObserver(() => {
            for (const wf of root.querySelectorAll(".chat-workflow")) {
              window.__taskSeen(`${wf.dataset.running}:${wf.textContent}`);
            }
          }).observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
        });
        const texts = await recordTexts(p);
        proxy.paceNext({ path: "/api/chatkit", frameDelayMs: 80 });
        await ask(p, "Who are my guests?");
        await p.locator(sel.user).filter({ hasText: "Who are my guests?" }).waitFor({ timeout: 5000 });
        const text = await answer(p, { timeout: 20000 });
        assertEq(text, script.after_guests, "the answer after the tool round");
        // The workflow (the tool round) is shown with its task, running and then done.
        const wf = p.locator(sel.workflow);
        assertEq(await wf.count(), 1, "workflow items shown");
        const taskTitle = (await wf.locator(".chat-task-title").first().textContent()).trim();
        assert(taskTitle.length > 0, "the tool task has a title");
        assertEq(await wf.getAttribute("data-running"), "false", "the workflow is finished");
        assert(tasks.some((t) => t.startsWith("true:")), `the workflow was never shown running: ${JSON.stringify(tasks.slice(0, 5))}`);
        // The answer streamed in, delta by delta.
        assertStreamedPrefixes(await texts.take(), script.after_guests, 2);
        // Feedback on the answer.
        const up = p.locator(".chat-msg.assistant").last().locator('[data-feedback="positive"]');
        await up.click();
        await waitUntil(async () => (await up.getAttribute("aria-pressed")) === "true", "the thumbs-up to be pressed");
      } finally {
        await proxy.close();
      }
    },
  },
  {
    name: "chat-stop-keeps-partial-text",
    async run({ page }) {
      const p = await openEvent(page);
      await ask(p, "Tell me something slow");
      await streamedWords(p, 8);
      await p.locator(sel.send).click(); // Stop
      await sendButtonSays(p, "Send");
      const shown = await lastAssistant(p);
      assert(!shown.streaming, "the message still streams after Stop");
      assert(script.slow.startsWith(shown.text), `the partial text is not a prefix of the reply: ${JSON.stringify(shown.text)}`);
      assert(words(shown.text) < 80, "Stop came too late: the whole reply was shown");
      // The server cancelled the turn: the stored message is the partial one, not all 80 words.
      const threads = await chatkit(page, { type: "threads.list", params: { limit: 1 }, metadata: { agentType: "client", eventId: d.event_id } });
      const threadId = threads.body.data[0].id;
      const stored = await waitUntil(async () => {
        const items = await chatkit(page, { type: "items.list", params: { thread_id: threadId, order: "asc" } });
        return items.body.data.find((i) => i.type === "assistant_message");
      }, "the stopped message to be stored");
      const storedText = stored.content.map((c) => c.text).join("");
      assert(words(storedText) < 80, `the turn was not cancelled: the stored message has all ${words(storedText)} words`);
      // The thread takes the next message at once.
      await ask(p, "and now hello again");
      assertEq(await answer(p, { n: 2 }), echo("again"), "the reply after Stop");
    },
  },
  {
    name: "chat-network-drop-resumes",
    async run({ page }) {
      // Through a proxy that cuts the reply's connection in the middle of a frame.
      const proxy = await startProxy(env.base);
      try {
        const p = await openEvent(page, d.event_id, proxy.url);
        const resumes = [];
        page.on("request", (r) => { if (/\/turns\/[^/]+\/events$/.test(r.url())) resumes.push(r.url()); });
        proxy.cutNext({ path: "/api/chatkit", afterBytes: 3000 });
        const texts = await recordTexts(p);
        await ask(p, "A slow answer, please");
        const text = await answer(p, { timeout: 20000 });
        const cuts = proxy.cutsDone();
        assertEq(cuts.length, 1, "connections cut by the proxy");
        assert(resumes.length >= 1, "the stream never resumed after the cut");
        assertEq(text, script.slow, `the reply after a drop at byte ${cuts[0].bytes}`);
        // The final item carries the whole text anyway, so the proof is in the deltas: every
        // text shown while streaming is a prefix of the reply (a lost or doubled delta is not).
        assertStreamedPrefixes(await texts.take(), script.slow, 20);
        // And the page shows the message once.
        assertEq(await p.locator(sel.assistant).count(), 1, "assistant messages shown");
      } finally {
        await proxy.close();
      }
    },
  },
  {
    name: "chat-history-switch-rename-delete",
    async run({ page }) {
      const p = await openEvent(page, d.event_id_2);
      await ask(p, "first topic alpha");
      assertEq(await answer(p), echo("alpha"), "the first thread's reply");
      await p.locator(".chat-new").click();
      await waitUntil(async () => (await p.locator(".chat-msg").count()) === 0, "New chat to empty the panel");
      await ask(p, "second topic beta");
      assertEq(await answer(p), echo("beta"), "the second thread's reply");

      await p.locator(sel.history).click();
      const rows = p.locator(sel.historyRow);
      await waitUntil(async () => (await rows.count()) === 2, "two threads in the history");
      // Newest first: the second row is the alpha thread.
      await rows.nth(1).locator("button").click();
      await p.locator(sel.user).filter({ hasText: "first topic alpha" }).waitFor({ timeout: 5000 });
      assertEq(await p.locator(sel.user).filter({ hasText: "beta" }).count(), 0, "beta messages in the alpha thread");
      await rows.nth(0).locator("button").click();
      await p.locator(sel.user).filter({ hasText: "second topic beta" }).waitFor({ timeout: 5000 });

      // Rename the beta thread.
      await p.getByRole("button", { name: "Rename" }).click();
      const title = p.locator(".chat-rename-input");
      await title.fill("Beta plans");
      await title.press("Enter");
      await waitUntil(async () => (await p.locator(".chat-thread-title").textContent()) === "Beta plans", "the new title in the header");
      await waitUntil(async () => (await rows.nth(0).textContent()).includes("Beta plans"), "the new title in the history");

      // Delete it, after the confirmation.
      await p.getByRole("button", { name: "Delete", exact: true }).first().click();
      const confirm = p.locator(".chat-confirm");
      await confirm.waitFor({ timeout: 5000 });
      await confirm.locator(".chat-confirm-delete").click();
      await waitUntil(async () => (await rows.count()) === 1, "the deleted thread to leave the history");
      assert(!(await rows.nth(0).textContent()).includes("Beta plans"), "the remaining thread is the deleted one");
      const list = await chatkit(page, { type: "threads.list", params: {}, metadata: { agentType: "client", eventId: d.event_id_2 } });
      assertEq(list.body.data.length, 1, "threads the server still lists");
      assert(!list.body.data.some((t) => t.title === "Beta plans"), "the server still lists the deleted thread");
    },
  },
  {
    name: "chat-keyboard-only",
    async run({ page }) {
      const p = await openEvent(page);
      // Tab from the top of the page to the composer; every stop on the way has a name.
      await page.locator("body").focus();
      const unnamed = [];
      let reached = false;
      for (let i = 0; i < 60 && !reached; i++) {
        await page.keyboard.press("Tab");
        const f = await page.evaluate(() => {
          const el = document.activeElement;
          const labels = el.labels ? [...el.labels].map((l) => l.textContent).join(" ") : "";
          const name = (el.getAttribute("aria-label") || labels || el.textContent || el.getAttribute("title") || "").trim();
          return { tag: el.tagName, cls: el.className, name, composer: el.classList.contains("chat-input") };
        });
        if (!f.name && f.tag !== "BODY" && !f.cls.includes("chat-log")) unnamed.push(f);
        reached = f.composer;
      }
      assert(reached, "Tab never reached the composer");
      assertEq(JSON.stringify(unnamed), "[]", "controls without an accessible name");
      // Shift+Enter is a new line, Enter sends.
      await page.keyboard.type("line one");
      await page.keyboard.press("Shift+Enter");
      await page.keyboard.type("line two");
      assertEq(await p.locator(sel.input).inputValue(), "line one\nline two", "the composer after Shift+Enter");
      await page.keyboard.press("Enter");
      await p.locator(sel.user).filter({ hasText: "line two" }).waitFor({ timeout: 5000 });
      assertEq(await answer(p), echo("two"), "the reply");
      // Esc stops a streaming reply; focus stays in the composer.
      await page.keyboard.type("something slow by keyboard");
      await page.keyboard.press("Enter");
      await streamedWords(p, 5);
      await page.keyboard.press("Escape");
      await sendButtonSays(p, "Send");
      const stopped = await lastAssistant(p);
      assert(!stopped.streaming && words(stopped.text) < 80, `Esc did not stop the reply: ${words(stopped.text)} words`);
      assert(await p.locator(sel.input).evaluate((el) => el === document.activeElement), "focus left the composer");
    },
  },
  {
    name: "chat-markdown-is-escaped",
    async run({ page }) {
      const p = await openEvent(page);
      await ask(p, "show me some markdown");
      const text = await answer(p);
      const bubble = p.locator(sel.assistant).last();
      assertEq(await bubble.locator("strong").first().textContent(), "Bold", "bold");
      assertEq(await bubble.locator("em").first().textContent(), "italic", "italic");
      assertEq(await bubble.locator("code").first().textContent(), "code", "inline code");
      assertEq(await bubble.locator("ul > li").count(), 2, "bullet items");
      assertEq(await bubble.locator("ol > li").count(), 2, "numbered items");
      assertEq(await bubble.locator("img, script").count(), 0, "elements made from model text");
      assert(text.includes('<img src=x onerror="window.__xss=1">'), "the HTML was not shown as text");
      const safe = bubble.locator('a[href="https://example.com/x"]');
      assertEq(await safe.count(), 1, "the safe link");
      assert((await safe.getAttribute("rel")).includes("noopener"), "the link has rel=noopener");
      assertEq(await bubble.locator('a[href^="javascript"]').count(), 0, "javascript: links");
      assertEq(await page.evaluate(() => window.__xss), undefined, "script ran from model text");
    },
  },
  {
    name: "chat-reload-attaches-to-running-turn",
    async run({ page }) {
      const p = await openEvent(page);
      await ask(p, "slow story before a reload");
      await streamedWords(p, 8);
      await page.reload();
      const q = panel(page, "client");
      // The page reopens the thread and follows the running turn to its end.
      await q.locator(sel.user).filter({ hasText: "slow story before a reload" }).waitFor({ timeout: 10000 });
      const texts = await recordTexts(q, { newOnly: false });
      await waitUntil(async () => (await lastAssistant(q))?.streaming, "the live tail after the reload");
      assertEq(await answer(q, { timeout: 20000 }), script.slow, "the reply followed after the reload");
      assertStreamedPrefixes(await texts.take(), script.slow, 10);
      assertEq(await q.locator(sel.assistant).count(), 1, "assistant messages shown");
    },
  },
  {
    name: "chat-attachment-upload",
    async run({ page }) {
      const p = await openEvent(page);
      await p.locator('input[type="file"]').setInputFiles({ name: "seating-plan.txt", mimeType: "text/plain", buffer: Buffer.from("Table 1: Emily, James\n") });
      await p.locator(".chat-chip").filter({ hasText: "seating-plan.txt" }).waitFor({ timeout: 10000 });
      await ask(p, "here is the seating plan");
      await p.locator(".chat-msg.user .chat-file").filter({ hasText: "seating-plan.txt" }).waitFor({ timeout: 10000 });
      assertEq(await answer(p), echo("plan"), "the reply to the message with a file");
      assertEq(await p.locator(".chat-chip").count(), 0, "chips left in the composer after sending");
    },
  },
  {
    name: "chat-error-and-retry",
    async run({ page }) {
      const p = await openEvent(page);
      await ask(p, "a flaky question");
      const error = p.locator(".chat-error");
      await error.waitFor({ timeout: 15000 });
      const retry = error.getByRole("button", { name: "Retry" });
      await retry.click();
      assertEq(await answer(p), echo("question"), "the reply after Retry");
      assertEq(await p.locator(".chat-error").count(), 0, "errors still shown after a successful retry");
      assertEq(await p.locator(sel.user).count(), 1, "user messages after a retry (it is not a new message)");
    },
  },
  {
    name: "chat-phone-width",
    viewport: { width: 390, height: 844 },
    async run({ page }) {
      const p = await openEvent(page);
      await ask(p, "Who are my guests?");
      assertEq(await answer(p), script.after_guests, "the reply");
      // The panel fits a phone: its narrowest layout (min-content) is narrower than the
      // 390 px viewport less the page's margins, and nothing in it sticks out. (The page
      // around it may be wider for its own reasons; its widest parts are named to help.)
      const fit = await p.evaluate((root) => {
        const r = root.getBoundingClientRect();
        const out = [...root.querySelectorAll("*")].filter((el) => el.getBoundingClientRect().right > r.right + 1)
          .map((el) => `${el.tagName.toLowerCase()}.${el.className}`).slice(0, 5);
        const saved = root.style.width;
        root.style.width = "min-content";
        const minContent = root.getBoundingClientRect().width;
        root.style.width = saved;
        const wide = [...document.querySelectorAll("main *")].filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1
          && !root.contains(el) && !el.contains(root))
          .map((el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className} (${Math.round(el.getBoundingClientRect().width)} px)`).slice(0, 3);
        return { minContent, scroll: root.scrollWidth - root.clientWidth, out, page: document.documentElement.scrollWidth, wide };
      });
      assert(fit.minContent <= 340, `the panel needs ${fit.minContent} px, more than a 390 px phone gives it`);
      if (fit.page > 390) console.log(`  note: the page is ${fit.page} px wide at 390 px; wider than the viewport: ${fit.wide.join(", ")}`);
      assertEq(fit.scroll, 0, "horizontal overflow inside the panel");
      assertEq(JSON.stringify(fit.out), "[]", "elements sticking out of the panel");
    },
  },
  {
    name: "chat-history-live-indicator",
    async run({ page }) {
      const p = await openEvent(page, d.event_id_2);
      await ask(p, "a slow story for the indicator");
      await streamedWords(p, 3);
      // New chat only closes the connection: the turn goes on on the server.
      await p.locator(".chat-new").click();
      await p.locator(sel.history).click();
      const row = p.locator(sel.historyRow).first();
      const state = () => row.locator(".chat-live").getAttribute("data-state");
      await waitUntil(async () => (await state()) === "running", "the history to show the thread running", { timeout: 6000 });
      await waitUntil(async () => (await state()) === "idle", "the history to show the thread idle once its reply ended", { timeout: 15000 });
      // The reply that ran on without the page is stored whole.
      await row.locator("button").click();
      await p.locator(sel.user).filter({ hasText: "a slow story for the indicator" }).waitFor({ timeout: 5000 });
      assertEq(await answer(p), script.slow, "the stored reply");
    },
  },
  {
    name: "chat-chatkit-renderer-unavailable",
    async run({ page }) {
      // The page as served with ui.chat = "chatkit"; the CDN cannot be reached from here.
      await page.route("https://cdn.platform.openai.com/**", (r) => r.abort());
      await page.route(/\/events\/[^/]+$/, async (r) => {
        const res = await r.fetch();
        const body = (await res.text()).replace('"chat":"builtin"', '"chat":"chatkit"');
        await r.fulfill({ response: res, body });
      });
      await signIn(page, d.client_email, `/events/${d.event_id}`);
      const error = page.locator(".chat-panel.chatkit .chat-error");
      await error.waitFor({ timeout: 20000 });
      const text = await error.textContent();
      assert(text.includes('ui.chat = "builtin"'), `the message does not say how to switch: ${text}`);
    },
  },
  {
    name: "chat-stop-before-the-response",
    async run({ page }) {
      const p = await openEvent(page);
      await ask(p, "hello first");
      assertEq(await answer(p), echo("first"), "the first reply");
      // The next send reaches the server only 700 ms after Stop was pressed.
      let released = false, answered = false;
      await page.route("**/api/chatkit", async (r) => {
        const body = r.request().postData() || "";
        if (!body.includes("threads.add_user_message")) return r.continue();
        await new Promise((ok) => setTimeout(ok, 700));
        released = true;
        return r.continue();
      });
      page.on("response", (res) => { if (released && res.url().endsWith("/api/chatkit")) answered = true; });
      await ask(p, "slow reply I will stop at once");
      await sendButtonSays(p, "Stop");
      await p.locator(sel.send).click();
      // The composer is back once the response came and was cancelled (700 ms), not after
      // the whole reply (3.2 s more).
      await sendButtonSays(p, "Send", 2500);
      assert(answered, "the composer came back before the delayed request was answered");
      // The wrapper cancelled the turn as soon as it learnt its id: it ends long before the
      // 3.2 s the reply would take.
      const threads = await chatkit(page, { type: "threads.list", params: { limit: 1 }, metadata: { agentType: "client", eventId: d.event_id } });
      const threadId = threads.body.data[0].id;
      const turn = () => page.evaluate(async (id) => (await fetch(`/api/chatkit/threads/${id}/turn`, {
        headers: { Authorization: `Bearer ${sessionStorage.getItem("eventchat.token")}` } })).json(), threadId);
      await waitUntil(async () => (await turn()).running === false, "the turn to be cancelled", { timeout: 1500 });
      // The page shows what is stored: the message if the turn stored it before the cancel
      // (else its text is back in the composer), and no whole reply.
      const items = await chatkit(page, { type: "items.list", params: { thread_id: threadId, order: "asc" } });
      const replies = items.body.data.filter((i) => i.type === "assistant_message").map((i) => i.content.map((c) => c.text).join(""));
      assert(!replies.includes(script.slow), "the stopped reply ran to its end");
      const stored = items.body.data.some((i) => i.type === "user_message" && i.content.some((c) => c.text === "slow reply I will stop at once"));
      const state = async () => ({
        pending: await p.locator('.chat-msg.user[data-pending="true"]').count(),
        shown: await p.locator(sel.user).filter({ hasText: "slow reply I will stop at once" }).count(),
        composer: await p.locator(sel.input).inputValue(),
      });
      const { shown, composer } = await waitUntil(async () => {
        const st = await state();
        return st.pending === 0 && (stored ? st.shown === 1 : st.composer !== "") ? st : null;
      }, "the panel to show the stored thread");
      if (stored) assertEq(shown, 1, "the stored message shown");
      else {
        assertEq(shown, 0, "a message the server does not have, shown");
        assertEq(composer, "slow reply I will stop at once", "the unsent text back in the composer");
      }
    },
  },
];

// Each scenario's second screenshot is the chat panel itself.
export const scenarios = chat.map((s) => ({ focus: ".chat-panel", ...s }));
