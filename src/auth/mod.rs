//! Authentication and access rules.
//!
//! A request is authenticated by the [`Principal`] extractor: the bearer token is verified
//! ([`jwt`]), its `sub` is looked up in the users table, and the result carries who the user
//! is (client, venue staff, vendor, admin) and their venue (briefly cached, [`user_cache`]). What a principal may see is
//! decided by the pure functions of [`access`].

pub mod access;
pub mod jwt;
pub mod principal;
pub mod user_cache;

pub use jwt::{AuthError, Claims, JwtVerifier};
pub use principal::{Principal, UserType};
pub use user_cache::UserCache;
