//! Cursors: opaque, versioned, bound to provider, resource (or named list) and query; tampering rejected.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use unidir_core::{Cursor, CursorBinding, ErrorKind, Filters, Resource};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct State {
    page: u32,
}

fn users_binding() -> CursorBinding {
    CursorBinding::new("buildkite", Resource::Users, &Filters::default(), &[])
}

fn raw_json(cursor: &Cursor) -> Value {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_str()).expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

fn reencode(value: &Value) -> Cursor {
    Cursor::new(URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json")))
}

#[test]
fn round_trip_and_shape() {
    let binding = users_binding();
    let cursor = binding.encode(&State { page: 3 }).expect("encode");
    // Opaque text: URL-safe alphabet only, so it can travel in a query string untouched.
    assert!(
        cursor
            .as_str()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    let decoded: State = binding.decode(&cursor).expect("decode");
    assert_eq!(decoded, State { page: 3 });
    let wire = raw_json(&cursor);
    assert_eq!(wire["v"], 1);
    assert_eq!(wire["p"], "buildkite");
    assert_eq!(wire["r"], "users");
}

#[test]
fn rejects_other_resource_provider_and_query() {
    let cursor = users_binding().encode(&State { page: 2 }).expect("encode");

    let groups = CursorBinding::new("buildkite", Resource::Groups, &Filters::default(), &[]);
    let err = groups.decode::<State>(&cursor).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    assert!(err.message().contains("issued for users"), "{err}");

    let memory = CursorBinding::new("memory", Resource::Users, &Filters::default(), &[]);
    assert_eq!(
        memory.decode::<State>(&cursor).unwrap_err().kind(),
        ErrorKind::InvalidCursor
    );

    let filtered = Filters::new().with_email("a@example.test");
    let other_query = CursorBinding::new("buildkite", Resource::Users, &filtered, &[]);
    let err = other_query.decode::<State>(&cursor).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    assert!(err.message().contains("different query"), "{err}");

    // Same resource, different scope (another group's member list).
    let g1 = CursorBinding::new(
        "buildkite",
        Resource::GroupMembers,
        &Filters::default(),
        &["g1"],
    );
    let g2 = CursorBinding::new(
        "buildkite",
        Resource::GroupMembers,
        &Filters::default(),
        &["g2"],
    );
    let c = g1.encode(&State { page: 2 }).expect("encode");
    assert_eq!(
        g2.decode::<State>(&c).unwrap_err().kind(),
        ErrorKind::InvalidCursor
    );
}

#[test]
fn rejects_tampering_garbage_and_versions() {
    let binding = users_binding();
    let cursor = binding.encode(&State { page: 2 }).expect("encode");

    // Edited state with the old checksum.
    let mut wire = raw_json(&cursor);
    wire["s"]["page"] = json!(9);
    let err = binding.decode::<State>(&reencode(&wire)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    assert!(err.message().contains("altered"), "{err}");

    // A flipped character in the encoded text.
    let mut bytes = cursor.as_str().as_bytes().to_vec();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let flipped = Cursor::new(String::from_utf8(bytes).expect("ascii"));
    assert_eq!(
        binding.decode::<State>(&flipped).unwrap_err().kind(),
        ErrorKind::InvalidCursor
    );

    for garbage in ["", "not base64!", "e30", "bnVsbA", &"A".repeat(5000)] {
        let err = binding.decode::<State>(&Cursor::new(garbage)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCursor, "{garbage:?}");
    }

    let mut future = raw_json(&cursor);
    future["v"] = json!(2);
    let err = binding.decode::<State>(&reencode(&future)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    assert!(err.message().contains("version 2"), "{err}");
}

#[test]
fn never_carries_a_url() {
    let binding = users_binding();
    let err = binding
        .encode(&json!({ "next": "https://evil.example/v2/x" }))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContractViolation);
    assert!(
        binding
            .encode(&json!({ "next": "//evil.example/x" }))
            .is_err()
    );
}

#[test]
fn wrong_state_type_is_invalid_cursor() {
    let binding = users_binding();
    let cursor = binding.encode(&json!({ "other": true })).expect("encode");
    assert_eq!(
        binding.decode::<State>(&cursor).unwrap_err().kind(),
        ErrorKind::InvalidCursor
    );
}

/// A forger can recompute the checksum (it is not a signature), so every decoded field is
/// validated on its own and nothing decoded is echoed back.
#[test]
fn forged_cursor_with_recomputed_checksum_is_refused_without_echo() {
    use sha2::Digest as _;
    let binding = users_binding();
    let good = binding.encode(&State { page: 2 }).expect("encode");
    let wire = raw_json(&good);
    let q = wire["q"].as_str().expect("q").to_owned();
    // Recomputes the checksum the same way the library does.
    let forge = |p: &str, r: &str, q: &str, s: serde_json::Value| {
        let material = serde_json::json!([1, p, r, q, s]);
        let digest = sha2::Sha256::digest(material.to_string().as_bytes());
        let c: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let json = serde_json::json!({ "v": 1, "p": p, "r": r, "q": q, "s": s, "c": c });
        Cursor::new(URL_SAFE_NO_PAD.encode(json.to_string()))
    };
    // Control: a correctly forged cursor for this query is accepted (the checksum is not a
    // secret), which is why the fields themselves must be checked.
    let ok = forge("buildkite", "users", &q, serde_json::json!({ "page": 5 }));
    assert_eq!(
        binding.decode::<State>(&ok).expect("decodes"),
        State { page: 5 }
    );

    let evil_name = format!("\u{1b}[31mevil\n{}", "x".repeat(2900));
    let cases = [
        forge(&evil_name, "users", &q, serde_json::json!({ "page": 1 })),
        forge("Buildkite", "users", &q, serde_json::json!({ "page": 1 })),
        forge(
            "buildkite",
            "users\u{1b}",
            &q,
            serde_json::json!({ "page": 1 }),
        ),
        forge("buildkite", "widgets", &q, serde_json::json!({ "page": 1 })),
        forge(
            "buildkite",
            "users",
            "not-hex-at-all!!",
            serde_json::json!({ "page": 1 }),
        ),
        forge("buildkite", "users", &q, serde_json::json!({ "page": -1 })),
        forge("buildkite", "users", &q, serde_json::json!({ "page": 1.5 })),
        forge(
            "buildkite",
            "users",
            &q,
            serde_json::json!({ "page": "\u{1b}]0;pwned\u{7}" }),
        ),
        forge(
            "buildkite",
            "users",
            &q,
            serde_json::json!({ "page": "y".repeat(1025) }),
        ),
        forge(
            "buildkite",
            "users",
            &q,
            serde_json::json!({ "a": { "b": { "c": { "d": { "e": 1 } } } } }),
        ),
        forge("buildkite", "users", &q, serde_json::json!({ "Page": 1 })),
    ];
    for cursor in &cases {
        let err = binding.decode::<State>(cursor).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCursor, "{err}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains('\u{1b}'), "{shown}");
        assert!(!shown.contains("evil"), "{shown}");
        assert!(!shown.contains("pwned"), "{shown}");
        assert!(shown.len() < 400, "{shown}");
    }
    // Another well-formed provider name is refused without being echoed.
    let other = forge("otherprov", "users", &q, serde_json::json!({ "page": 1 }));
    let err = binding.decode::<State>(&other).unwrap_err();
    assert!(!err.to_string().contains("otherprov"), "{err}");
    // Unknown top-level keys are refused.
    let extra = serde_json::json!({ "v": 1, "p": "buildkite", "r": "users", "q": q, "s": {}, "c": "0000000000000000", "x": 1 });
    let extra = Cursor::new(URL_SAFE_NO_PAD.encode(extra.to_string()));
    assert_eq!(
        binding.decode::<State>(&extra).unwrap_err().kind(),
        ErrorKind::InvalidCursor
    );
}

/// The encoder obeys the decoder's rules: provider state a cursor could not carry back is
/// refused when written, as the provider's contract violation.
#[test]
fn encode_refuses_state_decode_would_refuse() {
    let binding = users_binding();
    for state in [
        json!({ "a": "\u{1b}[31m" }),
        json!({ "a": "y".repeat(1025) }),
        json!({ "a": "café" }),
        json!({ "a": -1 }),
        json!({ "a": { "b": { "c": { "d": { "e": 1 } } } } }),
    ] {
        let err = binding.encode(&state).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::ContractViolation, "{state}");
    }
    let ok = binding
        .encode(&json!({ "a": "y".repeat(1024) }))
        .expect("fits");
    let back: Value = binding.decode(&ok).expect("round trip");
    assert_eq!(back["a"].as_str().map(str::len), Some(1024));
}

/// The fingerprint `users_binding` puts in its cursors.
fn users_fingerprint() -> String {
    let cursor = users_binding().encode(&json!({})).expect("encode");
    raw_json(&cursor)["q"].as_str().expect("q").to_owned()
}

/// A cursor with any fields and a checksum `c`, as a forger would write it.
fn forge_with_checksum(p: &str, r: &str, q: &str, s: &Value, c: &str) -> Cursor {
    reencode(&json!({ "v": 1, "p": p, "r": r, "q": q, "s": s, "c": c }))
}

/// A cursor with any fields and a correctly recomputed checksum (it is not a signature).
fn forge(p: &str, r: &str, q: &str, s: &Value) -> Cursor {
    use sha2::Digest as _;
    let material = json!([1, p, r, q, s]);
    let digest = sha2::Sha256::digest(material.to_string().as_bytes());
    let c: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    forge_with_checksum(p, r, q, s, &c)
}

#[test]
fn prints_verbatim() {
    let cursor = Cursor::new("eyJ2IjoxfQ_-");
    assert_eq!(cursor.to_string(), "eyJ2IjoxfQ_-");
    assert_eq!(format!("{cursor:?}"), "Cursor(eyJ2IjoxfQ_-)");
}

/// The length bound is exact: a genuine cursor of `MAX_CURSOR_LEN` characters decodes, a
/// longer one is refused before it is decoded.
#[test]
fn length_bound_is_exact() {
    let binding = users_binding();
    // Padding spread over several keys, each string within the state's string bound.
    let cursor_with = |pad: usize| {
        let mut state = serde_json::Map::new();
        for (i, chunk) in "x".repeat(pad).as_bytes().chunks(1000).enumerate() {
            let text = String::from_utf8(chunk.to_vec()).expect("ascii");
            state.insert(format!("k{i}"), Value::String(text));
        }
        binding.encode(&Value::Object(state)).expect("encode")
    };
    let pad = (0..4096)
        .find(|&pad| cursor_with(pad).as_str().len() >= unidir_core::MAX_CURSOR_LEN)
        .expect("some padding reaches the bound");
    let at_bound = cursor_with(pad);
    assert_eq!(at_bound.as_str().len(), unidir_core::MAX_CURSOR_LEN);
    binding
        .decode::<Value>(&at_bound)
        .expect("a cursor of exactly the maximum length decodes");
    let over = cursor_with(pad + 1);
    assert!(over.as_str().len() > unidir_core::MAX_CURSOR_LEN);
    let err = binding.decode::<Value>(&over).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    assert!(err.message().contains("1 to 4096 characters"), "{err}");
}

/// Every field of the state is checked, including the ones the adapter's state type would
/// ignore, so a forged cursor cannot smuggle odd keys, deep nesting or terminal escapes.
#[test]
fn state_is_checked_strictly_even_where_the_adapter_would_not_look() {
    let binding = users_binding();
    let q = users_fingerprint();
    let accepted = [
        json!({ "per_page": 100, "page-2": 1, "after": "a b~!{}", "done": false, "x": null }),
        json!({ "a": { "b": { "c": { "d": 1 } } } }),
        json!({ "a": [[[1, "two"]]] }),
        json!({ "a": "y".repeat(1024) }),
        json!({ "k".repeat(32): 1 }),
        json!({ "z9_-": [] }),
    ];
    for state in &accepted {
        let decoded: Value = binding
            .decode(&forge("buildkite", "users", &q, state))
            .unwrap_or_else(|e| panic!("{state} refused: {e}"));
        assert_eq!(&decoded, state);
    }
    let refused = [
        json!({ "Page": 1 }),
        json!({ "bad key": 1 }),
        json!({ "k".repeat(33): 1 }),
        json!({ "": 1 }),
        json!({ "k": "\u{1b}[2J" }),
        json!({ "k": "tab\there" }),
        json!({ "k": "caf\u{e9}" }),
        json!({ "k": "y".repeat(1025) }),
        json!({ "k": -1 }),
        json!({ "k": 1.5 }),
        json!({ "a": { "b": { "c": { "d": { "e": 1 } } } } }),
        json!({ "a": [[[[1]]]] }),
        json!({ "a": [[["\u{7}"]]] }),
        json!({ "a": { "B": 1 } }),
    ];
    for state in &refused {
        let err = binding
            .decode::<Value>(&forge("buildkite", "users", &q, state))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCursor, "{state}");
        assert!(err.message().contains("not a unidir cursor"), "{err}");
    }
    // The typed state would ignore the extra key; the cursor is refused all the same.
    let typed = forge(
        "buildkite",
        "users",
        &q,
        &json!({ "page": 1, "extra": "\u{1b}]0;x\u{7}" }),
    );
    assert!(binding.decode::<State>(&typed).is_err());
}

/// Malformed fields are refused as "not a unidir cursor" before any comparison, so no
/// message describes (or is tempted to echo) forged content; well-formed but different
/// fields get the specific message.
#[test]
fn malformed_fields_are_refused_before_comparison() {
    let binding = users_binding();
    let q = users_fingerprint();
    let page = json!({ "page": 1 });
    let not_unidir = |cursor: &Cursor| {
        let err = binding.decode::<State>(cursor).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCursor);
        assert!(err.message().contains("not a unidir cursor"), "{err}");
    };
    for provider in ["Buildkite", "build kite", "", &"b".repeat(33), "bk\u{1b}"] {
        not_unidir(&forge(provider, "users", &q, &page));
    }
    // 16 characters, not hexadecimal.
    not_unidir(&forge("buildkite", "users", "not-hex-at-all!!", &page));
    not_unidir(&forge("buildkite", "users", &q[..15], &page));
    not_unidir(&forge_with_checksum(
        "buildkite",
        "users",
        &q,
        &page,
        "zzzzzzzzzzzzzzzz",
    ));

    let other = forge("other-prov_2", "users", &q, &page);
    let err = binding.decode::<State>(&other).unwrap_err();
    assert!(err.message().contains("another provider"), "{err}");
    let other_query = forge("buildkite", "users", "0123456789abcdef", &page);
    let err = binding.decode::<State>(&other_query).unwrap_err();
    assert!(err.message().contains("different query"), "{err}");
    let bad_sum = forge_with_checksum("buildkite", "users", &q, &page, "0123456789abcdef");
    let err = binding.decode::<State>(&bad_sum).unwrap_err();
    assert!(err.message().contains("altered"), "{err}");
}

