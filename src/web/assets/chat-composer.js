// The builtin chat panel's composer: a labelled textarea (Enter sends, Shift+Enter is a new
// line), an attach button (two-phase upload through `client.upload`, one chip per file
// with a remove button that deletes the attachment), and one button that is Send while
// idle and Stop while a reply streams. Sending waits for uploads in flight; a failed
// upload shows its message and leaves no chip.
import { h } from "./session.js";
import { icon } from "./chat-icons.js";

export class Composer {
  constructor({ client, idPrefix, placeholder, onSend, onStop }) {
    this.client = client;
    this.onSend = onSend;
    this.onStop = onStop;
    this.streaming = false;
    this.attachments = []; // uploaded: {id, name, mime_type, type, preview_url}
    this.uploads = 0;
    const inputId = `${idPrefix}-input`;
    const fileId = `${idPrefix}-file`;
    this.input = h("textarea", {
      id: inputId, class: "chat-input", rows: 2, placeholder: placeholder || "Message the assistant…",
      "aria-describedby": `${idPrefix}-hint`,
      onkeydown: (ev) => this.keydown(ev),
    });
    this.file = h("input", {
      id: fileId, type: "file", class: "visually-hidden", multiple: true, tabindex: -1, "aria-hidden": "true",
      onchange: () => this.attach([...this.file.files]),
    });
    this.chips = h("ul", { class: "chat-chips", "aria-label": "Files to send" });
    this.note = h("p", { class: "chat-composer-note", role: "status" });
    this.button = h("button", { type: "submit", class: "primary chat-send" }, "Send");
    this.el = h("form", {
      class: "chat-composer",
      onsubmit: (ev) => { ev.preventDefault(); this.primary(); },
    },
    h("label", { for: inputId, class: "visually-hidden" }, "Message"),
    this.chips,
    this.input,
    h("div", { class: "chat-composer-row" },
      this.file,
      h("button", { type: "button", class: "chat-attach", "aria-label": "Attach a file", onclick: () => this.file.click() },
        icon("paperclip"), " Attach"),
      h("span", { id: `${idPrefix}-hint`, class: "chat-hint muted" }, "Enter to send, Shift+Enter for a new line, Esc to stop"),
      this.button),
    this.note);
    this.render();
  }

  keydown(ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      if (!this.streaming) this.primary();
    }
  }

  primary() {
    if (this.streaming) {
      this.onStop();
      return;
    }
    const text = this.input.value.trim();
    if (this.uploads > 0) {
      this.note.textContent = "Wait for the upload to finish.";
      return;
    }
    if (!text && !this.attachments.length) return;
    this.onSend(text, this.attachments.slice());
  }

  clear() {
    this.input.value = "";
    this.attachments = [];
    this.note.textContent = "";
    this.render();
  }

  setStreaming(on) {
    this.streaming = on;
    this.render();
  }

  setText(text) {
    this.input.value = text;
  }

  focus() {
    this.input.focus();
  }

  async attach(files) {
    this.file.value = "";
    for (const f of files) {
      this.uploads++;
      this.note.textContent = `Uploading ${f.name}…`;
      this.render();
      try {
        const att = await this.client.upload(f);
        this.attachments.push(att);
        this.note.textContent = `${f.name} attached.`;
      } catch (e) {
        this.note.textContent = `Cannot attach ${f.name}: ${e.message}`;
      } finally {
        this.uploads--;
        this.render();
      }
    }
  }

  detach(att) {
    this.attachments = this.attachments.filter((a) => a.id !== att.id);
    this.client.request("attachments.delete", { attachment_id: att.id }).catch(() => {});
    this.note.textContent = `${att.name} removed.`;
    this.render();
    this.input.focus();
  }

  render() {
    this.chips.replaceChildren(...this.attachments.map((a) => h("li", { class: "chat-chip", "data-attachment-id": a.id },
      h("span", {}, a.name),
      h("button", { type: "button", class: "chat-icon-button", "aria-label": `Remove ${a.name}`, onclick: () => this.detach(a) }, "×"))));
    this.chips.hidden = this.attachments.length === 0;
    this.button.textContent = this.streaming ? "Stop" : "Send";
    this.button.className = this.streaming ? "chat-send chat-stop danger" : "primary chat-send";
    this.button.setAttribute("aria-label", this.streaming ? "Stop the reply" : "Send");
    this.button.disabled = !this.streaming && this.uploads > 0;
  }
}
