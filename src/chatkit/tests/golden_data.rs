//! JSON captured from the reference server (the examples of the wire capture this project
//! started from, copied verbatim by a script; `data: ` prefixes stripped from SSE captures).
//! `docs/protocol.md` states the contract in our words; its section numbers are the ones
//! cited below.
//!
//! Two examples are elided with `…` in the protocol and were completed here:
//! * §3.9 `threads.get_by_id`: the trailing `"…"` element of `items.data` is dropped
//!   (`THREAD_GET_BY_ID`);
//! * §3.11 `items.list`: `"inputs":["…"]` of `msg_si` is filled with the answered inputs of
//!   the §3.7 `thread.item.replaced` capture, the same item in the same flow
//!   (`ITEMS_PAGE`).
//!
//! Not usable: the two §5 events whose items are elided (`msg_ae800bc4`, `msg_err`: no
//! `thread_id`/`created_at` to restore), the §1 envelope template and the schema-style
//! snippets with `|` alternatives.

/// §3 request bodies, in protocol order.
pub const REQUESTS: &[&str] = &[
    r##"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"Hi"}],"attachments":[],"inference_options":{"tool_choice":{"id":"search"},"model":"gpt-x"},"quoted_text":"earlier text"}},"metadata":{"k":"v"}}"##,
    r##"{"type":"threads.add_user_message","params":{"thread_id":"thr_e74751ae","input":{"content":[{"type":"input_text","text":"use tool"}],"attachments":[],"inference_options":{}}}}"##,
    r##"{"type":"threads.add_client_tool_output","params":{"thread_id":"thr_e74751ae","result":{"nodes":[1,2]}}}"##,
    r##"{"type":"threads.retry_after_item","params":{"thread_id":"thr_e74751ae","item_id":"msg_fb52f6ed"}}"##,
    r##"{"type":"threads.custom_action","params":{"thread_id":"thr_e8f64083","item_id":"msg_e6adcc90","action":{"type":"ok","payload":{"a":1}}}}"##,
    r##"{"type":"threads.add_structured_input","params":{"thread_id":"thr_e74751ae","item_id":"msg_si","input":{"status":"answered","answers":{"priority":{"values":["High","Low"]}}}}}"##,
    r##"{"type":"threads.sync_custom_action","params":{"thread_id":"thr_e8f64083","item_id":"msg_e6adcc90","action":{"type":"ok","payload":{}}}}"##,
    r##"{"type":"threads.get_by_id","params":{"thread_id":"thr_182a8289"}}"##,
    r##"{"type":"threads.list","params":{"limit":1}}"##,
    r##"{"type":"items.list","params":{"thread_id":"thr_182a8289","limit":2}}"##,
    r##"{"type":"attachments.create","params":{"name":"cat.png","size":1234,"mime_type":"image/png"}}"##,
    r##"{"type":"attachments.delete","params":{"attachment_id":"atc_cb7f0659"}}"##,
    r##"{"type":"items.feedback","params":{"thread_id":"thr_182a8289","item_ids":["msg_asst0001"],"kind":"positive"}}"##,
    r##"{"type":"threads.update","params":{"thread_id":"thr_182a8289","title":"Renamed"}}"##,
    r##"{"type":"threads.delete","params":{"thread_id":"thr_182a8289"}}"##,
    r##"{"type":"input.transcribe","params":{"audio_base64":"YWJjZGVm","mime_type":"audio/webm;codecs=opus"}}"##,
];

