// The event page (`/events/{event_id}`): the event's details, its elements with status and
// price, the guests with their RSVP, the contract summary and the change requests, beside
// the assistant (the `client` assistant for the event's client, the `venue_event` one for
// its venue's staff). It reloads when the event's change feed says something changed, e.g.
// when staff approve a change request the client asked for.
import {
  announce, api, config, debounce, follow, formatDate, formatDateTime, h, main, money, mountChat,
  searchBox, showMessage, signedIn,
} from "./session.js";

const eventId = config.id;

function badge(status) {
  const kind = { pending_approval: "warn", proposed: "warn", confirmed: "ok", approved: "ok", attending: "ok", signed: "ok", paid: "ok", cancelled: "bad", declined: "bad", pending: "warn", open: "warn", draft: "warn", invited: "warn", no_response: "warn" }[status] || "";
  return h("span", { class: `badge ${kind}` }, String(status).replace(/_/g, " "));
}

function table(caption, headers, rows) {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)));
}

function details(d) {
  const e = d.event;
  return h("section", { class: "card", id: "details", "aria-labelledby": "details-title" },
    h("div", { class: "spread" }, h("h1", { id: "details-title" }, e.name), badge(e.status)),
    h("dl", { class: "facts" },
      h("dt", {}, "Date"), h("dd", {}, formatDate(e.event_date)),
      h("dt", {}, "Venue"), h("dd", {}, e.venue_name || e.venue_id),
      h("dt", {}, "Type"), h("dd", {}, e.event_type),
      h("dt", {}, "Guests expected"), h("dd", {}, String(e.guest_count)),
      h("dt", {}, "Budget"), h("dd", {}, e.budget || money(e.budget_cents)),
      e.notes ? [h("dt", {}, "Notes"), h("dd", {}, e.notes)] : null));
}

function elements(d) {
  return h("section", { class: "card", id: "elements", "aria-labelledby": "elements-title" },
    h("h2", { id: "elements-title" }, "Elements"),
    d.elements.length ? table("Event elements", ["Item", "Category", "Qty", "Price", "Status"], d.elements.map((x) => h("tr", { "data-element-id": x.id },
      h("td", {}, x.name, x.vendor_name ? h("div", { class: "muted" }, x.vendor_name) : null),
      h("td", {}, x.category),
      h("td", {}, String(x.quantity)),
      h("td", {}, x.price || money(x.price_cents)),
      h("td", {}, badge(x.status))))) : h("p", { class: "muted" }, "No elements yet."),
    h("p", { class: "total" }, `Total of active elements: ${d.active_total}`));
}

function guests(d) {
  const c = d.guest_counts || {};
  const summary = Object.entries(c).filter(([, v]) => typeof v === "number").map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`).join(" · ");
  return h("section", { class: "card", id: "guests", "aria-labelledby": "guests-title" },
    h("h2", { id: "guests-title" }, "Guests"),
    summary ? h("p", { class: "muted" }, summary) : null,
    d.guests.length ? table("Guest list", ["Name", "RSVP", "Dietary", "Plus one", "Table"], d.guests.map((g) => h("tr", {},
      h("td", {}, g.name),
      h("td", {}, badge(g.rsvp_status)),
      h("td", {}, g.dietary_needs || ""),
      h("td", {}, g.plus_one ? "yes" : ""),
      h("td", {}, g.table_number ?? "")))) : h("p", { class: "muted" }, "No guests yet."));
}

function contract(d) {
  const c = d.contract;
  return h("section", { class: "card", id: "contract", "aria-labelledby": "contract-title" },
    h("h2", { id: "contract-title" }, "Contract"),
    c ? h("dl", { class: "facts" },
      h("dt", {}, "Status"), h("dd", {}, badge(c.status)),
      h("dt", {}, "Subtotal"), h("dd", {}, money(c.subtotal_cents)),
      h("dt", {}, "Tax"), h("dd", {}, money(c.tax_cents)),
      h("dt", {}, "Total"), h("dd", {}, c.total || money(c.total_cents)),
      h("dt", {}, "Deposit"), h("dd", {}, `${money(c.deposit_cents)} ${c.deposit_paid ? "(paid)" : "(not paid)"}`),
      c.signed_at ? [h("dt", {}, "Signed"), h("dd", {}, formatDateTime(c.signed_at))] : null)
      : h("p", { class: "muted" }, "No contract yet."));
}

function changeRequests(d) {
  const list = d.change_requests || [];
  return h("section", { class: "card", id: "change-requests", "aria-labelledby": "change-requests-title" },
    h("h2", { id: "change-requests-title" }, "Change requests"),
    list.length ? h("ul", { class: "plain" }, list.map((r) => h("li", { class: "change-request", "data-request-id": r.id, "data-status": r.status },
      h("div", { class: "spread" }, h("span", {}, r.description), badge(r.status)),
      h("div", { class: "muted" }, [formatDateTime(r.created_at), r.resolution_note].filter(Boolean).join(" · ")))))
      : h("p", { class: "muted" }, "No change requests."));
}

async function refresh() {
  const target = document.getElementById("event-data");
  try {
    const d = await api(`/api/v1/events/${encodeURIComponent(eventId)}`);
    document.title = `${d.event.name} · eventchat`;
    target.replaceChildren(details(d), elements(d), guests(d), contract(d), changeRequests(d));
    return d;
  } catch (e) {
    target.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
    return null;
  }
}

(async function start() {
  const user = await signedIn();
  if (!user) return;
  let first;
  try {
    first = await api(`/api/v1/events/${encodeURIComponent(eventId)}`);
  } catch (e) {
    showMessage(e.status === 403 || e.status === 404 ? "This event is not yours" : "Cannot load the event", e.message);
    return;
  }
  const chat = h("div", { class: "panel-body" });
  main().replaceChildren(
    // On a phone the assistant comes after the event's data: one tap takes the user there.
    h("a", { class: "jump-to-assistant", href: "#assistant", onclick: (ev) => {
      ev.preventDefault();
      document.getElementById("assistant").scrollIntoView({ behavior: "smooth" });
      document.querySelector("#assistant textarea")?.focus({ preventScroll: true });
    } }, "Ask the assistant ↓"),
    searchBox({ label: "Search this event's chats and messages", eventId }),
    h("div", { class: "grid event-grid" },
      h("div", { id: "event-data", class: "grid" }),
      h("section", { class: "card assistant", id: "assistant", "aria-label": "Assistant" }, chat)));
  await refresh();
  const staff = user.user_type === "venue";
  mountChat(chat, {
    metadata: staff
      ? { agentType: "venue_event", venueId: first.event.venue_id, eventId }
      : { agentType: "client", eventId },
    title: `Assistant · ${first.event.name}`,
    onStatus: (s) => document.getElementById("assistant").setAttribute("data-status", s),
  });
  const reload = debounce(refresh, 150);
  const live = new AbortController();
  window.addEventListener("pagehide", () => live.abort());
  follow(`/api/v1/events/${encodeURIComponent(eventId)}/changes`, (ev) => {
    if (ev.type === "change") announce(ev.summary);
    reload();
  }, live.signal);
})();
