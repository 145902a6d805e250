//! The clocks of one streamed answer, the same for both providers (protocol §10.3):
//!
//! - first token: from each attempt's request to its first text or tool-call delta
//!   (`llm.first_token_timeout_secs`); the hosted endpoint only, since a local turn may wait
//!   in the engine's queue first;
//! - idle: once that first delta came, from each chunk to the next (`llm.idle_timeout_secs`),
//!   so a model that stalls mid-answer ends the turn in seconds, keeping what it said, instead
//!   of holding the thread until the turn clock runs out;
//! - turn: over the whole answer, every attempt and backoff included
//!   (`llm.turn_timeout_secs`).
//!
//! [`Clocks::deadline`] is the one that runs out first from here; when it has passed,
//! [`Clocks::expired`] is the error to end the answer with.

use std::time::Duration;

use tokio::time::Instant;

use super::error::{LlmError, TimeoutStage};
use crate::config::LlmSettings;

/// The limits, from the settings (each at least one second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// `None`: no first-token clock (the local model).
    pub first_token: Option<Duration>,
    pub idle: Duration,
    pub turn: Duration,
}

impl Timeouts {
    pub(crate) fn from_settings(settings: &LlmSettings) -> Self {
        let secs = |s: u64| Duration::from_secs(s.max(1));
        Self {
            first_token: Some(secs(settings.first_token_timeout_secs)),
            idle: secs(settings.idle_timeout_secs),
            turn: secs(settings.turn_timeout_secs),
        }
    }

    /// The same without the first-token clock.
    pub(crate) fn without_first_token(self) -> Self {
        Self {
            first_token: None,
            ..self
        }
    }
}

/// The clocks of one answer, started when it was asked for.
#[derive(Debug)]
pub(crate) struct Clocks {
    timeouts: Timeouts,
    started: Instant,
    attempt_started: Instant,
    /// When the last chunk of this attempt arrived, once the attempt has had output.
    last_output: Option<Instant>,
}

impl Clocks {
    pub(crate) fn start(timeouts: Timeouts) -> Self {
        let now = Instant::now();
        Self {
            timeouts,
            started: now,
            attempt_started: now,
            last_output: None,
        }
    }

    /// A new attempt: the first-token clock starts again, the idle clock stops.
    pub(crate) fn new_attempt(&mut self) {
        self.attempt_started = Instant::now();
        self.last_output = None;
    }

    /// A chunk arrived; `output` says whether the attempt has had a text or tool-call delta
    /// by now (with it, so the first delta starts the idle clock).
    pub(crate) fn chunk(&mut self, output: bool) {
        if output {
            self.last_output = Some(Instant::now());
        }
    }

    /// When the turn clock runs out.
    pub(crate) fn turn_deadline(&self) -> Instant {
        self.started + self.timeouts.turn
    }

    /// The clock that runs out first from here, and when.
    pub(crate) fn deadline(&self) -> (Instant, TimeoutStage) {
        let turn = (self.turn_deadline(), TimeoutStage::Turn);
        let other = match (self.last_output, self.timeouts.first_token) {
            (Some(last), _) => Some((last + self.timeouts.idle, TimeoutStage::Idle)),
            (None, Some(first)) => Some((self.attempt_started + first, TimeoutStage::FirstToken)),
            (None, None) => None,
        };
        match other {
            Some(clock) if clock.0 < turn.0 => clock,
            _ => turn,
        }
    }

    /// The error for the clock `stage` that ran out.
    pub(crate) fn expired(&self, stage: TimeoutStage) -> LlmError {
        let after = match stage {
            TimeoutStage::FirstToken => self.timeouts.first_token.unwrap_or(self.timeouts.turn),
            TimeoutStage::Idle => self.timeouts.idle,
            TimeoutStage::Turn => self.timeouts.turn,
        };
        LlmError::Timeout { stage, after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeouts() -> Timeouts {
        Timeouts {
            first_token: Some(Duration::from_secs(60)),
            idle: Duration::from_secs(30),
            turn: Duration::from_secs(300),
        }
    }

    /// First token until the first delta, then idle from each chunk, the turn clock when it
    /// comes first; a retry starts the first-token clock again.
    #[tokio::test(start_paused = true)]
    async fn the_clock_that_applies_follows_the_answer() {
        let t0 = Instant::now();
        let mut clocks = Clocks::start(timeouts());
        assert_eq!(
            clocks.deadline(),
            (t0 + Duration::from_secs(60), TimeoutStage::FirstToken)
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        clocks.chunk(false);
        assert_eq!(
            clocks.deadline().1,
            TimeoutStage::FirstToken,
            "a role chunk"
        );
        clocks.chunk(true);
        assert_eq!(
            clocks.deadline(),
            (t0 + Duration::from_secs(35), TimeoutStage::Idle)
        );
        tokio::time::advance(Duration::from_secs(20)).await;
        clocks.chunk(true);
        assert_eq!(
            clocks.deadline(),
            (t0 + Duration::from_secs(55), TimeoutStage::Idle)
        );
        tokio::time::advance(Duration::from_secs(260)).await;
        clocks.chunk(true);
        assert_eq!(
            clocks.deadline(),
            (t0 + Duration::from_secs(300), TimeoutStage::Turn),
            "the turn clock runs out before the idle one"
        );
        clocks.new_attempt();
        assert_eq!(clocks.deadline().1, TimeoutStage::Turn);
        assert!(matches!(
            clocks.expired(TimeoutStage::Idle),
            LlmError::Timeout {
                stage: TimeoutStage::Idle,
                after
            } if after == Duration::from_secs(30)
        ));
    }

    /// Without a first-token clock (the local model) only the turn clock runs until output.
    #[tokio::test(start_paused = true)]
    async fn no_first_token_clock_waits_for_the_turn_clock() {
        let t0 = Instant::now();
        let mut clocks = Clocks::start(timeouts().without_first_token());
        assert_eq!(
            clocks.deadline(),
            (t0 + Duration::from_secs(300), TimeoutStage::Turn)
        );
        clocks.chunk(true);
        assert_eq!(clocks.deadline().1, TimeoutStage::Idle);
    }
}
