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
async fn recovered_calls_come_before_usage_and_finish() {
    let out = through(vec![
        text("Let me check.\n<tool_"),
        text("call>{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}"),
        text("</tool_call>"),
        Ok(LlmEvent::ToolCalls(vec![call("real")])),
        usage(),
        finished("stop"),
    ])
    .await;
    let out: Vec<LlmEvent> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!(out[0], LlmEvent::TextDelta("Let me check.\n".into()));
    let LlmEvent::ToolCalls(calls) = &out[1] else {
        panic!("{out:?}")
    };
    assert_eq!(calls[0], call("real"), "the real calls first, merged");
    assert_eq!(calls[1].name, "getEventDetails");
    assert_eq!(calls[1].arguments, r#"{"eventId":"e1"}"#);
    assert_eq!(out[2], usage().unwrap());
    assert_eq!(out[3], finished("tool_calls").unwrap());
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
async fn an_error_releases_the_held_text_first() {
    let out = through(vec![
        text("Sure. <tool_call>{\"name\": "),
        Err(LlmError::Connection("reset".into())),
    ])
    .await;
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(
        out[0].as_ref().unwrap(),
        &LlmEvent::TextDelta("Sure. ".into())
    );
    assert_eq!(
        out[1].as_ref().unwrap(),
        &LlmEvent::TextDelta("<tool_call>{\"name\": ".into())
    );
    assert!(out[2].is_err());
}

#[tokio::test]
async fn a_stream_that_just_ends_is_still_resolved() {
    let out: Vec<LlmEvent> = through(vec![text("{\"name\": \"listEvents\"}")])
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out.len(), 1);
    assert!(matches!(&out[0], LlmEvent::ToolCalls(c) if c[0].name == "listEvents"));
}
