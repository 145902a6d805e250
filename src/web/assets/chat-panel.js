// The chat panel of every page, for all three assistants. The pages use only this:
//
//   import { ChatPanel } from "./chat-panel.js";
//   const panel = new ChatPanel(containerElement, {
//     metadata: { agentType: "venue_event", venueId, eventId }, // sent with every request
//     title: "Assistant · Smith wedding",
//     onStatus: (status) => {}, // "idle" | "running" | "tool" | "error"
//   });
//   panel.send("text");  // programmatic send (tests, starter prompts)
//   panel.destroy();     // closes its streams (a running turn goes on and is stored), removes listeners
//
// The renderer follows `ui.chat` (the page's config): "builtin" (the default; works offline,
// chat-builtin.js) or "chatkit" (OpenAI's ChatKit.js web component, chatkit-widget.js).
import { config } from "./session.js";
import { BuiltinChat } from "./chat-builtin.js";
import { ChatKitWidget } from "./chatkit-widget.js";

export class ChatPanel {
  constructor(container, options = {}) {
    const Renderer = config.chat === "chatkit" ? ChatKitWidget : BuiltinChat;
    this.renderer = new Renderer(container, options);
  }

  send(text) {
    return this.renderer.send(text);
  }

  destroy() {
    this.renderer.destroy();
  }
}
