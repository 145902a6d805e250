// The builtin chat panel (`ui.chat = "builtin"`): renders the ChatKit protocol itself.
//
// One panel talks to one assistant (its metadata) and shows one thread at a time. A send
// is `threads.create` (no thread yet) or `threads.add_user_message`; the stream's events
// (protocol §4, in the order of §5) update the panel's copy of the items, which are drawn
// by `chat-items.js`. The user's message shows at once and is swapped for the server's copy
// when its `thread.item.done` arrives. Stop aborts the request: the fetch wrapper cancels
// the turn, the partial text stays, the composer is usable at once. Switching threads, New
// chat or `destroy()` only closes the connection: the turn goes on and is stored, and the
// thread's history row shows it running. Opening a thread (also after a reload: the open
// thread is kept in sessionStorage per assistant) loads its items (`items.list`) and, if
// `GET .../threads/{id}/turn` says a turn runs, follows it with `threads.custom_action`
// `eventchat.attach` (protocol §3.6). A stream that ends with items still unfinished (the
// turn was over before a resume could reach it) reloads the items.
//
// Status (`onStatus`): "running" while a reply streams, "tool" while a workflow (a tool
// round) is unfinished, "error" after an `error` event or a failed request, else "idle".
import { h } from "./session.js";
import { ChatClient, ChatError, agentOf } from "./chat-client.js";
import { applyUpdate, readEvents, userText } from "./chat-sse.js";
import { renderError, renderItem, renderNotice } from "./chat-items.js";
import { HistoryList } from "./chat-history.js";
import { Composer } from "./chat-composer.js";
import { ThreadBar } from "./chat-thread-bar.js";

let panels = 0;
const ITEMS_PAGE = 50;

function storageKey(metadata) {
  const m = metadata || {};
  return `eventchat.chat.${m.agentType || ""}.${m.venueId || ""}.${m.eventId || ""}`;
}

export class BuiltinChat {
  constructor(container, { metadata = {}, title = "Assistant", onStatus = () => {} } = {}) {
    this.container = container;
    this.metadata = metadata;
    this.title = title;
    this.onStatus = onStatus;
    this.client = new ChatClient(metadata);
    this.id = `chat${++panels}`;
    this.key = storageKey(metadata);
    this.threadId = null;
    this.items = new Map(); // id -> item (the panel's copy)
    this.pending = new Set(); // ids added and not yet done
    this.feedback = new Map(); // item id -> "positive" | "negative"
    this.stream = null; // {ctrl, detach, stopped, threadId}
    this.status = "idle";
    this.earlier = null; // items.list cursor for older items
    this.dirty = new Set();
    this.frame = 0;
    this.destroyed = false;
    this.build();
    this.container.replaceChildren(this.root);
    const saved = sessionStorage.getItem(this.key);
    if (saved) this.openThread(saved, { quiet: true });
    else this.newChat({ focus: false });
  }

  // ---- layout ----

  build() {
    const id = this.id;
    this.bar = new ThreadBar({
      id, title: this.title, historyId: `${id}-history`,
      onHistory: () => this.history.toggle(), onNew: () => this.newChat(),
      onRename: (t) => this.rename(t), onDelete: () => this.remove(),
    });
    this.history = new HistoryList({ client: this.client, idPrefix: id, onOpen: (t) => this.openThread(t) });
    this.earlierButton = h("button", { type: "button", class: "link chat-earlier", hidden: true, onclick: () => this.loadEarlier() }, "Load earlier messages");
    this.itemsEl = h("div", { class: "chat-items" });
    this.starters = h("div", { class: "chat-starters", hidden: true });
    this.log = h("div", {
      class: "chat-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "Messages", tabindex: 0,
    }, this.earlierButton, this.itemsEl, this.starters);
    this.progress = h("p", { class: "chat-progress", role: "status" });
    this.composer = new Composer({
      client: this.client, idPrefix: id, onSend: (text, atts) => this.send(text, atts), onStop: () => this.stop(),
    });
    this.root = h("section", {
      class: "chat-panel", "aria-labelledby": `${id}-title`, "data-agent": this.metadata.agentType || "",
      onkeydown: (ev) => { if (ev.key === "Escape" && this.stream && !this.stream.detach.signal.aborted) { ev.preventDefault(); this.stop(); } },
    },
    ...this.bar.elements, this.history.el, this.log, this.progress, this.composer.el);
  }

