//! Just enough GraphQL lexing to tell a read from a write.

/// Whether `document` only reads: it has no top-level `mutation` or `subscription` keyword.
///
/// Strings, block strings and comments are skipped, and only words outside every `{...}` and
/// `(...)` count. Anything the scanner cannot make sense of (unbalanced brackets, an
/// unterminated string) counts as a write, so the only possible mistake is *not* retrying a
/// read.
pub(crate) fn is_read_only(document: &str) -> bool {
    let bytes = document.as_bytes();
    let mut depth: i64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                loop {
                    if i >= bytes.len() {
                        return false;
                    }
                    if bytes[i] == b'\\' && bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'"' => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None | Some(b'\n') | Some(b'\r') => return false,
                        Some(b'\\') => i += 2,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                continue;
            }
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            b if b == b'_' || b.is_ascii_alphabetic() => {
                let start = i;
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                let word = &document[start..i];
                if depth == 0 && (word == "mutation" || word == "subscription") {
                    return false;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::is_read_only;

    #[test]
    fn reads_and_writes() {
        let reads = [
            "{ viewer { user { name } } }",
            "query Members($org: ID!) { organization(slug: $org) { members(first: 5) { edges { node { id } } } } }",
            "# mutation in a comment\nquery { viewer { id } }",
            "query Q($s: String = \"mutation\") { viewer { id } }",
            "query Q { a(text: \"\"\"\nmutation {\n\"\"\") }",
            "query A { viewer { id } } fragment F on User { mutation: name }",
        ];
        for doc in reads {
            assert!(is_read_only(doc), "{doc}");
        }
        let writes = [
            "mutation { teamCreate(input: {}) { team { id } } }",
            "  mutation M($id: ID!) { teamDelete(input: {id: $id}) { deletedTeamID } }",
            "query A { viewer { id } } mutation B { x }",
            "subscription { buildUpdated { id } }",
            "query { viewer { id }",
            "query { viewer(x: \"unterminated) }",
            "query { a } }",
        ];
        for doc in writes {
            assert!(!is_read_only(doc), "{doc}");
        }
    }
}
