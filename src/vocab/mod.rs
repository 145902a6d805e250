//! The server's closed sets of string values: agent types, thread item types and statuses,
//! RSVP statuses (and the tool names, `tools::ToolName`, made with the same macro).
//!
//! Each set is an enum with exactly one string form ([`AgentType::as_str`] and friends),
//! the one the database columns, the config keys and the wire use. A string becomes one of
//! these values once, where it enters the server (request metadata, a stored row), and is
//! compared as an enum everywhere after that; an unknown string is an [`UnknownValue`] at
//! that edge, never a silent default deeper in.
//!
//! This module imports nothing from the crate, so every layer (the store and `chatkit`
//! included) may use it without bending the import order `http -> actors -> conversation
//! <- agents -> tools -> domain -> store`.

mod agent_type;
mod item;
mod rsvp;

pub use agent_type::AgentType;
pub use item::{ItemStatus, ItemType};
pub use rsvp::Rsvp;

/// A string that names no member of a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}; expected one of {}", expected.join(", "))]
pub struct UnknownValue {
    /// What was parsed, e.g. "agent type".
    pub kind: &'static str,
    /// The string as received.
    pub value: String,
    /// The accepted strings.
    pub expected: &'static [&'static str],
}

/// Defines a fieldless enum whose variants each have one string form: `as_str`, `parse`
/// (with [`UnknownValue`]), `FromStr`, `Display` and serde, all from the same table, so
/// the strings are written once.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($kind:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The string forms, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The one string form (database, config, wire).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// The member named by `s` (exact match).
            pub fn parse(s: &str) -> Result<Self, $crate::vocab::UnknownValue> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err($crate::vocab::UnknownValue {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: Self::NAMES,
                    }),
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::vocab::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_enum;
