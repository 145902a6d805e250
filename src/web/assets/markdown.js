// A small markdown renderer for the assistants' replies, building DOM nodes directly.
//
// Model text is untrusted: it is never given to innerHTML. Every piece of it becomes a
// text node or the text of an element created here, so `<script>` in a reply is shown as
// the characters `<script>`. Supported, because the assistants write them: paragraphs
// (blank-line separated; a single newline is a line break), `#`-`###` headings, `-`/`*`/`+`
// and `1.` lists (one level), `>` quotes, fenced ``` code blocks, and inline `code`,
// **bold** / __bold__, *italic* / _italic_ (underscores only at word edges, so snake_case
// and window.__x stay as they are) and [links](https://...). A link keeps only http(s) and
// mailto targets (anything else is shown as text) and opens in a new tab with
// rel="noopener noreferrer". Text that is still streaming renders as it stands: an
// unclosed `**` shows as the two characters until its closing pair arrives.

const SAFE_URL = /^(https?:\/\/|mailto:)/i;

// Earliest inline construct wins; within one position the order below decides.
const INLINE = [
  { kind: "code", re: /`([^`\n]+)`/ },
  { kind: "link", re: /\[([^\]\n]+)\]\(([^)\s]+)\)/ },
  { kind: "strong", re: /\*\*([^*\n](?:[^\n]*?[^*\n])?)\*\*/ },
  { kind: "strong", re: /(?<![A-Za-z0-9_])__([^_\n](?:[^\n]*?[^_\n])?)__(?![A-Za-z0-9_])/ },
  { kind: "em", re: /\*([^*\s](?:[^*\n]*?[^*\s])?)\*/ },
  { kind: "em", re: /(?<![A-Za-z0-9_])_([^_\s](?:[^_\n]*?[^_\s])?)_(?![A-Za-z0-9_])/ },
];

function el(tag, ...children) {
  const e = document.createElement(tag);
  for (const c of children) e.append(c);
  return e;
}

// Inline markdown of one line (or a paragraph with "\n" line breaks) as DOM nodes.
export function renderInline(text) {
  const out = document.createDocumentFragment();
  let rest = text;
  while (rest.length) {
    let best = null;
    for (const rule of INLINE) {
      const m = rule.re.exec(rest);
      if (m && (best === null || m.index < best.m.index)) best = { rule, m };
    }
    if (!best) {
      appendText(out, rest);
      break;
    }
    const { rule, m } = best;
    if (m.index > 0) appendText(out, rest.slice(0, m.index));
    if (rule.kind === "code") out.append(el("code", m[1]));
    else if (rule.kind === "link") out.append(link(m[1], m[2]));
    else out.append(el(rule.kind, renderInline(m[1])));
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

// Text with its newlines as <br>.
function appendText(parent, text) {
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (i > 0) parent.append(document.createElement("br"));
    if (line) parent.append(document.createTextNode(line));
  });
}

function link(label, href) {
  if (!SAFE_URL.test(href)) {
    return document.createTextNode(`[${label}](${href})`);
  }
  const a = el("a", renderInline(label));
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

const LIST_ITEM = /^\s{0,3}([-*+]|\d{1,9}[.)])\s+(.*)$/;
const HEADING = /^(#{1,6})\s+(.*)$/;
const FENCE = /^\s{0,3}```/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;

// A whole message as block elements (returned as a fragment).
export function renderMarkdown(text) {
  const out = document.createDocumentFragment();
  const lines = String(text ?? "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    if (FENCE.test(line)) {
      const body = [];
      i++;
      while (i < lines.length && !FENCE.test(lines[i])) body.push(lines[i++]);
      i++; // the closing fence (or the end of a message still streaming)
      out.append(el("pre", el("code", body.join("\n"))));
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      // Headings inside a chat bubble stay small: h4-h6, never a page-level heading.
      const level = Math.min(6, heading[1].length + 3);
      out.append(el(`h${level}`, renderInline(heading[2])));
      i++;
      continue;
    }
    if (LIST_ITEM.test(line)) {
      const ordered = /\d/.test(LIST_ITEM.exec(line)[1]);
      const list = document.createElement(ordered ? "ol" : "ul");
      while (i < lines.length && LIST_ITEM.test(lines[i])) {
        const m = LIST_ITEM.exec(lines[i]);
        if (/\d/.test(m[1]) !== ordered) break;
        let itemText = m[2];
        i++;
        // Continuation lines (indented, not a new item) belong to the item.
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !LIST_ITEM.test(lines[i])) {
          itemText += "\n" + lines[i].trim();
          i++;
        }
        if (ordered && list.children.length === 0) {
          const start = parseInt(m[1], 10);
          if (start !== 1) list.start = start;
        }
        list.append(el("li", renderInline(itemText)));
      }
      out.append(list);
      continue;
    }
    if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(QUOTE.exec(lines[i++])[1]);
      out.append(el("blockquote", renderMarkdown(body.join("\n"))));
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !FENCE.test(lines[i]) && !HEADING.test(lines[i])
      && !LIST_ITEM.test(lines[i]) && !QUOTE.test(lines[i])) {
      para.push(lines[i++]);
    }
    out.append(el("p", renderInline(para.join("\n"))));
  }
  return out;
}
