// The builtin chat panel's header: the panel's title, the open thread's title, and the
// thread's toolbar (History, New chat, Rename, Delete) with the two inline forms it opens:
// a title field (Enter saves, Esc cancels) and a delete confirmation (no window.confirm, so
// it stays in the page's focus order). Rename and Delete are disabled until a thread exists.
// The bar only collects the user's intent; the panel runs the requests (`onRename(title)`,
// `onDelete()`, `onNew()`, `onHistory()` which answers whether the history is now open).
import { h } from "./session.js";

export class ThreadBar {
  constructor({ id, title, historyId, onHistory, onNew, onRename, onDelete }) {
    this.threadTitle = h("p", { class: "chat-thread-title", id: `${id}-thread` });
    this.historyButton = h("button", {
      type: "button", class: "chat-history-toggle", "aria-expanded": "false", "aria-controls": historyId,
      onclick: () => this.historyButton.setAttribute("aria-expanded", String(onHistory())),
    }, "History");
    this.renameButton = h("button", { type: "button", onclick: () => this.showRename() }, "Rename");
    this.deleteButton = h("button", { type: "button", class: "danger", onclick: () => this.showDelete() }, "Delete");
    const escape = (ev) => { if (ev.key === "Escape") { ev.stopPropagation(); this.hideForms(true); } };
    this.renameInput = h("input", { type: "text", id: `${id}-rename`, maxlength: 200, class: "chat-rename-input" });
    this.renameForm = h("form", {
      class: "chat-inline-form", hidden: true, onkeydown: escape,
      onsubmit: (ev) => { ev.preventDefault(); onRename(this.renameInput.value); },
    },
    h("label", { for: `${id}-rename` }, "Title"), this.renameInput,
    h("button", { type: "submit", class: "primary" }, "Save"),
    h("button", { type: "button", onclick: () => this.hideForms(true) }, "Cancel"));
    this.cancelDelete = h("button", { type: "button", class: "chat-confirm-cancel", onclick: () => this.hideForms(true) }, "Cancel");
    this.deleteForm = h("div", {
      class: "chat-inline-form chat-confirm", role: "alertdialog", "aria-label": "Delete this conversation?", hidden: true, onkeydown: escape,
    },
    h("span", {}, "Delete this conversation? This cannot be undone."),
    h("button", { type: "button", class: "danger chat-confirm-delete", onclick: () => onDelete() }, "Delete"),
    this.cancelDelete);
    this.head = h("header", { class: "chat-head" },
      h("div", { class: "chat-head-text" }, h("h2", { id: `${id}-title` }, title), this.threadTitle),
      h("div", { class: "chat-head-actions", role: "toolbar", "aria-label": "Conversation" },
        this.historyButton,
        h("button", { type: "button", class: "chat-new", onclick: () => onNew() }, "New chat"),
        this.renameButton, this.deleteButton));
    this.elements = [this.head, this.renameForm, this.deleteForm];
    this.current = "";
  }

  // The open thread (`null`: a new chat not sent yet) and its title.
  setThread(threadId, title) {
    this.threadTitle.textContent = threadId ? title || "Untitled conversation" : "New conversation";
    this.current = threadId ? title || "" : "";
    this.renameButton.disabled = !threadId;
    this.deleteButton.disabled = !threadId;
    if (!threadId) this.hideForms(false);
  }

  showRename() {
    this.deleteForm.hidden = true;
    this.renameForm.hidden = false;
    this.renameInput.value = this.current;
    this.renameInput.focus();
    this.renameInput.select();
  }

  showDelete() {
    this.renameForm.hidden = true;
    this.deleteForm.hidden = false;
    this.cancelDelete.focus();
  }

  hideForms(focusBack) {
    const wasRename = !this.renameForm.hidden;
    const wasOpen = wasRename || !this.deleteForm.hidden;
    this.renameForm.hidden = true;
    this.deleteForm.hidden = true;
    if (focusBack && wasOpen) (wasRename ? this.renameButton : this.deleteButton).focus();
  }
}
