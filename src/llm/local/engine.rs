//! The decode loop: one OS thread owns llama.cpp's model and context and answers every
//! thread's turns, several at once.
//!
//! Protocol with the rest of the server (see [`super::handle`]): a [`Job`] arrives on a
//! channel with the rendered prompt and a sender for its [`JobEvent`]s; the engine answers
//! with text pieces and one `Done` or `Failed`. A job whose receiver is gone (the turn was
//! stopped or its stream dropped) is ended at the next step; what it had evaluated stays in
//! its thread's cache.
//!
//! Scheduling, per step:
//! - waiting jobs are admitted first come, first served while fewer than `parallel` run, each
//!   on a sequence from [`SeqTable`] (its thread's own when cached: only the new part of the
//!   prompt is evaluated; a new thread starts from the longest prompt prefix another thread
//!   already evaluated, copied as shared cells);
//! - one batch of at most `n_batch` tokens is decoded: one token for every job that is
//!   generating, then prompt chunks of the jobs still reading their prompt (so a long new
//!   prompt never stalls the others' streams by more than one chunk);
//! - every job whose logits are ready samples its next token.
//!
//! Memory: the KV cache is one pool of cells sized by `kv_cache_mb`, shared by all sequences
//! (`kv_unified`). When a batch finds no room, the least recently used idle thread's cache is
//! dropped and the batch retried; with nothing left to drop, the newest job fails as busy.
//! The mailbox of no actor waits on any of this: actors only hold the receiving end.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use llama_cpp_2::DecodeError;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;

use super::error::LocalError;
use super::handle::{EngineState, Finish, Job, JobEvent, ModelInfo, Shared};
use super::seqs::SeqTable;
use super::start::refuse;
use super::template::ChatTemplate;
use super::utf8::Utf8Pieces;
use crate::config::LocalModelSettings;
use crate::metrics;

/// Tokens per decode call (llama.cpp's logical batch).
const N_BATCH: usize = 512;
/// The smallest KV pool worth running with.
const MIN_CELLS: u32 = 2048;

/// llama.cpp's backend is process-wide and may be initialised once.
fn backend() -> Result<&'static LlamaBackend, LocalError> {
    static BACKEND: std::sync::OnceLock<Result<LlamaBackend, String>> = std::sync::OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut backend = LlamaBackend::init().map_err(|e| e.to_string())?;
            // llama.cpp's own log lines go through `tracing` (target llama-cpp-2) when enabled;
            // by default they would be printed to stderr.
            backend.void_logs();
            Ok(backend)
        })
        .as_ref()
        .map_err(|e| LocalError::Unavailable {
            reason: format!("llama.cpp did not initialise: {e}"),
        })
}

