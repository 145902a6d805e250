// The ChatKit stream, read by the builtin chat panel: SSE frames and item updates.
//
// `readEvents(response, onEvent, {signal})` reads a streaming response (the fetch wrapper's,
// which already resumed after drops) frame by frame, until its end or until `signal` aborts
// (then the body is cancelled, which closes the connection and leaves the turn running): a frame is the text up to a blank line;
// lines starting with `:` are comments (`: keep-alive`, `: seq=N`) and are skipped; the
// `data:` lines of a frame are joined and parsed as one JSON event (protocol §1). A frame
// that is not JSON is reported once and skipped, so one bad frame cannot stop the stream.
//
// `applyUpdate(item, update)` applies one `thread.item.updated` to a pending item, with the
// rules of protocol §4.13 (the same the server's actor applies), and returns the item.

export async function readEvents(response, onEvent, { signal, onBadFrame = () => {} } = {}) {
  const reader = response.body.getReader();
  const onAbort = () => reader.cancel().catch(() => {});
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  const decoder = new TextDecoder();
  let pending = "";
  const frame = (text) => {
    const data = [];
    for (const line of text.split("\n")) {
      if (line.startsWith(":")) continue;
      if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
    }
    if (!data.length) return;
    let event;
    try {
      event = JSON.parse(data.join("\n"));
    } catch {
      onBadFrame(text);
      return;
    }
    onEvent(event);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      pending = pending.replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = pending.indexOf("\n\n")) >= 0) {
        const text = pending.slice(0, cut);
        pending = pending.slice(cut + 2);
        frame(text);
      }
    }
    pending += decoder.decode();
    if (pending.trim()) frame(pending);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
}

function emptyText() {
  return { type: "output_text", annotations: [], text: "" };
}

// Protocol §4.13, on the client's copy of a pending item.
export function applyUpdate(item, update) {
  const u = update || {};
  switch (u.type) {
    case "assistant_message.content_part.added":
    case "assistant_message.content_part.done":
    case "assistant_message.content_part.text_delta":
    case "assistant_message.content_part.annotation_added": {
      if (item.type !== "assistant_message") return item;
      const content = (item.content ??= []);
      const i = u.content_index ?? 0;
      while (content.length <= i) content.push(emptyText());
      if (u.type === "assistant_message.content_part.text_delta") {
        content[i].text = (content[i].text || "") + (u.delta || "");
      } else if (u.type === "assistant_message.content_part.annotation_added") {
        const list = (content[i].annotations ??= []);
        const at = u.annotation_index ?? list.length;
        if (at >= 0 && at <= list.length) list.splice(at, 0, u.annotation);
        else list.push(u.annotation);
      } else {
        content[i] = { ...emptyText(), ...(u.content || {}) };
      }
      return item;
    }
    case "workflow.task.added":
    case "workflow.task.updated": {
      if (item.type !== "workflow") return item;
      const wf = (item.workflow ??= { type: "custom", tasks: [], expanded: false });
      const tasks = (wf.tasks ??= []);
      const i = u.task_index ?? tasks.length;
      if (u.type === "workflow.task.added") tasks.splice(Math.min(Math.max(i, 0), tasks.length), 0, u.task);
      else if (i >= 0 && i < tasks.length) tasks[i] = u.task;
      else tasks.push(u.task);
      return item;
    }
    case "generated_image.updated":
      if (item.type === "generated_image") item.image = u.image;
      return item;
    case "widget.root.updated":
      if (item.type === "widget") item.widget = u.widget;
      return item;
    default:
      // Widget component updates and anything newer: the builtin renderer does not draw
      // widgets, so there is nothing to apply them to.
      return item;
  }
}

// The text of an assistant message (all its parts).
export function messageText(item) {
  return (item.content || []).map((p) => p.text || "").join("\n\n");
}

// The text a user wrote (text parts, tags as @text).
export function userText(item) {
  return (item.content || []).map((p) => (p.type === "input_tag" ? `@${p.text}` : p.text || "")).join("");
}
