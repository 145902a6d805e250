// The signed-in user's token and the REST calls every page makes with it.
//
// The token lives in sessionStorage (per tab, gone when the tab closes); no cookie is ever
// set, so nothing the browser sends on its own is accepted by the API. A host page may hand
// a token over once: `?token=...` in the URL (removed from the address bar at once) or
// `postMessage({type: "eventchat.token", token})` from the embedding window, accepted only
// from an origin in `server.cors_allowed_origins`.

export const config = JSON.parse(document.getElementById("ec-config").textContent);
const KEY = "eventchat.token";

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
}

// A token handed over in the URL is taken once and the URL cleaned, so it is not kept in
// the history or sent on as a referrer.
(function takeTokenFromUrl() {
  const url = new URL(location.href);
  const t = url.searchParams.get("token");
  if (!t) return;
  setToken(t);
  url.searchParams.delete("token");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
})();

window.addEventListener("message", (ev) => {
  if (ev.source !== window.parent || !(config.host_origins || []).includes(ev.origin)) return;
  if (ev.data && ev.data.type === "eventchat.token" && typeof ev.data.token === "string") {
    setToken(ev.data.token);
    location.reload();
  }
});

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// A JSON call to our own API; errors become ApiError with the server's message.
export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "The server cannot be reached. Check the connection and try again.");
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = data && data.error ? data.error : { code: "http_" + res.status, message: text || res.statusText };
    throw new ApiError(res.status, err.code, err.message);
  }
  return data;
}

let mePromise = null;
// Who is signed in (`GET /api/v1/me`), once per page.
export function me() {
  mePromise ??= api("/api/v1/me").catch((e) => { mePromise = null; throw e; });
  return mePromise;
}

// The page a user lands on after sign-in.
export function homeOf(user) {
  if (user.user_type === "venue" && user.venue_id) return `/venues/${encodeURIComponent(user.venue_id)}`;
  if (user.user_type === "admin") return "/admin";
  if (user.user_type === "client" && user.events && user.events.length) return `/events/${encodeURIComponent(user.events[0].id)}`;
  return null;
}

export function signOut() {
  setToken(null);
  location.href = "/";
}

// Small DOM helper: h("div", {class: "x", onclick: f}, child, "text", ...).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function main() {
  return document.getElementById("main");
}

// Replaces the page's content with a message (an error or a refusal), and nothing else.
export function showMessage(title, text, kind = "error") {
  const m = main();
  m.replaceChildren(h("section", { class: `notice-page ${kind}`, role: kind === "error" ? "alert" : "status" },
    h("h1", {}, title), h("p", {}, text), h("p", {}, h("a", { href: "/" }, "Go to sign-in"))));
}

// The common start of every signed-in page: the user, the top bar, or a clear refusal.
export async function signedIn() {
  if (!token()) {
    location.href = "/?next=" + encodeURIComponent(location.pathname);
    return null;
  }
  try {
    const user = await me();
    const nav = document.getElementById("topnav");
    nav.replaceChildren(
      h("span", { class: "who" }, `${user.name} · ${user.user_type}`),
      h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"));
    return user;
  } catch (e) {
    if (e.status === 401) {
      setToken(null);
      location.href = "/?next=" + encodeURIComponent(location.pathname);
      return null;
    }
    showMessage("Cannot load your account", e.message);
    return null;
  }
}

export function formatDate(iso, opts = { weekday: "short", month: "short", day: "numeric", year: "numeric" }) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleDateString(undefined, { ...opts, timeZone: "UTC" });
}

export function formatDateTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function money(cents) {
  return (cents / 100).toLocaleString(undefined, { style: "currency", currency: "USD" });
}

// Follows one of the live change feeds (`/api/v1/.../changes`, SSE read with fetch since
// EventSource cannot send the Authorization header). `onEvent` gets each parsed frame
// (`ready`, `change`, `resync`); after a drop it reconnects with a growing pause (at most
// 10 s), and the server's `ready` on reconnect tells the page to reload what it shows.
// Stops for good on 401/403/404 or when `signal` aborts.
export function follow(path, onEvent, signal) {
  (async () => {
    let pause = 500;
    while (!signal.aborted) {
      try {
        const res = await fetch(path, { headers: { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" }, signal });
        if ([401, 403, 404].includes(res.status)) return;
        if (res.ok) {
          pause = 500;
          // The same SSE reader as the chat panel's; a page's handler failing must not end the feed.
          const { readEvents } = await import("./chat-sse.js");
          await readEvents(res, (ev) => {
            try { onEvent(ev); } catch (e) { console.error("live feed", e); }
          }, { signal, onBadFrame: (f) => console.error("live feed: bad frame", f) });
        }
      } catch (e) {
        if (signal.aborted) return;
      }
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 10000);
    }
  })();
}

// Announces a short text to screen readers and shows it briefly (live updates, actions).
export function announce(text) {
  let el = document.getElementById("ec-toast");
  if (!el) {
    el = h("div", { id: "ec-toast", class: "toast", role: "status", "aria-live": "polite" });
    document.body.append(el);
  }
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(el._t);
  el._t = setTimeout(() => el.classList.remove("show"), 4000);
}

// Calls `fn` at most once per `ms`, after the last call (several changes -> one reload).
export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// A search hit's snippet as DOM: the server escapes the text and marks matches with
// <mark>; anything else that could be markup is kept as text only.
export function snippet(html) {
  const tpl = document.createElement("template");
  tpl.innerHTML = html;
  const out = document.createDocumentFragment();
  for (const node of tpl.content.childNodes) {
    if (node.nodeName === "MARK") out.append(h("mark", {}, node.textContent));
    else out.append(document.createTextNode(node.textContent));
  }
  return out;
}

// Loads the chat panel module lazily, so a page still shows its data if it fails to load.
export async function mountChat(container, options) {
  try {
    const { ChatPanel } = await import("./chat-panel.js");
    return new ChatPanel(container, options);
  } catch (e) {
    container.replaceChildren(h("p", { class: "error", role: "alert" }, `The assistant cannot be loaded: ${e.message}`));
    return null;
  }
}

// The search box of the dashboard and the event page (`GET /api/v1/search`).
export function searchBox({ label, eventId }) {
  const results = h("div", { class: "search-results", "aria-live": "polite" });
  const input = h("input", { type: "search", name: "q", "aria-label": label, placeholder: label, autocomplete: "off" });
  const form = h("form", { class: "search-box", role: "search", onsubmit: async (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    if (!q) { results.replaceChildren(); return; }
    results.replaceChildren(h("p", { class: "muted" }, "Searching…"));
    try {
      const params = new URLSearchParams({ q, limit: "20" });
      if (eventId) params.set("event_id", eventId);
      const out = await api(`/api/v1/search?${params}`);
      results.replaceChildren(out.data.length
        ? h("ul", { class: "plain" }, out.data.map((hit) => h("li", { class: "search-hit" },
          h("div", { class: "spread" },
            h("strong", {}, hit.title || (hit.kind === "message" ? "Message" : "Chat")),
            h("span", { class: "muted" }, `${hit.kind === "message" ? "message" : "chat"} · ${formatDateTime(hit.created_at)}`)),
          h("p", { class: "snippet" }, snippet(hit.snippet || "")))))
        : h("p", { class: "muted" }, `Nothing found for “${q}”.`));
    } catch (e) {
      results.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
    }
  } }, input, h("button", { type: "submit" }, "Search"));
  return h("div", { class: "search" }, form, results);
}
