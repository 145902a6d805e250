//! JWT verification and issuing.
//!
//! The algorithm is pinned by configuration and never taken from the token: HS256 with a
//! shared secret (Supabase's classic setup), or RS256/ES256 with public keys from a PEM file or
//! a JWKS file (chosen by the token's `kid`). `exp`, `nbf`, `aud` and `iss` are checked with
//! the configured leeway; `sub` is the user id. Failures are reported without echoing any
//! part of the token.

use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::{AuthSettings, JwtAlgorithm};

/// The claims eventchat reads and writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub aud: String,
    pub iss: String,
    pub exp: u64,
    #[serde(default)]
    pub nbf: Option<u64>,
    #[serde(default)]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(InvalidToken),
    #[error("auth configuration error: {0}")]
    Config(String),
}

/// Why a token was refused; the message never quotes the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidToken {
    #[error("malformed")]
    Malformed,
    #[error("unexpected algorithm")]
    UnexpectedAlgorithm,
    #[error("no key id")]
    NoKeyId,
    #[error("unknown key id")]
    UnknownKeyId,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
    #[error("wrong audience")]
    WrongAudience,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("bad signature")]
    BadSignature,
    #[error("missing claim")]
    MissingClaim,
    #[error("empty subject")]
    EmptySubject,
}

impl InvalidToken {
    /// The label of `eventchat_auth_failures_total{reason}`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "malformed_token",
            Self::UnexpectedAlgorithm => "unexpected_algorithm",
            Self::NoKeyId => "no_key_id",
            Self::UnknownKeyId => "unknown_key_id",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongAudience => "wrong_audience",
            Self::WrongIssuer => "wrong_issuer",
            Self::BadSignature => "bad_signature",
            Self::MissingClaim => "missing_claim",
            Self::EmptySubject => "empty_subject",
        }
    }
}

impl AuthError {
    /// The label of `eventchat_auth_failures_total{reason}`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Invalid(why) => why.reason(),
            Self::Config(_) => "config",
        }
    }
}

enum Keys {
    Single(DecodingKey),
    Jwks(HashMap<String, DecodingKey>),
}

/// Verifies bearer tokens with the configured algorithm and keys.
pub struct JwtVerifier {
    algorithm: Algorithm,
    keys: Keys,
    validation: Validation,
    /// Present for HS256 only: lets the server issue tokens (`eventchat token`, dev login).
    encoding: Option<EncodingKey>,
    settings: AuthSettings,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    pub fn new(settings: &AuthSettings) -> Result<Self, AuthError> {
        let algorithm = match settings.algorithm {
            JwtAlgorithm::HS256 => Algorithm::HS256,
            JwtAlgorithm::RS256 => Algorithm::RS256,
            JwtAlgorithm::ES256 => Algorithm::ES256,
        };
        let (keys, encoding) = match settings.algorithm {
            JwtAlgorithm::HS256 => {
                let secret = settings.jwt_secret.expose_secret().as_bytes();
                (
                    Keys::Single(DecodingKey::from_secret(secret)),
                    Some(EncodingKey::from_secret(secret)),
                )
            }
            JwtAlgorithm::RS256 | JwtAlgorithm::ES256 => (load_public_keys(settings)?, None),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = settings.leeway_secs;
        validation.validate_nbf = true;
        validation.set_audience(&[&settings.audience]);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
        Ok(Self {
            algorithm,
            keys,
            validation,
            encoding,
            settings: settings.clone(),
        })
    }

    /// Verifies a token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        use InvalidToken as I;
        let header = decode_header(token).map_err(|_| AuthError::Invalid(I::Malformed))?;
        if header.alg != self.algorithm {
            return Err(AuthError::Invalid(I::UnexpectedAlgorithm));
        }
        let key = match &self.keys {
            Keys::Single(k) => k,
            Keys::Jwks(map) => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or(AuthError::Invalid(I::NoKeyId))?;
                map.get(kid).ok_or(AuthError::Invalid(I::UnknownKeyId))?
            }
        };
        let data = decode::<Claims>(token, key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            AuthError::Invalid(match e.kind() {
                K::ExpiredSignature => I::Expired,
                K::ImmatureSignature => I::NotYetValid,
                K::InvalidAudience => I::WrongAudience,
                K::InvalidIssuer => I::WrongIssuer,
                K::InvalidSignature => I::BadSignature,
                K::MissingRequiredClaim(_) => I::MissingClaim,
                K::InvalidAlgorithm => I::UnexpectedAlgorithm,
                _ => I::Malformed,
            })
        })?;
        if data.claims.sub.trim().is_empty() {
            return Err(AuthError::Invalid(I::EmptySubject));
        }
        Ok(data.claims)
    }

    /// Issues an HS256 token for `user_id` valid for `ttl_secs`.
    pub fn issue(
        &self,
        user_id: &str,
        email: Option<&str>,
        ttl_secs: u64,
    ) -> Result<String, AuthError> {
        let key = self.encoding.as_ref().ok_or_else(|| {
            AuthError::Config("tokens can only be issued with auth.algorithm = HS256".into())
        })?;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            aud: self.settings.audience.clone(),
            iss: self.settings.issuer.clone(),
            exp: now + ttl_secs,
            nbf: Some(now.saturating_sub(1)),
            iat: Some(now),
            email: email.map(str::to_owned),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key)
            .map_err(|e| AuthError::Config(format!("cannot sign token: {e}")))
    }
}

fn load_public_keys(settings: &AuthSettings) -> Result<Keys, AuthError> {
    let read = |path: &str| {
        std::fs::read(path).map_err(|e| AuthError::Config(format!("cannot read {path}: {e}")))
    };
    if !settings.jwks_file.is_empty() {
        let set: JwkSet = serde_json::from_slice(&read(&settings.jwks_file)?)
            .map_err(|e| AuthError::Config(format!("invalid JWKS file: {e}")))?;
        let mut map = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| AuthError::Config(format!("invalid key {kid} in JWKS: {e}")))?;
            map.insert(kid, key);
        }
        if map.is_empty() {
            return Err(AuthError::Config(
                "JWKS file holds no key with a `kid`".into(),
            ));
        }
        return Ok(Keys::Jwks(map));
    }
    if settings.public_key_file.is_empty() {
        return Err(AuthError::Config(
            "auth.public_key_file or auth.jwks_file is required for RS256/ES256".into(),
        ));
    }
    let pem = read(&settings.public_key_file)?;
    let key = match settings.algorithm {
        JwtAlgorithm::ES256 => DecodingKey::from_ec_pem(&pem),
        _ => DecodingKey::from_rsa_pem(&pem),
    }
    .map_err(|e| AuthError::Config(format!("invalid public key: {e}")))?;
    Ok(Keys::Single(key))
}
