//! The adapter's own estimate of the complexity Buildkite will request for a GraphQL
//! document, computed from the document and its variables alone (no schema), by the rule
//! graphql-ruby applies and Buildkite documents (research 2026-12 §A.2):
//!
//! * a scalar or enum (a field without a sub-selection) costs 0;
//! * an object field costs 1 plus its children;
//! * a connection (a field selecting `edges` or `nodes`) costs 1, plus its other direct
//!   selections (`pageInfo` 1, `count` 0), plus 1 for each item list, plus its page size
//!   times what one item costs (everything under `edges`/`nodes`). The page size is the larger
//!   of `first` and `last`; neither (or `null`) is Buildkite's default of 500.
//!
//! The server is the authority: this is only the model the calibration (`calibration.rs`)
//! corrects with the figure Buildkite reports. It also names the variables that set page
//! sizes, outermost first, for the page sizer.

use serde_json::Value;

/// The page size of a connection without `first` or `last`.
pub(crate) const DEFAULT_PAGE: u64 = 500;
/// Deeper documents are not ours; the bound keeps a hostile one from recursing forever.
const MAX_DEPTH: usize = 64;

/// A field of the document and its sub-selection (fragments are not used by the adapter's
/// documents; an inline fragment's fields count as the parent's).
#[derive(Debug, Default)]
pub(crate) struct Field {
    name: String,
    args: Vec<(String, Arg)>,
    children: Vec<Field>,
}

#[derive(Debug)]
enum Arg {
    Int(u64),
    Var(String),
    Other,
}

/// A parsed operation: its top-level fields and the variables' declared defaults.
#[derive(Debug, Default)]
pub(crate) struct Document {
    fields: Vec<Field>,
    defaults: Vec<(String, u64)>,
}

/// A variable that sets a connection's page size, and how many connections enclose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageVar {
    pub(crate) name: String,
    pub(crate) depth: usize,
}

impl Document {
    /// Parses the first operation of `text`; `None` for a document this parser cannot read.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut p = Parser {
            tokens: tokens(text)?,
            at: 0,
        };
        let mut doc = Document::default();
        // `query Name(...)` or an anonymous `{ ... }`.
        if p.peek() != Some("{") {
            p.next()?; // `query`
            if p.peek().is_some_and(|t| t != "(" && t != "{") {
                p.next()?; // the name
            }
            if p.eat("(") {
                while !p.eat(")") {
                    let name = p.next()?.strip_prefix('$')?.to_owned();
                    p.expect(":")?;
                    p.skip_type()?;
                    if p.eat("=")
                        && let Arg::Int(n) = p.value(0)?
                    {
                        doc.defaults.push((name, n));
                    }
                }
            }
        }
        doc.fields = p.selection(0)?;
        Some(doc)
    }

    /// The requested complexity with these variables.
    pub(crate) fn requested(&self, variables: &Value) -> u64 {
        let cx = Cx {
            variables,
            defaults: &self.defaults,
        };
        self.fields
            .iter()
            .map(|f| cx.field(f))
            .fold(0, u64::saturating_add)
    }

    /// The variables bound to `first`/`last` of a connection, outermost first.
    pub(crate) fn page_vars(&self) -> Vec<PageVar> {
        let mut out = Vec::new();
        for f in &self.fields {
            collect_page_vars(f, 0, &mut out);
        }
        out.sort_by_key(|v| v.depth);
        out
    }
}

fn is_item_list(field: &Field) -> bool {
    matches!(field.name.as_str(), "edges" | "nodes") && !field.children.is_empty()
}

fn is_connection(field: &Field) -> bool {
    field.children.iter().any(is_item_list)
}

fn collect_page_vars(field: &Field, depth: usize, out: &mut Vec<PageVar>) {
    let connection = is_connection(field);
    if connection {
        for (name, arg) in &field.args {
            if let ("first" | "last", Arg::Var(var)) = (name.as_str(), arg) {
                out.push(PageVar {
                    name: var.clone(),
                    depth,
                });
            }
        }
    }
    for child in &field.children {
        collect_page_vars(child, depth + usize::from(connection), out);
    }
}

struct Cx<'a> {
    variables: &'a Value,
    defaults: &'a [(String, u64)],
}

