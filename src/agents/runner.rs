//! The turn runner: the LLM <-> tools loop that answers a turn, as a [`Responder`].
//!
//! 1. Context: the agent's context text is taken from the thread actor's cache, or built
//!    from the database and handed back to the cache.
//! 2. Model input: the system prompt (role, rules, style, then the context) and the thread's history
//!    rebuilt from stored items within the token budget. What the turn answers is the
//!    newest of those items: a user message, a tool output, an answered structured input,
//!    or a widget action, which the turn stored as a hidden `<Action>` note
//!    (`conversation::notes::action_text`).
//! 3. Loop: stream the model; text deltas become an assistant message as they arrive; tool
//!    calls run as a workflow round and their results go back to the model; at most
//!    `max_tool_rounds` rounds, then a clear message.
//!    With `llm.text_tool_calls` enabled, tool calls the model wrote as text are recovered
//!    from the stream before the text is shown (`llm::text_calls`, which also hides prompt
//!    markup the model copies, such as an echoed `<tool_response>`), and a round that only
//!    repeats calls already answered is not run: the model is asked once more without tools
//!    (`repeat_guard`); so is an answer after tool results that shows nothing.
//! 4. After the first exchange, a short title (a small model call; can be turned off).
//!
//! Failures: every model fault, no model configured included, is a `custom` error with its
//! row of the fault table (`llm::fault`, protocol §10.3); one after text was streamed keeps
//! the partial text (stored, marked `incomplete`, and followed by a hidden note that says it
//! was cut off) and its error says the answer was cut off.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use futures::future::BoxFuture;

use super::message::StreamingMessage;
use super::repeat_guard::{RepeatGuard, Verdict};
use super::spec::AgentSpec;
use super::tool_round::{self, CallCache};
use super::{context, history, prompts};
use crate::chatkit::ThreadItem;
use crate::config::{AgentSettings, Settings};
use crate::conversation::{CachedContext, Responder, SyncAction, TurnContext, notes};
use crate::error::{ApiError, TurnError};
use crate::llm::{
    ChatMessage, ChatRequest, LlmClient, LlmError, LlmEvent, ToolCall, ToolSpec, recover_tool_calls,
};

/// How long a cached context is trusted even without an invalidation.
const CONTEXT_TTL_SECS: u64 = 300;

/// The note that asks the model to answer from the tool results it already has.
const ANSWER_FROM_RESULTS: &str = "The tool results above answer the request. Reply to the \
     user now in plain language from those results; do not call any tool.";

/// The repeat guard's re-ask when the user's message is known: the user's turn again, with
/// this turn's tool results in it instead of the calls and results before it. Small local
/// models (Qwen2.5 0.5B) answer a trailing system note with "Please provide the request",
/// and with their own call still in view they write it again; with the question and the
/// results in one message there is no call to imitate.
fn answer_from_results(question: &str, results: &[&str]) -> String {
    format!(
        "{}\n\nWhat the tools returned:\n{}\n\nAnswer my message above in plain language \
         from these results. Do not call any tool and do not write JSON.",
        question.trim(),
        results.join("\n\n")
    )
}

/// The conversation for the repeat guard's re-ask (see [`answer_from_results`]), or `None`
/// when it holds no user message to restate.
fn reask(messages: &[ChatMessage]) -> Option<Vec<ChatMessage>> {
    let at = messages
        .iter()
        .rposition(|m| matches!(m, ChatMessage::User { .. }))?;
    let ChatMessage::User { text: question } = &messages[at] else {
        return None;
    };
    let results: Vec<&str> = messages[at + 1..]
        .iter()
        .filter_map(|m| match m {
            ChatMessage::Tool { content, .. } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    let mut out = messages[..at].to_vec();
    out.push(ChatMessage::user(answer_from_results(question, &results)));
    Some(out)
}

/// Said when the model, asked to answer from the results it has, says nothing.
const NO_ANSWER: &str = "I wasn't able to complete that request.";

/// One model request of the turn of `turn`'s thread (its id keys the local model's cache).
fn request(
    turn: &TurnContext,
    agent: &AgentSettings,
    messages: &[ChatMessage],
    tools: Arc<[ToolSpec]>,
) -> ChatRequest {
    let mut req = ChatRequest::new(agent.model.clone());
    req.cache_key = Some(turn.thread().id.to_string());
    req.temperature = Some(agent.temperature);
    req.max_tokens = Some(agent.max_tokens);
    req.messages = messages.to_vec();
    req.tools = tools;
    req
}

pub struct AgentResponder {
    llm: Arc<LlmClient>,
}

impl AgentResponder {
    pub fn new(settings: &Settings) -> Result<Self, LlmError> {
        Ok(Self {
            llm: Arc::new(LlmClient::new(&settings.llm)?),
        })
    }
}

impl Responder for AgentResponder {
    fn respond<'a>(&'a self, turn: &'a mut TurnContext) -> BoxFuture<'a, Result<(), TurnError>> {
        Box::pin(self.run(turn))
    }

    /// The assistants render no widgets, so nothing is replaced; the action is kept as a
    /// hidden note, and the next turn's model reads it in the thread's history.
    fn sync_action<'a>(
        &'a self,
        a: SyncAction<'a>,
    ) -> BoxFuture<'a, Result<Option<ThreadItem>, ApiError>> {
        Box::pin(async move {
            notes::record_action(a.deps, a.thread, a.action, a.sender).await?;
            Ok(None)
        })
    }
}