  setStatus(status) {
    if (this.threadId) {
      this.history.setState(this.threadId, status === "error" ? "idle" : status, !!this.stream);
    }
    if (status === this.status) return;
    this.status = status;
    this.root.dataset.status = status;
    this.onStatus(status);
  }

  liveStatus() {
    for (const id of this.pending) {
      const item = this.items.get(id);
      if (item && item.type === "workflow") return "tool";
    }
    for (const item of this.items.values()) {
      if (item.type === "client_tool_call" && item.status !== "completed") return "tool";
    }
    return "running";
  }

  showThreadTitle() {
    const title = this.threadId ? this.history.titleOf(this.threadId) || this.threadTitleText : null;
    this.bar.setThread(this.threadId, title);
  }

  // ---- items ----

  clearView() {
    this.items.clear();
    this.pending.clear();
    this.feedback.clear();
    this.dirty.clear();
    this.itemsEl.replaceChildren();
    this.progress.textContent = "";
    this.earlier = null;
    this.earlierButton.hidden = true;
  }

  elementOf(id) {
    return this.itemsEl.querySelector(`[data-item-id="${CSS.escape(id)}"]`);
  }

  ctxOf(item) {
    return { pending: this.pending.has(item.id), feedback: this.feedback.get(item.id), onFeedback: (it, kind) => this.giveFeedback(it, kind) };
  }

  // Draws (or redraws) an item in place; a new item goes at the end, or at the start when
  // `prepend` (older items loaded later).
  draw(item, { prepend = false, before = null } = {}) {
    const el = renderItem(item, this.ctxOf(item));
    const old = this.elementOf(item.id);
    if (!el) { old?.remove(); return; }
    if (old) old.replaceWith(el);
    else if (before) before.before(el);
    else if (prepend) this.itemsEl.prepend(el);
    else this.itemsEl.append(el);
  }

