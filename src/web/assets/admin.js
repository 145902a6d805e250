// The admin page (`/admin`, admins): the venue supervisors and the live thread actors with
// their state, queue, readers, running turn, tokens, restarts and memory; a few `/metrics`
// figures on top; in a cluster, the nodes with their heartbeats and threads. It refreshes itself every 2 s (paused while the tab is hidden); an admin
// can stop a thread's turn (its partial answer is kept) and evict a venue's idle threads.
import { announce, api, h, main, showMessage, signedIn } from "./session.js";

const REFRESH_MS = 2000;
const FIGURES = [
  ["eventchat_live_thread_actors", "Live thread actors"],
  ["eventchat_turns_total", "Turns run"],
  ["eventchat_turn_errors_total", "Turn errors"],
  ["eventchat_turn_cancels_total", "Turns cancelled"],
  ["eventchat_llm_completion_tokens_total", "Completion tokens"],
  ["eventchat_actor_restarts_total", "Actor restarts"],
];

// Sums each metric's samples (all label sets) from the Prometheus text format.
function parseMetrics(text) {
  const sums = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$/);
    if (m) sums[m[1]] = (sums[m[1]] || 0) + Number(m[3]);
  }
  return sums;
}

// Long ids (UUIDs) as their last 12 characters; the whole id is the title (hover, screen
// readers) and stays in the row's data attribute.
function shortId(id) {
  return h("code", { title: id }, id && id.length > 14 ? `…${id.slice(-12)}` : id);
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function stopThread(id, button) {
  button.disabled = true;
  try {
    await api(`/admin/actors/${encodeURIComponent(id)}/stop`, { method: "POST" });
    announce(`Stopped ${id}`);
  } catch (e) {
    announce(`Could not stop ${id}: ${e.message}`);
  }
  refresh();
}

async function evictVenue(id, button) {
  button.disabled = true;
  try {
    const out = await api(`/admin/venues/${encodeURIComponent(id)}/evict`, { method: "POST" });
    announce(`Evicted ${out.evicted} idle thread actor(s) of ${id}`);
  } catch (e) {
    announce(`Could not evict ${id}: ${e.message}`);
  }
  refresh();
}

/** The language model: which one answers; for the local model its state, queue and cache. */
function llmCard(llm) {
  const card = (...body) => h("section", { class: "card", id: "llm", "aria-labelledby": "llm-title" },
    h("h2", { id: "llm-title" }, "Language model"), ...body);
  if (!llm) return card(h("p", { class: "muted" }, "Unavailable."));
  if (llm.provider !== "local") return card(h("p", {}, `Hosted endpoint: ${llm.base_url}`));
  const badge = { ready: "ok", starting: "warn", failed: "bad" }[llm.state] ?? "";
  const e = llm.engine;
  const reused = llm.cache.prompt_tokens_reused;
  const shared = llm.cache.prompt_tokens_shared || 0;
  const total = reused + llm.cache.prompt_tokens_evaluated;
  const rows = [
    ["Queue", `${llm.queue.waiting} waiting, ${llm.queue.active} answering${e ? ` (up to ${e.parallel} at once)` : ""}; mean wait ${llm.queue.mean_wait_ms} ms over ${llm.queue.turns_admitted} turns`],
    ["KV cache", `${llm.cache.threads_cached}${e ? ` of ${e.sequences}` : ""} threads kept${e ? `, ${e.kv_cells.toLocaleString()} cells` : ""}; prompt tokens reused ${reused.toLocaleString()} of ${total.toLocaleString()}${total ? ` (${Math.round((100 * reused) / total)}%)` : ""}${shared ? `, ${shared.toLocaleString()} of them from other threads` : ""}`],
    ["Speed", `prompt ${llm.tokens.prompt_per_second ?? "–"} tokens/s, generation ${llm.tokens.generation_per_second ?? "–"} tokens/s; ${llm.tokens.generated.toLocaleString()} tokens generated`],
  ];
  if (e) rows.unshift(["Engine", `${e.threads} CPU threads, loaded in ${e.load_ms} ms from ${e.path}`]);
  return card(
    h("p", {}, h("strong", {}, `Local model ${llm.model} `), h("span", { class: `badge ${badge}`, "data-llm-state": llm.state }, llm.state)),
    llm.detail ? h("p", { class: llm.state === "failed" ? "error" : "muted" }, llm.detail) : null,
    h("dl", { class: "facts" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
}

/** The cluster (`/admin/cluster`): this node and every node of the membership table. */
function clusterCard(cluster) {
  if (!cluster || !cluster.enabled) return null;
  const me = cluster.node;
  const badge = { live: "ok", dead: "bad", left: "" };
  return h("section", { class: "card", id: "cluster", "aria-labelledby": "cluster-title" },
    h("h2", { id: "cluster-title" }, `Cluster (${cluster.nodes.length} nodes)`),
    h("p", {}, "This page is served by ", h("strong", {}, me.node_id), ` (epoch ${me.epoch}), `,
      h("span", { class: `badge ${me.accepting ? "ok" : "bad"}` }, me.accepting ? "taking turns" : "self-fenced"),
      `, holding ${me.threads_held} thread(s), ${me.live_actors} live actor(s).`),
    h("div", { class: "table-wrap" }, h("table", { id: "nodes", class: "compact" },
      h("thead", {}, h("tr", {}, ["Node", "Address", "Epoch", "State", "Heartbeat", "Threads owned"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, cluster.nodes.map((n) => h("tr", { "data-node-id": n.node_id, "data-state": n.state },
        h("td", {}, h("code", {}, n.node_id)),
        h("td", {}, n.address),
        h("td", {}, String(n.epoch)),
        h("td", {}, h("span", { class: `badge ${badge[n.state] ?? ""}` }, n.state)),
        h("td", {}, `${(n.heartbeat_age_ms / 1000).toFixed(1)} s ago`),
        h("td", {}, String(n.threads))))))));
}

let timer = null;

async function refresh() {
  clearTimeout(timer);
  const view = document.getElementById("admin-view");
  try {
    const [actors, metricsText, llm, cluster] = await Promise.all([
      api("/admin/actors?per_page=500"),
      fetch("/metrics").then((r) => (r.ok ? r.text() : "")).catch(() => ""),
      api("/admin/llm").catch(() => null),
      api("/admin/cluster").catch(() => null),
    ]);
    const m = parseMetrics(metricsText);
    const stats = h("div", { class: "stats" }, FIGURES.map(([key, label]) => h("div", { class: "stat" },
      // A counter with no sample yet (no cancel so far) is 0; "–" only when /metrics failed.
      h("div", { class: "value" }, metricsText ? Math.round(m[key] || 0).toLocaleString() : "–"),
      h("div", { class: "label" }, label))));
    const supervisors = h("section", { class: "card", "aria-labelledby": "sup-title" },
      h("h2", { id: "sup-title" }, "Venue supervisors"),
      actors.supervisors.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Venue", "Live threads", "Restarts", "Evicted", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, actors.supervisors.map((s) => h("tr", { "data-venue-id": s.venue_id },
          h("td", {}, shortId(s.venue_id)), h("td", {}, String(s.live_threads)), h("td", {}, String(s.restarts)), h("td", {}, String(s.evicted)),
          h("td", {}, h("button", { type: "button", "aria-label": `Evict idle threads of ${s.venue_id}`, onclick: (ev) => evictVenue(s.venue_id, ev.currentTarget) }, "Evict idle")))))))
        : h("p", { class: "muted" }, "No venue supervisor is running."));
    const threads = h("section", { class: "card", "aria-labelledby": "thr-title" },
      h("h2", { id: "thr-title" }, `Live thread actors (${actors.total})`),
      actors.threads.length ? h("div", { class: "table-wrap" }, h("table", { id: "actors", class: "compact" },
        h("thead", {}, h("tr", {}, ["Thread", "User", "Assistant", "State", "Queue", "Readers", "Turn", "Tokens in / out", "Turns", "Restarts", "Memory", "Idle", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, actors.threads.map((t) => h("tr", { "data-thread-id": t.thread_id, "data-state": t.state },
          h("td", {}, h("code", {}, t.thread_id)),
          h("td", {}, shortId(t.user_id)),
          h("td", {}, t.agent_type),
          h("td", {}, h("span", { class: `badge ${t.state === "running" ? "warn" : ""}` }, t.state.replace(/_/g, " "))),
          h("td", {}, String(t.queue_depth)),
          h("td", {}, String(t.subscribers)),
          h("td", {}, t.turn_id ? h("code", {}, `${t.turn_id} #${t.turn_seq ?? 0}`) : "–"),
          h("td", {}, `${t.tokens_in} / ${t.tokens_out}`),
          h("td", {}, String(t.turns)),
          h("td", {}, String(t.restarts)),
          h("td", {}, kib(t.approx_memory_bytes)),
          h("td", {}, `${t.idle_secs}s`),
          h("td", {}, h("button", { type: "button", class: "danger stop", "aria-label": `Stop thread ${t.thread_id}`, onclick: (ev) => stopThread(t.thread_id, ev.currentTarget) }, "Stop")))))))
        : h("p", { class: "muted" }, "No live thread actor."),
      actors.has_more ? h("p", { class: "muted" }, `Showing the first ${actors.threads.length}.`) : null);
    view.replaceChildren(stats, ...[clusterCard(cluster)].filter(Boolean), llmCard(llm), h("div", { class: "grid" }, supervisors, threads),
      h("p", { class: "muted" }, `Updated ${new Date().toLocaleTimeString()}`));
  } catch (e) {
    if (e.status === 403 || e.status === 401) {
      showMessage("This page is for admins", e.message);
      return;
    }
    view.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
  }
  if (!document.hidden) timer = setTimeout(refresh, REFRESH_MS);
}

(async function start() {
  const user = await signedIn();
  if (!user) return;
  if (user.user_type !== "admin") {
    showMessage("This page is for admins", "Your account cannot see the live actors.");
    return;
  }
  main().replaceChildren(h("h1", {}, "Live actors"), h("div", { id: "admin-view" }, h("p", { class: "loading" }, "Loading…")));
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  refresh();
})();
