//! The LLM client against the scripted mock, over real HTTP through async-openai.
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use eventchat::config::{LlmSettings, Settings};
use eventchat::llm::{
    ChatMessage, ChatRequest, LlmClient, LlmError, LlmEvent, TimeoutStage, ToolCall, ToolSpec,
};
use futures::StreamExt;
use mock_llm::{MockLlm, MockToolCall, Reply};
use serde_json::{Value, json};

/// Settings from the compiled-in defaults plus `overrides` (`SECTION__KEY` without the
/// `EVENTCHAT_` prefix); retries are fast unless a test says otherwise.
fn settings(base_url: &str, overrides: &[(&str, &str)]) -> LlmSettings {
    let mut vars: HashMap<String, String> = [
        ("AUTH__JWT_SECRET", "a-test-secret-of-enough-length"),
        ("LLM__BASE_URL", base_url),
        ("LLM__RETRY_BASE_MS", "10"),
        ("LLM__RETRY_MAX_MS", "40"),
    ]
    .iter()
    .map(|(k, v)| (format!("EVENTCHAT_{k}"), (*v).to_owned()))
    .collect();
    for (k, v) in overrides {
        vars.insert(format!("EVENTCHAT_{k}"), (*v).to_owned());
    }
    Settings::load_from(Path::new("/nonexistent-config-dir"), "test", &vars)
        .expect("test settings")
        .llm
}

fn client(mock: &MockLlm, overrides: &[(&str, &str)]) -> LlmClient {
    LlmClient::new(&settings(&mock.base_url(), overrides)).expect("client")
}

fn request() -> ChatRequest {
    let mut req = ChatRequest::new("gpt-test");
    req.messages = vec![ChatMessage::system("be brief"), ChatMessage::user("hello")];
    req
}

/// All items of the stream, errors included.
async fn collect(client: &LlmClient, req: ChatRequest) -> Vec<Result<LlmEvent, LlmError>> {
    client.stream_chat(req).collect().await
}

fn text_of(events: &[Result<LlmEvent, LlmError>]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(LlmEvent::TextDelta(t)) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

fn finished(reason: &str) -> LlmEvent {
    LlmEvent::Finished {
        finish_reason: Some(reason.to_owned()),
    }
}

#[tokio::test]
async fn text_deltas_arrive_in_order_with_usage() {
    let mock = MockLlm::start();
    mock.push(Reply::text(["Hel", "lo", " world"]).usage(12, 3));
    let events = collect(&client(&mock, &[]), request()).await;
    let events: Vec<LlmEvent> = events.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        events,
        vec![
            LlmEvent::TextDelta("Hel".into()),
            LlmEvent::TextDelta("lo".into()),
            LlmEvent::TextDelta(" world".into()),
            LlmEvent::Usage {
                prompt_tokens: 12,
                completion_tokens: 3
            },
            finished("stop"),
        ]
    );
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn parallel_tool_calls_are_assembled_from_split_deltas() {
    let mock = MockLlm::start();
    let details = json!({ "eventId": "evt_123", "include": ["guests", "elements"] });
    let guests = json!({ "eventId": "evt_123", "rsvp": "yes" });
    mock.push(Reply::text(["Let me check."]).then_tool_calls(vec![
        MockToolCall::new("call_1", "getEventDetails", details.clone()),
        MockToolCall::new("call_2", "viewGuestList", guests.clone()),
    ]));
    let events = collect(&client(&mock, &[]), request()).await;
    assert_eq!(text_of(&events), vec!["Let me check."]);
    let calls: Vec<ToolCall> = events
        .iter()
        .find_map(|e| match e {
            Ok(LlmEvent::ToolCalls(calls)) => Some(calls.clone()),
            _ => None,
        })
        .expect("a ToolCalls event");
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].id.as_str(), calls[0].name.as_str()),
        ("call_1", "getEventDetails")
    );
    assert_eq!(
        (calls[1].id.as_str(), calls[1].name.as_str()),
        ("call_2", "viewGuestList")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&calls[0].arguments).unwrap(),
        details
    );
    assert_eq!(
        serde_json::from_str::<Value>(&calls[1].arguments).unwrap(),
        guests
    );
    assert_eq!(
        events.last().unwrap().as_ref().unwrap(),
        &finished("tool_calls")
    );
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried() {
    let mock = MockLlm::start();
    mock.push(Reply::rate_limited(1));
    mock.push(Reply::text(["ok"]));
    let started = Instant::now();
    let events = collect(&client(&mock, &[]), request()).await;
    assert_eq!(text_of(&events), vec!["ok"]);
    assert_eq!(mock.request_count(), 2);
    // async-openai slept for the `retry-after: 1` header.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_error_then_success() {
    let mock = MockLlm::start();
    mock.push(Reply::http_error(500, "boom"));
    mock.push(Reply::text(["fine"]));
    let events = collect(&client(&mock, &[]), request()).await;
    assert_eq!(text_of(&events), vec!["fine"]);
    assert_eq!(mock.request_count(), 2);
}