/// Provider names may use lowercase letters, digits, `-` and `_`.
#[test]
fn provider_names_with_digits_dashes_and_underscores_round_trip() {
    for provider in ["my-prov_2", "a", "0-_", &"z".repeat(32)] {
        let binding = CursorBinding::new(provider, Resource::Users, &Filters::default(), &[]);
        let cursor = binding.encode(&State { page: 7 }).expect("encode");
        assert_eq!(
            binding.decode::<State>(&cursor).expect("decode"),
            State { page: 7 },
            "{provider}"
        );
    }
}

#[test]
fn urls_inside_arrays_are_refused_too() {
    let binding = users_binding();
    let err = binding
        .encode(&json!({ "pages": [1, ["https://evil.example/v2/x"]] }))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContractViolation);
    let forged = forge(
        "buildkite",
        "users",
        &users_fingerprint(),
        &json!({ "page": 1, "next": ["//evil.example/x"] }),
    );
    let err = binding.decode::<State>(&forged).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    assert!(err.message().contains("URL"), "{err}");
}

fn list_binding(name: &str, scope: &[&str]) -> CursorBinding {
    CursorBinding::for_list("buildkite", name, &Filters::default(), scope)
}

/// A named list outside the unified model (a proxy's raw list) has its own cursor kind: its
/// cursors and resource cursors refuse each other, with the same provider and query.
#[test]
fn list_cursors_and_resource_cursors_refuse_each_other() {
    let list = list_binding("rest", &[]);
    let cursor = list.encode(&State { page: 2 }).expect("encode");
    assert_eq!(raw_json(&cursor)["r"], "list:rest");
    assert_eq!(
        list.decode::<State>(&cursor).expect("round trip"),
        State { page: 2 }
    );

    for resource in Resource::ALL {
        let other = CursorBinding::new("buildkite", resource, &Filters::default(), &[]);
        let err = other.decode::<State>(&cursor).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCursor, "{resource:?}");
        assert!(err.message().contains("another list"), "{err}");
        assert!(!err.message().contains("rest"), "not echoed: {err}");
        let theirs = other.encode(&State { page: 2 }).expect("encode");
        let err = list.decode::<State>(&theirs).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCursor, "{resource:?}");
        assert!(
            err.message().contains(&format!(
                "issued for {}, not the rest list",
                resource.as_str()
            )),
            "{err}"
        );
    }

    // Another list name, or the same list with another scope, is refused.
    let err = list_binding("graphql", &[])
        .decode::<State>(&cursor)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    let err = list_binding("rest", &["GET", "/v2/x"])
        .decode::<State>(&cursor)
        .unwrap_err();
    assert!(err.message().contains("different query"), "{err}");
}