impl AgentResponder {
    async fn run(&self, turn: &mut TurnContext) -> Result<(), TurnError> {
        if !self.llm.is_configured() {
            return Err(LlmError::NotConfigured.into());
        }
        let settings = turn.deps.settings.clone();
        let spec = AgentSpec::of(turn.thread().agent_type);
        let agent = (spec.settings)(&settings.llm);
        let context_text = self.context(turn).await?;
        let budget = settings.llm.history_budget(agent.max_tokens);
        let transcript = turn.transcript().await?;
        // The first exchange gets a title, made from the first user message.
        let first_user = (transcript.user_messages() == 1)
            .then(|| {
                transcript
                    .entries()
                    .iter()
                    .find(|e| e.item.is_user_message())
                    .map(|e| e.item.plain_text())
            })
            .flatten();
        let history = history::build(transcript.entries(), budget);
        let first_user = first_user.filter(|_| turn.thread().title.is_none());
        let mut messages = vec![ChatMessage::system(prompts::system_prompt(
            spec.role,
            agent,
            &context_text,
        ))];
        messages.extend(history);
        let tools = spec.tool_specs();
        let mut cache = CallCache::new();
        let mut guard = settings
            .llm
            .text_tool_calls_enabled()
            .then(RepeatGuard::default);
        let mut answer = String::new();
        let mut rounds = 0;
        loop {
            let req = request(turn, agent, &messages, tools.clone());
            let (text, calls) = self.stream_round(turn, req, &tools).await?;
            answer.push_str(&text);
            if calls.is_empty() {
                // After tool results, an answer with nothing to show: a small model echoed a
                // result (`<tool_response>`, not shown) or stopped at once. It is asked once
                // more, without tools, to answer from the results.
                if rounds > 0 && guard.is_some() && text.trim().is_empty() {
                    let why = "the model's answer after the tool results showed nothing";
                    let text = self
                        .answer_without_tools(turn, agent, &messages, &tools, why)
                        .await?;
                    answer.push_str(&text);
                }
                break;
            }
            rounds += 1;
            if rounds > agent.max_tool_rounds {
                StreamingMessage::say(
                    turn,
                    "I had to stop here: this request needed more steps than I may take in one \
                     reply. Ask me to continue, or narrow the request down.",
                )
                .await?;
                break;
            }
            if guard
                .as_ref()
                .is_some_and(|g| g.check(&calls) == Verdict::AnswerWithoutTools)
            {
                let why = "the model repeated calls already answered";
                let text = self
                    .answer_without_tools(turn, agent, &messages, &tools, why)
                    .await?;
                answer.push_str(&text);
                break;
            }
            // No tool call starts after a cancel; one that ran is recorded, then the turn
            // stops before asking the model again.
            turn.check_cancelled()?;
            let results = tool_round::run(turn, &calls, &mut cache).await?;
            turn.check_cancelled()?;
            if let Some(guard) = guard.as_mut() {
                guard.answered(&calls);
            }
            messages.push(ChatMessage::Assistant {
                text,
                tool_calls: calls.clone(),
            });
            for (call, result) in calls.iter().zip(results) {
                messages.push(ChatMessage::tool(call.id.clone(), result.to_string()));
            }
        }
        if let Some(first_user) = first_user
            && settings.llm.title_enabled
            && !turn.is_cancelled()
        {
            self.title(turn, &first_user, &answer).await;
        }
        Ok(())
    }

    /// The cached context if fresh, else a new one from the database.
    async fn context(&self, turn: &mut TurnContext) -> Result<Arc<str>, TurnError> {
        if let Some(c) = &turn.context
            && c.built_at.elapsed().as_secs() < CONTEXT_TTL_SECS
        {
            return Ok(c.text.clone());
        }
        let text: Arc<str> =
            context::build_context(&turn.deps.stores, &turn.principal, turn.thread())
                .await
                .map_err(|e| {
                    TurnError::internal(format!("cannot build the assistant's context: {e}"))
                })?
                .into();
        turn.set_context(CachedContext {
            text: text.clone(),
            built_at: Instant::now(),
        });
        Ok(text)
    }

