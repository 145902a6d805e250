// The builtin chat panel's connection to the server: every ChatKit request goes through the
// fetch wrapper (`eventchatFetch`), so each carries the user's token and the panel's
// metadata, a send carries its idempotency key, a dropped stream resumes after its last
// `: seq=N`, and aborting a stream's signal (Stop) cancels its turn on the server.
//
// `request(type, params)` answers the JSON of a non-streaming request or throws a
// ChatError with the server's code and message; `stream(type, params, signal)` answers the
// streaming Response (or throws a ChatError for a refusal before the stream, protocol
// §12.4). `turn(threadId)` is `GET {chatkit_path}/threads/{id}/turn` (protocol §14), not
// a ChatKit request, so it goes with the token alone.
import { config, token } from "./session.js";
import { eventchatFetch } from "./chatkit-fetch.js";

export class ChatError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function errorOf(res) {
  const text = await res.text().catch(() => "");
  try {
    const e = JSON.parse(text).error;
    if (e && e.message) return new ChatError(res.status, e.code, e.message);
  } catch { /* not our JSON error */ }
  return new ChatError(res.status, `http_${res.status}`, text || res.statusText || `HTTP ${res.status}`);
}

function networkError(e) {
  if (e && e.name === "AbortError") return e;
  return new ChatError(0, "network", "The server cannot be reached. Check the connection and try again.");
}

export class ChatClient {
  constructor(metadata) {
    this.url = new URL(config.chatkit_path || "/api/chatkit", location.origin).href;
    this.metadata = metadata;
    this.fetch = eventchatFetch({ url: this.url, token, metadata });
  }

  async request(type, params = {}, { signal } = {}) {
    let res;
    try {
      res = await this.fetch(this.url, { method: "POST", signal, body: JSON.stringify({ type, params }) });
    } catch (e) {
      throw networkError(e);
    }
    if (!res.ok) throw await errorOf(res);
    return res.json();
  }

  async stream(type, params, signal) {
    let res;
    try {
      res = await this.fetch(this.url, { method: "POST", signal, body: JSON.stringify({ type, params }) });
    } catch (e) {
      throw networkError(e);
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  // Best effort: the wrapper cancels on Stop once it knows the turn; this covers a Stop that
  // came before the response (and so before its X-Eventchat-Turn) arrived.
  cancel(turnId) {
    return fetch(`${this.url}/turns/${encodeURIComponent(turnId)}/cancel`, {
      method: "POST", headers: { Authorization: `Bearer ${token()}` },
    }).catch(() => {});
  }

  async turn(threadId, { signal } = {}) {
    let res;
    try {
      res = await fetch(`${this.url}/threads/${encodeURIComponent(threadId)}/turn`, {
        headers: { Authorization: `Bearer ${token()}`, Accept: "application/json" }, signal,
      });
    } catch (e) {
      throw networkError(e);
    }
    if (!res.ok) throw await errorOf(res);
    return res.json();
  }

  // Two-phase upload (protocol §3.12): the record first, then the bytes to its descriptor.
  async upload(file, { signal } = {}) {
    const att = await this.request("attachments.create", {
      name: file.name, size: file.size, mime_type: file.type || "application/octet-stream",
    }, { signal });
    const d = att.upload_descriptor;
    if (d) {
      let res;
      try {
        res = await fetch(d.url, {
          method: d.method || "PUT", body: file, signal,
          headers: { ...(d.headers || {}), "Content-Type": file.type || "application/octet-stream" },
        });
      } catch (e) {
        this.request("attachments.delete", { attachment_id: att.id }).catch(() => {});
        throw networkError(e);
      }
      if (!res.ok) {
        const err = await errorOf(res);
        this.request("attachments.delete", { attachment_id: att.id }).catch(() => {});
        throw err;
      }
      return { ...att, ...(await res.json().catch(() => ({}))), upload_descriptor: undefined };
    }
    return att;
  }
}

// `GET /api/agents/{type}`: the assistant's starter prompts (cached per type per page).
const agentInfo = new Map();
export function agentOf(agentType) {
  if (!agentInfo.has(agentType)) {
    agentInfo.set(agentType, fetch(`/api/agents/${encodeURIComponent(agentType)}`, { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : { starter_prompts: [] }))
      .catch(() => { agentInfo.delete(agentType); return { starter_prompts: [] }; }));
  }
  return agentInfo.get(agentType);
}
