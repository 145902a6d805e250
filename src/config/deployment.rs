//! The deployment rule: outside the development environments (`local` and `test`), the
//! server refuses to start with a credential everyone has.
//!
//! `config/default.toml` is compiled into the binary and published with the source, so every
//! credential it ships is public: a token signed with the shipped `auth.jwt_secret` is a
//! valid token for any user, admins included. [`check`] therefore refuses, in any other
//! environment (`production`, `staging`, ...), each [`Credential`] in use that
//!
//! - still has the value `config/default.toml` ships, or
//! - is shorter than its least length (32 bytes for an HMAC-SHA256 key: RFC 7518 §3.2 asks
//!   for a key at least as long as the hash),
//!
//! and `auth.dev_login` on (it hands out tokens for any seeded user), and
//! `actors.fault_injection` on (a test hook: an admin request panics an actor). Every problem is
//! named in one error, each with the environment variable that fixes it, so an operator
//! fixes them all in one go. A new shipped credential (the cluster secret of issue #17)
//! joins the check with one line in [`credentials`].

use secrecy::ExposeSecret;

use super::{ConfigError, JwtAlgorithm, Settings};

/// The environments that may run with the shipped credentials and the dev login.
pub const DEVELOPMENT_ENVIRONMENTS: [&str; 2] = ["local", "test"];

/// A credential the server is shipped with.
#[derive(Debug)]
pub struct Credential<'a> {
    /// The setting, as written in a config file: `auth.jwt_secret`.
    pub setting: &'static str,
    /// Its value in the loaded settings.
    pub value: &'a str,
    /// The values the repository ships (`config/default.toml`, and for the cluster secret
    /// the development files too).
    pub shipped: Vec<String>,
    /// Whether the server uses it with these settings (the HS256 secret is not used when
    /// tokens are verified with public keys).
    pub in_use: bool,
    /// The least length in bytes.
    pub min_bytes: usize,
}

/// Every shipped credential, read from the loaded settings and from the compiled-in
/// defaults. Add a new one here.
fn credentials<'a>(s: &'a Settings, shipped: &'a Settings) -> Vec<Credential<'a>> {
    let mut cluster_shipped = dev_values("cluster", "secret");
    cluster_shipped.push(shipped.cluster.secret.expose_secret().to_owned());
    vec![
        Credential {
            setting: "auth.jwt_secret",
            value: s.auth.jwt_secret.expose_secret(),
            shipped: vec![shipped.auth.jwt_secret.expose_secret().to_owned()],
            in_use: s.auth.algorithm == JwtAlgorithm::HS256,
            min_bytes: 32,
        },
        Credential {
            setting: "cluster.secret",
            value: s.cluster.secret.expose_secret(),
            shipped: cluster_shipped,
            in_use: s.cluster.enabled,
            min_bytes: 32,
        },
    ]
}

/// The development files of the repository: their values are as public as the defaults.
const DEV_FILES: [&str; 2] = [
    include_str!("../../config/local.toml"),
    include_str!("../../config/test.toml"),
];

/// `[section] key` of every development file that sets it.
fn dev_values(section: &str, key: &str) -> Vec<String> {
    DEV_FILES
        .iter()
        .filter_map(|text| {
            config::Config::builder()
                .add_source(config::File::from_str(text, config::FileFormat::Toml))
                .build()
                .ok()?
                .get_string(&format!("{section}.{key}"))
                .ok()
        })
        .collect()
}

/// The environment variable that sets `setting`: `auth.jwt_secret` ->
/// `EVENTCHAT_AUTH__JWT_SECRET`.
pub fn env_var(setting: &str) -> String {
    format!(
        "EVENTCHAT_{}",
        setting.replace('.', "__").to_ascii_uppercase()
    )
}

/// What is wrong with one credential, if anything.
fn problem(c: &Credential<'_>) -> Option<String> {
    if !c.in_use {
        return None;
    }
    let fix = format!(
        "set {} to a random value of at least {} bytes (e.g. `openssl rand -base64 48`)",
        env_var(c.setting),
        c.min_bytes
    );
    if c.shipped.iter().any(|v| v == c.value) {
        Some(format!(
            "{} is a public value shipped in config/: {fix}",
            c.setting
        ))
    } else if c.value.len() < c.min_bytes {
        Some(format!(
            "{} is {} bytes, shorter than {}: {fix}",
            c.setting,
            c.value.len(),
            c.min_bytes
        ))
    } else {
        None
    }
}

