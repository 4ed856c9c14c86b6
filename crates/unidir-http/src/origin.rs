//! Where a token may be sent: one rule for every adapter and the proxy.
//!
//! A base URL must be `https`, or plain `http` to a loopback literal (`127.0.0.0/8`, `::1`)
//! or `localhost`, unless the caller opted into plain HTTP explicitly. A host *name* that
//! happens to resolve to a loopback address is not loopback here: resolution can change
//! between the check and the connection, and the token would then travel in cleartext.
//! [`check_base_url`] applies the rule when a client is built; [`OriginGuard`] checks every
//! request's URL against the configured origins just before it is sent, so no code path can
//! send the token anywhere else.

use std::net::IpAddr;

use unidir_core::{Error, Result};
use url::Url;

/// Validates a configured base URL (`what` names it in errors, e.g. "REST URL").
pub fn check_base_url(raw: &str, what: &str, allow_plain_http: bool) -> Result<Url> {
    let url = Url::parse(raw)
        .map_err(|_| Error::invalid_input(format!("the {what} is not a valid URL")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(Error::invalid_input(format!(
            "the {what} must be http or https"
        )));
    }
    if url.host_str().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_input(format!(
            "the {what} must name a host and carry no credentials"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_input(format!(
            "the {what} must not have a query or fragment"
        )));
    }
    if url.scheme() == "http" && !allow_plain_http && !is_loopback(&url) {
        return Err(Error::invalid_input(format!(
            "the {what} must use https: the token is sent over plain http only to a loopback \
             address (127.0.0.1, ::1) or localhost"
        )));
    }
    Ok(url)
}

/// Whether the URL's host is `localhost` or a loopback IP literal (no name resolution).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The origins (scheme, host, port) a client may send requests to.
#[derive(Debug, Clone, Default)]
pub struct OriginGuard {
    allowed: Vec<url::Origin>,
}

impl OriginGuard {
    /// Allows exactly the origins of these (already checked) base URLs.
    pub fn new<'a>(bases: impl IntoIterator<Item = &'a Url>) -> Self {
        Self {
            allowed: bases.into_iter().map(Url::origin).collect(),
        }
    }

    /// Whether no origin was configured (every URL is then refused).
    pub fn is_empty(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Whether `url` is on one of the allowed origins and carries no credentials (a base
    /// URL never does, so a URL that does was not built from one).
    pub fn allows(&self, url: &Url) -> bool {
        let origin = url.origin();
        origin.is_tuple()
            && self.allowed.contains(&origin)
            && url.username().is_empty()
            && url.password().is_none()
    }

    /// Whether every allowed origin is `https` (and there is one).
    pub fn https_only(&self) -> bool {
        !self.allowed.is_empty()
            && self
                .allowed
                .iter()
                .all(|o| matches!(o, url::Origin::Tuple(scheme, _, _) if scheme == "https"))
    }

    /// The client side of the rule, applied to a caller's `builder` (apply it last, so
    /// nothing set before can undo it): never follow a redirect, not even to the same
    /// origin; never send `Referer`; and refuse plain `http` outright when every allowed
    /// origin is `https`.
    pub fn harden_reqwest(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        builder
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .https_only(self.https_only())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rule() {
        for ok in [
            "https://api.buildkite.com",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:9",
            "http://LOCALHOST",
            "http://[::1]:80",
        ] {
            assert!(check_base_url(ok, "REST URL", false).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.buildkite.com",
            "http://10.0.0.1:8080",
            "http://192.168.1.4",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "http://[::ffff:7f00:1]",
            "http://0.0.0.0",
            "ftp://api.buildkite.com",
            "https://user:pw@api.buildkite.com",
            "https://user@api.buildkite.com",
            "https://:pw@api.buildkite.com",
            "https://api.buildkite.com/?x=1",
            "https://api.buildkite.com/#f",
            "not a url",
        ] {
            assert!(check_base_url(bad, "REST URL", false).is_err(), "{bad}");
        }
        assert!(check_base_url("http://sim:8080", "REST URL", true).is_ok());
        let e = check_base_url("http://sim:8080", "REST URL", false).expect_err("refused");
        assert!(e.message().contains("https"), "{e}");
    }

    #[test]
    fn guard_matches_origin_exactly() {
        let base = Url::parse("http://127.0.0.1:8080/root").expect("url");
        let guard = OriginGuard::new([&base]);
        let ok = Url::parse("http://127.0.0.1:8080/v2/x?y=1").expect("url");
        assert!(guard.allows(&ok));
        for other in [
            "http://127.0.0.1:8081/v2",
            "https://127.0.0.1:8080/v2",
            "http://localhost:8080/v2",
            "http://evil.example/v2",
        ] {
            assert!(!guard.allows(&Url::parse(other).expect("url")), "{other}");
        }
        assert!(!OriginGuard::default().allows(&ok));
        // Credentials in the URL are never on an allowed origin.
        for with_credentials in [
            "http://user@127.0.0.1:8080/v2",
            "http://:pw@127.0.0.1:8080/v2",
            "http://user:pw@127.0.0.1:8080/v2",
        ] {
            let url = Url::parse(with_credentials).expect("url");
            assert!(!guard.allows(&url), "{with_credentials}");
        }
    }

    #[test]
    fn https_only_when_every_origin_is_https() {
        let https = Url::parse("https://api.example.com").expect("url");
        let graphql = Url::parse("https://graphql.example.com/v1").expect("url");
        let local = Url::parse("http://127.0.0.1:8080").expect("url");
        assert!(OriginGuard::new([&https, &graphql]).https_only());
        assert!(!OriginGuard::new([&https, &local]).https_only());
        assert!(!OriginGuard::new([&local]).https_only());
        assert!(!OriginGuard::default().https_only());
    }

    #[test]
    fn guard_without_origins_is_empty() {
        assert!(OriginGuard::default().is_empty());
        assert!(OriginGuard::new([]).is_empty());
        let base = Url::parse("https://api.buildkite.com").expect("url");
        assert!(!OriginGuard::new([&base]).is_empty());
    }
}
