//! The local model: llama.cpp in this process, behind the same [`LlmStream`] as the hosted
//! endpoint, so a turn streams, calls tools and is audited the same way whichever answers.
//!
//! - `handle`: [`LocalEngine`], the process-wide handle on the decode thread and its state.
//! - `start`: the thread's first steps (find or fetch the model file, then load it).
//! - `engine`: the decode loop (batched sequences, KV cache reuse per thread, LRU eviction);
//!   only with the `local-model` cargo feature.
//! - `looping`: ends an answer that repeats one phrase over and over.
//! - `seqs`: which sequence of the KV cache holds which thread's tokens.
//! - `template`: the model's Jinja chat template, with the tools block.
//! - `utf8`: token bytes to whole characters.
//! - `store`: the model files: the catalog of pins, fetching from PyPI, verifying.
//!
//! The model writes tool calls as text (`<tool_call>{...}</tool_call>`, as its template
//! teaches); the runner's lenient text tool-call parser turns them into calls, exactly as for
//! a small model behind an OpenAI-compatible server.

#[cfg(feature = "local-model")]
mod engine;
mod error;
mod handle;
mod looping;
mod seqs;
mod start;
pub mod store;
mod template;
mod utf8;

use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

pub use error::LocalError;
pub use handle::{EngineState, LocalEngine, ModelInfo};
pub use template::{ChatTemplate, TemplateError};

use self::handle::{Finish, Job, JobEvent};
use super::client::LlmStream;
use super::clock::{Clocks, Timeouts};
use super::error::LlmError;
use super::types::{ChatRequest, LlmEvent};
use crate::config::LlmSettings;

/// The local provider as the LLM client uses it.
#[derive(Debug, Clone)]
pub struct LocalClient {
    engine: Arc<LocalEngine>,
    /// No first-token clock: a turn may wait in the engine's queue before its first token.
    timeouts: Timeouts,
    greedy: bool,
}

impl LocalClient {
    /// Starts (or joins) the engine for `settings.local`; returns at once.
    pub fn new(settings: &LlmSettings) -> Self {
        Self {
            engine: LocalEngine::shared(&settings.local),
            timeouts: Timeouts::from_settings(settings).without_first_token(),
            greedy: settings.local.greedy,
        }
    }

    pub fn engine(&self) -> &LocalEngine {
        &self.engine
    }

    /// Renders and queues `req`; its events arrive on the returned receiver.
    fn submit(&self, req: &ChatRequest) -> Result<UnboundedReceiver<JobEvent>, LlmError> {
        let template = match self.engine.state() {
            EngineState::Ready { template, .. } => template,
            EngineState::Starting { what } => return Err(LocalError::Starting { what }.into()),
            EngineState::Failed { error } => return Err(error.into()),
        };
        let prompt = template
            .render(&req.messages, &req.tools)
            .map_err(|e| LlmError::InvalidRequest(e.to_string()))?;
        // The whole prompt, for whoever tunes prompts: RUST_LOG=eventchat::llm::local=trace.
        tracing::trace!(%prompt, "local model prompt");
        let (events, receiver) = unbounded_channel();
        self.engine.submit(Job {
            key: req.cache_key.clone(),
            prompt,
            max_tokens: req.max_tokens.unwrap_or(1024),
            temperature: if self.greedy { None } else { req.temperature },
            forbid_calls: req.tools.is_empty(),
            events,
            queued_at: std::time::Instant::now(),
        })?;
        Ok(receiver)
    }

    /// Streams the answer to `req` (see [`LlmEvent`] for the order).
    pub fn stream_chat(&self, req: ChatRequest) -> LlmStream {
        let receiver = match self.submit(&req) {
            Ok(receiver) => receiver,
            Err(error) => return Box::pin(futures::stream::once(async move { Err(error) })),
        };
        let span = tracing::info_span!("llm.local", tools = req.tools.len());
        let state = Answer::new(receiver, self.timeouts);
        Box::pin(futures::stream::unfold(state, move |mut state| {
            let span = span.clone();
            async move {
                let _entered = span.enter();
                let event = state.next().await?;
                Some((event, state))
            }
        }))
    }