/// Refuses settings that must not serve in environment `env` (see the module docs); `shipped`
/// are the compiled-in defaults.
pub fn check(env: &str, settings: &Settings, shipped: &Settings) -> Result<(), ConfigError> {
    if DEVELOPMENT_ENVIRONMENTS.contains(&env) {
        return Ok(());
    }
    let mut problems: Vec<String> = credentials(settings, shipped)
        .iter()
        .filter_map(problem)
        .collect();
    if settings.auth.dev_login {
        problems.push(format!(
            "auth.dev_login is on, which issues a token for any seeded user to anyone: set {}=false",
            env_var("auth.dev_login")
        ));
    }
    if settings.actors.fault_injection {
        problems.push(format!(
            "actors.fault_injection is on, which lets an admin request crash a conversation's actor: set {}=false",
            env_var("actors.fault_injection")
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(ConfigError::Deployment {
        env: env.to_owned(),
        problems: problems.join("; "),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;

    const GOOD: &str = "0123456789abcdef0123456789abcdef-long-enough";

    fn load(env: &str, pairs: &[(&str, &str)]) -> Settings {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load_from(Path::new("/nonexistent"), env, &vars).unwrap()
    }

    fn refusal(env: &str, pairs: &[(&str, &str)]) -> String {
        load(env, pairs).check_deployment().unwrap_err().to_string()
    }

    #[test]
    fn the_shipped_secret_is_refused_outside_local_and_test() {
        for env in ["production", "staging"] {
            let err = refusal(env, &[]);
            assert!(err.contains(&format!("environment \"{env}\"")), "{err}");
            assert!(err.contains("auth.jwt_secret is a public value"), "{err}");
            assert!(err.contains("set EVENTCHAT_AUTH__JWT_SECRET"), "{err}");
        }
        for env in DEVELOPMENT_ENVIRONMENTS {
            load(env, &[("EVENTCHAT_AUTH__DEV_LOGIN", "true")])
                .check_deployment()
                .unwrap();
        }
    }

    #[test]
    fn a_short_secret_and_the_dev_login_are_refused_together() {
        let err = refusal(
            "production",
            &[
                ("EVENTCHAT_AUTH__JWT_SECRET", "only-twenty-bytes-xx"),
                ("EVENTCHAT_AUTH__DEV_LOGIN", "true"),
            ],
        );
        assert!(
            err.contains("auth.jwt_secret is 20 bytes, shorter than 32"),
            "{err}"
        );
        assert!(err.contains("set EVENTCHAT_AUTH__DEV_LOGIN=false"), "{err}");
    }

    #[test]
    fn the_test_fault_hook_is_refused_outside_development() {
        let fault = [
            ("EVENTCHAT_AUTH__JWT_SECRET", GOOD),
            ("EVENTCHAT_ACTORS__FAULT_INJECTION", "true"),
        ];
        let err = refusal("production", &fault);
        assert!(
            err.contains("actors.fault_injection is on")
                && err.contains("set EVENTCHAT_ACTORS__FAULT_INJECTION=false"),
            "{err}"
        );
        load("test", &fault).check_deployment().unwrap();
    }

    #[test]
    fn a_proper_secret_serves_and_an_unused_one_is_not_checked() {
        load("production", &[("EVENTCHAT_AUTH__JWT_SECRET", GOOD)])
            .check_deployment()
            .unwrap();
        // Public keys verify the tokens: the shipped HS256 secret signs nothing.
        load("production", &[("EVENTCHAT_AUTH__ALGORITHM", "RS256")])
            .check_deployment()
            .unwrap();
    }

    #[test]
    fn a_cluster_needs_its_own_secret_outside_development() {
        let pg = ("EVENTCHAT_DATABASE__URL", "postgres://u@127.0.0.1/db");
        let on = ("EVENTCHAT_CLUSTER__ENABLED", "true");
        let jwt = ("EVENTCHAT_AUTH__JWT_SECRET", GOOD);
        // The development value of config/local.toml, set in production by hand.
        let dev = (
            "EVENTCHAT_CLUSTER__SECRET",
            "local-development-cluster-secret-not-for-production",
        );
        let err = refusal("production", &[pg, on, jwt, dev]);
        assert!(err.contains("cluster.secret is a public value"), "{err}");
        assert!(err.contains("EVENTCHAT_CLUSTER__SECRET"), "{err}");
        let short = ("EVENTCHAT_CLUSTER__SECRET", "short-cluster-secret");
        let err = refusal("production", &[pg, on, jwt, short]);
        assert!(err.contains("cluster.secret is 20 bytes"), "{err}");
        let good = ("EVENTCHAT_CLUSTER__SECRET", GOOD);
        load("production", &[pg, on, jwt, good])
            .check_deployment()
            .unwrap();
        // Off, the secret is not used and not checked.
        load("production", &[jwt]).check_deployment().unwrap();
    }

    #[test]
    fn a_cluster_on_sqlite_or_without_a_secret_is_a_startup_error() {
        let load_err = |env: &str, pairs: &[(&str, &str)]| {
            let vars: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            Settings::load_from(Path::new("/nonexistent"), env, &vars)
                .unwrap_err()
                .to_string()
        };
        let on = ("EVENTCHAT_CLUSTER__ENABLED", "true");
        let err = load_err("local", &[on]);
        assert!(err.contains("cluster.enabled needs PostgreSQL"), "{err}");
        let pg = ("EVENTCHAT_DATABASE__URL", "postgres://u@127.0.0.1/db");
        // No config directory: only the compiled-in defaults, whose secret is empty.
        let err = load_err("production", &[on, pg]);
        assert!(err.contains("needs cluster.secret"), "{err}");
        assert!(err.contains("EVENTCHAT_CLUSTER__SECRET"), "{err}");
    }

    #[test]
    fn every_setting_has_its_variable() {
        assert_eq!(env_var("auth.jwt_secret"), "EVENTCHAT_AUTH__JWT_SECRET");
        assert_eq!(env_var("llm.local.model"), "EVENTCHAT_LLM__LOCAL__MODEL");
    }
}