impl Cx<'_> {
    fn set(&self, fields: &[Field]) -> u64 {
        fields
            .iter()
            .map(|f| self.field(f))
            .fold(0, u64::saturating_add)
    }

    fn field(&self, field: &Field) -> u64 {
        if field.children.is_empty() {
            return 0;
        }
        if !is_connection(field) {
            return self.set(&field.children).saturating_add(1);
        }
        let page = self.page(field);
        field
            .children
            .iter()
            .map(|c| {
                if is_item_list(c) {
                    page.saturating_mul(self.set(&c.children)).saturating_add(1)
                } else {
                    self.field(c)
                }
            })
            .fold(1, u64::saturating_add)
    }

    fn page(&self, field: &Field) -> u64 {
        field
            .args
            .iter()
            .filter(|(name, _)| name == "first" || name == "last")
            .filter_map(|(_, arg)| match arg {
                Arg::Int(n) => Some(*n),
                Arg::Var(var) => match self.variables.get(var) {
                    Some(Value::Null) => None,
                    Some(v) => v.as_u64(),
                    None => self
                        .defaults
                        .iter()
                        .find(|(name, _)| name == var)
                        .map(|(_, n)| *n),
                },
                Arg::Other => None,
            })
            .max()
            .unwrap_or(DEFAULT_PAGE)
    }
}

/// Punctuators, names (with a leading `$` for variables), numbers and strings (as `"`);
/// `#` comments and commas dropped. `None` on an unterminated string.
fn tokens(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            c if c.is_whitespace() || c == ',' => {}
            '"' => {
                let mut escaped = false;
                loop {
                    match chars.next()? {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
                out.push("\"".to_owned());
            }
            '.' => {
                chars.next_if_eq(&'.');
                chars.next_if_eq(&'.');
                out.push("...".to_owned());
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' || c == '-' => {
                let mut word = c.to_string();
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' || n == '.' {
                        word.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(word);
            }
            c => out.push(c.to_string()),
        }
    }
    Some(out)
}

struct Parser {
    tokens: Vec<String>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Option<&str> {
        let token = self.tokens.get(self.at)?;
        self.at += 1;
        Some(token)
    }