  // Redraws the items changed by deltas once per frame, not once per delta.
  touch(id) {
    this.dirty.add(id);
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const stick = this.atBottom();
      for (const d of this.dirty) {
        const item = this.items.get(d);
        if (item) this.draw(item);
      }
      this.dirty.clear();
      if (stick) this.scrollDown();
    });
  }

  atBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 48;
  }

  scrollDown() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  put(item, opts) {
    const stick = this.atBottom();
    this.items.set(item.id, item);
    this.draw(item, opts);
    this.showStarters(false);
    if (stick || !opts) this.scrollDown();
  }

  banner(el) {
    this.itemsEl.append(el);
    this.showStarters(false);
    this.scrollDown();
  }

  // The newest stored user message, in the order shown (older pages are loaded later).
  lastUserMessage() {
    const els = this.itemsEl.querySelectorAll(".chat-msg.user[data-item-id]:not([data-pending=true])");
    const el = els[els.length - 1];
    return el ? this.items.get(el.dataset.itemId) || null : null;
  }

  // ---- the stream ----

  onEvent(ev) {
    const s = this.stream;
    switch (ev.type) {
      case "thread.created":
        this.threadId = ev.thread.id;
        if (s) s.threadId = ev.thread.id;
        sessionStorage.setItem(this.key, this.threadId);
        this.history.upsert(ev.thread);
        this.history.setCurrent(this.threadId);
        this.showThreadTitle();
        break;
      case "thread.updated":
        if (ev.thread.id === this.threadId) this.threadTitleText = ev.thread.title;
        this.history.upsert(ev.thread);
        this.showThreadTitle();
        break;
      case "thread.item.added":
        if (this.stream?.threadId && ev.item.thread_id !== this.stream.threadId) break;
        this.pending.add(ev.item.id);
        this.put(ev.item);
        break;
      case "thread.item.updated": {
        const item = this.items.get(ev.item_id);
        if (!item) break;
        applyUpdate(item, ev.update);
        this.touch(item.id);
        break;
      }
      case "thread.item.done":
      case "thread.item.replaced": {
        const item = ev.item;
        this.pending.delete(item.id);
        if (item.type === "user_message" && s && s.local) {
          const local = this.elementOf(s.local);
          this.items.delete(s.local);
          s.local = null;
          this.items.set(item.id, item);
          if (local) { this.draw(item, { before: local }); local.remove(); break; }
        }
        this.put(item);
        break;
      }
      case "thread.item.removed":
        this.items.delete(ev.item_id);
        this.pending.delete(ev.item_id);
        this.elementOf(ev.item_id)?.remove();
        break;
      case "progress_update":
        this.progress.textContent = ev.text || "";
        break;
      case "notice":
        this.banner(renderNotice(ev));
        break;
      case "error":
        if (s) s.error = true;
        this.showError(ev.code === "custom" && ev.message ? ev.message : "Something went wrong while answering.", !!ev.allow_retry);
        break;
      case "client_effect":
        this.root.dispatchEvent(new CustomEvent("chatkit.effect", { bubbles: true, detail: { name: ev.name, data: ev.data } }));
        break;
      default:
        break; // stream_options and anything newer
    }
    if (this.stream) this.setStatus(this.liveStatus());
  }

  showError(message, allowRetry) {
    const last = this.lastUserMessage();
    this.banner(renderError({
      message, allowRetry: allowRetry && !!last && !!this.threadId,
      onRetry: (ev) => { ev.currentTarget.closest(".chat-error")?.remove(); this.retry(); },
    }));
  }

  // Runs one streaming request; resolves when its stream is over (or was stopped/detached).
  async run(type, params, { local = null } = {}) {
    const ctrl = new AbortController();
    const detach = new AbortController();
    const s = { ctrl, detach, stopped: false, error: false, local, threadId: this.threadId };
    this.stream = s;
    this.composer.setStreaming(true);
    this.log.setAttribute("aria-busy", "true");
    this.setStatus("running");
    try {
      const res = await this.client.stream(type, params, ctrl.signal);
      if (!detach.signal.aborted) await readEvents(res, (ev) => { if (this.stream === s) this.onEvent(ev); }, {
        signal: detach.signal, onBadFrame: (f) => console.warn("eventchat chat: skipped a frame that is not JSON", f.slice(0, 200)),
      });
      else res.body?.cancel().catch(() => {});
    } catch (e) {
      if (this.stream === s && !s.stopped && !detach.signal.aborted) {
        s.error = true;
        if (s.local) this.unsend(s, e);
        else this.showError(e instanceof ChatError ? e.message : "The connection was lost.", true);
      }
    } finally {
      if (this.stream === s) this.finish(s);
    }
  }

  finish(s) {
    this.stream = null;
    this.composer.setStreaming(false);
    this.log.removeAttribute("aria-busy");
    this.progress.textContent = "";
    const unfinished = [...this.pending];
    this.pending.clear();
    for (const id of unfinished) { const it = this.items.get(id); if (it) this.draw(it); }
    if (s.threadId && s.threadId === this.threadId) this.history.setState(s.threadId, "idle", false);
    this.setStatus(s.error ? "error" : "idle");
    if (s.detach.signal.aborted) return;
    // Over before a resume reached it (410), or cut off: the stored items are the truth.
    if (unfinished.length && !s.stopped && !s.error && this.threadId) this.reload();
    // Stopped before the server's copy of the message came back: the turn was cancelled,
    // maybe before it stored the message. Show what is stored, and if the message is not
    // there, give its text back to the composer. (A first message's new thread, if it was
    // created, is in the history.)
    else if (s.stopped && s.local) {
      const text = this.items.get(s.local)?._text || "";
      if (this.threadId) {
        this.reload().then(() => {
          const last = this.lastUserMessage();
          if (text && (!last || userText(last) !== text) && !this.composer.input.value) this.composer.setText(text);
        });
      } else {
        const local = this.elementOf(s.local);
        if (local) local.dataset.pending = "false";
        this.banner(renderNotice({ level: "info", message: "Stopped before the reply started. The message is in a new conversation in History." }));
        if (this.history.open) this.history.refresh();
      }
    }
  }

  // A send refused before its stream started: the message goes back to the composer.
  unsend(s, e) {
    const local = s.local && this.items.get(s.local);
    if (local) {
      this.items.delete(s.local);
      this.elementOf(s.local)?.remove();
      if (!this.composer.input.value) this.composer.setText(local._text);
    }
    this.banner(renderError({ message: e.message, allowRetry: false }));
    if (!this.items.size && !this.threadId) this.showStarters(true);
  }

  detachStream() {
    const s = this.stream;
    if (!s) return;
    s.detach.abort();
    this.finish(s);
  }

  // ---- actions ----

  async send(text, attachments = []) {
    if (this.destroyed || this.stream) return false;
    text = String(text ?? "").trim();
    if (!text && !attachments.length) return false;
    this.bar.hideForms(false);
    const input = {
      content: text ? [{ type: "input_text", text }] : [],
      attachments: attachments.map((a) => a.id),
      inference_options: {},
    };
    const localId = `local_${Date.now()}`;
    this.put({
      id: localId, type: "user_message", _local: true, _text: text, thread_id: this.threadId,
      content: input.content, attachments,
    });
    this.composer.clear();
    const [type, params] = this.threadId
      ? ["threads.add_user_message", { thread_id: this.threadId, input }]
      : ["threads.create", { input }];
    await this.run(type, params, { local: localId });
    return true;
  }

  stop() {
    const s = this.stream;
    if (!s || s.stopped) return;
    s.stopped = true;
    s.ctrl.abort(); // the wrapper cancels the turn explicitly
    this.composer.focus();
  }

  async retry() {
    const last = this.lastUserMessage();
    if (!last || !this.threadId || this.stream) return;
    // The server deletes everything after that message and sends no removal events.
    const lastEl = this.elementOf(last.id);
    while (lastEl && lastEl.nextSibling) {
      const gone = lastEl.nextSibling;
      if (gone.dataset && gone.dataset.itemId) this.items.delete(gone.dataset.itemId);
      gone.remove();
    }
    await this.run("threads.retry_after_item", { thread_id: this.threadId, item_id: last.id });
  }

  async openThread(threadId, { quiet = false } = {}) {
    this.detachStream();
    this.bar.hideForms(false);
    this.clearView();
    this.threadId = threadId;
    this.threadTitleText = undefined;
    sessionStorage.setItem(this.key, threadId);
    this.history.setCurrent(threadId);
    this.showStarters(false);
    this.showThreadTitle();
    try {
      const [page, thread] = await Promise.all([
        this.client.request("items.list", { thread_id: threadId, order: "desc", limit: ITEMS_PAGE }),
        this.client.request("threads.get_by_id", { thread_id: threadId }).catch(() => null),
      ]);
      if (this.threadId !== threadId) return;
      if (thread) { this.threadTitleText = thread.title; this.history.upsert({ ...thread, items: undefined }); }
      this.showThreadTitle();
      for (const item of (page.data || []).slice().reverse()) this.put(item);
      this.earlier = page.has_more ? page.after : null;
      this.earlierButton.hidden = !this.earlier;
      this.scrollDown();
      if (!this.items.size) this.showStarters(true);
      const turn = await this.client.turn(threadId).catch(() => ({ running: false }));
      if (turn.running && this.threadId === threadId && !this.stream) {
        await this.run("threads.custom_action", { thread_id: threadId, action: { type: "eventchat.attach" } });
      }
    } catch (e) {
      if (this.threadId !== threadId) return;
      if (e.status === 404) {
        sessionStorage.removeItem(this.key);
        this.history.remove(threadId);
        this.newChat({ focus: false });
        if (!quiet) this.banner(renderError({ message: "That conversation no longer exists.", allowRetry: false }));
      } else {
        this.banner(renderError({ message: `Cannot load the conversation: ${e.message}`, allowRetry: false }));
      }
    }
  }

  async reload() {
    if (this.threadId) await this.openThread(this.threadId, { quiet: true });
  }

  async loadEarlier() {
    if (!this.earlier || !this.threadId) return;
    const threadId = this.threadId;
    try {
      const page = await this.client.request("items.list", { thread_id: threadId, order: "desc", limit: ITEMS_PAGE, after: this.earlier });
      if (this.threadId !== threadId) return;
      for (const item of page.data || []) { this.items.set(item.id, item); this.draw(item, { prepend: true }); }
      this.earlier = page.has_more ? page.after : null;
      this.earlierButton.hidden = !this.earlier;
    } catch (e) {
      this.banner(renderError({ message: `Cannot load earlier messages: ${e.message}`, allowRetry: false }));
    }
  }

  newChat({ focus = true } = {}) {
    this.detachStream();
    this.bar.hideForms(false);
    this.clearView();
    this.threadId = null;
    this.threadTitleText = undefined;
    sessionStorage.removeItem(this.key);
    this.history.setCurrent(null);
    this.showThreadTitle();
    this.showStarters(true);
    this.setStatus("idle");
    if (focus) this.composer.focus();
  }

  async showStarters(show) {
    this.starters.hidden = !show;
    if (!show || this.starters.childElementCount) return;
    const info = await agentOf(this.metadata.agentType);
    const prompts = info.starter_prompts || [];
    if (!prompts.length || this.starters.childElementCount) return;
    this.starters.replaceChildren(
      h("p", { class: "muted" }, "Try asking:"),
      h("ul", { class: "chat-starter-list" }, prompts.map((p) => h("li", {},
        h("button", { type: "button", class: "chat-starter", onclick: () => this.send(p) }, p)))));
  }

  async rename(title) {
    if (!this.threadId) return;
    try {
      const thread = await this.client.request("threads.update", { thread_id: this.threadId, title });
      this.threadTitleText = thread.title;
      this.history.upsert(thread);
      this.bar.hideForms(true);
      this.showThreadTitle();
    } catch (e) {
      this.banner(renderError({ message: `Cannot rename: ${e.message}`, allowRetry: false }));
    }
  }

  async remove() {
    const threadId = this.threadId;
    if (!threadId) return;
    try {
      this.detachStream();
      await this.client.request("threads.delete", { thread_id: threadId });
      this.history.remove(threadId);
      this.newChat();
    } catch (e) {
      this.banner(renderError({ message: `Cannot delete: ${e.message}`, allowRetry: false }));
    }
  }

  async giveFeedback(item, kind) {
    if (!this.threadId) return;
    try {
      await this.client.request("items.feedback", { thread_id: this.threadId, item_ids: [item.id], kind });
      this.feedback.set(item.id, kind);
      this.draw(item);
      this.progress.textContent = "Thanks for the feedback.";
    } catch (e) {
      this.progress.textContent = `Cannot send the feedback: ${e.message}`;
    }
  }

  destroy() {
    this.destroyed = true;
    this.detachStream();
    this.history.destroy();
    if (this.frame) cancelAnimationFrame(this.frame);
    this.root.remove();
  }
}
