//! What the proxy knows about one provider's API: its default endpoints, where its paths
//! live, where an organization's resources are, which extra headers it understands, how its
//! errors read. The provider crate builds these rules; the proxy only applies them.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use unidir_core::{Error, Result};
use unidir_http::status::{BasicStatusHook, StatusHook};
use unidir_http::{IetfDraft, RateLimitScheme};

use crate::request::Method;
use crate::validate;

/// Checks an organization slug before it is used for pinning.
pub type SlugRule = fn(&str) -> Result<()>;

/// A provider's rules for the proxy.
///
/// ```
/// use unidir_proxy::{Proxy, ProxyRules};
///
/// let rules = ProxyRules::new("example")
///     .with_default_rest_url("https://api.example.com")
///     .with_path_prefix("/v1/")
///     .with_organization_roots(["/v1/orgs"])
///     .with_identity_paths(["/v1/me"]);
/// let proxy = Proxy::builder(rules)
///     .with_token("tok_example")
///     .with_organization("acme")
///     .build()
///     .expect("valid configuration");
/// assert!(proxy.check(&unidir_proxy::ProxyRequest::get("/v1/orgs/acme/projects")).is_ok());
/// assert!(proxy.check(&unidir_proxy::ProxyRequest::get("/v1/orgs/other/projects")).is_err());
/// ```
#[derive(Clone)]
pub struct ProxyRules {
    provider: &'static str,
    rest_url: Option<String>,
    graphql_url: Option<String>,
    path_prefix: String,
    organization_roots: Vec<String>,
    identity_paths: Vec<String>,
    slug_rule: SlugRule,
    forwarded_headers: Vec<String>,
    path_words: Vec<String>,
    statuses: Arc<dyn StatusHook>,
    rate_limits: Arc<dyn RateLimitScheme>,
}

impl fmt::Debug for ProxyRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyRules")
            .field("provider", &self.provider)
            .field("rest_url", &self.rest_url)
            .field("graphql_url", &self.graphql_url)
            .field("path_prefix", &self.path_prefix)
            .field("organization_roots", &self.organization_roots)
            .field("identity_paths", &self.identity_paths)
            .field("forwarded_headers", &self.forwarded_headers)
            .field("rate_limits", &self.rate_limits)
            .finish_non_exhaustive()
    }
}

/// Request headers a provider may not add to the forwarded set: credentials, routing and
/// framing belong to the proxy.
const NEVER_FORWARDED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "forwarded",
    "x-real-ip",
];

impl ProxyRules {
    /// Rules for `provider` (the name written into errors and cursors) with nothing
    /// provider-specific yet: no default URLs (the builder must be given a REST URL; GraphQL
    /// is off unless given one), paths anywhere under `/`, no organization roots (so no
    /// pinning), no identity paths, no extra headers, `{"message"}` error bodies, the IETF
    /// draft's `RateLimit-*` headers, and a slug rule admitting 1 to 255 letters, digits,
    /// `-`, `.`, `_` or `~`.
    pub fn new(provider: &'static str) -> Self {
        Self {
            provider,
            rest_url: None,
            graphql_url: None,
            path_prefix: "/".to_owned(),
            organization_roots: Vec::new(),
            identity_paths: Vec::new(),
            slug_rule: default_slug_rule,
            forwarded_headers: Vec::new(),
            path_words: Vec::new(),
            statuses: Arc::new(BasicStatusHook::new(provider)),
            rate_limits: Arc::new(IetfDraft::new()),
        }
    }

    /// The REST root used when the builder is given none.
    pub fn with_default_rest_url(mut self, url: impl Into<String>) -> Self {
        self.rest_url = Some(url.into());
        self
    }

    /// The GraphQL endpoint used when the builder is given none. Without one (here or on the
    /// builder) the GraphQL passthrough is off.
    pub fn with_default_graphql_url(mut self, url: impl Into<String>) -> Self {
        self.graphql_url = Some(url.into());
        self
    }

