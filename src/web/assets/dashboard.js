// The venue dashboard (`/venues/{venue_id}`, venue staff): upcoming events, tasks needing
// attention, recent messages, open change requests (approve / decline), the venue-wide
// assistant, and any number of event assistant panels, each streaming on its own. The data
// reloads when the venue's change feed says something changed.
import {
  announce, api, config, debounce, follow, formatDate, formatDateTime, h, main, mountChat,
  searchBox, showMessage, signedIn,
} from "./session.js";

const venueId = config.id;
const panels = new Map(); // event id -> { el, chat }
let range = null; // chosen on the first load: the first range with an event in it

function isoDate(d) {
  return d.toISOString().slice(0, 10);
}

function statusBadge(status) {
  const kind = { high: "bad", medium: "warn", confirmed: "ok", completed: "ok", approved: "ok", cancelled: "bad", declined: "bad", inquiry: "warn", pending: "warn", open: "warn", planning: "warn" }[status] || "";
  return h("span", { class: `badge ${kind}` }, status.replace(/_/g, " "));
}

function section(id, title, ...body) {
  return h("section", { class: "card", id, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), ...body);
}

// One query for the upcoming events (the first 100 from today); "this week" and "next 30
// days" are its first 7 and 30 days, so every tab's count comes from the same page.
async function loadEvents() {
  const today = new Date();
  const day = (n) => isoDate(new Date(today.getTime() + n * 86400000));
  const params = new URLSearchParams({ from: isoDate(today), limit: "100" });
  const page = await api(`/api/v1/venues/${encodeURIComponent(venueId)}/events?${params}`);
  const within = (n) => page.data.filter((e) => e.event_date.slice(0, 10) <= day(n));
  const lists = { week: within(7), month: within(30), all: page.data };
  const more = page.has_more ? "+" : "";
  range ??= ["week", "month"].find((k) => lists[k].length) || "all";
  const shown = lists[range];
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Date range" },
    [["week", `This week (${lists.week.length})`], ["month", `Next 30 days (${lists.month.length})`], ["all", `All upcoming (${lists.all.length}${more})`]].map(([key, label]) => h("button", {
      type: "button", role: "tab", "data-range": key, "aria-selected": String(range === key), "aria-controls": "events-table",
      onclick: () => { range = key; fill("events", loadEvents); },
    }, label)));
  const rows = shown.map((e) => h("tr", { "data-event-id": e.id },
    h("td", {}, formatDate(e.event_date)),
    h("td", {}, h("a", { href: `/events/${encodeURIComponent(e.id)}` }, e.name), h("div", { class: "muted" }, e.client_name || "")),
    h("td", {}, statusBadge(e.status)),
    h("td", {}, `${e.confirmed_guests ?? "?"} / ${e.guest_count}`),
    h("td", {}, String(e.pending_elements ?? 0)),
    h("td", {}, h("button", { type: "button", class: "open-panel", "aria-label": `Open the assistant for ${e.name}`, onclick: () => openPanel(e) }, "Assistant"))));
  return [tabs, shown.length
    ? h("div", { class: "table-wrap", id: "events-table", role: "tabpanel" }, h("table", {},
      h("thead", {}, h("tr", {}, ["Date", "Event", "Status", "Guests (confirmed / expected)", "Pending items", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows)))
    : h("p", { class: "muted", id: "events-table", role: "tabpanel" }, { week: "No events this week.", month: "No events in the next 30 days.", all: "No upcoming events." }[range])];
}

async function loadTasks() {
  const page = await api(`/api/v1/venues/${encodeURIComponent(venueId)}/tasks?limit=20`);
  if (!page.data.length) return [h("p", { class: "muted" }, "No open tasks.")];
  return [h("ul", { class: "plain" }, page.data.map((t) => h("li", { "data-task-id": t.id },
    h("div", { class: "spread" }, h("strong", {}, t.title),
      h("span", { class: "row" }, t.due_at && new Date(t.due_at) < new Date() ? h("span", { class: "badge bad" }, "overdue") : null, statusBadge(t.priority))),
    h("div", { class: "muted" }, [t.event_name, t.due_at ? `due ${formatDateTime(t.due_at)}` : "no due date", t.status.replace(/_/g, " ")].filter(Boolean).join(" · ")))))];
}

async function loadMessages() {
  const page = await api(`/api/v1/venues/${encodeURIComponent(venueId)}/messages?limit=8`);
  if (!page.data.length) return [h("p", { class: "muted" }, "No messages yet.")];
  return [h("ul", { class: "plain" }, page.data.map((m) => h("li", {},
    h("div", { class: "spread" }, h("strong", {}, m.subject || "(no subject)"), h("span", { class: "muted" }, formatDateTime(m.created_at))),
    h("div", { class: "muted" }, `${m.sender_name} → ${m.recipient_type}`),
    h("p", { class: "message-body" }, m.body.length > 200 ? m.body.slice(0, 200) + "…" : m.body))))];
}

async function review(request, approve, button) {
  const row = button.closest("li");
  const note = row.querySelector("input[name=note]").value.trim();
  for (const b of row.querySelectorAll("button")) b.disabled = true;
  try {
    await api(`/api/v1/venues/${encodeURIComponent(venueId)}/change-requests/${encodeURIComponent(request.id)}/${approve ? "approve" : "decline"}`,
      { method: "POST", body: note ? { note } : {} });
    announce(`Change request ${approve ? "approved" : "declined"}: ${request.description}`);
    refresh();
  } catch (e) {
    for (const b of row.querySelectorAll("button")) b.disabled = false;
    row.querySelector(".review-error").textContent = e.message;
  }
}

async function loadChangeRequests() {
  const page = await api(`/api/v1/venues/${encodeURIComponent(venueId)}/change-requests?status=open&limit=20`);
  if (!page.data.length) return [h("p", { class: "muted" }, "No open change requests.")];
  return [h("ul", { class: "plain" }, page.data.map((r) => h("li", { class: "change-request", "data-request-id": r.id },
    h("div", { class: "spread" }, h("strong", {}, r.description), h("span", { class: "badge warn" }, r.request_type.replace(/_/g, " "))),
    h("div", { class: "muted" }, [r.event_name, r.element_name, r.requested_by_name && `by ${r.requested_by_name}`, formatDateTime(r.created_at)].filter(Boolean).join(" · ")),
    h("div", { class: "row review" },
      h("input", { type: "text", name: "note", "aria-label": `Note for “${r.description}” (optional)`, placeholder: "Note (optional)" }),
      h("button", { type: "button", class: "primary approve", onclick: (ev) => review(r, true, ev.currentTarget) }, "Approve"),
      h("button", { type: "button", class: "danger decline", onclick: (ev) => review(r, false, ev.currentTarget) }, "Decline")),
    h("p", { class: "review-error error", role: "alert" }))))];
}

// Each section reloads on its own: one failing source shows its error, the rest still show.
async function fill(id, loader) {
  const el = document.getElementById(id);
  if (!el) return;
  const title = el.querySelector("h2");
  try {
    const body = await loader();
    el.replaceChildren(title, ...body.filter(Boolean));
  } catch (e) {
    el.replaceChildren(title, h("p", { class: "error", role: "alert" }, e.message));
  }
}

function refresh() {
  return Promise.all([
    fill("events", loadEvents),
    fill("tasks", loadTasks),
    fill("messages", loadMessages),
    fill("change-requests", loadChangeRequests),
  ]);
}

async function openPanel(e) {
  const existing = panels.get(e.id);
  if (existing) {
    existing.el.scrollIntoView({ behavior: "smooth", block: "nearest" });
    existing.el.querySelector("textarea, input, button")?.focus();
    return;
  }
  const body = h("div", { class: "panel-body" });
  // The panel's own header names the event; the card adds only its Close button.
  const el = h("section", { class: "card event-panel", "data-event-id": e.id, "aria-label": `Assistant for ${e.name}` },
    h("div", { class: "panel-close" },
      h("button", { type: "button", class: "link close-panel", "aria-label": `Close the assistant for ${e.name}`, onclick: () => closePanel(e.id) }, "Close")),
    body);
  document.getElementById("panels").append(el);
  const entry = { el, chat: null };
  panels.set(e.id, entry);
  entry.chat = await mountChat(body, {
    metadata: { agentType: "venue_event", venueId, eventId: e.id },
    title: `Assistant · ${e.name}`,
    onStatus: (s) => el.setAttribute("data-status", s),
  });
  el.querySelector("textarea")?.focus();
}

function closePanel(eventId) {
  const p = panels.get(eventId);
  if (!p) return;
  p.chat?.destroy();
  p.el.remove();
  panels.delete(eventId);
}

(async function start() {
  const user = await signedIn();
  if (!user) return;
  let venue;
  try {
    venue = await api(`/api/v1/venues/${encodeURIComponent(venueId)}`);
  } catch (e) {
    showMessage(e.status === 403 || e.status === 404 ? "This dashboard is not yours" : "Cannot load the dashboard", e.message);
    return;
  }
  document.title = `${venue.name} · eventchat`;
  const general = h("div", { class: "panel-body" });
  main().replaceChildren(
    h("div", { class: "spread" }, h("h1", {}, venue.name), h("span", { class: "muted" }, `${venue.city} · capacity ${venue.capacity}`)),
    searchBox({ label: "Search chats and messages" }),
    h("div", { class: "grid dashboard-grid" },
      section("events", "Upcoming events"),
      section("tasks", "Tasks needing attention"),
      section("change-requests", "Change requests"),
      section("messages", "Recent messages"),
      h("section", { class: "card", id: "venue-assistant", "aria-label": "Venue assistant" }, general)),
    h("h2", { class: "panels-title" }, "Event assistants"),
    h("p", { class: "muted", id: "panels-hint" }, "Open an event's assistant from the list; several can run at once."),
    h("div", { id: "panels", class: "panels" }));
  await refresh();
  mountChat(general, {
    metadata: { agentType: "venue_general", venueId },
    title: "Venue assistant",
    onStatus: (s) => document.getElementById("venue-assistant").setAttribute("data-status", s),
  });
  const reload = debounce(refresh, 150);
  const live = new AbortController();
  window.addEventListener("pagehide", () => live.abort());
  follow(`/api/v1/venues/${encodeURIComponent(venueId)}/changes`, (ev) => {
    if (ev.type === "change") announce(ev.summary);
    reload();
  }, live.signal);
})();