/// Loads the model at `path` and serves jobs until every sender is dropped.
pub(super) fn run(
    path: &std::path::Path,
    name: &str,
    settings: &LocalModelSettings,
    shared: &Arc<Shared>,
    jobs: &Receiver<Job>,
) {
    let started = Instant::now();
    shared.set_state(EngineState::Starting {
        what: format!("loading {name}"),
    });
    let loaded = backend().and_then(|backend| {
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| LocalError::Unavailable {
                reason: format!("{} did not load: {e}", path.display()),
            })?;
        Ok((backend, model))
    });
    let (backend, model) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return refuse(shared, jobs, error),
    };
    let template = model
        .chat_template(None)
        .map_err(|e| e.to_string())
        .and_then(|t| t.to_string().map_err(|e| e.to_string()))
        .and_then(|source| ChatTemplate::new(source).map_err(|e| e.to_string()));
    let template = match template {
        Ok(template) => Arc::new(template),
        Err(reason) => {
            let reason = format!("{name} has no usable chat template: {reason}");
            return refuse(shared, jobs, LocalError::Unavailable { reason });
        }
    };
    let cells = kv_cells(&model, settings.kv_cache_mb);
    let seqs = settings.cached_threads.clamp(settings.parallel.max(1), 256);
    let threads = if settings.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| i32::try_from(n.get()).unwrap_or(1))
    } else {
        i32::try_from(settings.threads).unwrap_or(1)
    };
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(cells))
        .with_n_batch(N_BATCH as u32)
        .with_n_ubatch(N_BATCH as u32)
        .with_n_seq_max(seqs)
        .with_kv_unified(true)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let ctx = match model.new_context(backend, params) {
        Ok(ctx) => ctx,
        Err(e) => {
            let reason = format!("no llama.cpp context ({cells} KV cells): {e}");
            return refuse(shared, jobs, LocalError::Unavailable { reason });
        }
    };
    let info = ModelInfo {
        name: name.to_owned(),
        path: path.to_path_buf(),
        kv_cells: cells,
        sequences: seqs,
        parallel: settings.parallel.max(1),
        threads: u32::try_from(threads).unwrap_or(1),
        load_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    tracing::info!(
        model = %name, kv_cells = cells, sequences = seqs, threads,
        load_ms = info.load_ms, "local model ready"
    );
    shared.set_state(EngineState::Ready { template, info });
    // Qwen's `<tool_call>` is one special token; a model without one has nothing to forbid.
    let call_tokens = model.vocab().tokenize(b"<tool_call>", false, true);
    let tool_call_token = match call_tokens.as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    let mut engine = Engine {
        model: &model,
        tool_call_token,
        ctx,
        batch: LlamaBatch::new(N_BATCH, 1),
        seqs: SeqTable::new(seqs as usize),
        waiting: VecDeque::new(),
        active: Vec::new(),
        parallel: settings.parallel.max(1) as usize,
        max_queue: settings.max_queue as usize,
        max_context: settings.max_context_tokens.min(cells) as usize,
        greedy: settings.greedy,
    };
    engine.serve(jobs);
    tracing::info!(model = %name, "local model stopped");
}

/// KV cells that fit `budget_mb`: K and V in f16 for every layer.
fn kv_cells(model: &LlamaModel, budget_mb: u32) -> u32 {
    let head_dim = u64::try_from(model.n_embd()).unwrap_or(1) / u64::from(model.n_head().max(1));
    let per_token = 2 * u64::from(model.n_layer()) * u64::from(model.n_head_kv()) * head_dim * 2;
    let cells = u64::from(budget_mb) * 1024 * 1024 / per_token.max(1);
    let cells = u32::try_from(cells).unwrap_or(u32::MAX) / 256 * 256;
    cells.max(MIN_CELLS)
}

/// A job being answered.
struct Active {
    job: Job,
    seq: usize,
    tokens: Vec<LlamaToken>,
    /// Prompt tokens already in the KV cache.
    evaluated: usize,
    reused: usize,
    prompt_len: usize,
    /// The token sampled last, not yet evaluated.
    next: Option<LlamaToken>,
    /// The batch index whose logits this job samples from after the current decode.
    logits_at: Option<i32>,
    sampler: LlamaSampler,
    pieces: Utf8Pieces,
    generated: u32,
    max_tokens: u32,
    piece: Vec<u8>,
}

impl Active {
    fn pos(&self) -> i32 {
        i32::try_from(self.evaluated).unwrap_or(i32::MAX)
    }
}

struct Engine<'m> {
    model: &'m LlamaModel,
    /// The token that opens a tool call, if the model has one (forbidden without tools).
    tool_call_token: Option<LlamaToken>,
    ctx: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    seqs: SeqTable,
    waiting: VecDeque<Job>,
    active: Vec<Active>,
    parallel: usize,
    max_queue: usize,
    max_context: usize,
    greedy: bool,
}

