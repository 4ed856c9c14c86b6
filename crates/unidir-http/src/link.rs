//! RFC 8288 `Link` header parsing, tolerant of entry order and spacing.
//!
//! Adapters read page *numbers* out of links and rebuild the request from their configured
//! base URL; they never follow the URL itself, so a hostile `Link` cannot redirect the token.

/// One `<url>; rel="..."` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target, verbatim.
    pub url: String,
    /// The relation types (`next`, `prev`, `first`, `last`), lowercased.
    pub rels: Vec<String>,
}

/// Most `Link` entries a response may carry. Providers send a handful (`first`, `prev`,
/// `next`, `last`); more is a contract violation, refused with [`too_many`], never searched.
pub const MAX_LINKS: usize = 16;

/// The message for a response whose `Link` headers hold `count` (> [`MAX_LINKS`]) entries.
pub fn too_many(count: usize) -> String {
    format!("the Link header holds {count} entries; at most {MAX_LINKS} are accepted")
}

/// Parses a `Link` header value. Malformed entries are skipped, never panicked on.
pub fn parse(header: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after_open = &rest[open + 1..];
        let Some(close) = after_open.find('>') else {
            break;
        };
        let url = after_open[..close].trim().to_owned();
        let params_and_more = &after_open[close + 1..];
        // Parameters run until the next entry's '<'.
        let end = params_and_more.find('<').unwrap_or(params_and_more.len());
        let params = &params_and_more[..end];
        let mut rels = Vec::new();
        for param in params.split(';') {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("rel") {
                let value = value.trim().trim_end_matches(',').trim().trim_matches('"');
                rels.extend(value.split_whitespace().map(str::to_ascii_lowercase));
            }
        }
        links.push(Link { url, rels });
        rest = &params_and_more[end..];
    }
    links
}

/// The URL of the first link with relation `rel`.
pub fn find<'a>(links: &'a [Link], rel: &str) -> Option<&'a str> {
    links
        .iter()
        .find(|l| l.rels.iter().any(|r| r == rel))
        .map(|l| l.url.as_str())
}

/// The value of query parameter `name` in `url` (absolute or relative), if present.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_buildkite_middle_page() {
        let header = "<https://api.buildkite.com/v2/organizations/acme-inc/members?page=1&per_page=2>; rel=\"first\", <https://api.buildkite.com/v2/organizations/acme-inc/members?page=1&per_page=2>; rel=\"prev\", <https://api.buildkite.com/v2/organizations/acme-inc/members?page=3&per_page=2>; rel=\"next\", <https://api.buildkite.com/v2/organizations/acme-inc/members?page=3&per_page=2>; rel=\"last\"";
        let links = parse(header);
        assert_eq!(links.len(), 4);
        let next = find(&links, "next").expect("next");
        assert_eq!(query_param(next, "page").as_deref(), Some("3"));
        assert_eq!(query_param(next, "per_page").as_deref(), Some("2"));
        assert_eq!(
            query_param(find(&links, "prev").expect("prev"), "page").as_deref(),
            Some("1")
        );
    }

    #[test]
    fn tolerates_odd_spacing_case_and_garbage() {
        let links = parse("<a?page=2>;REL=next,<b?page=9> ; rel=\"last prev\"");
        assert_eq!(find(&links, "next"), Some("a?page=2"));
        assert_eq!(find(&links, "prev"), Some("b?page=9"));
        for junk in [
            "",
            "<",
            ">",
            "<<>>",
            "no links here",
            "<x>; rel",
            "<x>; =next",
            "<\u{0}>; rel=next",
        ] {
            let _ = parse(junk);
        }
        assert!(find(&parse("<x>; rel=\"prev\""), "next").is_none());
    }

    #[test]
    fn too_many_entries_are_named() {
        let header = vec!["<a?page=2>; rel=next"; MAX_LINKS + 1].join(", ");
        assert_eq!(parse(&header).len(), MAX_LINKS + 1);
        assert!(too_many(17).contains("17 entries"));
    }
}