    /// The whole answer to `req` as text (thread titles).
    pub async fn complete(&self, req: ChatRequest) -> Result<String, LlmError> {
        use futures::StreamExt;
        let mut stream = self.stream_chat(req);
        let mut text = String::new();
        while let Some(event) = stream.next().await {
            if let LlmEvent::TextDelta(delta) = event? {
                text.push_str(&delta);
            }
        }
        Ok(text)
    }
}

/// One answer being read from the engine, on the clocks of `clock.rs` (the idle clock runs
/// from each token once the first came).
struct Answer {
    receiver: UnboundedReceiver<JobEvent>,
    clocks: Clocks,
    /// Events to hand out before reading more (Usage, then Finished).
    pending: Vec<LlmEvent>,
    produced: bool,
    done: bool,
}

impl Answer {
    fn new(receiver: UnboundedReceiver<JobEvent>, timeouts: Timeouts) -> Self {
        Self {
            receiver,
            clocks: Clocks::start(timeouts),
            pending: Vec::new(),
            produced: false,
            done: false,
        }
    }

    async fn next(&mut self) -> Option<Result<LlmEvent, LlmError>> {
        if !self.pending.is_empty() {
            return Some(Ok(self.pending.remove(0)));
        }
        if self.done {
            return None;
        }
        let (deadline, stage) = self.clocks.deadline();
        let event = tokio::time::timeout_at(deadline, self.receiver.recv()).await;
        let error = match event {
            Ok(Some(JobEvent::Text(text))) => {
                self.produced = true;
                self.clocks.chunk(true);
                return Some(Ok(LlmEvent::TextDelta(text)));
            }
            Ok(Some(JobEvent::Done {
                prompt_tokens,
                completion_tokens,
                finish,
                ..
            })) => {
                self.done = true;
                let finish_reason = match finish {
                    Finish::Stop => "stop",
                    Finish::Length => "length",
                };
                self.pending.push(LlmEvent::Finished {
                    finish_reason: Some(finish_reason.to_owned()),
                });
                return Some(Ok(LlmEvent::Usage {
                    prompt_tokens,
                    completion_tokens,
                }));
            }
            Ok(Some(JobEvent::Failed(error))) => LlmError::from(error),
            Ok(None) => LocalError::Engine("the model thread stopped mid-answer".into()).into(),
            Err(_) => self.clocks.expired(stage),
        };
        self.done = true;
        Some(Err(if self.produced {
            error.interrupted()
        } else {
            error
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn timeouts() -> Timeouts {
        Timeouts {
            first_token: None,
            idle: Duration::from_secs(30),
            turn: Duration::from_secs(300),
        }
    }

    /// Tokens, then none: the answer ends on the idle clock, as interrupted, after the text;
    /// before the first token only the turn clock runs (the job may be queued).
    #[tokio::test(start_paused = true)]
    async fn a_stalled_engine_ends_the_answer_on_the_idle_clock() {
        let (events, receiver) = unbounded_channel();
        let mut answer = Answer::new(receiver, timeouts());
        let started = tokio::time::Instant::now();
        let sender = events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(100)).await;
            let _ = sender.send(JobEvent::Text("Hello".into()));
        });
        assert!(matches!(
            answer.next().await,
            Some(Ok(LlmEvent::TextDelta(ref t))) if t == "Hello"
        ));
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(100),
            "no first-token clock"
        );
        let error = answer.next().await;
        assert_eq!(started.elapsed(), Duration::from_secs(130));
        match error {
            Some(Err(LlmError::Interrupted { cause })) => assert!(
                matches!(
                    *cause,
                    LlmError::Timeout {
                        stage: crate::llm::TimeoutStage::Idle,
                        ..
                    }
                ),
                "{cause:?}"
            ),
            other => panic!("expected an interrupted answer, got {other:?}"),
        }
        assert!(answer.next().await.is_none());
        drop(events);
    }
}
