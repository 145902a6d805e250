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
    // A load balancer in front of a cluster may hash on the thread (docs/scaling.md).
    const thread = body.params?.thread_id ? { "X-Eventchat-Thread": body.params.thread_id } : {};
    if (!STREAMING.has(body.type)) {
      return fetch(input, { ...init, body: JSON.stringify(body), headers: { ...init.headers, ...auth(), ...thread } });
    }
    if (body.type === "threads.create" || body.type === "threads.add_user_message") {
      body.metadata.clientMessageId ??= crypto.randomUUID(); // a resend is the same message
    }
    const headers = { ...init.headers, ...auth(), ...thread, "X-Eventchat-On-Disconnect": "continue" };
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
    const stop = () => {
      stopped = true;
      conn.abort();
      fetch(`${url}/turns/${turnId}/cancel`, { method: "POST", headers: auth() });
    };
    if (init.signal?.aborted) stop(); // Stop came before the response did
    else init.signal?.addEventListener("abort", stop);
    const encoder = new TextEncoder();
    let decoder, pending, seq;
    // Passes on whole frames only (a frame cut by a drop comes again, whole, in the replay)
    // and remembers the `: seq=N` of the newest event passed on.
    const track = (chunk) => {
      pending += decoder.decode(chunk, { stream: true });
      const frames = pending.split("\n\n");
      pending = frames.pop();
      for (const f of frames) {
        if (f.startsWith(": seq=")) seq = Number(f.slice(6));
        else if (f.startsWith("data:")) lastSeq = seq;
      }
      return frames.length ? encoder.encode(frames.join("\n\n") + "\n\n") : null;
    };
    const stream = new ReadableStream({
      async start(out) {
        let res = first, attempt = 0;
        for (;;) {
          try {
            decoder = new TextDecoder(), pending = "", seq = lastSeq;
            const reader = res.body.getReader();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) return out.close();
              const frames = track(value);
              if (frames) out.enqueue(frames);
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
      cancel() { stopped = true; conn.abort(); }, // the reader went away: the turn goes on
    });
    return new Response(stream, { status: 200, headers: first.headers });
  };
}
