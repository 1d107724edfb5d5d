//! Who is calling: the client address and the user agent.
//!
//! Behind reverse proxies the address comes from `X-Forwarded-For`, read
//! from the right: each trusted proxy appends the address it received the
//! request from, so the right-most entry that is not one of our proxies is
//! the last one nobody in between could forge. The left-most entry is
//! whatever the client chose to send (M1 of the security review).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, header};
use ipnet::IpNet;

use crate::core::sessions::ClientInfo;

/// User agents are kept this long, at most (sessions list, audit log).
const USER_AGENT_CHARS: usize = 300;

/// An address as written in X-Forwarded-For (bare, or with a port).
fn parse_address(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    raw.parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// Whether `ip` is one of our reverse proxies.
pub fn is_trusted_proxy(ip: &IpAddr, trusted_proxies: &[IpNet]) -> bool {
    trusted_proxies.iter().any(|net| net.contains(ip))
}

/// The client's address: the peer, or, when the peer is a trusted proxy,
/// the right-most forwarded address that is not.
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted_proxies: &[IpNet],
) -> Option<IpAddr> {
    let trusted = |ip: &IpAddr| is_trusted_proxy(ip, trusted_proxies);
    let mut address = peer.map(|ip| ip.to_canonical())?;
    if !trusted(&address) {
        return Some(address);
    }
    for entry in forwarded_for.unwrap_or_default().rsplit(',') {
        match parse_address(entry) {
            Some(hop) => {
                address = hop;
                if !trusted(&hop) {
                    break;
                }
            }
            // Garbage where an address should be: the hop that wrote it is
            // the last one we can vouch for.
            None => break,
        }
    }
    Some(address)
}

pub fn client_info(
    headers: &HeaderMap,
    extensions: &Extensions,
    trusted_proxies: &[IpNet],
) -> ClientInfo {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    // Several X-Forwarded-For headers are one list, in order.
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
    let address = client_address(peer, forwarded.as_deref(), trusted_proxies);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(USER_AGENT_CHARS).collect());
    ClientInfo {
        address: address.map(|ip| ip.to_string()),
        user_agent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> Option<IpAddr> {
        Some(raw.parse().unwrap())
    }

    fn nets(raw: &[&str]) -> Vec<IpNet> {
        raw.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn m1_the_client_chosen_first_hop_is_not_believed() {
        let proxies = nets(&["10.0.0.0/8"]);
        // nginx appended the address it saw; the first entry is forged.
        assert_eq!(
            client_address(ip("10.0.0.2"), Some("1.2.3.4, 203.0.113.9"), &proxies),
            ip("203.0.113.9")
        );
        // Two proxies in a row are both skipped.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                Some("1.2.3.4, 203.0.113.9, 10.0.0.7"),
                &proxies
            ),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn m1_forwarded_addresses_count_only_from_a_trusted_peer() {
        assert_eq!(
            client_address(
                ip("198.51.100.1"),
                Some("203.0.113.9"),
                &nets(&["10.0.0.0/8"])
            ),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_address(ip("198.51.100.1"), Some("203.0.113.9"), &[]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn m1_garbage_and_ports_in_forwarded_for() {
        let proxies = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_address(ip("10.0.0.2"), Some("<script>, 10.0.0.9"), &proxies),
            ip("10.0.0.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), Some("203.0.113.9:4711"), &proxies),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("::ffff:10.0.0.2"), Some("[2001:db8::1]:443"), &proxies),
            ip("2001:db8::1")
        );
    }
}