/// List names obey the provider name rules on both sides: the encoder refuses a name the
/// decoder would, and a forged name is "not a unidir cursor", never echoed.
#[test]
fn list_names_are_checked_strictly() {
    for bad in ["", "Rest", "re st", "rest:x", &"r".repeat(33), "r\u{1b}"] {
        let err = list_binding(bad, &[])
            .encode(&State { page: 1 })
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ContractViolation, "{bad:?}");
    }
    list_binding(&"r".repeat(32), &[])
        .encode(&State { page: 1 })
        .expect("32 characters fit");

    let binding = list_binding("rest", &[]);
    let q = raw_json(&binding.encode(&State { page: 1 }).expect("encode"))["q"]
        .as_str()
        .expect("q")
        .to_owned();
    let page = json!({ "page": 1 });
    let ok = forge("buildkite", "list:rest", &q, &page);
    assert_eq!(
        binding
            .decode::<State>(&ok)
            .expect("forged but well formed"),
        State { page: 1 }
    );
    let evil = format!("list:evil\u{1b}[31m{}", "x".repeat(40));
    for r in [
        "list:",
        "list:Rest",
        "list:re st",
        "list:rest:x",
        "LIST:rest",
        "passthrough",
        &format!("list:{}", "r".repeat(33)),
        &evil,
    ] {
        let err = binding
            .decode::<State>(&forge("buildkite", r, &q, &page))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCursor, "{r:?}");
        assert!(
            err.message().contains("not a unidir cursor"),
            "{r:?}: {err}"
        );
        assert!(!format!("{err} {err:?}").contains("evil"));
    }
    // Unknown fields are refused for list cursors as for resource cursors.
    let extra = reencode(
        &json!({ "v": 1, "p": "buildkite", "r": "list:rest", "q": q, "s": page, "c": "0000000000000000", "l": "rest" }),
    );
    assert!(
        binding
            .decode::<State>(&extra)
            .unwrap_err()
            .message()
            .contains("not a unidir cursor")
    );
}