impl Engine<'_> {
    fn serve(&mut self, jobs: &Receiver<Job>) {
        loop {
            if self.active.is_empty() && self.waiting.is_empty() {
                match jobs.recv_timeout(Duration::from_secs(1)) {
                    Ok(job) => self.enqueue(job),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            while let Ok(job) = jobs.try_recv() {
                self.enqueue(job);
            }
            self.waiting.retain(|job| !job.events.is_closed());
            // Before admitting: a thread whose previous round was cut (the runner dropped
            // the stream at a complete tool call) sends its next round right away, and that
            // round must find the thread's sequence idle to reuse its cache.
            self.reap_stopped();
            self.admit();
            self.publish_gauges();
            if !self.active.is_empty() {
                self.step();
            }
        }
    }

    fn enqueue(&mut self, job: Job) {
        if self.waiting.len() >= self.max_queue {
            let queued = self.waiting.len();
            let _ = job
                .events
                .send(JobEvent::Failed(LocalError::Busy { queued }));
        } else {
            self.waiting.push_back(job);
        }
    }

    fn publish_gauges(&self) {
        let m = metrics::global();
        m.local_queued
            .set(i64::try_from(self.waiting.len()).unwrap_or(i64::MAX));
        m.local_active
            .set(i64::try_from(self.active.len()).unwrap_or(i64::MAX));
        let (cached, _) = self.seqs.cached();
        m.local_cached_threads
            .set(i64::try_from(cached).unwrap_or(i64::MAX));
    }

    /// Moves waiting jobs onto sequences, first come first served.
    fn admit(&mut self) {
        while self.active.len() < self.parallel {
            let Some(job) = self.waiting.pop_front() else {
                return;
            };
            // The template writes the special tokens (`<|im_start|>`, ...) as text: parse them.
            let tokens = self
                .model
                .vocab()
                .tokenize(job.prompt.as_bytes(), false, true);
            if tokens.is_empty() {
                let error = LocalError::Engine("the prompt is empty".into());
                let _ = job.events.send(JobEvent::Failed(error));
                continue;
            }
            // Leave room for at least a short answer.
            let limit = self.max_context.saturating_sub(16);
            if tokens.len() > limit {
                let error = LocalError::PromptTooLong {
                    tokens: tokens.len(),
                    limit,
                };
                let _ = job.events.send(JobEvent::Failed(error));
                continue;
            }
            let raw: Vec<i32> = tokens.iter().map(|t| t.0).collect();
            let Some(claim) = self.seqs.claim(job.key.as_deref(), &raw) else {
                self.waiting.push_front(job);
                return;
            };
            let seq = i32::try_from(claim.seq).unwrap_or(0);
            let kept = u32::try_from(claim.reused).ok();
            let cleared = match claim.copied_from {
                // Another sequence's prefix (the shared system prompt): this sequence's own
                // cells are dropped, then the donor's first `reused` cells are tagged with it.
                Some(donor) => self.ctx.kv_cache_seq_rm(seq, None, None).and_then(|()| {
                    let donor = i32::try_from(donor).unwrap_or(0);
                    self.ctx.copy_kv_cache_seq(donor, seq, Some(0), kept)
                }),
                None if claim.reused == 0 => self.ctx.kv_cache_seq_rm(seq, None, None),
                None => self.ctx.kv_cache_seq_rm(seq, kept, None),
            };
            tracing::debug!(
                seq,
                prompt = tokens.len(),
                reused = claim.reused,
                donor = claim.copied_from,
                "local model: a job starts"
            );
            let reused = if cleared.is_ok() {
                claim.reused
            } else {
                // A partial removal can fail for some cache types: start the sequence over.
                let _ = self.ctx.kv_cache_seq_rm(seq, None, None);
                self.seqs.clear(claim.seq);
                0
            };
            let m = metrics::global();
            m.local_queue_wait.observe(job.queued_at.elapsed());
            // Counted here, not when the turn ends: a round stopped early reused them too.
            m.local_prompt_reused.add(reused as u64);
            if claim.copied_from.is_some() {
                m.local_prompt_shared.add(reused as u64);
            }
            let room = u32::try_from(self.max_context - tokens.len()).unwrap_or(u32::MAX);
            let max_tokens = job.max_tokens.min(room).max(1);
            let mut chain = Vec::with_capacity(4);
            if let (true, Some(token)) = (job.forbid_calls, self.tool_call_token) {
                chain.push(LlamaSampler::logit_bias(
                    self.model.n_vocab(),
                    &[LlamaLogitBias::new(token, f32::NEG_INFINITY)],
                ));
            }
            if job.forbid_calls {
                // A prose answer: a mild repeat penalty over the last 64 tokens, as
                // llama.cpp's own defaults (not with tools: a call's JSON repeats quotes
                // and braces on purpose).
                chain.push(LlamaSampler::penalties(
                    self.model.n_vocab(),
                    64,
                    1.1,
                    0.0,
                    0.0,
                ));
            }
            match job.temperature {
                Some(t) if !self.greedy && t > 0.0 => chain.extend([
                    LlamaSampler::top_p(0.95, 1),
                    LlamaSampler::temp(t),
                    LlamaSampler::dist(rand::random()),
                ]),
                _ => chain.push(LlamaSampler::greedy()),
            }
            let sampler = LlamaSampler::chain_simple(chain);
            let prompt_len = tokens.len();
            self.active.push(Active {
                job,
                seq: claim.seq,
                tokens,
                evaluated: reused,
                reused,
                prompt_len,
                next: None,
                logits_at: None,
                sampler,
                pieces: Utf8Pieces::default(),
                generated: 0,
                max_tokens,
                piece: Vec::with_capacity(16),
            });
        }
    }

    /// Turns that were stopped (their receiver dropped) end here; their evaluated tokens
    /// stay cached for the thread's next round.
    fn reap_stopped(&mut self) {
        let mut i = 0;
        while i < self.active.len() {
            if self.active[i].job.events.is_closed() {
                let done = self.active.swap_remove(i);
                self.seqs.release(done.seq);
            } else {
                i += 1;
            }
        }
    }

    /// One decode over all active jobs, then sampling.
    fn step(&mut self) {
        self.reap_stopped();
        if self.active.is_empty() {
            return;
        }
        let generating = self.active.iter().any(|a| a.next.is_some());
        let started = Instant::now();
        // Bounded: every retry drops one idle cache or one job.
        for _ in 0..=(self.seqs_len() + self.active.len()) {
            let added = self.fill_batch();
            match self.ctx.decode(&mut self.batch) {
                Ok(()) => {
                    self.after_decode(&added, generating, started);
                    return;
                }
                Err(DecodeError::NoKvCacheSlot) => {
                    if let Some(seq) = self.seqs.evict_lru() {
                        let _ =
                            self.ctx
                                .kv_cache_seq_rm(i32::try_from(seq).unwrap_or(0), None, None);
                        tracing::debug!(seq, "local model: dropped an idle thread's cache");
                        continue;
                    }
                    // Nothing idle to drop: the newest job gives way.
                    if let Some(newest) = self.active.pop() {
                        self.fail(newest, LocalError::CacheFull);
                    }
                    if self.active.is_empty() {
                        return;
                    }
                }
                Err(error) => {
                    tracing::error!(error = %error, "local model decode failed");
                    for active in std::mem::take(&mut self.active) {
                        self.fail(active, LocalError::Engine(error.to_string()));
                    }
                    return;
                }
            }
        }
    }

    fn seqs_len(&self) -> usize {
        self.seqs.cached().0
    }

    /// Fills the batch; returns, per active job, how many tokens it added.
    fn fill_batch(&mut self) -> Vec<usize> {
        self.batch.clear();
        let mut added = vec![0; self.active.len()];
        let mut budget = N_BATCH;
        for (i, a) in self.active.iter_mut().enumerate() {
            a.logits_at = None;
            if let Some(token) = a.next {
                let seq = i32::try_from(a.seq).unwrap_or(0);
                if self.batch.add(token, a.pos(), &[seq], true).is_ok() {
                    a.logits_at = Some(self.batch.n_tokens() - 1);
                    added[i] = 1;
                    budget -= 1;
                }
            }
        }
        for (i, a) in self.active.iter_mut().enumerate() {
            if a.next.is_some() || budget == 0 {
                continue;
            }
            let seq = i32::try_from(a.seq).unwrap_or(0);
            let end = a.tokens.len().min(a.evaluated + budget);
            for (offset, token) in a.tokens[a.evaluated..end].iter().enumerate() {
                let index = a.evaluated + offset;
                let last = index + 1 == a.tokens.len();
                let pos = i32::try_from(index).unwrap_or(i32::MAX);
                if self.batch.add(*token, pos, &[seq], last).is_err() {
                    break;
                }
                added[i] += 1;
                budget -= 1;
                if last {
                    a.logits_at = Some(self.batch.n_tokens() - 1);
                }
            }
        }
        added
    }

    fn after_decode(&mut self, added: &[usize], generating: bool, started: Instant) {
        let m = metrics::global();
        let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        if generating {
            m.local_generation_micros.add(elapsed);
        } else {
            m.local_prompt_micros.add(elapsed);
        }
        let mut finished = Vec::new();
        for (i, a) in self.active.iter_mut().enumerate() {
            let n = added.get(i).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let raw: Vec<i32> = match a.next.take() {
                Some(token) => {
                    a.tokens.push(token);
                    vec![token.0]
                }
                None => {
                    m.local_prompt_evaluated.add(n as u64);
                    a.tokens[a.evaluated..a.evaluated + n]
                        .iter()
                        .map(|t| t.0)
                        .collect()
                }
            };
            a.evaluated += n;
            self.seqs.extend(a.seq, &raw);
            let Some(at) = a.logits_at else { continue };
            let token = a.sampler.sample(&self.ctx, at);
            a.sampler.accept(token);
            let vocab = self.model.vocab();
            if vocab.is_eog(token) {
                finished.push((i, Finish::Stop));
                continue;
            }
            a.generated += 1;
            m.local_generated.inc();
            a.piece.clear();
            vocab.token_to_piece_into(token, &mut a.piece, false, None);
            let text = a.pieces.push(&a.piece);
            if !text.is_empty() {
                let _ = a.job.events.send(JobEvent::Text(text));
            }
            if a.generated >= a.max_tokens || a.evaluated + 1 >= self.max_context {
                finished.push((i, Finish::Length));
            } else if a.generated >= 16 && {
                a.tokens.push(token);
                let looping = super::looping::is_looping(&a.tokens[a.prompt_len..]);
                a.tokens.pop();
                looping
            } {
                tracing::info!(
                    generated = a.generated,
                    "the local model repeats itself; its answer ends here"
                );
                finished.push((i, Finish::Length));
            } else {
                a.next = Some(token);
            }
        }
        // Highest index first, so swap_remove keeps the other indices valid.
        finished.sort_by_key(|x| std::cmp::Reverse(x.0));
        for (i, finish) in finished {
            let mut done = self.active.swap_remove(i);
            let rest = done.pieces.finish();
            if !rest.is_empty() {
                let _ = done.job.events.send(JobEvent::Text(rest));
            }
            let prompt_tokens = done.prompt_len;
            let _ = done.job.events.send(JobEvent::Done {
                prompt_tokens: u32::try_from(prompt_tokens).unwrap_or(u32::MAX),
                reused_tokens: u32::try_from(done.reused).unwrap_or(u32::MAX),
                completion_tokens: done.generated,
                finish,
            });
            self.seqs.release(done.seq);
        }
    }

    fn fail(&mut self, active: Active, error: LocalError) {
        let seq = i32::try_from(active.seq).unwrap_or(0);
        let _ = self.ctx.kv_cache_seq_rm(seq, None, None);
        self.seqs.clear(active.seq);
        self.seqs.release(active.seq);
        let _ = active.job.events.send(JobEvent::Failed(error));
    }
}
