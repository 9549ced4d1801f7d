//! Where deliveries may go. A store owner chooses the URL, so by default
//! only public addresses are reached: not loopback, private, link-local,
//! shared (CGNAT) or unspecified ones, which would let an owner make the
//! server probe its own network. The check is made at registration (IP
//! literals, `localhost`) and again at every connection (names are
//! resolved by [`PublicOnly`], so a name cannot later point inside).
//! `--webhook-private-targets` allows every address (tests, a shop's own
//! network).

use std::net::{IpAddr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Host;

/// Which addresses deliveries may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets {
    PublicOnly,
    Any,
}

impl Targets {
    pub fn from_private_allowed(allowed: bool) -> Self {
        if allowed { Self::Any } else { Self::PublicOnly }
    }

    /// Why a URL's host may not be reached, when it may not; names other
    /// than `localhost` are checked when resolved.
    pub fn refusal(self, url: &Url) -> Option<String> {
        if self == Self::Any {
            return None;
        }
        let ip = match url.host()? {
            Host::Domain(name) if name.eq_ignore_ascii_case("localhost") => {
                return Some("localhost is not a public address".into());
            }
            Host::Domain(_) => return None,
            Host::Ipv4(ip) => IpAddr::V4(ip),
            Host::Ipv6(ip) => IpAddr::V6(ip),
        };
        (!is_public(ip)).then(|| format!("{ip} is not a public address"))
    }
}

/// True for an address anyone on the internet could reach.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

/// Resolves names to their public addresses only; a name with none fails
/// the delivery with a message saying so.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let public: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass_by_default() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        let refused =
            |targets: Targets, url: &str| targets.refusal(&url.parse().unwrap()).is_some();
        assert!(refused(Targets::PublicOnly, "http://localhost:8080/hook"));
        assert!(refused(Targets::PublicOnly, "http://[::1]/hook"));
        assert!(refused(
            Targets::PublicOnly,
            "http://169.254.169.254/latest"
        ));
        assert!(!refused(Targets::PublicOnly, "https://shop.example/hook"));
        assert!(!refused(Targets::Any, "http://127.0.0.1:9000/hook"));
    }
}
