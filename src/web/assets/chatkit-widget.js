// The `ui.chat = "chatkit"` renderer: OpenAI's ChatKit.js web component (`<openai-chatkit>`)
// pointed at this server, with the options of the platform document: our endpoint and the
// fetch wrapper (token, metadata, idempotency key, resume, Stop -> cancel), two-phase
// uploads, the brand accent as theme, the assistant's starter prompts from
// `GET /api/agents/{type}`, history with rename and delete, feedback and retry.
//
// The script comes from `config.chatkit_js_url` (OpenAI's CDN), once per page. If it does not
// load or does not define the element within LOAD_TIMEOUT_MS, the panel says so and how to
// switch to the builtin renderer. Untested here: this machine cannot reach the CDN.
import { config, h, token } from "./session.js";
import { eventchatFetch } from "./chatkit-fetch.js";
import { agentOf } from "./chat-client.js";

const LOAD_TIMEOUT_MS = 15000;
let loading = null;

function loadScript() {
  if (customElements.get("openai-chatkit")) return Promise.resolve();
  loading ??= new Promise((resolve, reject) => {
    const url = config.chatkit_js_url;
    if (!url) { reject(new Error("ui.chatkit_js_url is not set")); return; }
    const timer = setTimeout(() => reject(new Error(`ChatKit.js did not load from ${url} within ${LOAD_TIMEOUT_MS / 1000} s`)), LOAD_TIMEOUT_MS);
    const script = document.createElement("script");
    script.src = url;
    script.async = true;
    script.addEventListener("error", () => { clearTimeout(timer); reject(new Error(`ChatKit.js could not be loaded from ${url}`)); });
    document.head.append(script);
    customElements.whenDefined("openai-chatkit").then(() => { clearTimeout(timer); resolve(); });
  }).catch((e) => { loading = null; throw e; });
  return loading;
}

export class ChatKitWidget {
  constructor(container, { metadata = {}, title = "Assistant", onStatus = () => {} } = {}) {
    this.container = container;
    this.metadata = metadata;
    this.title = title;
    this.onStatus = onStatus;
    this.destroyed = false;
    this.listeners = [];
    this.root = h("section", { class: "chat-panel chatkit", "aria-label": title, "data-agent": metadata.agentType || "" },
      h("p", { class: "chat-progress", role: "status" }, "Loading the chat…"));
    container.replaceChildren(this.root);
    this.ready = this.mount().catch((e) => this.fail(e));
  }

  async mount() {
    const [, info] = await Promise.all([loadScript(), agentOf(this.metadata.agentType)]);
    if (this.destroyed) return;
    const url = new URL(config.chatkit_path || "/api/chatkit", location.origin).href;
    const el = document.createElement("openai-chatkit");
    el.classList.add("chatkit-element");
    el.setOptions({
      api: {
        url,
        domainKey: config.chatkit_domain_key,
        fetch: eventchatFetch({ url, token, metadata: this.metadata }),
        uploadStrategy: { type: "two_phase" },
      },
      theme: {
        colorScheme: "light",
        radius: "round",
        color: { accent: { primary: config.accent_color || "#f0bda4", level: 1 } },
      },
      header: { enabled: true, title: { text: this.title } },
      history: { enabled: true, showDelete: true, showRename: true },
      startScreen: {
        greeting: this.title,
        prompts: (info.starter_prompts || []).map((p) => ({ label: p, prompt: p, icon: "sparkle" })),
      },
      composer: { placeholder: "Message the assistant…", attachments: { enabled: true } },
      threadItemActions: { feedback: true, retry: true },
      frameTitle: this.title,
    });
    const on = (type, fn) => { el.addEventListener(type, fn); this.listeners.push([type, fn]); };
    on("chatkit.response.start", () => this.onStatus("running"));
    on("chatkit.response.end", () => this.onStatus("idle"));
    on("chatkit.thread.change", () => this.onStatus("idle"));
    on("chatkit.error", () => this.onStatus("error"));
    this.el = el;
    this.root.replaceChildren(el);
  }

  fail(e) {
    if (this.destroyed) return;
    this.onStatus("error");
    this.root.replaceChildren(h("div", { class: "chat-error", role: "alert" },
      h("p", {}, h("strong", {}, "The chat cannot be shown. "), e.message, "."),
      h("p", {}, "The ChatKit widget is loaded from OpenAI's CDN, which this browser cannot reach. ",
        "Ask the operator to set ", h("code", {}, 'ui.chat = "builtin"'),
        " (or EVENTCHAT_UI__CHAT=builtin), which needs no CDN.")));
  }

  async send(text) {
    await this.ready;
    if (this.el && typeof this.el.sendUserMessage === "function") {
      await this.el.sendUserMessage({ text });
      return true;
    }
    return false;
  }

  destroy() {
    this.destroyed = true;
    for (const [type, fn] of this.listeners) this.el?.removeEventListener(type, fn);
    this.listeners = [];
    this.root.remove(); // removing the element ends its requests
  }
}