/// §3.2–3.7, §3.12, §4 and §5 SSE captures, then the inline §4 event examples.
pub const EVENTS: &[&str] = &[
    r##"{"type":"thread.created","thread":{"id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.562910","status":{"type":"active"},"metadata":{},"items":{"data":[],"has_more":false}}}"##,
    r##"{"type":"thread.item.done","item":{"id":"msg_fb52f6ed","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.570913","type":"user_message","content":[{"type":"input_text","text":"Hi"}],"attachments":[],"quoted_text":"earlier text","inference_options":{"tool_choice":{"id":"search"},"model":"gpt-x"}}}"##,
    r##"{"type":"stream_options","stream_options":{"allow_cancel":true}}"##,
    r##"{"type":"thread.item.added","item":{"id":"msg_asst0001","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.585008","type":"assistant_message","content":[]}}"##,
    r##"{"type":"thread.item.updated","item_id":"msg_asst0001","update":{"type":"assistant_message.content_part.added","content_index":0,"content":{"annotations":[],"text":"","type":"output_text"}}}"##,
    r##"{"type":"thread.item.updated","item_id":"msg_asst0001","update":{"type":"assistant_message.content_part.text_delta","content_index":0,"delta":"Hello"}}"##,
    r##"{"type":"thread.item.updated","item_id":"msg_asst0001","update":{"type":"assistant_message.content_part.text_delta","content_index":0,"delta":" world"}}"##,
    r##"{"type":"thread.item.updated","item_id":"msg_asst0001","update":{"type":"assistant_message.content_part.annotation_added","content_index":0,"annotation_index":0,"annotation":{"type":"annotation","source":{"title":"Example","type":"url","url":"https://example.com"},"index":11}}}"##,
    r##"{"type":"thread.item.updated","item_id":"msg_asst0001","update":{"type":"assistant_message.content_part.done","content_index":0,"content":{"annotations":[],"text":"Hello world","type":"output_text"}}}"##,
    r##"{"type":"thread.item.done","item":{"id":"msg_asst0001","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.609280","type":"assistant_message","content":[{"annotations":[{"type":"annotation","source":{"title":"Example","type":"url","url":"https://example.com"},"index":11}],"text":"Hello world","type":"output_text"}]}}"##,
    r##"{"type":"thread.updated","thread":{"title":"Greeting","id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.562910","status":{"type":"active"},"metadata":{},"items":{"data":[],"has_more":false}}}"##,
    r##"{"type":"thread.item.done","item":{"id":"msg_ae0d0e2f","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.670096","type":"user_message","content":[{"type":"input_text","text":"use tool"}],"attachments":[],"inference_options":{}}}"##,
    r##"{"type":"stream_options","stream_options":{"allow_cancel":true}}"##,
    r##"{"type":"thread.item.done","item":{"id":"tc_abc","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.674558","type":"client_tool_call","status":"pending","call_id":"call_123","name":"get_selection","arguments":{"project":"p1"}}}"##,
    r##"{"type":"stream_options","stream_options":{"allow_cancel":true}}"##,
    r##"{"type":"thread.item.done","item":{"id":"msg_after","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.678829","type":"assistant_message","content":[{"annotations":[],"text":"Got it","type":"output_text"}]}}"##,
    r##"{"type":"stream_options","stream_options":{"allow_cancel":true}}"##,
    r##"{"type":"thread.item.done","item":{"id":"msg_after","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.687557","type":"assistant_message","content":[{"annotations":[],"text":"Got it","type":"output_text"}]}}"##,
    r##"{"type":"stream_options","stream_options":{"allow_cancel":true}}"##,
    r##"{"type":"thread.item.done","item":{"id":"msg_act","thread_id":"thr_e8f64083","created_at":"2026-11-24T18:13:46.910481","type":"assistant_message","content":[{"annotations":[],"text":"action ok sender=msg_e6adcc90","type":"output_text"}]}}"##,
    r##"{"type":"stream_options","stream_options":{"allow_cancel":true}}"##,
    r##"{"type":"thread.item.replaced","item":{"id":"msg_si","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.715497","type":"structured_input","status":"answered","inputs":[{"id":"priority","question":"Priority?","answer":{"values":["High"],"skipped":false},"type":"multiple_choice","options":[{"value":"Low"},{"value":"High"}],"multiple":false},{"id":"notes","question":"Notes?","answer":{"values":[],"skipped":true},"type":"freeform","description":"Optional"}]}}"##,
    r##"{"type":"thread.item.done","item":{"id":"msg_after","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.719495","type":"assistant_message","content":[{"annotations":[],"text":"Got it","type":"output_text"}]}}"##,
    r##"{"type":"thread.item.done","item":{"id":"msg_1a31d0a0","thread_id":"thr_182a8289","created_at":"2026-11-24T18:13:46.975964","type":"user_message","content":[{"type":"input_text","text":"see att"}],"attachments":[{"id":"atc_890e4309","name":"cat.png","mime_type":"image/png","upload_descriptor":{"url":"https://files.example.com/atc_890e4309/upload","method":"PUT","headers":{"X-Token":"abc"}},"thread_id":"thr_182a8289","type":"image","preview_url":"https://files.example.com/atc_890e4309/preview"},{"id":"atc_cb7f0659","name":"a.pdf","mime_type":"application/pdf","upload_descriptor":{"url":"https://files.example.com/atc_cb7f0659/upload","method":"POST","headers":{}},"thread_id":"thr_182a8289","type":"file"}],"inference_options":{}}}"##,
    r##"{"type":"thread.updated","thread":{"title":"Greeting","id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.562910","status":{"type":"locked","reason":"Escalated"},"metadata":{},"items":{"data":[],"has_more":false}}}"##,
    r##"{"type":"thread.item.removed","item_id":"msg_rm"}"##,
    r##"{"type":"thread.item.replaced","item":{"id":"msg_after","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.708476","type":"assistant_message","content":[{"annotations":[],"text":"Replaced","type":"output_text"}]}}"##,
    r##"{"type":"error","code":"stream.error","allow_retry":true}"##,
    r##"{"type":"error","code":"custom","message":"Quota exceeded","allow_retry":false}"##,
    r##"{"type":"notice","level":"warning","message":"You are near your **limit**.","title":"Heads up"}"##,
    r##"{"type":"thread.item.updated","item_id":"wf_1234abcd","update":{"type":"workflow.task.added","task_index":0,"task":{"status_indicator":"none","type":"thought","content":"Thinking"}}}"##,
    r##"{"type":"thread.item.updated","item_id":"wf_1234abcd","update":{"type":"workflow.task.updated","task_index":0,"task":{"status_indicator":"none","type":"thought","content":"Thinking hard"}}}"##,
    r##"{"type":"thread.item.updated","item_id":"msg_img1","update":{"type":"generated_image.updated","image":{"id":"ig_1","url":"data:image/png;base64,AAA"},"progress":0.5}}"##,
    r##"{"type":"thread.item.updated","item_id":"msg_1e25eea2","update":{"type":"widget.streaming_text.value_delta","component_id":"t1","delta":"lo","done":false}}"##,
    r##"{"type":"thread.item.updated","item_id":"msg_1e25eea2","update":{"type":"widget.root.updated","widget":{"type":"Card","children":[{"id":"t1","type":"Text","value":"Hello!","streaming":false},{"type":"Button","label":"OK","onClickAction":{"type":"ok","payload":{"a":1},"handler":"server","loadingBehavior":"auto","streaming":true}}]}}}"##,
    r##"{"type":"thread.item.updated","item_id":"msg_w","update":{"type":"widget.component.updated","component_id":"t1","component":{"id":"t1","type":"Text","value":"hi"}}}"##,
    r##"{"type":"stream_options","stream_options":{"allow_cancel":true}}"##,
    r##"{"type":"error","code":"stream.error","allow_retry":true}"##,
    r##"{"type":"progress_update","icon":"search","text":"Searching..."}"##,
    r##"{"type":"client_effect","name":"highlight","data":{"index":1}}"##,
    r##"{"type":"error","code":"stream.error","allow_retry":false}"##,
    r##"{"type":"thread.item.removed","item_id":"msg_rm"}"##,
    r##"{"type":"stream_options","stream_options":{"allow_cancel":true}}"##,
];

