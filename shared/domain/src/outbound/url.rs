//! Where a clinic's events may go: an https URL whose host is on the public internet. Private,
//! loopback, link-local and other special-purpose addresses (RFC 6890) are refused, so that an
//! endpoint cannot make Tidings call into its own network or the instance metadata service,
//! unless the deployment allows them (the local stack does, for its own receiver).

use crate::FieldError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// The longest URL an endpoint may have.
pub const MAX_URL_LEN: usize = 2048;

/// Whether a deployment may send events to private addresses and over plain http.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    /// Only https to public addresses (every deployment).
    #[default]
    PublicOnly,
    /// Also http and private, loopback and link-local addresses (the local stack).
    AllowPrivate,
}

/// A checked endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(Url);

impl EndpointUrl {
    /// Checks the URL's form and, when its host is an address, the address. A host name is
    /// resolved by the caller ([`is_public`] on each address it resolves to).
    pub fn parse(field: &str, raw: &str, reach: Reach) -> Result<Self, FieldError> {
        let bad = |code: &'static str, msg: &str| FieldError::new(field, code, msg);
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > MAX_URL_LEN {
            return Err(bad(
                "invalid",
                "url must be an https URL of at most 2048 characters",
            ));
        }
        let url = Url::parse(raw).map_err(|_| bad("invalid", "url must be an https URL"))?;
        let scheme_ok =
            url.scheme() == "https" || (url.scheme() == "http" && reach == Reach::AllowPrivate);
        if !scheme_ok {
            return Err(bad("not_https", "url must start with https://"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "invalid",
                "url must not carry a user name or password: verify the signature instead",
            ));
        }
        if url.fragment().is_some() {
            return Err(bad("invalid", "url must not have a #fragment"));
        }
        let refused = || {
            bad(
                "private_address",
                "url must reach a public address (not a private, loopback or link-local one)",
            )
        };
        match url.host() {
            None => return Err(bad("invalid", "url must name a host")),
            Some(Host::Ipv4(a)) if !allowed(IpAddr::V4(a), reach) => return Err(refused()),
            Some(Host::Ipv6(a)) if !allowed(IpAddr::V6(a), reach) => return Err(refused()),
            Some(Host::Domain(d)) if reach == Reach::PublicOnly && local_name(d) => {
                return Err(refused());
            }
            _ => {}
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host name to resolve, when the host is a name and not an address.
    pub fn domain(&self) -> Option<&str> {
        self.0.domain()
    }

    /// The port a connection goes to.
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }
}

/// Names that only mean something inside a network.
fn local_name(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost"
        || [
            ".localhost",
            ".local",
            ".internal",
            ".localdomain",
            ".home.arpa",
        ]
        .iter()
        .any(|s| d.ends_with(s))
        || !d.contains('.')
}

/// Whether `reach` lets events go to `ip`.
pub fn allowed(ip: IpAddr, reach: Reach) -> bool {
    reach == Reach::AllowPrivate || is_public(ip)
}

/// Whether the address is on the public internet: not in any special-purpose block of the
/// IANA registries (RFC 6890 and later), an IPv4 address mapped or translated into IPv6 judged
/// as the IPv4 address it carries.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => public_v4(a),
        IpAddr::V6(a) => public_v6(a),
    }
}

fn public_v4(a: Ipv4Addr) -> bool {
    let [b0, b1, b2, _] = a.octets();
    !(b0 == 0                                   // "this network"
        || b0 == 10                             // private
        || (b0 == 100 && (64..128).contains(&b1)) // shared address space (carrier NAT)
        || b0 == 127                            // loopback
        || (b0 == 169 && b1 == 254)             // link-local, the metadata service
        || (b0 == 172 && (16..32).contains(&b1)) // private
        || (b0 == 192 && b1 == 0 && (b2 == 0 || b2 == 2)) // IETF protocol, TEST-NET-1
        || (b0 == 192 && b1 == 88 && b2 == 99)  // 6to4 relay
        || (b0 == 192 && b1 == 168)             // private
        || (b0 == 198 && (b1 == 18 || b1 == 19)) // benchmarking
        || (b0 == 198 && b1 == 51 && b2 == 100) // TEST-NET-2
        || (b0 == 203 && b1 == 0 && b2 == 113)  // TEST-NET-3
        || b0 >= 224) // multicast, reserved, broadcast
}

fn public_v6(a: Ipv6Addr) -> bool {
    if let Some(v4) = a.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = a.segments();
    // NAT64 (64:ff9b::/96): the IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [_, _, _, _, _, _, hi, lo] = s;
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        return public_v4(v4);
    }
    !(a.is_unspecified()
        || a.is_loopback()
        || s[0] & 0xfe00 == 0xfc00     // unique local
        || s[0] & 0xffc0 == 0xfe80     // link-local
        || s[0] & 0xff00 == 0xff00     // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments (Teredo, ORCHID…)
        || s[0] == 0x2002                // 6to4: the IPv4 address is anyone's guess
        || s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<EndpointUrl, String> {
        EndpointUrl::parse("url", raw, Reach::PublicOnly).map_err(|e| e.code.to_owned())
    }

    #[test]
    fn public_https_urls_are_taken() {
        for ok in [
            "https://hooks.example.com/tidings",
            "https://hooks.example.com:8443/x?y=1",
            "https://93.184.216.34/in",
            "https://[2606:2800:220:1:248:1893:25c8:1946]/in",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn private_loopback_link_local_and_plain_http_are_refused() {
        for (raw, code) in [
            ("http://hooks.example.com/", "not_https"),
            ("ftp://hooks.example.com/", "not_https"),
            ("https://127.0.0.1/", "private_address"),
            ("https://10.1.2.3/", "private_address"),
            ("https://172.20.0.1/", "private_address"),
            ("https://192.168.1.1/", "private_address"),
            (
                "https://169.254.169.254/latest/meta-data/",
                "private_address",
            ),
            ("https://100.64.0.1/", "private_address"),
            ("https://0.0.0.0/", "private_address"),
            ("https://[::1]/", "private_address"),
            ("https://[fd00::1]/", "private_address"),
            ("https://[fe80::1]/", "private_address"),
            ("https://[::ffff:127.0.0.1]/", "private_address"),
            ("https://[64:ff9b::a9fe:a9fe]/", "private_address"),
            ("https://localhost/", "private_address"),
            ("https://api.localhost/", "private_address"),
            ("https://metadata.google.internal/", "private_address"),
            ("https://printer.local/", "private_address"),
            ("https://intranet/", "private_address"),
            // Decimal and hex forms are addresses too (the URL parser normalises them).
            ("https://2130706433/", "private_address"),
            ("https://0x7f.1/", "private_address"),
            ("https://user:pw@hooks.example.com/", "invalid"),
            ("https://hooks.example.com/#x", "invalid"),
            ("not a url", "invalid"),
            ("", "invalid"),
        ] {
            assert_eq!(parse(raw).err().as_deref(), Some(code), "{raw}");
        }
        let long = format!("https://hooks.example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(parse(&long).err().as_deref(), Some("invalid"));
    }

    #[test]
    fn a_deployment_that_allows_private_addresses_takes_its_own_receiver() {
        let local = EndpointUrl::parse("url", "http://127.0.0.1:9100/events", Reach::AllowPrivate);
        assert_eq!(local.map(|u| u.port()).ok(), Some(9100));
    }
}