    /// Every REST path must start with this (`/v2/`), which starts and ends with `/`.
    pub fn with_path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = prefix.into();
        self
    }

    /// Where an organization's resources live (`/v2/organizations`): with pinning on, a
    /// path must be `<root>/<org>` or lie below it for one of these.
    pub fn with_organization_roots<I, S>(mut self, roots: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.organization_roots = roots.into_iter().map(Into::into).collect();
        self
    }

    /// Paths outside every organization that stay reachable when pinned (`GET` only, exact
    /// match): the token's own identity and the provider's public metadata.
    pub fn with_identity_paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.identity_paths = paths.into_iter().map(Into::into).collect();
        self
    }

    /// How an organization slug must look.
    pub fn with_slug_rule(mut self, rule: SlugRule) -> Self {
        self.slug_rule = rule;
        self
    }

    /// Request headers the provider understands, forwarded in addition to
    /// [`crate::FORWARDED_REQUEST_HEADERS`] (lowercased when the proxy is built).
    /// Credentials, `Host`, `Forwarded` and hop-by-hop headers cannot be added.
    pub fn with_forwarded_headers<I, S>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.forwarded_headers = headers.into_iter().map(Into::into).collect();
        self
    }

    /// Path segments that name things rather than identify them (`pipelines`, `builds`):
    /// logs show them, and every other segment as `*`.
    pub fn with_path_words<I, S>(mut self, words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.path_words = words.into_iter().map(Into::into).collect();
        self
    }

    /// How the provider's error answers read (for [`crate::Proxy::list`]'s typed errors).
    pub fn with_status_hook(mut self, hook: Arc<dyn StatusHook>) -> Self {
        self.statuses = hook;
        self
    }

    /// How the provider's responses report rate limits: read into
    /// [`crate::ProxyResponse::rate_limit`] and used to pace the proxy's requests.
    pub fn with_rate_limit_scheme(mut self, scheme: Arc<dyn RateLimitScheme>) -> Self {
        self.rate_limits = scheme;
        self
    }

    /// The provider name written into errors.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The default REST root, if any.
    pub fn default_rest_url(&self) -> Option<&str> {
        self.rest_url.as_deref()
    }

    /// The default GraphQL endpoint, if any.
    pub fn default_graphql_url(&self) -> Option<&str> {
        self.graphql_url.as_deref()
    }

    /// The prefix every REST path starts with.
    pub fn path_prefix(&self) -> &str {
        &self.path_prefix
    }

    /// The organization roots.
    pub fn organization_roots(&self) -> &[String] {
        &self.organization_roots
    }

    /// The identity paths.
    pub fn identity_paths(&self) -> &[String] {
        &self.identity_paths
    }

    /// The provider's extra forwarded request headers.
    pub fn forwarded_headers(&self) -> &[String] {
        &self.forwarded_headers
    }

    /// The status hook.
    pub fn status_hook(&self) -> &dyn StatusHook {
        self.statuses.as_ref()
    }

    /// The rate-limit scheme.
    pub fn rate_limit_scheme(&self) -> Arc<dyn RateLimitScheme> {
        Arc::clone(&self.rate_limits)
    }

    /// Checks an organization slug with the provider's rule.
    pub fn check_slug(&self, slug: &str) -> Result<()> {
        (self.slug_rule)(slug)
    }

    /// `path` as logs show it: the prefix's segments and the path words kept, every other
    /// segment (an identifier) replaced by `*`.
    pub fn path_template(&self, path: &str) -> String {
        let mut out = String::with_capacity(path.len());
        for segment in path.split('/').skip(1) {
            out.push('/');
            let word = self
                .path_prefix
                .split('/')
                .any(|p| p == segment && !p.is_empty())
                || self.path_words.iter().any(|w| w == segment);
            out.push_str(if word { segment } else { "*" });
        }
        out
    }

    /// Checks the rules themselves (at build time): a well-formed prefix, roots and identity
    /// paths that are valid paths, and no header the proxy must own.
    pub(crate) fn validate(&mut self) -> Result<()> {
        let prefix = &self.path_prefix;
        let prefix_ok = prefix.starts_with('/')
            && prefix.ends_with('/')
            && (prefix == "/" || validate::check_path(&prefix[..prefix.len() - 1], "/").is_ok());
        if !prefix_ok {
            return Err(Error::invalid_input(
                "the proxy rules' path prefix must be a valid path that starts and ends with '/'",
            ));
        }
        for path in self.organization_roots.iter().chain(&self.identity_paths) {
            validate::check_path(path, &self.path_prefix).map_err(|reason| {
                Error::invalid_input(format!(
                    "an organization root or identity path of the proxy rules is not a valid path: {reason}"
                ))
            })?;
        }
        for header in &mut self.forwarded_headers {
            let lower = header.trim().to_ascii_lowercase();
            if http::HeaderName::from_bytes(lower.as_bytes()).is_err()
                || NEVER_FORWARDED.contains(&lower.as_str())
                || lower.starts_with("proxy-")
                || lower.starts_with("x-forwarded-")
            {
                return Err(Error::invalid_input(
                    "the proxy rules name a forwarded header that is not a valid name or that the proxy must own",
                ));
            }
            *header = lower;
        }
        Ok(())
    }

    /// With pinning on, a path must be `<root>/<org>` or lie below it, for one of the
    /// organization roots (compared as exact strings: no other segment position, no
    /// alternative spelling or encoding counts), or — for GET only — be one of the identity
    /// paths.
    pub(crate) fn check_pinned(
        &self,
        path: &str,
        org: &str,
        method: Method,
    ) -> std::result::Result<(), validate::Reason> {
        for root in &self.organization_roots {
            let Some(rest) = path
                .strip_prefix(root.as_str())
                .and_then(|r| r.strip_prefix('/'))
            else {
                continue;
            };
            let slug = rest.split('/').next().unwrap_or(rest);
            return if slug == org {
                Ok(())
            } else {
                Err(Cow::Borrowed(
                    "the path names an organization other than the configured one",
                ))
            };
        }
        if method == Method::Get && self.identity_paths.iter().any(|p| p == path) {
            return Ok(());
        }
        let mut roots = self
            .organization_roots
            .iter()
            .map(|r| format!("{r}/<org>/"));
        let first = roots.next().unwrap_or_default();
        let others: Vec<String> = roots.collect();
        Err(Cow::Owned(if others.is_empty() {
            format!("the proxy is pinned to its organization: paths must be under {first}")
        } else {
            format!(
                "the proxy is pinned to its organization: paths must be under {first} (or {})",
                others.join(", ")
            )
        }))
    }
}