/// §3.15 `threads.update` response.
pub const THREADS: &[&str] = &[
    r##"{"title":"Renamed","id":"thr_182a8289","created_at":"2026-11-24T18:13:46.638699","status":{"type":"locked","reason":"Escalated"},"metadata":{},"items":{"data":[],"has_more":false}}"##,
];

/// §3.9 `threads.get_by_id` response, with its elided `"…"` item removed.
pub const THREAD_GET_BY_ID: &str = r##"{"title":"Greeting","id":"thr_182a8289","created_at":"2026-11-24T18:13:46.638699","status":{"type":"locked","reason":"Escalated"},"metadata":{},"items":{"data":[{"id":"msg_b2856e13","thread_id":"thr_182a8289","created_at":"2026-11-24T18:13:46.654305","type":"user_message","content":[{"type":"input_text","text":"Hi"}],"attachments":[],"quoted_text":"earlier text","inference_options":{"tool_choice":{"id":"search"},"model":"gpt-x"}}],"has_more":false}}"##;

/// §3.10 `threads.list` response.
pub const THREADS_PAGE: &str = r##"{"data":[{"id":"thr_e8f64083","created_at":"2026-11-24T18:13:46.893044","status":{"type":"locked","reason":"Escalated"},"metadata":{},"items":{"data":[],"has_more":false}}],"has_more":true,"after":"thr_e8f64083"}"##;

/// §3.11 `items.list` response, `inputs` completed from §3.7.
pub const ITEMS_PAGE: &str = r##"{"data":[{"id":"msg_after","thread_id":"thr_182a8289","created_at":"2026-11-24T18:13:46.881741","type":"assistant_message","content":[{"annotations":[],"text":"Got it","type":"output_text"}]},{"id":"msg_si","thread_id":"thr_182a8289","created_at":"2026-11-24T18:13:46.877582","type":"structured_input","status":"answered","inputs":[{"id":"priority","question":"Priority?","answer":{"values":["High"],"skipped":false},"type":"multiple_choice","options":[{"value":"Low"},{"value":"High"}],"multiple":false},{"id":"notes","question":"Notes?","answer":{"values":[],"skipped":true},"type":"freeform","description":"Optional"}]}],"has_more":true,"after":"msg_si"}"##;

