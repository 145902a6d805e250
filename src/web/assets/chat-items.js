// How the builtin chat panel draws one thread item (protocol §6.2), and the banners that
// are not items (notices, errors, progress).
//
// `renderItem(item, ctx)` returns the element for an item, or null for a type the panel
// does not show; the panel calls it again whenever the item changes and swaps the element
// (keyed by `data-item-id`). Model text goes through `renderMarkdown` (text nodes only).
// `ctx` carries what an element needs beyond the item: `pending` (still streaming),
// `feedback` (the kind already given) and the callbacks `onFeedback(item, kind)`.
import { h } from "./session.js";
import { renderMarkdown } from "./markdown.js";
import { messageText, userText } from "./chat-sse.js";
import { icon } from "./chat-icons.js";

function fileChip(att) {
  const label = `${att.name}${att.mime_type ? ` (${att.mime_type})` : ""}`;
  if (att.type === "image" && att.preview_url) {
    return h("a", { class: "chat-file", href: att.preview_url, target: "_blank", rel: "noopener noreferrer" },
      h("img", { src: att.preview_url, alt: "", width: 32, height: 32, loading: "lazy" }),
      h("span", {}, label));
  }
  return h("span", { class: "chat-file" }, icon("file"), h("span", {}, label));
}

function userMessage(item) {
  const files = (item.attachments || []).map(fileChip);
  return h("div", { class: "chat-msg user", "data-item-id": item.id, "data-pending": item._local ? "true" : null },
    h("span", { class: "visually-hidden" }, "You: "),
    item.quoted_text ? h("blockquote", { class: "chat-quote" }, item.quoted_text) : null,
    h("div", { class: "chat-bubble" }, userText(item)),
    files.length ? h("div", { class: "chat-files", "aria-label": "Attachments" }, files) : null);
}

function feedbackButtons(item, ctx) {
  const given = ctx.feedback;
  const button = (kind, label, glyph) => h("button", {
    type: "button", class: "chat-icon-button", "aria-label": label, title: label,
    "aria-pressed": given === kind ? "true" : "false", "data-feedback": kind,
    onclick: () => ctx.onFeedback(item, kind),
  }, icon(glyph));
  return h("div", { class: "chat-msg-actions" },
    button("positive", "Good answer", "thumbs-up"), button("negative", "Bad answer", "thumbs-down"));
}

function assistantMessage(item, ctx) {
  const body = h("div", { class: "chat-bubble markdown" });
  body.append(renderMarkdown(messageText(item)));
  if (ctx.pending) {
    // The caret goes at the end of the text: inside the last paragraph or list item.
    let at = body.lastElementChild;
    if (at && (at.tagName === "UL" || at.tagName === "OL")) at = at.lastElementChild;
    if (!at || at.tagName === "PRE" || at.tagName === "BLOCKQUOTE") at = body;
    at.append(h("span", { class: "chat-caret", "aria-hidden": "true" }));
  }
  return h("div", {
    class: "chat-msg assistant", "data-item-id": item.id, "data-streaming": ctx.pending ? "true" : "false",
  },
  h("span", { class: "visually-hidden" }, "Assistant: "),
  body,
  ctx.pending ? null : feedbackButtons(item, ctx));
}

const TASK_STATUS = { loading: "running", complete: "done", none: "" };

function task(t) {
  const status = t.status_indicator || "none";
  const title = t.title || t.title_query || (t.type === "thought" ? "Thinking" : "Working");
  return h("li", { class: `chat-task ${status}`, "data-status": status },
    h("span", { class: "chat-task-icon", "aria-hidden": "true" }, status === "complete" ? "✓" : status === "loading" ? "" : "•"),
    h("span", { class: "chat-task-title" }, title),
    TASK_STATUS[status] ? h("span", { class: "visually-hidden" }, ` (${TASK_STATUS[status]})`) : null,
    t.type === "thought" && t.content ? h("div", { class: "chat-task-content" }, t.content) : null);
}

function workflow(item, ctx) {
  const wf = item.workflow || {};
  const tasks = wf.tasks || [];
  const s = wf.summary;
  const running = ctx.pending || tasks.some((t) => t.status_indicator === "loading");
  const summary = s && s.title ? s.title
    : s && s.duration !== undefined ? `Worked for ${s.duration} s`
      : running ? "Working…" : "Done";
  return h("div", { class: "chat-workflow", "data-item-id": item.id, "data-running": running ? "true" : "false" },
    h("details", { open: running ? true : null },
      h("summary", {}, h("span", { class: "chat-task-icon", "aria-hidden": "true" }, running ? "" : "✓"), " ", summary),
      h("ul", { class: "chat-tasks" }, tasks.map(task))));
}

function clientToolCall(item) {
  const done = item.status === "completed";
  return h("div", { class: "chat-workflow", "data-item-id": item.id, "data-running": done ? "false" : "true" },
    h("p", {}, done ? `Used ${item.name}` : `Waiting for ${item.name}…`));
}

function standaloneTask(item) {
  return h("div", { class: "chat-workflow", "data-item-id": item.id }, h("ul", { class: "chat-tasks" }, task(item.task || {})));
}

function widgetItem(item) {
  // The builtin renderer does not draw ChatKit widgets; their copy text (if any) stands in.
  return h("div", { class: "chat-msg assistant", "data-item-id": item.id },
    h("div", { class: "chat-bubble muted" }, item.copy_text || "(a widget this page cannot show)"));
}

function generatedImage(item) {
  return h("div", { class: "chat-msg assistant", "data-item-id": item.id },
    item.image && item.image.url
      ? h("img", { class: "chat-image", src: item.image.url, alt: "Generated image" })
      : h("div", { class: "chat-bubble muted" }, "Generating an image…"));
}

export function renderItem(item, ctx) {
  switch (item.type) {
    case "user_message": return userMessage(item);
    case "assistant_message": return assistantMessage(item, ctx);
    case "workflow": return workflow(item, ctx);
    case "task": return standaloneTask(item);
    case "client_tool_call": return clientToolCall(item);
    case "widget": return widgetItem(item);
    case "generated_image": return generatedImage(item);
    default: return null; // end_of_turn, structured input, hidden items
  }
}

const NOTICE_LEVEL = { info: "info", warning: "warn", danger: "bad" };

export function renderNotice(ev) {
  return h("div", { class: `chat-notice ${NOTICE_LEVEL[ev.level] || "info"}`, role: "note" },
    ev.title ? h("strong", {}, ev.title, ": ") : null,
    renderInlineBlock(ev.message || ""));
}

function renderInlineBlock(text) {
  const span = h("span", {});
  const frag = renderMarkdown(text);
  // A notice is one line: unwrap a lone paragraph.
  if (frag.childNodes.length === 1 && frag.firstChild.nodeName === "P") span.append(...frag.firstChild.childNodes);
  else span.append(frag);
  return span;
}

export function renderError({ message, allowRetry, onRetry }) {
  return h("div", { class: "chat-error", role: "alert" },
    h("span", {}, message),
    allowRetry ? h("button", { type: "button", class: "chat-retry", onclick: onRetry }, "Retry") : null);
}