/// The slug rule of [`ProxyRules::new`]: one path segment of unreserved characters.
fn default_slug_rule(slug: &str) -> Result<()> {
    let ok = (1..=255).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        && !slug.bytes().all(|b| b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "the organization slug must be 1 to 255 letters, digits, '-', '.', '_' or '~'",
        ))
    }
}

/// Rules shaped like the REST API the unit tests were written against (`/v2/`, three
/// organization roots, three identity paths).
#[cfg(test)]
pub(crate) fn test_rules() -> ProxyRules {
    ProxyRules::new("example")
        .with_default_rest_url("https://api.example.com")
        .with_default_graphql_url("https://graphql.example.com/v1")
        .with_path_prefix("/v2/")
        .with_organization_roots([
            "/v2/organizations",
            "/v2/packages/organizations",
            "/v2/analytics/organizations",
        ])
        .with_identity_paths(["/v2/user", "/v2/access-token", "/v2/meta"])
        .with_forwarded_headers(["X-Include-Stats"])
        .with_path_words(["v2", "organizations", "pipelines", "builds"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(mut rules: ProxyRules) -> Result<ProxyRules> {
        rules.validate().map(|()| rules)
    }

    #[test]
    fn rules_are_checked() {
        let rules = valid(test_rules()).expect("valid");
        assert_eq!(rules.forwarded_headers(), ["x-include-stats"]);
        assert!(
            valid(ProxyRules::new("p")).is_ok(),
            "the bare rules are valid"
        );
        for prefix in ["v2/", "/v2", "/v2/../", "//", "/v 2/"] {
            assert!(
                valid(ProxyRules::new("p").with_path_prefix(prefix)).is_err(),
                "{prefix}"
            );
        }
        assert!(valid(ProxyRules::new("p").with_path_prefix("/api/v3/")).is_ok());
        // Roots and identity paths must be valid paths under the prefix.
        for root in ["/v3/organizations", "/v2/organizations/", "/v2/a%2fb"] {
            let rules = test_rules().with_organization_roots([root]);
            assert!(valid(rules).is_err(), "{root}");
            let rules = test_rules().with_identity_paths([root]);
            assert!(valid(rules).is_err(), "{root}");
        }
        for header in [
            "Authorization",
            "cookie",
            "Host",
            "Proxy-Authorization",
            "proxy-anything",
            "X-Forwarded-For",
            "Connection",
            "bad header",
            "",
        ] {
            let rules = test_rules().with_forwarded_headers([header]);
            assert!(valid(rules).is_err(), "{header:?}");
        }
    }

    #[test]
    fn default_slug_rule_is_one_safe_segment() {
        let rules = ProxyRules::new("p");
        for ok in ["acme", "acme-inc", "a.b_c~d", "A1"] {
            assert!(rules.check_slug(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(256);
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a%2fb",
            "a b",
            "caf\u{e9}",
            long.as_str(),
        ] {
            assert!(rules.check_slug(bad).is_err(), "{bad:?}");
        }
    }

    /// Moved with `check_pinned` from `validate.rs`: the same assertions, over rules shaped
    /// like the ones they were written for.
    #[test]
    fn pinning() {
        let rules = test_rules();
        let org = "acme";
        assert!(
            rules
                .check_pinned("/v2/organizations/acme", org, Method::Get)
                .is_ok()
        );
        assert!(
            rules
                .check_pinned("/v2/organizations/acme/members", org, Method::Delete)
                .is_ok()
        );
        assert!(
            rules
                .check_pinned(
                    "/v2/packages/organizations/acme/registries",
                    org,
                    Method::Get
                )
                .is_ok()
        );
        assert!(rules.check_pinned("/v2/user", org, Method::Get).is_ok());
        assert!(
            rules
                .check_pinned("/v2/access-token", org, Method::Delete)
                .is_err()
        );
        assert!(
            rules
                .check_pinned("/v2/organizations", org, Method::Get)
                .is_err()
        );
        assert!(
            rules
                .check_pinned("/v2/organizations/acme2", org, Method::Get)
                .is_err()
        );
        assert!(
            rules
                .check_pinned("/v2/organizations/ACME", org, Method::Get)
                .is_err()
        );
        assert!(rules.check_pinned("/v2/builds", org, Method::Get).is_err());
        assert!(
            rules
                .check_pinned("/v2/packages/organizations/other/x", org, Method::Get)
                .is_err()
        );
        assert!(
            rules
                .check_pinned("/v2/analytics/organizations/acme/suites", org, Method::Get)
                .is_ok()
        );
        assert!(
            rules
                .check_pinned("/v2/packages/organizations/acme", org, Method::Get)
                .is_ok()
        );
        assert!(
            rules
                .check_pinned("/v2/anything/organizations/acme/teams", org, Method::Get)
                .is_err()
        );
        assert!(
            rules
                .check_pinned("/v2/packages/organizations", org, Method::Get)
                .is_err()
        );
        assert!(
            rules
                .check_pinned("/v2/organizations/acme-evil", org, Method::Get)
                .is_err()
        );
        assert!(
            rules
                .check_pinned("/v2/organizationsx/acme", org, Method::Get)
                .is_err()
        );
        assert!(rules.check_pinned("/v2/meta", org, Method::Get).is_ok());
        assert!(rules.check_pinned("/v2/user", org, Method::Post).is_err());
        assert!(rules.check_pinned("/v2/user/x", org, Method::Get).is_err());
    }

    #[test]
    fn pinned_refusal_names_every_root() {
        let rules = test_rules();
        let reason = rules
            .check_pinned("/v2/builds", "acme", Method::Get)
            .expect_err("outside");
        assert_eq!(
            reason,
            "the proxy is pinned to its organization: paths must be under \
             /v2/organizations/<org>/ (or /v2/packages/organizations/<org>/, \
             /v2/analytics/organizations/<org>/)"
        );
        let one = ProxyRules::new("p").with_organization_roots(["/orgs"]);
        let reason = one
            .check_pinned("/x", "acme", Method::Get)
            .expect_err("outside");
        assert_eq!(
            reason,
            "the proxy is pinned to its organization: paths must be under /orgs/<org>/"
        );
    }

    #[test]
    fn templates_keep_prefix_segments_and_words() {
        let rules = ProxyRules::new("p").with_path_prefix("/api/v3/");
        assert_eq!(rules.path_template("/api/v3/repos/x"), "/api/v3/*/*");
        let rules = rules.with_path_words(["repos"]);
        assert_eq!(rules.path_template("/api/v3/repos/x"), "/api/v3/repos/*");
    }
}