/// §6.2 captured items.
pub const ITEMS: &[&str] = &[
    r##"{"id":"wf_1","thread_id":"thr_1","created_at":"2026-05-19T12:00:00.123456","type":"workflow","workflow":{"type":"custom","tasks":[{"status_indicator":"loading","type":"custom","title":"Step","icon":"check","content":"did x"},{"status_indicator":"none","type":"web_search","title":"Searching","title_query":"cats","queries":["cats"],"sources":[{"title":"A","type":"url","url":"https://a.com/x"}]},{"status_indicator":"none","type":"file","title":"Files","sources":[{"title":"f.txt","type":"file","filename":"f.txt"}]},{"status_indicator":"none","type":"image","title":"img"}],"summary":{"title":"Done","icon":"check"},"expanded":true}}"##,
    r##"{"id":"tsk_1","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.630349","type":"task","task":{"status_indicator":"complete","type":"custom","title":"Looked up order","icon":"search","content":"Order 42"}}"##,
    r##"{"id":"msg_img1","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.633001","type":"generated_image","image":{"id":"ig_1","url":"https://img.example.com/1.png"}}"##,
    r##"{"id":"msg_eot","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.665660","type":"end_of_turn"}"##,
    r##"{"id":"msg_si","thread_id":"thr_e74751ae","created_at":"2026-11-24T18:13:35.715497","type":"structured_input","status":"pending","inputs":[{"id":"priority","question":"Priority?","type":"multiple_choice","options":[{"value":"Low"},{"value":"High"}],"multiple":false},{"id":"notes","question":"Notes?","type":"freeform","description":"Optional"}]}"##,
];

/// §3.12 `attachments.create` responses.
pub const ATTACHMENTS: &[&str] = &[
    r##"{"id":"atc_890e4309","name":"cat.png","mime_type":"image/png","upload_descriptor":{"url":"https://files.example.com/atc_890e4309/upload","method":"PUT","headers":{"X-Token":"abc"}},"type":"image","preview_url":"https://files.example.com/atc_890e4309/preview"}"##,
    r##"{"id":"atc_cb7f0659","name":"a.pdf","mime_type":"application/pdf","upload_descriptor":{"url":"https://files.example.com/atc_cb7f0659/upload","method":"POST","headers":{}},"type":"file"}"##,
];

/// §3.8 `threads.sync_custom_action` response.
pub const SYNC_ACTION_RESPONSE: &str = r##"{"updated_item":{"id":"msg_e6adcc90","thread_id":"thr_e8f64083","created_at":"2026-11-24T18:13:46.894016","type":"widget","widget":{"type":"Card","children":[{"id":"t1","type":"Text","value":"Hello!","streaming":false},{"type":"Button","label":"OK","onClickAction":{"type":"ok","payload":{"a":1},"handler":"server","loadingBehavior":"auto","streaming":true}}]},"copy_text":"Hello!"}}"##;

/// §3.17 `input.transcribe` response.
pub const TRANSCRIBE_RESPONSE: &str = r##"{"text":"heard 6 bytes audio/webm"}"##;

/// §3.1 `UserMessageInput` (reflowed to one line).
pub const USER_MESSAGE_INPUT: &str = r##"{"content":[{"type":"input_text","text":"Look at "},{"type":"input_tag","id":"doc_1","text":"Q1 report","data":{"kind":"doc"},"group":"Docs","interactive":true}],"attachments":["atc_890e4309","atc_cb7f0659"],"quoted_text":"earlier text","inference_options":{"tool_choice":{"id":"search"},"model":"gpt-x"}}"##;

/// §6.2 captured entity annotation.
pub const ENTITY_ANNOTATION: &str = r##"{"type":"annotation","source":{"title":"Doc","type":"entity","id":"doc_1","icon":"document","label":"Doc","inline_label":"D","interactive":true,"data":{"k":"v"}},"index":3}"##;

/// §5 the cancellation note (an item body, without the common fields).
pub const SDK_HIDDEN_CONTEXT_BODY: &str = r##"{"type":"sdk_hidden_context","content":"The user cancelled the stream. Stop responding to the prior request."}"##;
