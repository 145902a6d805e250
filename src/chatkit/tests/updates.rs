//! Server-side application of item updates (protocol §4.13).

use serde_json::json;

use crate::chatkit::*;

fn item(body: serde_json::Value) -> ThreadItem {
    let mut value = json!({"id":"msg_1","thread_id":"thr_1","created_at":"2026-01-01T00:00:00Z"});
    for (k, v) in body.as_object().unwrap() {
        value[k] = v.clone();
    }
    serde_json::from_value(value).unwrap()
}

fn update(value: serde_json::Value) -> ThreadItemUpdate {
    serde_json::from_value(value).unwrap()
}

fn body(item: &ThreadItem) -> serde_json::Value {
    let mut value = serde_json::to_value(item).unwrap();
    let map = value.as_object_mut().unwrap();
    for key in ["id", "thread_id", "created_at"] {
        map.remove(key);
    }
    value
}

fn annotation(index: u64) -> serde_json::Value {
    json!({"type":"annotation","source":{"type":"url","title":"T","url":"https://x"},"index":index})
}

#[test]
fn assistant_message_updates() {
    let mut msg = item(json!({"type":"assistant_message","content":[]}));
    // A delta past the end pads with empty output_text parts.
    assert!(msg.apply_update(&update(
        json!({"type":"assistant_message.content_part.text_delta","content_index":1,"delta":"Hi"})
    )));
    assert_eq!(
        body(&msg)["content"],
        json!([{"type":"output_text","annotations":[],"text":""},{"type":"output_text","annotations":[],"text":"Hi"}])
    );
    msg.apply_update(&update(json!({"type":"assistant_message.content_part.text_delta","content_index":1,"delta":" there"})));
    assert_eq!(body(&msg)["content"][1]["text"], "Hi there");
    // Annotations: at the index, or appended when out of range.
    for (at, idx) in [(0, 1), (0, 2), (99, 3)] {
        msg.apply_update(&update(
            json!({"type":"assistant_message.content_part.annotation_added",
            "content_index":1,"annotation_index":at,"annotation":annotation(idx)}),
        ));
    }
    let indexes: Vec<u64> = body(&msg)["content"][1]["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [2, 1, 3]);
    // content_part.added and .done replace the part (padding first when needed).
    msg.apply_update(&update(
        json!({"type":"assistant_message.content_part.done","content_index":1,
        "content":{"type":"output_text","annotations":[],"text":"Final"}}),
    ));
    assert_eq!(
        body(&msg)["content"][1],
        json!({"type":"output_text","annotations":[],"text":"Final"})
    );
    msg.apply_update(&update(
        json!({"type":"assistant_message.content_part.added","content_index":3,
        "content":{"type":"output_text","annotations":[],"text":"x"}}),
    ));
    assert_eq!(body(&msg)["content"].as_array().unwrap().len(), 4);
    assert_eq!(body(&msg)["content"][2]["text"], "");
    // Updates for another item type are ignored.
    let before = msg.clone();
    assert!(!msg.apply_update(&update(
        json!({"type":"workflow.task.added","task_index":0,"task":{"type":"image"}})
    )));
    assert_eq!(msg, before);
}

#[test]
fn workflow_task_updates() {
    let mut wf = item(json!({"type":"workflow","workflow":{"type":"reasoning","tasks":[]}}));
    let thought = |text: &str| json!({"type":"thought","content":text});
    wf.apply_update(&update(
        json!({"type":"workflow.task.added","task_index":0,"task":thought("b")}),
    ));
    wf.apply_update(&update(
        json!({"type":"workflow.task.added","task_index":0,"task":thought("a")}),
    ));
    wf.apply_update(&update(
        json!({"type":"workflow.task.added","task_index":9,"task":thought("c")}),
    ));
    wf.apply_update(&update(
        json!({"type":"workflow.task.updated","task_index":1,"task":thought("B")}),
    ));
    wf.apply_update(&update(
        json!({"type":"workflow.task.updated","task_index":7,"task":thought("d")}),
    ));
    let contents: Vec<String> = body(&wf)["workflow"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(contents, ["a", "B", "c", "d"]);
    assert_eq!(
        body(&wf)["workflow"]["tasks"][0],
        json!({"type":"thought","content":"a","status_indicator":"none"})
    );
    assert_eq!(body(&wf)["workflow"]["expanded"], false);
}

#[test]
fn widget_and_image_updates() {
    let root = json!({"type":"Card","children":[{"id":"t1","type":"Text","value":"Hel","streaming":true}]});
    let mut widget = item(json!({"type":"widget","widget":root}));
    widget.apply_update(&update(json!({"type":"widget.streaming_text.value_delta","component_id":"t1","delta":"lo","done":true})));
    assert_eq!(
        body(&widget)["widget"]["children"][0],
        json!({"id":"t1","type":"Text","value":"Hello","streaming":false})
    );
    widget.apply_update(&update(
        json!({"type":"widget.component.updated","component_id":"t1",
        "component":{"id":"t1","type":"Text","value":"hi"}}),
    ));
    assert_eq!(body(&widget)["widget"]["children"][0]["value"], "hi");
    widget.apply_update(&update(
        json!({"type":"widget.root.updated","widget":{"type":"Basic"}}),
    ));
    assert_eq!(body(&widget)["widget"], json!({"type":"Basic"}));

    let mut image = item(json!({"type":"generated_image"}));
    assert_eq!(body(&image), json!({"type":"generated_image"}));
    image.apply_update(&update(json!({"type":"generated_image.updated","image":{"id":"ig_1","url":"data:x"},"progress":0.5})));
    assert_eq!(body(&image)["image"], json!({"id":"ig_1","url":"data:x"}));
}

#[test]
fn item_helpers() {
    let hidden = item(json!({"type":"hidden_context_item","content":{"k":1}}));
    assert!(hidden.is_hidden());
    assert_eq!(hidden.type_name(), "hidden_context_item");
    let shown = item(json!({"type":"end_of_turn"}));
    assert!(!shown.is_hidden());
    assert_eq!(body(&shown), json!({"type":"end_of_turn"}));
    let call = item(
        json!({"type":"client_tool_call","call_id":"c","name":"n","arguments":null,"output":null}),
    );
    assert_eq!(
        body(&call),
        json!({"type":"client_tool_call","status":"pending","call_id":"c","name":"n","arguments":{}})
    );
    let user = item(json!({"type":"user_message","content":[{"type":"input_text","text":"x"}]}));
    assert_eq!(
        body(&user),
        json!({"type":"user_message","content":[{"type":"input_text","text":"x"}],"attachments":[],"inference_options":{}})
    );
}
