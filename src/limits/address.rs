//! The client address of a request, for the per-address limit and the logs.
//!
//! The client is the TCP peer, unless the peer is a trusted proxy (`server.trusted_proxies`).
//! Then `X-Forwarded-For` is read from the right, where the nearest proxy appended the
//! address it saw: each trusted address is skipped, and the first one that is not trusted is
//! the client. Whatever lies to its left was written by the client itself and is ignored,
//! so a client cannot choose its own bucket by sending the header. An entry that is not an
//! address (`unknown`, garbage) stops the walk at the last address read; a chain of trusted
//! proxies only ends at the leftmost of at most [`MAX_HOPS`] entries. `Forwarded` (RFC 7239)
//! is not read: the proxies we deploy behind (nginx, cloud load balancers) write
//! `X-Forwarded-For`, and reading two headers would let a client pick the one its proxy does
//! not overwrite.
//!
//! Buckets are per IPv4 address and per IPv6 /64 ([`bucket_key`]): one IPv6 host usually
//! has a whole /64 and could otherwise take a fresh bucket per request.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use actix_web::http::header::HeaderMap;

use crate::config::ProxyNet;

/// The header a trusted proxy names the client in.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// Entries of `X-Forwarded-For` read at most (from the right).
pub const MAX_HOPS: usize = 16;

fn trusted(ip: IpAddr, proxies: &[ProxyNet]) -> bool {
    proxies.iter().any(|p| p.contains(ip))
}

/// One entry of `X-Forwarded-For`: `1.2.3.4`, `1.2.3.4:5678`, `::1` or `[::1]:5678`.
fn hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    entry
        .parse::<SocketAddr>()
        .ok()
        .map(|sa| sa.ip().to_canonical())
}

/// The client address of a request from `peer` with these headers (see the module docs);
/// `None` when the connection has no peer address.
pub fn client_ip(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    proxies: &[ProxyNet],
) -> Option<IpAddr> {
    let peer = peer?.ip().to_canonical();
    if !trusted(peer, proxies) {
        return Some(peer);
    }
    // Every line of the header, in order, is one comma-separated list.
    let entries: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev().take(MAX_HOPS) {
        let Some(ip) = hop(entry) else {
            break;
        };
        client = ip;
        if !trusted(ip, proxies) {
            break;
        }
    }
    Some(client)
}

/// The bucket of an address: the address itself for IPv4, its /64 for IPv6.
pub fn bucket_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(s.parse().unwrap(), 40_000))
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(
                HeaderName::from_static(FORWARDED_FOR),
                HeaderValue::from_str(line).unwrap(),
            );
        }
        map
    }

    fn proxies(list: &[&str]) -> Vec<ProxyNet> {
        list.iter().map(|p| ProxyNet::parse(p).unwrap()).collect()
    }

    fn client(p: &str, lines: &[&str], trusted: &[&str]) -> String {
        client_ip(peer(p), &headers(lines), &proxies(trusted))
            .unwrap()
            .to_string()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        assert_eq!(
            client("198.51.100.9", &["203.0.113.7"], &[]),
            "198.51.100.9"
        );
        assert_eq!(
            client("198.51.100.9", &["203.0.113.7"], &["10.0.0.0/8"]),
            "198.51.100.9"
        );
        assert_eq!(client("10.0.0.1", &[], &["10.0.0.0/8"]), "10.0.0.1");
    }

    #[test]
    fn a_trusted_proxy_names_the_client_from_the_right() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(
            client("10.0.0.1", &["203.0.113.7"], &trusted),
            "203.0.113.7"
        );
        // What the client wrote itself (the left) is not believed.
        assert_eq!(
            client("10.0.0.1", &["6.6.6.6, 203.0.113.7"], &trusted),
            "203.0.113.7"
        );
        // A chain of trusted proxies is skipped; several lines are one list.
        assert_eq!(
            client("10.0.0.1", &["6.6.6.6, 203.0.113.7", "10.0.0.2"], &trusted),
            "203.0.113.7"
        );
        assert_eq!(
            client("10.0.0.1", &["10.0.0.3, 10.0.0.2"], &trusted),
            "10.0.0.3"
        );
        // Ports, brackets, IPv4-mapped IPv6.
        assert_eq!(
            client("10.0.0.1", &["203.0.113.7:5555"], &trusted),
            "203.0.113.7"
        );
        assert_eq!(
            client("10.0.0.1", &["[2001:db8::1]:443"], &trusted),
            "2001:db8::1"
        );
        assert_eq!(
            client("::ffff:10.0.0.1", &["::ffff:203.0.113.7"], &trusted),
            "203.0.113.7"
        );
    }

    #[test]
    fn garbage_stops_at_the_last_address_read() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(client("10.0.0.1", &["unknown"], &trusted), "10.0.0.1");
        assert_eq!(
            client("10.0.0.1", &["203.0.113.7, unknown, 10.0.0.2"], &trusted),
            "10.0.0.2"
        );
        assert!(client_ip(None, &headers(&[]), &proxies(&trusted)).is_none());
        // At most MAX_HOPS entries are read.
        let chain = vec!["10.0.0.9"; MAX_HOPS + 5].join(",");
        let line = format!("203.0.113.7,{chain}");
        assert_eq!(client("10.0.0.1", &[&line], &trusted), "10.0.0.9");
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        let a = bucket_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = bucket_key("2001:db8:1:2:bbbb::2".parse().unwrap());
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, bucket_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(bucket_key("203.0.113.7".parse().unwrap()), "203.0.113.7");
        assert_eq!(
            bucket_key("::ffff:203.0.113.7".parse().unwrap()),
            "203.0.113.7"
        );
    }
}