    fn eat(&mut self, token: &str) -> bool {
        let hit = self.peek() == Some(token);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn expect(&mut self, token: &str) -> Option<()> {
        self.eat(token).then_some(())
    }

    /// `Int`, `[Role!]!`, ...
    fn skip_type(&mut self) -> Option<()> {
        if self.eat("[") {
            self.skip_type()?;
            self.expect("]")?;
        } else {
            self.next()?;
        }
        self.eat("!");
        Some(())
    }

    fn value(&mut self, depth: usize) -> Option<Arg> {
        if depth > MAX_DEPTH {
            return None;
        }
        let token = self.next()?.to_owned();
        Some(match token.as_str() {
            "[" => {
                while !self.eat("]") {
                    self.value(depth + 1)?;
                }
                Arg::Other
            }
            "{" => {
                while !self.eat("}") {
                    self.next()?;
                    self.expect(":")?;
                    self.value(depth + 1)?;
                }
                Arg::Other
            }
            t if t.starts_with('$') => Arg::Var(t[1..].to_owned()),
            t => t.parse::<u64>().map_or(Arg::Other, Arg::Int),
        })
    }

    /// `{ field ... }`: the fields, inline fragments' spliced in.
    fn selection(&mut self, depth: usize) -> Option<Vec<Field>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.expect("{")?;
        let mut fields = Vec::new();
        while !self.eat("}") {
            if self.eat("...") {
                // `... on Type { }` (or a named spread, which costs what it cannot be seen to).
                if self.eat("on") {
                    self.next()?;
                }
                if self.peek() == Some("{") {
                    fields.extend(self.selection(depth + 1)?);
                } else {
                    self.next()?;
                }
                continue;
            }
            let mut name = self.next()?.to_owned();
            if self.eat(":") {
                name = self.next()?.to_owned(); // an alias: the field is what counts
            }
            let mut field = Field {
                name,
                ..Field::default()
            };
            if self.eat("(") {
                while !self.eat(")") {
                    let arg = self.next()?.to_owned();
                    self.expect(":")?;
                    field.args.push((arg, self.value(depth)?));
                }
            }
            while self.eat("@") {
                self.next()?;
                if self.eat("(") {
                    while !self.eat(")") {
                        self.next()?;
                        self.expect(":")?;
                        self.value(depth)?;
                    }
                }
            }
            if self.peek() == Some("{") {
                field.children = self.selection(depth + 1)?;
            }
            fields.push(field);
        }
        Some(fields)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn requested(query: &str, variables: Value) -> u64 {
        Document::parse(query)
            .expect("parses")
            .requested(&variables)
    }

    /// Buildkite's published figures (research §A.1/§A.2).
    #[test]
    fn matches_buildkites_published_figures() {
        // The documented example.
        let q =
            "{ organization(slug: \"a\") { pipelines(first: 500) { edges { node { slug } } } } }";
        assert_eq!(requested(q, json!({})), 503);
        // buildkite/cli#162, as reported by the server: organizations without `first`.
        let q = "{ viewer { organizations { edges { node { slug pipelines(first: 500) {
            edges { node { id slug url repository { url } } } } } } } } }";
        assert_eq!(requested(q, json!({})), 501_503);
        // The documented error: a connection of 500 inside a connection of 500.
        let q = "{ organization(slug: \"a\") { members { edges { node {
            teams { edges { node { id } } } } } } } }";
        assert_eq!(requested(q, json!({})), 251_503);
    }

    /// Hand-computed rows of research §A.3.
    #[test]
    fn matches_the_worked_directory_examples() {
        let nested = |teams: &str| {
            format!(
                "{{ organization(slug: \"a\") {{ members(first: 500) {{ edges {{ node {{
                user {{ id uuid name email }} teams{teams} {{ edges {{ node {{ team {{ name }} role }} }} }} }} }} }} }} }}"
            )
        };
        // Row 2: 3 + 500 × (1 + 1 + 1 + 1 + 40 × 2), without the outer `pageInfo`.
        assert_eq!(requested(&nested("(first: 40)"), json!({})), 42_003);
        assert_eq!(requested(&nested("(first: 50)"), json!({})), 52_003);
        assert_eq!(requested(&nested(""), json!({})), 502_003);
        // Row 4: cookbook teams(first: 100) { members(first: 100) { user { email } } }.
        let q = "{ organization(slug: \"a\") { teams(first: 100) { edges { node { name
            members(first: 100) { edges { node { role user { email } } } } } } } } }";
        assert_eq!(requested(q, json!({})), 20_303);
        // Row 5: a flat team page.
        let q = "query Q($slug: ID!, $first: Int!) { team(slug: $slug) { members(first: $first) {
            count edges { node { uuid role user { uuid name email } } } } } }";
        assert_eq!(requested(q, json!({ "first": 500 })), 1_003);
        // Row 6: last SSO sign-in.
        let q = "{ organization(slug: \"a\") { members(first: 100) { edges { node { user { name }
            sso { authorizations(first: 1) { edges { node { createdAt expiredAt } } } } } } } } }";
        assert_eq!(requested(q, json!({})), 603);
    }

    #[test]
    fn reads_variables_defaults_comments_and_names_the_page_variables() {
        let q = "query Q($n: Int = 7, $m: Int) { organization(slug: \"a\") {
            # a comment { with braces }
            members(first: $n, last: $m) { count pageInfo { hasNextPage }
            edges { cursor node { role sso { mode } user { name avatar { url } } } } } } }";
        assert_eq!(requested(q, json!({})), 4 + 7 * 4);
        assert_eq!(requested(q, json!({ "n": 2 })), 4 + 2 * 4);
        assert_eq!(requested(q, json!({ "n": null })), 4 + 500 * 4);
        assert_eq!(requested(q, json!({ "n": 2, "m": 9 })), 4 + 9 * 4);
        // The document as sent when no optional field is selected.
        let members = crate::fields::document(
            include_str!("graphql/members.graphql"),
            &unidir_core::ListQuery::new(),
        );
        let doc = Document::parse(&members).expect("parses");
        let names: Vec<_> = doc
            .page_vars()
            .into_iter()
            .map(|v| (v.name, v.depth))
            .collect();
        assert_eq!(
            names,
            [
                ("first".to_owned(), 0),
                ("last".to_owned(), 0),
                ("teamsFirst".to_owned(), 1)
            ]
        );
        // 500 members with 40 teams each: what the simulator's documented rule also says.
        let v = json!({ "first": 500, "teamsFirst": 40 });
        assert_eq!(doc.requested(&v), 4 + 500 * (5 + 3 + 40 * 2));
        // Selecting the last sign-in adds `authorizations(first: 1) { edges { node } }`:
        // 3 points a member.
        let with = crate::fields::document(
            include_str!("graphql/members.graphql"),
            &unidir_core::ListQuery::new().with_field(unidir_core::UserField::LastSignInAt),
        );
        let with = Document::parse(&with).expect("parses");
        assert_eq!(with.requested(&v), 4 + 500 * (5 + 3 + 3 + 40 * 2));
        assert!(Document::parse("{ a(b: \"unterminated) }").is_none());
        assert!(Document::parse("{ a { b }").is_none());
    }
}
