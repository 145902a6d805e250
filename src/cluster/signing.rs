//! The principal of a forwarded request (issue #17).
//!
//! A node that forwards a request to a thread's owner has already verified the caller's
//! token; the owner does not see the token again. Instead the forwarding node sends the
//! principal in [`PRINCIPAL_HEADER`]:
//!
//! ```text
//! v1.<base64url(JSON of the principal, the forwarding node and an expiry)>.<base64url(HMAC-SHA256)>
//! ```
//!
//! keyed with `cluster.secret`, which every node shares and nobody outside the cluster has.
//! The owner accepts the header only when the MAC matches (compared in constant time) and the
//! expiry (`cluster.forward_ttl_secs` after signing) has not passed; anything else is a 401,
//! so a client cannot pose as another user by sending the header itself. A node without a
//! cluster refuses the header outright.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::auth::principal::{Principal, UserType};

/// The header a forwarded request carries its principal in.
pub const PRINCIPAL_HEADER: &str = "x-eventchat-forwarded-principal";

const VERSION: &str = "v1";

/// Why a forwarded principal was refused (the reason of `eventchat_auth_failures_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ForwardRefused {
    #[error("the forwarded principal is malformed")]
    Malformed,
    #[error("the forwarded principal's signature does not match")]
    BadSignature,
    #[error("the forwarded principal has expired")]
    Expired,
}

impl ForwardRefused {
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "forwarded_malformed",
            Self::BadSignature => "forwarded_signature",
            Self::Expired => "forwarded_expired",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    email: String,
    name: String,
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    venue: Option<String>,
    /// The forwarding node.
    from: String,
    /// Unix seconds after which the header is refused.
    exp: i64,
}

/// Signs and verifies forwarded principals with the cluster secret.
#[derive(Clone)]
pub struct Signer {
    /// Keyed once; cloned per use.
    keyed: Hmac<Sha256>,
    ttl_secs: i64,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

impl Signer {
    /// A signer keyed with `secret` (HMAC takes a key of any length, so this only fails
    /// for a MAC with a fixed key size, which HMAC-SHA256 is not).
    pub fn new(secret: &[u8], ttl_secs: u64) -> Result<Self, hmac::digest::InvalidLength> {
        Ok(Self {
            keyed: Hmac::<Sha256>::new_from_slice(secret)?,
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(i64::MAX),
        })
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(VERSION.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac
    }

    /// The header value for `p`, forwarded by `node_id`, valid from `now` (Unix seconds).
    pub fn sign(&self, p: &Principal, node_id: &str, now: i64) -> String {
        let claims = Claims {
            sub: p.user_id.clone(),
            email: p.email.clone(),
            name: p.name.clone(),
            kind: p.user_type.as_str().to_owned(),
            venue: p.venue_id.clone(),
            from: node_id.to_owned(),
            exp: now.saturating_add(self.ttl_secs),
        };
        // Serializing plain strings cannot fail.
        let json = serde_json::to_vec(&claims).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{VERSION}.{payload}.{tag}")
    }

    /// The principal of a header value, checked at `now` (Unix seconds), and the node that
    /// forwarded it.
    pub fn verify(&self, value: &str, now: i64) -> Result<(Principal, String), ForwardRefused> {
        let mut parts = value.trim().split('.');
        let (Some(VERSION), Some(payload), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ForwardRefused::Malformed);
        };
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| ForwardRefused::Malformed)?;
        self.mac(payload)
            .verify_slice(&tag)
            .map_err(|_| ForwardRefused::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| ForwardRefused::Malformed)?;
        let claims: Claims =
            serde_json::from_slice(&json).map_err(|_| ForwardRefused::Malformed)?;
        if claims.exp < now {
            return Err(ForwardRefused::Expired);
        }
        let user_type = UserType::parse(&claims.kind).ok_or(ForwardRefused::Malformed)?;
        Ok((
            Principal {
                user_id: claims.sub,
                email: claims.email,
                name: claims.name,
                user_type,
                venue_id: claims.venue,
            },
            claims.from,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn principal() -> Principal {
        Principal {
            user_id: "u_1".into(),
            email: "a@b.c".into(),
            name: "Ana".into(),
            user_type: UserType::Venue,
            venue_id: Some("v_1".into()),
        }
    }

    #[test]
    fn a_signed_principal_round_trips_until_it_expires() {
        let s = Signer::new(b"0123456789abcdef0123456789abcdef", 30).unwrap();
        let header = s.sign(&principal(), "node-a", 1_000);
        let (p, from) = s.verify(&header, 1_010).unwrap();
        assert_eq!(p, principal());
        assert_eq!(from, "node-a");
        assert_eq!(s.verify(&header, 1_031), Err(ForwardRefused::Expired));
    }

    #[test]
    fn forged_or_altered_headers_are_refused() {
        let s = Signer::new(b"0123456789abcdef0123456789abcdef", 30).unwrap();
        let other = Signer::new(b"another-secret-another-secret-xx", 30).unwrap();
        let forged = other.sign(&principal(), "node-a", 1_000);
        assert_eq!(s.verify(&forged, 1_000), Err(ForwardRefused::BadSignature));
        // A payload naming an admin with the original tag.
        let header = s.sign(&principal(), "node-a", 1_000);
        let mut parts: Vec<&str> = header.split('.').collect();
        let mut admin = principal();
        admin.user_type = UserType::Admin;
        let altered = s.sign(&admin, "node-a", 1_000);
        let altered_payload = altered.split('.').nth(1).unwrap();
        parts[1] = altered_payload;
        assert_eq!(
            s.verify(&parts.join("."), 1_000),
            Err(ForwardRefused::BadSignature)
        );
        for bad in ["", "v1", "v1.a", "v2.a.b", "v1.a.b.c", "v1.!!.??"] {
            assert!(s.verify(bad, 1_000).is_err(), "{bad}");
        }
    }
}
