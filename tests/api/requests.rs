//! Well-formed ChatKit request bodies, one builder per request type, and the two
//! [`TestApp`] calls most tests make with them (create a thread, send a message).
//!
//! Each builder writes the body exactly as a ChatKit client sends it, so a test states
//! what it asks for and not the JSON layout again. Tests whose subject is the body itself
//! (malformed, unusual or lenient input to the parser) write it out by hand instead.
//! Used as `use crate::requests as req;`.

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A user message's input: one text part, no attachments, default inference options.
pub fn input(text: &str) -> Value {
    json!({"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}})
}

/// `threads.create` with one text message and the thread's metadata (`agentType`, ...).
pub fn create_thread(text: &str, metadata: Value) -> Value {
    json!({"type":"threads.create","params":{"input":input(text)},"metadata":metadata})
}

/// `threads.create` whose message also carries these (already uploaded) attachments.
pub fn create_thread_with_attachments(text: &str, attachments: &[&str], metadata: Value) -> Value {
    let mut input = input(text);
    input["attachments"] = json!(attachments);
    json!({"type":"threads.create","params":{"input":input},"metadata":metadata})
}

/// `threads.add_user_message` with one text message.
pub fn add_user_message(thread_id: &str, text: &str) -> Value {
    json!({"type":"threads.add_user_message","params":{"thread_id":thread_id,"input":input(text)}})
}

/// `threads.list`; `params` is the paging object (`{}` for the defaults).
pub fn list_threads(params: Value) -> Value {
    json!({"type":"threads.list","params":params})
}

/// `threads.get_by_id`.
pub fn get_thread(thread_id: &str) -> Value {
    json!({"type":"threads.get_by_id","params":{"thread_id":thread_id}})
}

/// `items.list`; `params` holds the paging fields (`limit`, `order`, `after`), `{}` for
/// the defaults.
pub fn list_items(thread_id: &str, params: Value) -> Value {
    let mut params = params;
    params["thread_id"] = json!(thread_id);
    json!({"type":"items.list","params":params})
}

/// `threads.update` (the title).
pub fn update_thread(thread_id: &str, title: &str) -> Value {
    json!({"type":"threads.update","params":{"thread_id":thread_id,"title":title}})
}

/// `threads.delete`.
pub fn delete_thread(thread_id: &str) -> Value {
    json!({"type":"threads.delete","params":{"thread_id":thread_id}})
}

/// `threads.retry_after_item`.
pub fn retry_after_item(thread_id: &str, item_id: &str) -> Value {
    json!({"type":"threads.retry_after_item","params":{"thread_id":thread_id,"item_id":item_id}})
}

/// `threads.add_client_tool_output` with the pending call's `result`.
pub fn add_client_tool_output(thread_id: &str, result: Value) -> Value {
    json!({"type":"threads.add_client_tool_output","params":{"thread_id":thread_id,"result":result}})
}

/// `threads.add_structured_input`: the answers (`input`) to a structured input item.
pub fn add_structured_input(thread_id: &str, item_id: &str, input: Value) -> Value {
    json!({"type":"threads.add_structured_input","params":{"thread_id":thread_id,"item_id":item_id,"input":input}})
}

/// `threads.custom_action`, sent from the widget `item_id` (or from no item).
pub fn custom_action(thread_id: &str, item_id: Option<&str>, action: Value) -> Value {
    action_request("threads.custom_action", thread_id, item_id, action)
}

/// `threads.sync_custom_action`, the non-streaming variant of [`custom_action`].
pub fn sync_custom_action(thread_id: &str, item_id: Option<&str>, action: Value) -> Value {
    action_request("threads.sync_custom_action", thread_id, item_id, action)
}

/// Both action requests share their params; `item_id` is left out, not sent as null,
/// when there is no sender, as a client does.
fn action_request(kind: &str, thread_id: &str, item_id: Option<&str>, action: Value) -> Value {
    let mut params = json!({"thread_id":thread_id,"action":action});
    if let Some(item_id) = item_id {
        params["item_id"] = json!(item_id);
    }
    json!({"type":kind,"params":params})
}

/// `items.feedback` on these items; `kind` is `positive` or `negative`.
pub fn feedback(thread_id: &str, item_ids: &[&str], kind: &str) -> Value {
    json!({"type":"items.feedback","params":{"thread_id":thread_id,"item_ids":item_ids,"kind":kind}})
}

/// `attachments.create`: the declaration that precedes an upload.
pub fn create_attachment(name: &str, size: u64, mime_type: &str) -> Value {
    json!({"type":"attachments.create","params":{"name":name,"size":size,"mime_type":mime_type}})
}

/// `attachments.delete`.
pub fn delete_attachment(attachment_id: &str) -> Value {
    json!({"type":"attachments.delete","params":{"attachment_id":attachment_id}})
}

/// `input.transcribe` of base64 audio.
pub fn transcribe(audio_base64: &str, mime_type: &str) -> Value {
    json!({"type":"input.transcribe","params":{"audio_base64":audio_base64,"mime_type":mime_type}})
}

impl TestApp {
    /// Streams `threads.create`, checks it was accepted, and returns the new thread's id
    /// (from the first event, `thread.created`) and every event.
    pub async fn create_thread(
        &self,
        token: &str,
        text: &str,
        metadata: Value,
    ) -> (String, Vec<Value>) {
        let (status, events) = self.stream(token, create_thread(text, metadata)).await;
        assert_eq!(status, 200, "{events:?}");
        let thread_id = events[0]["thread"]["id"]
            .as_str()
            .expect("thread.created first")
            .to_owned();
        (thread_id, events)
    }

    /// Streams `threads.add_user_message`: the status and the events, unchecked.
    pub async fn add_user_message(
        &self,
        token: &str,
        thread_id: &str,
        text: &str,
    ) -> (u16, Vec<Value>) {
        self.stream(token, add_user_message(thread_id, text)).await
    }
}