#[tokio::test]
async fn exhausted_retries_end_in_an_upstream_error() {
    let mock = MockLlm::start();
    mock.set_fallback(Reply::http_error(503, "overloaded"));
    let events = collect(&client(&mock, &[]), request()).await;
    assert_eq!(events.len(), 1);
    match &events[0] {
        Err(e @ LlmError::Upstream { status: 503, .. }) => {
            assert!(e.is_retryable());
            assert!(
                !e.user_message().contains("overloaded"),
                "provider text leaked"
            );
        }
        other => panic!("expected Upstream 503, got {other:?}"),
    }
    // The HTTP retry layer's 1 + max_retries (3 by default); the stream loop does not
    // multiply them.
    assert_eq!(mock.request_count(), 4);
}

#[tokio::test]
async fn http_retries_follow_the_settings() {
    let mock = MockLlm::start();
    mock.set_fallback(Reply::http_error(503, "overloaded"));
    let events = collect(&client(&mock, &[("LLM__MAX_RETRIES", "1")]), request()).await;
    assert!(matches!(
        events[0],
        Err(LlmError::Upstream { status: 503, .. })
    ));
    assert_eq!(mock.request_count(), 2);
    let mock = MockLlm::start();
    mock.set_fallback(Reply::http_error(429, "slow down"));
    let events = collect(&client(&mock, &[("LLM__MAX_RETRIES", "0")]), request()).await;
    assert!(events[0].is_err());
    assert_eq!(mock.request_count(), 1, "no retries when max_retries is 0");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let mock = MockLlm::start();
    mock.push(Reply::http_error(400, "bad tool schema"));
    let events = collect(&client(&mock, &[]), request()).await;
    assert!(
        matches!(events[..], [Err(LlmError::Upstream { status: 400, .. })]),
        "{events:?}"
    );
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn disconnect_after_tokens_is_interrupted_after_the_partial_text() {
    let mock = MockLlm::start();
    // Data line 0 is the role chunk; "Hel" and "lo" get through, then the connection drops.
    mock.push(Reply::text(["Hel", "lo", " world"]).disconnect_after(3));
    mock.push(Reply::text(["never sent"]));
    let events = collect(&client(&mock, &[]), request()).await;
    assert_eq!(text_of(&events), vec!["Hel", "lo"]);
    assert!(
        matches!(events.last(), Some(Err(LlmError::Interrupted { .. }))),
        "{events:?}"
    );
    assert_eq!(mock.request_count(), 1, "nothing is retried after output");
}

#[tokio::test]
async fn disconnect_before_any_token_is_retried() {
    let mock = MockLlm::start();
    mock.push(Reply::text(["lost"]).disconnect_after(1));
    mock.push(Reply::text(["second try"]));
    let events = collect(&client(&mock, &[]), request()).await;
    assert_eq!(text_of(&events), vec!["second try"]);
    assert_eq!(mock.request_count(), 2);
}

#[tokio::test]
async fn error_object_mid_stream_interrupts_after_tokens() {
    let mock = MockLlm::start();
    mock.push(Reply::text(["a", "b", "c"]).error_after(3, "The server had an error"));
    let events = collect(&client(&mock, &[]), request()).await;
    assert_eq!(text_of(&events), vec!["a", "b"]);
    match events.last() {
        Some(Err(LlmError::Interrupted { cause })) => {
            assert!(matches!(**cause, LlmError::Upstream { .. }), "{cause:?}");
        }
        other => panic!("expected Interrupted, got {other:?}"),
    }
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn error_object_before_any_token_is_retried() {
    let mock = MockLlm::start();
    mock.push(Reply::stream_error(1, "The server had an error"));
    mock.push(Reply::text(["recovered"]));
    let events = collect(&client(&mock, &[]), request()).await;
    assert_eq!(text_of(&events), vec!["recovered"]);
    assert_eq!(mock.request_count(), 2);
}

#[tokio::test]
async fn first_token_timeout() {
    let mock = MockLlm::start();
    mock.set_fallback(Reply::text(["late"]).first_token_delay(Duration::from_secs(5)));
    let c = client(&mock, &[("LLM__FIRST_TOKEN_TIMEOUT_SECS", "1")]);
    let started = Instant::now();
    let events = collect(&c, request()).await;
    assert!(
        matches!(
            events[..],
            [Err(LlmError::Timeout {
                stage: TimeoutStage::FirstToken,
                ..
            })]
        ),
        "{events:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn turn_timeout_after_tokens_interrupts() {
    let mock = MockLlm::start();
    mock.push(Reply::generated(20).token_delay(Duration::from_millis(200)));
    let c = client(&mock, &[("LLM__TURN_TIMEOUT_SECS", "1")]);
    let events = collect(&c, request()).await;
    assert!(!text_of(&events).is_empty());
    match events.last() {
        Some(Err(LlmError::Interrupted { cause })) => assert!(
            matches!(
                **cause,
                LlmError::Timeout {
                    stage: TimeoutStage::Turn,
                    ..
                }
            ),
            "{cause:?}"
        ),
        other => panic!("expected Interrupted, got {other:?}"),
    }
}

/// Once text came, the idle clock ends a stalled stream (as interrupted, keeping the text);
/// a stall after the role chunk only is still the first-token clock's.
#[tokio::test]
async fn idle_timeout_after_tokens_interrupts_and_the_first_chunk_keeps_its_clock() {
    let mock = MockLlm::start();
    mock.push(Reply::text(["a", "b", "c"]).stall_after(3));
    mock.push(Reply::text(["never"]).stall_after(1));
    let c = client(
        &mock,
        &[
            ("LLM__IDLE_TIMEOUT_SECS", "1"),
            ("LLM__FIRST_TOKEN_TIMEOUT_SECS", "2"),
        ],
    );
    let started = Instant::now();
    let events = collect(&c, request()).await;
    let took = started.elapsed();
    assert_eq!(text_of(&events), vec!["a", "b"]);
    match events.last() {
        Some(Err(LlmError::Interrupted { cause })) => assert!(
            matches!(
                **cause,
                LlmError::Timeout {
                    stage: TimeoutStage::Idle,
                    ..
                }
            ),
            "{cause:?}"
        ),
        other => panic!("expected Interrupted, got {other:?}"),
    }
    assert!(took < Duration::from_millis(1_800), "{took:?}");
    // The stalled request is closed (the mock sees it go a moment later).
    let deadline = Instant::now() + Duration::from_secs(2);
    while mock.closed_early().is_empty() {
        assert!(Instant::now() < deadline, "the stalled request stays open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let started = Instant::now();
    let events = collect(&c, request()).await;
    assert!(
        matches!(
            events[..],
            [Err(LlmError::Timeout {
                stage: TimeoutStage::FirstToken,
                ..
            })]
        ),
        "{events:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[tokio::test]
async fn not_configured_tells_how_to_configure() {
    // `openai` explicitly: under `auto` no key and no URL means the local model.
    let s = settings("", &[("LLM__API_KEY", ""), ("LLM__PROVIDER", "openai")]);
    let c = LlmClient::new(&s).unwrap();
    assert!(!c.is_configured());
    let events = collect(&c, request()).await;
    match &events[..] {
        [Err(e @ LlmError::NotConfigured)] => {
            assert!(e.to_string().contains("EVENTCHAT_LLM__API_KEY"));
            assert!(e.to_string().contains("EVENTCHAT_LLM__BASE_URL"));
            assert!(!e.is_retryable());
        }
        other => panic!("expected NotConfigured, got {other:?}"),
    }
    assert!(matches!(
        c.complete(request()).await,
        Err(LlmError::NotConfigured)
    ));
}

#[tokio::test]
async fn complete_returns_the_whole_text_unstreamed() {
    let mock = MockLlm::start();
    mock.push(Reply::text(["Wedding ", "menu ", "tasting"]));
    let title = client(&mock, &[]).complete(request()).await.unwrap();
    assert_eq!(title, "Wedding menu tasting");
    let sent = &mock.requests()[0];
    assert_ne!(sent["stream"], json!(true));
    assert!(sent.get("stream_options").is_none());
}

#[tokio::test]
async fn the_request_carries_model_tools_messages_and_stream_options() {
    let mock = MockLlm::start();
    mock.push(Reply::text(["ok"]));
    let mut req = ChatRequest::new("gpt-4o");
    req.temperature = Some(0.5);
    req.max_tokens = Some(256);
    req.tools = std::sync::Arc::from(vec![ToolSpec {
        name: "getEventDetails".into(),
        description: "Details of an event".into(),
        parameters: json!({ "type": "object", "properties": { "eventId": { "type": "string" } } }),
    }]);
    req.messages = vec![
        ChatMessage::system("You plan events."),
        ChatMessage::user("What's on?"),
        ChatMessage::Assistant {
            text: String::new(),
            tool_calls: vec![ToolCall {
                id: "call_9".into(),
                name: "getEventDetails".into(),
                arguments: "{\"eventId\":\"e1\"}".into(),
            }],
        },
        ChatMessage::tool("call_9", "{\"name\":\"Gala\"}"),
    ];
    let events = collect(&client(&mock, &[]), req).await;
    assert!(events.iter().all(Result::is_ok));
    let sent = &mock.requests()[0];
    assert_eq!(sent["model"], "gpt-4o");
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert_eq!(sent["parallel_tool_calls"], true);
    assert_eq!(sent["temperature"], 0.5);
    assert_eq!(sent["max_completion_tokens"], 256);
    assert_eq!(sent["tools"][0]["type"], "function");
    assert_eq!(sent["tools"][0]["function"]["name"], "getEventDetails");
    assert_eq!(sent["tools"][0]["function"]["parameters"]["type"], "object");
    let roles: Vec<&str> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["system", "user", "assistant", "tool"]);
    assert_eq!(sent["messages"][1]["content"], "What's on?");
    assert!(sent["messages"][2].get("content").is_none());
    assert_eq!(sent["messages"][2]["tool_calls"][0]["id"], "call_9");
    assert_eq!(
        sent["messages"][2]["tool_calls"][0]["function"]["arguments"],
        "{\"eventId\":\"e1\"}"
    );
    assert_eq!(sent["messages"][3]["tool_call_id"], "call_9");
}

#[tokio::test]
async fn the_mock_is_loud_when_the_script_runs_out() {
    let mock = MockLlm::start();
    let response = reqwest::Client::new()
        .post(format!("{}/chat/completions", mock.base_url()))
        .json(&json!({ "model": "m", "messages": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "mock llm: no scripted reply left");
}

#[tokio::test]
async fn generated_fallback_serves_many_requests() {
    let mock = MockLlm::start();
    mock.set_fallback(Reply::generated(5));
    let c = client(&mock, &[]);
    for _ in 0..3 {
        let events = collect(&c, request()).await;
        assert_eq!(text_of(&events).concat(), "tok0 tok1 tok2 tok3 tok4 ");
    }
    assert_eq!(mock.request_count(), 3);
}

/// On a runtime of the calling thread: two streamed calls, then `then` on the same runtime.
fn two_calls_then(client: LlmClient, then: impl std::future::Future<Output = ()>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        for _ in 0..2 {
            let events = collect(&client, request()).await;
            assert_eq!(text_of(&events), ["ok"]);
        }
        then.await;
    });
}

/// Each calling thread streams over connections of its own: hyper drives a connection on the
/// runtime that opened it, so a turn on one arbiter must not read its answer through a
/// connection that another (live, idle) arbiter opened. Thread A calls twice and keeps its
/// runtime running; thread B then calls twice. A's calls share one connection, B's share
/// another, and B never borrows A's idle one.
#[test]
fn each_thread_streams_over_its_own_connections() {
    let mock = MockLlm::start();
    mock.set_fallback(Reply::text(["ok"]));
    let client = client(&mock, &[]);
    let (a_done_tx, a_done_rx) = std::sync::mpsc::channel::<()>();
    let (b_done_tx, b_done_rx) = tokio::sync::oneshot::channel::<()>();
    let thread_a = {
        let client = client.clone();
        std::thread::spawn(move || {
            two_calls_then(client, async move {
                a_done_tx.send(()).unwrap();
                // Still running (and so still driving its idle connection) while B calls.
                let _ = b_done_rx.await;
            });
        })
    };
    a_done_rx.recv().unwrap();
    let thread_b = std::thread::spawn(move || {
        two_calls_then(client, async {});
        b_done_tx.send(()).unwrap();
    });
    thread_b.join().unwrap();
    thread_a.join().unwrap();

    let peers = mock.request_peers();
    assert_eq!(peers.len(), 4);
    assert!(peers.iter().all(Option::is_some));
    assert_eq!(peers[0], peers[1], "thread A reuses its connection");
    assert_eq!(peers[2], peers[3], "thread B reuses its connection");
    assert_ne!(peers[0], peers[2], "thread B opened its own connection");
}
