// The fetch wrapper of eventchat's pages, and the one the README shows: ChatKit requests
// with the user's token and the page's metadata; a send carries an idempotency key
// (metadata.clientMessageId) so a resend is the same message; the connection survives a
// drop (it resumes after the last `: seq=N` it saw); Stop (the caller's abort) cancels the
// turn explicitly, since the server cannot tell an abort from a drop.
const STREAMING = new Set(["threads.create", "threads.add_user_message",
  "threads.add_client_tool_output", "threads.add_structured_input",
  "threads.retry_after_item", "threads.custom_action"]);

export function eventchatFetch({ url, token, metadata, retries = 5 }) {
  const auth = () => ({ Authorization: `Bearer ${token()}`, "Content-Type": "application/json" });
  return async (input, init = {}) => {
    const body = init.body ? JSON.parse(init.body) : {};
    body.metadata = { ...(body.metadata || {}), ...metadata };
    if (!STREAMING.has(body.type)) {
      return fetch(input, { ...init, body: JSON.stringify(body), headers: { ...init.headers, ...auth() } });
    }
    if (body.type === "threads.create" || body.type === "threads.add_user_message") {
      body.metadata.clientMessageId ??= crypto.randomUUID(); // a resend is the same message
    }
    const headers = { ...init.headers, ...auth(), "X-Eventchat-On-Disconnect": "continue" };
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    // Our own controller: the widget's abort is Stop, not a reason to drop the connection.
    const conn = new AbortController();
    let first;
    for (let attempt = 0; ; attempt++) { // the same body again is the same message (its key)
      try {
        first = await fetch(input, { method: "POST", body: JSON.stringify(body), headers, signal: conn.signal });
        break;
      } catch (err) {
        if (attempt >= retries || init.signal?.aborted) throw err;
        await sleep(250 * 2 ** attempt);
      }
    }
    const turnId = first.headers.get("X-Eventchat-Turn");
    if (!first.ok || !turnId) return first;
    let lastSeq = 0, stopped = false;
    init.signal?.addEventListener("abort", () => {
      stopped = true;
      conn.abort();
      fetch(`${url}/turns/${turnId}/cancel`, { method: "POST", headers: auth() });
    });
    const decoder = new TextDecoder();
    let pending = "";
    const track = (chunk) => { // remembers the newest `: seq=N` that went by
      pending += decoder.decode(chunk, { stream: true });
      const frames = pending.split("\n\n");
      pending = frames.pop();
      for (const f of frames) if (f.startsWith(": seq=")) lastSeq = Number(f.slice(6));
    };
    const stream = new ReadableStream({
      async start(out) {
        let res = first, attempt = 0;
        for (;;) {
          try {
            const reader = res.body.getReader();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) return out.close();
              track(value);
              out.enqueue(value);
            }
          } catch (err) {
            if (stopped) return out.close();
            for (;;) { // resume after the last event seen, until one attempt works
              if (++attempt > retries) return out.error(err);
              await sleep(250 * 2 ** attempt);
              try {
                res = await fetch(`${url}/turns/${turnId}/events`, {
                  method: "POST", headers: auth(), signal: conn.signal,
                  body: JSON.stringify({ after: lastSeq }),
                });
                if (res.status === 410) return out.close(); // over: the widget reloads the items
                if (res.ok) break;
              } catch (e) { err = e; }
            }
          }
        }
      },
    });
    return new Response(stream, { status: 200, headers: first.headers });
  };
}
