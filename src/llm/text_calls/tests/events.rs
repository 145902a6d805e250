use futures::StreamExt;

use super::tools;
use crate::llm::text_calls::recover_tool_calls;
use crate::llm::{LlmError, LlmEvent, ToolCall};

fn text(s: &str) -> Result<LlmEvent, LlmError> {
    Ok(LlmEvent::TextDelta(s.to_owned()))
}

fn usage() -> Result<LlmEvent, LlmError> {
    Ok(LlmEvent::Usage {
        prompt_tokens: 10,
        completion_tokens: 5,
    })
}

fn finished(reason: &str) -> Result<LlmEvent, LlmError> {
    Ok(LlmEvent::Finished {
        finish_reason: Some(reason.to_owned()),
    })
}

async fn through(events: Vec<Result<LlmEvent, LlmError>>) -> Vec<Result<LlmEvent, LlmError>> {
    let upstream = Box::pin(futures::stream::iter(events));
    recover_tool_calls(upstream, tools()).collect().await
}

fn call(id: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: "listEvents".into(),
        arguments: "{}".into(),
    }
}

#[tokio::test]
async fn the_answer_ends_at_the_first_complete_call() {
    let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = read.clone();
    let upstream = futures::stream::iter(vec![
        text("Let me check.\n<tool_"),
        text("call>{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}"),
        text("</tool_call>\n<tool_call>{\"name\": \"listEvents\"}"),
        usage(),
        finished("stop"),
    ])
    .inspect(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let out: Vec<LlmEvent> = recover_tool_calls(Box::pin(upstream), tools())
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(out[0], LlmEvent::TextDelta("Let me check.\n".into()));
    let LlmEvent::ToolCalls(calls) = &out[1] else {
        panic!("{out:?}")
    };
    assert_eq!(calls.len(), 1, "the chained call is never read: {calls:?}");
    assert_eq!(calls[0].name, "getEventDetails");
    assert_eq!(calls[0].arguments, r#"{"eventId":"e1"}"#);
    assert_eq!(out[2], finished("tool_calls").unwrap());
    assert_eq!(
        read.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "nothing after the call was read"
    );
}

#[tokio::test]
async fn real_calls_before_a_text_call_are_merged_first() {
    let out: Vec<LlmEvent> = through(vec![
        Ok(LlmEvent::ToolCalls(vec![call("real")])),
        text("{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}"),
        usage(),
        finished("stop"),
    ])
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    assert_eq!(out.len(), 2, "{out:?}");
    let LlmEvent::ToolCalls(calls) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(calls[0], call("real"));
    assert_eq!(calls[1].name, "getEventDetails");
    assert_eq!(out[1], finished("tool_calls").unwrap());
}

#[tokio::test]
async fn an_unfinished_call_at_the_end_is_text_with_usage_and_finish() {
    let out: Vec<LlmEvent> = through(vec![
        text("{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\""),
        usage(),
        finished("length"),
    ])
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    assert_eq!(
        out,
        [
            LlmEvent::TextDelta(
                "{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\"".into()
            ),
            usage().unwrap(),
            finished("length").unwrap()
        ]
    );
}

#[tokio::test]
async fn plain_answers_are_untouched() {
    let events = || vec![text("Hello"), text(" there"), usage(), finished("stop")];
    let out: Vec<LlmEvent> = through(events())
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let expected: Vec<LlmEvent> = events().into_iter().map(Result::unwrap).collect();
    assert_eq!(out, expected);
    // Held, not a call: released whole before usage, finish reason kept.
    let out: Vec<LlmEvent> = through(vec![
        text("{\"a\""),
        text(": 1}"),
        usage(),
        finished("stop"),
    ])
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    assert_eq!(
        out,
        [
            LlmEvent::TextDelta("{\"a\": 1}".into()),
            usage().unwrap(),
            finished("stop").unwrap()
        ]
    );
}

#[tokio::test]
async fn an_error_drops_a_call_in_progress_and_keeps_the_text() {
    let out = through(vec![
        text("Sure. <tool_call>{\"name\": "),
        Err(LlmError::Connection("reset".into())),
    ])
    .await;
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(
        out[0].as_ref().unwrap(),
        &LlmEvent::TextDelta("Sure. ".into())
    );
    assert!(out[1].is_err());
}

#[tokio::test]
async fn a_stream_that_just_ends_is_still_resolved() {
    let out: Vec<LlmEvent> = through(vec![text("{\"name\": \"listEvents\"")])
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // No `Finished` came; the held text was resolved anyway (unfinished JSON: text).
    assert_eq!(
        out,
        [LlmEvent::TextDelta("{\"name\": \"listEvents\"".into())]
    );
}
