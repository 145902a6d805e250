// The thread history of one assistant in the builtin chat panel, with a live indicator per
// thread (running / awaiting a tool / idle).
//
// The list is `threads.list` with the panel's metadata (the server lists only that
// assistant's threads), newest first, one page of PAGE threads. The state of the thread the
// panel is streaming comes from its events (`setState`); the others are polled with
// `GET {chatkit_path}/threads/{id}/turn` every POLL_MS, only while the list is open and the
// tab is visible, one request per listed thread and round, with the interval doubled after
// a failed round (up to MAX_POLL_MS); `destroy()` stops it. That endpoint's `state` is
// `running`, `idle` or `awaiting_tool` (the last turn ended with a client tool call).
import { h } from "./session.js";

const PAGE = 20;
const POLL_MS = 4000;
const MAX_POLL_MS = 60000;
const LABEL = { running: "Running", tool: "Awaiting a tool", idle: "Idle", error: "Error" };

export class HistoryList {
  constructor({ client, onOpen, idPrefix }) {
    this.client = client;
    this.onOpen = onOpen;
    this.threads = [];
    this.states = new Map(); // thread id -> "running" | "tool" | "idle" | "error"
    this.local = new Set(); // threads whose state comes from this panel's own stream
    this.current = null;
    this.open = false;
    this.destroyed = false;
    this.pollMs = POLL_MS;
    this.timer = null;
    this.listId = `${idPrefix}-history`;
    this.list = h("ul", { class: "chat-history-list", "aria-label": "Conversations" });
    this.status = h("p", { class: "chat-history-status muted", role: "status" });
    this.el = h("div", { class: "chat-history", id: this.listId, hidden: true }, this.status, this.list);
    this.onVisibility = () => this.schedule(0);
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  async refresh() {
    try {
      const page = await this.client.request("threads.list", { limit: PAGE, order: "desc" });
      this.threads = page.data || [];
      this.status.textContent = this.threads.length ? "" : "No conversations yet.";
    } catch (e) {
      this.status.textContent = `Cannot load the conversations: ${e.message}`;
    }
    this.render();
    return this.threads;
  }

  toggle(open = !this.open) {
    this.open = open;
    this.el.hidden = !open;
    if (open) {
      this.refresh();
      this.schedule(0);
    } else {
      clearTimeout(this.timer);
      this.timer = null;
    }
    return open;
  }

  upsert(thread) {
    const i = this.threads.findIndex((t) => t.id === thread.id);
    if (i >= 0) this.threads[i] = { ...this.threads[i], ...thread };
    else this.threads.unshift(thread);
    if (this.threads.length) this.status.textContent = "";
    this.render();
  }

  remove(threadId) {
    this.threads = this.threads.filter((t) => t.id !== threadId);
    this.states.delete(threadId);
    this.local.delete(threadId);
    if (!this.threads.length) this.status.textContent = "No conversations yet.";
    this.render();
  }

  setCurrent(threadId) {
    this.current = threadId;
    this.render();
  }

  // The state of a thread this panel streams (or stopped streaming: `local = false`).
  setState(threadId, state, local = true) {
    if (!threadId) return;
    this.states.set(threadId, state);
    if (local) this.local.add(threadId);
    else this.local.delete(threadId);
    this.renderState(threadId);
  }

  titleOf(threadId) {
    const t = this.threads.find((x) => x.id === threadId);
    return t ? t.title : undefined;
  }

  render() {
    this.list.replaceChildren(...this.threads.map((t) => {
      const state = this.states.get(t.id) || "idle";
      const date = t.created_at ? new Date(t.created_at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "";
      return h("li", { "data-thread-id": t.id },
        h("button", {
          type: "button", class: "chat-history-item", "aria-current": t.id === this.current ? "true" : null,
          onclick: () => this.onOpen(t.id),
        },
        h("span", { class: `chat-live ${state}`, "data-state": state, role: "img", "aria-label": LABEL[state] || state, title: LABEL[state] || state }),
        h("span", { class: "chat-history-title" }, t.title || "Untitled conversation"),
        h("span", { class: "chat-history-date" }, date)));
    }));
  }

  renderState(threadId) {
    const dot = this.list.querySelector(`li[data-thread-id="${CSS.escape(threadId)}"] .chat-live`);
    if (!dot) return;
    const state = this.states.get(threadId) || "idle";
    dot.className = `chat-live ${state}`;
    dot.dataset.state = state;
    dot.setAttribute("aria-label", LABEL[state] || state);
    dot.title = LABEL[state] || state;
  }

  schedule(ms) {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.destroyed || !this.open || document.visibilityState === "hidden") return;
    this.timer = setTimeout(() => this.poll(), ms);
  }

  async poll() {
    const ids = this.threads.map((t) => t.id).filter((id) => !this.local.has(id));
    let failed = false;
    await Promise.all(ids.map(async (id) => {
      try {
        const turn = await this.client.turn(id);
        if (this.destroyed || this.local.has(id)) return;
        this.states.set(id, turn.running ? "running" : turn.state === "awaiting_tool" ? "tool" : "idle");
        this.renderState(id);
      } catch (e) {
        if (e.status !== 404) failed = true; // 404: deleted meanwhile
      }
    }));
    this.pollMs = failed ? Math.min(this.pollMs * 2, MAX_POLL_MS) : POLL_MS;
    this.schedule(this.pollMs);
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.timer);
    document.removeEventListener("visibilitychange", this.onVisibility);
  }
}