    /// The repeat guard's way out (and the retry of an answer that showed nothing): the same
    /// conversation without tools and with a note to answer from the results, so the model answers from what it already has. A call it
    /// still writes as text is recognised against the turn's `tools` (never shown, never
    /// run); an empty answer gets a short apology instead.
    async fn answer_without_tools(
        &self,
        turn: &mut TurnContext,
        agent: &AgentSettings,
        messages: &[ChatMessage],
        tools: &Arc<[ToolSpec]>,
        why: &'static str,
    ) -> Result<String, TurnError> {
        tracing::info!(
            why,
            "asking the model to answer from the results without tools"
        );
        let messages = reask(messages).unwrap_or_else(|| {
            let mut all = messages.to_vec();
            all.push(ChatMessage::system(ANSWER_FROM_RESULTS));
            all
        });
        let req = request(turn, agent, &messages, Arc::from([]));
        let (text, calls) = self.stream_round(turn, req, tools).await?;
        if !calls.is_empty() {
            tracing::warn!(
                calls = calls.len(),
                "tool calls of an answer without tools ignored"
            );
        }
        if text.trim().is_empty() {
            StreamingMessage::say(turn, NO_ANSWER).await?;
        }
        Ok(text)
    }

    /// Streams one model response: text goes to the client as it comes; tool calls are
    /// returned once complete. With `llm.text_tool_calls` enabled, calls of the `recover` tools
    /// written as text are recovered first and never shown.
    async fn stream_round(
        &self,
        turn: &mut TurnContext,
        req: ChatRequest,
        recover: &Arc<[ToolSpec]>,
    ) -> Result<(String, Vec<ToolCall>), TurnError> {
        turn.check_cancelled()?;
        let mut stream = self.llm.stream_chat(req);
        if !recover.is_empty() && turn.deps.settings.llm.text_tool_calls_enabled() {
            stream = recover_tool_calls(stream, recover.clone());
        }
        let mut message = StreamingMessage::default();
        let mut calls = Vec::new();
        let cancelled = turn.cancelled();
        tokio::pin!(cancelled);
        loop {
            let event = tokio::select! {
                biased;
                () = &mut cancelled => {
                    // Dropping the stream closes the model request at once; what was said
                    // so far is kept as the answer.
                    drop(stream);
                    message.finish(turn).await?;
                    return Err(TurnError::Cancelled);
                }
                event = stream.next() => event,
            };
            let Some(event) = event else { break };
            match event {
                Ok(LlmEvent::TextDelta(delta)) => message.push(turn, &delta).await?,
                Ok(LlmEvent::ToolCalls(c)) => calls.extend(c),
                Ok(LlmEvent::Usage {
                    prompt_tokens,
                    completion_tokens,
                }) => turn.record_usage(u64::from(prompt_tokens), u64::from(completion_tokens)),
                Ok(LlmEvent::Finished { .. }) => {}
                Err(e) => {
                    crate::metrics::global().llm_errors.inc();
                    tracing::warn!(error = %e, "LLM request failed");
                    // Keep what was already said, marked as cut off for the user's and the
                    // model's next look; the user can retry the rest.
                    let streamed = message.started() || matches!(e, LlmError::Interrupted { .. });
                    message.finish_cut_off(turn).await?;
                    // The fault table words it (llm::fault); after text it says the answer
                    // was cut off.
                    return Err(if streamed { e.interrupted() } else { e }.into());
                }
            }
        }
        let text = message.text().to_owned();
        message.finish(turn).await?;
        Ok((text, calls))
    }

    /// Generates and sets a title; failures only cost the title.
    async fn title(&self, turn: &mut TurnContext, first_user: &str, answer: &str) {
        let mut req = ChatRequest::new(turn.deps.settings.llm.title_model.clone());
        req.max_tokens = Some(24);
        req.temperature = Some(0.2);
        req.messages = vec![ChatMessage::user(prompts::title_prompt(first_user, answer))];
        match self.llm.complete(req).await {
            Ok(t) => {
                let title: String = t
                    .trim()
                    .trim_matches('"')
                    .trim_end_matches('.')
                    .chars()
                    .take(80)
                    .collect();
                if !title.is_empty() {
                    turn.thread_mut().title = Some(title);
                }
            }
            Err(e) => tracing::info!(error = %e, "no title generated"),
        }
    }
}
