//! `server.trusted_proxies`: the peers whose `X-Forwarded-For` header is believed.
//!
//! Each entry is an IP address (`10.0.0.5`, `::1`) or a CIDR block (`10.0.0.0/8`,
//! `fd00::/8`); anything else stops the start with the entry named. How the header is read
//! is `limits::address`'s business.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

/// One trusted proxy address or block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet(IpNet);

impl ProxyNet {
    /// `10.0.0.5` (one address) or `10.0.0.0/8` (a block; host bits are ignored).
    pub fn parse(entry: &str) -> Result<Self, String> {
        let entry = entry.trim();
        if let Ok(net) = entry.parse::<IpNet>() {
            return Ok(Self(net.trunc()));
        }
        entry
            .parse::<IpAddr>()
            .map(|ip| Self(IpNet::from(ip.to_canonical())))
            .map_err(|_| {
                format!(
                    "server.trusted_proxies: {entry:?} is neither an IP address nor a CIDR block \
                     (e.g. 10.0.0.0/8)"
                )
            })
    }

    /// Whether `ip` is in this block (an IPv4-mapped IPv6 address counts as its IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl<'de> Deserialize<'de> for ProxyNet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entry = String::deserialize(deserializer)?;
        Self::parse(&entry).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_blocks() {
        let one = ProxyNet::parse("10.0.0.5").unwrap();
        assert!(one.contains(ip("10.0.0.5")));
        assert!(!one.contains(ip("10.0.0.6")));
        let block = ProxyNet::parse(" 10.1.2.3/8 ").unwrap();
        assert!(block.contains(ip("10.200.0.1")));
        assert!(!block.contains(ip("11.0.0.1")));
        assert!(block.contains(ip("::ffff:10.9.9.9")), "IPv4-mapped");
        let v6 = ProxyNet::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(ProxyNet::parse("::1").unwrap().contains(ip("::1")));
        let err = ProxyNet::parse("proxy.internal").unwrap_err();
        assert!(err.contains("\"proxy.internal\""), "{err}");
        assert!(ProxyNet::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn the_setting_is_a_list_and_a_bad_entry_stops_the_start() {
        let load = |value: &str| {
            let vars = [(
                "EVENTCHAT_SERVER__TRUSTED_PROXIES".to_owned(),
                value.to_owned(),
            )];
            crate::config::Settings::load_from(
                std::path::Path::new("/nonexistent"),
                "local",
                &vars.into_iter().collect(),
            )
        };
        let s = load("10.0.0.0/8,127.0.0.1").unwrap();
        assert_eq!(s.server.trusted_proxies.len(), 2);
        assert!(s.server.trusted_proxies[1].contains(ip("127.0.0.1")));
        let err = load("10.0.0.0/8,proxy").unwrap_err().to_string();
        assert!(err.contains("\"proxy\" is neither"), "{err}");
    }
}
