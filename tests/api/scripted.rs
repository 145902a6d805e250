//! A scripted responder for protocol tests: each turn pops the next script and performs its
//! steps through the real pipeline (`TurnContext::emit`), so persistence and event order are
//! the server's own. With no script left, a turn answers "ok".
//!
//! Sync widget actions (`threads.sync_custom_action`) pop the next queued widget root
//! ([`ScriptedResponder::push_sync_update`]) and answer with the sender widget showing it;
//! with none queued they answer no update.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventchat::chatkit::ids::{IdPrefix, new_id};
use eventchat::chatkit::time::now_micros;
use eventchat::chatkit::{ItemBody, OutputText, ThreadItem, ThreadItemUpdate, ThreadStreamEvent};
use eventchat::conversation::{RespondInput, Responder, SyncAction, TurnContext};
use eventchat::error::{ApiError, TurnError};
use futures::future::BoxFuture;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub enum Step {
    /// A streamed assistant message made of these deltas.
    Text(Vec<&'static str>),
    /// Sets the thread title.
    Title(&'static str),
    /// Ends with a pending client tool call.
    ClientToolCall(&'static str, Value),
    /// A hidden context item (stored, not forwarded).
    Hidden(&'static str),
    /// A one-shot item of this JSON body (`type` and fields; ids are filled in).
    Item(Value),
    /// A one-shot widget item: this root (`Card`, `ListView`, `Basic`) and its copy text.
    Widget(Value, &'static str),
    /// An assistant message is announced, then the turn fails.
    FailAfterAdded,
    /// Fails with a user-visible message.
    FailCustom(&'static str),
    /// Waits (to test queueing and disconnects).
    Sleep(u64),
    /// Echoes what the turn responds to, as text.
    EchoInput,
    /// Panics inside the turn (the actor dies; the supervisor restarts it later).
    Panic,
    /// Streams "partial answer", then waits 5 s before finishing (to stop it midway).
    Trickle,
}

#[derive(Clone, Default)]
pub struct ScriptedResponder {
    scripts: Arc<Mutex<VecDeque<Vec<Step>>>>,
    /// Widget roots the next sync actions answer with, in order.
    sync_updates: Arc<Mutex<VecDeque<Value>>>,
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl ScriptedResponder {
    pub fn push(&self, steps: Vec<Step>) {
        self.scripts.lock().unwrap().push_back(steps);
    }

    /// Waits (bounded) until a turn responding to `input` (as recorded in `seen`, e.g.
    /// `"user:#slow first"`) has started: the order of events in a test is pinned by this,
    /// not by a sleep.
    pub async fn until_seen(&self, input: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !self.seen.lock().unwrap().iter().any(|s| s == input) {
            assert!(
                std::time::Instant::now() < deadline,
                "no turn responded to {input:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The next sync action answers with its sender widget showing `root`.
    pub fn push_sync_update(&self, root: Value) {
        self.sync_updates.lock().unwrap().push_back(root);
    }
}

fn item(turn: &TurnContext, prefix: IdPrefix, body: Value) -> ThreadItem {
    let mut v = body;
    v["id"] = json!(new_id(prefix));
    v["thread_id"] = json!(turn.thread().id);
    v["created_at"] = json!(eventchat::chatkit::time::format(&now_micros()));
    serde_json::from_value(v).unwrap()
}

async fn text(turn: &mut TurnContext, deltas: &[&str]) -> Result<(), TurnError> {
    let mut it = ThreadItem::new(
        new_id(IdPrefix::Message),
        turn.thread().id.clone(),
        now_micros(),
        ItemBody::AssistantMessage { content: vec![] },
    );
    let id = it.id.clone();
    turn.emit(ThreadStreamEvent::ItemAdded { item: it.clone() })
        .await?;
    turn.emit(ThreadStreamEvent::ItemUpdated {
        item_id: id.clone(),
        update: ThreadItemUpdate::ContentPartAdded {
            content_index: 0,
            content: OutputText::new(""),
        },
    })
    .await?;
    let mut full = String::new();
    for d in deltas {
        full.push_str(d);
        turn.emit(ThreadStreamEvent::ItemUpdated {
            item_id: id.clone(),
            update: ThreadItemUpdate::ContentPartTextDelta {
                content_index: 0,
                delta: (*d).to_owned(),
            },
        })
        .await?;
    }
    turn.emit(ThreadStreamEvent::ItemUpdated {
        item_id: id.clone(),
        update: ThreadItemUpdate::ContentPartDone {
            content_index: 0,
            content: OutputText::new(full.clone()),
        },
    })
    .await?;
    it.body = ItemBody::AssistantMessage {
        content: vec![OutputText::new(full)],
    };
    turn.emit(ThreadStreamEvent::ItemDone { item: it }).await
}

impl ScriptedResponder {
    async fn run(&self, turn: &mut TurnContext) -> Result<(), TurnError> {
        let input = match &turn.input {
            RespondInput::UserMessage(m) => format!("user:{}", m.plain_text()),
            RespondInput::Continue => "continue".to_owned(),
            RespondInput::Action { action, sender } => {
                format!(
                    "action:{}:{}",
                    action.kind,
                    sender.as_ref().map_or("-", |s| s.id.as_str())
                )
            }
        };
        self.seen.lock().unwrap().push(input.clone());
        // Markers in the user's text choose a behaviour per thread, for concurrent tests.
        let marked = if input.contains("#fail") {
            Some(vec![
                Step::Text(vec!["partial"]),
                Step::FailCustom("injected failure"),
            ])
        } else if input.contains("#panic") {
            Some(vec![Step::Panic])
        } else if input.contains("#slow") {
            Some(vec![Step::Sleep(600), Step::EchoInput])
        } else if input.contains("#trickle") {
            Some(vec![Step::Trickle])
        } else if input.contains("#echo") {
            Some(vec![Step::EchoInput])
        } else {
            None
        };
        let steps = match marked {
            Some(s) => s,
            None => self
                .scripts
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| vec![Step::Text(vec!["ok"])]),
        };
        for step in steps {
            match step {
                Step::Text(d) => text(turn, &d).await?,
                Step::Title(t) => turn.thread_mut().title = Some(t.to_owned()),
                Step::ClientToolCall(name, args) => {
                    let it = item(
                        turn,
                        IdPrefix::ToolCall,
                        json!({"type":"client_tool_call","status":"pending","call_id": new_id(IdPrefix::ToolCall),"name":name,"arguments":args}),
                    );
                    turn.emit(ThreadStreamEvent::ItemDone { item: it }).await?;
                }
                Step::Hidden(t) => {
                    let it = item(
                        turn,
                        IdPrefix::Message,
                        json!({"type":"hidden_context_item","content":t}),
                    );
                    turn.emit(ThreadStreamEvent::ItemDone { item: it }).await?;
                }
                Step::Item(body) => {
                    let it = item(turn, IdPrefix::Message, body);
                    turn.emit(ThreadStreamEvent::ItemDone { item: it }).await?;
                }
                Step::Widget(root, copy_text) => {
                    let it = item(
                        turn,
                        IdPrefix::Message,
                        json!({"type":"widget","widget":root,"copy_text":copy_text}),
                    );
                    turn.emit(ThreadStreamEvent::ItemDone { item: it }).await?;
                }
                Step::FailAfterAdded => {
                    let it = ThreadItem::new(
                        new_id(IdPrefix::Message),
                        turn.thread().id.clone(),
                        now_micros(),
                        ItemBody::AssistantMessage { content: vec![] },
                    );
                    turn.emit(ThreadStreamEvent::ItemAdded { item: it }).await?;
                    return Err(TurnError::Stream { allow_retry: true });
                }
                Step::FailCustom(m) => return Err(TurnError::custom(m, false)),
                Step::Sleep(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                Step::EchoInput => {
                    let s: &'static str = Box::leak(input.clone().into_boxed_str());
                    text(turn, &[s]).await?;
                }
                Step::Panic => panic!("scripted panic inside a turn"),
                Step::Trickle => {
                    let it = ThreadItem::new(
                        new_id(IdPrefix::Message),
                        turn.thread().id.clone(),
                        now_micros(),
                        ItemBody::AssistantMessage { content: vec![] },
                    );
                    let id = it.id.clone();
                    turn.emit(ThreadStreamEvent::ItemAdded { item: it }).await?;
                    turn.emit(ThreadStreamEvent::ItemUpdated {
                        item_id: id.clone(),
                        update: ThreadItemUpdate::ContentPartTextDelta {
                            content_index: 0,
                            delta: "partial answer".into(),
                        },
                    })
                    .await?;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    text(turn, &["late"]).await?;
                }
            }
        }
        Ok(())
    }
}

impl Responder for ScriptedResponder {
    fn respond<'a>(&'a self, turn: &'a mut TurnContext) -> BoxFuture<'a, Result<(), TurnError>> {
        Box::pin(self.run(turn))
    }

    fn sync_action<'a>(
        &'a self,
        a: SyncAction<'a>,
    ) -> BoxFuture<'a, Result<Option<ThreadItem>, ApiError>> {
        self.seen.lock().unwrap().push(format!(
            "sync:{}:{}",
            a.action.kind,
            a.sender.map_or("-", |s| s.id.as_str())
        ));
        let root = self.sync_updates.lock().unwrap().pop_front();
        let updated = match (root, a.sender) {
            (Some(root), Some(sender)) => {
                let mut item = sender.clone();
                if let ItemBody::Widget { widget, .. } = &mut item.body {
                    *widget = root;
                }
                Some(item)
            }
            _ => None,
        };
        Box::pin(async move { Ok(updated) })
    }
}
