//! Every GraphQL document the adapter sends (and every one the docs show) validates against
//! Buildkite's schema (`fixtures/buildkite/schema/buildkite-schema.graphql`), also with each
//! optional field removed as the drift fallback removes it (`src/drift.rs`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};

// The adapter's own drift logic, compiled into this test so the documents are cut exactly as
// the client cuts them.
#[allow(dead_code, unreachable_pub)]
#[path = "../src/drift.rs"]
mod drift;

const SCHEMA: &str = include_str!("../../../fixtures/buildkite/schema/buildkite-schema.graphql");

/// The documents the adapter sends, with their operation names.
const DOCUMENTS: &[(&str, &str, &str)] = &[
    (
        "members.graphql",
        "UnidirMembers",
        include_str!("../src/graphql/members.graphql"),
    ),
    (
        "member_teams.graphql",
        "UnidirMemberTeams",
        include_str!("../src/graphql/member_teams.graphql"),
    ),
    (
        "members_lite.graphql",
        "UnidirMembersLite",
        include_str!("../src/graphql/members_lite.graphql"),
    ),
    (
        "org_size.graphql",
        "UnidirOrgSize",
        include_str!("../src/graphql/org_size.graphql"),
    ),
    (
        "team_sizes.graphql",
        "UnidirTeamSizes",
        include_str!("../src/graphql/team_sizes.graphql"),
    ),
    (
        "team_members.graphql",
        "UnidirTeamMembers",
        include_str!("../src/graphql/team_members.graphql"),
    ),
];

fn schema() -> &'static Valid<Schema> {
    static SCHEMA_CELL: OnceLock<Valid<Schema>> = OnceLock::new();
    SCHEMA_CELL.get_or_init(|| {
        Schema::parse_and_validate(SCHEMA, "buildkite-schema.graphql")
            .unwrap_or_else(|e| panic!("the schema fixture does not validate:\n{e}"))
    })
}

/// The schema without the given `(type, field)` pairs, as an older copy of it would be.
fn schema_without(fields: &[(&str, &str)]) -> Valid<Schema> {
    let mut schema = schema().clone().into_inner();
    for (type_name, field) in fields {
        match schema.types.get_mut(*type_name) {
            Some(ExtendedType::Object(object)) => {
                assert!(
                    object.make_mut().fields.shift_remove(*field).is_some(),
                    "{type_name}.{field} is not in the schema"
                );
            }
            _ => panic!("{type_name} is not an object type"),
        }
    }
    schema.validate().expect("still a valid schema")
}

fn validate(
    schema: &Valid<Schema>,
    name: &str,
    document: &str,
) -> Result<Valid<ExecutableDocument>, String> {
    ExecutableDocument::parse_and_validate(schema, document, name).map_err(|e| e.to_string())
}

#[test]
fn the_schema_fixture_names_its_source_and_validates() {
    let first = SCHEMA.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("# Source: buildkite/docs repository, data/graphql/schema.graphql"),
        "{first}"
    );
    let user = schema().get_object("User").expect("User type");
    assert!(user.fields.contains_key("machineUser"));
}

#[test]
fn the_adapters_documents_validate() {
    for (name, operation, document) in DOCUMENTS {
        let valid = validate(schema(), name, document).unwrap_or_else(|e| panic!("{name}:\n{e}"));
        assert_eq!(valid.operations.len(), 1, "{name}");
        assert!(
            valid.operations.get(Some(operation)).is_ok(),
            "{name} does not define {operation}"
        );
    }
}

/// Field selection (`src/fields.rs`): a read that selects no optional field sends each
/// document without its `# with <field>` lines; that cheap form validates too, and the
/// sign-in selection is where the SDL has it (`OrganizationMemberSSO.authorizations`, whose
/// `SSOAuthorization` has `createdAt`).
#[test]
fn the_documents_validate_without_their_selectable_fields() {
    let mut marked = 0;
    for (name, operation, document) in DOCUMENTS {
        let cheap: String = document
            .lines()
            .filter(|line| !line.contains("# with "))
            .map(|line| format!("{line}\n"))
            .collect();
        marked += usize::from(cheap.len() != document.len());
        let valid = validate(schema(), name, &cheap).unwrap_or_else(|e| panic!("{name}:\n{e}"));
        assert!(valid.operations.get(Some(operation)).is_ok(), "{name}");
    }
    assert_eq!(
        marked, 2,
        "UnidirMembers and UnidirMembersLite select last_sign_in_at"
    );
    let sso = schema()
        .get_object("OrganizationMemberSSO")
        .expect("OrganizationMemberSSO");
    assert!(sso.fields.contains_key("authorizations"));
    let authorization = schema()
        .get_object("SSOAuthorization")
        .expect("SSOAuthorization");
    assert!(authorization.fields.contains_key("createdAt"));
}

#[test]
fn an_unknown_field_fails_validation() {
    let (name, _, members) = DOCUMENTS[0];
    let broken = members.replacen("avatar { url }", "avatar { url } nickname", 1);
    assert_ne!(broken, members);
    let error = validate(schema(), name, &broken).expect_err("nickname is not a User field");
    assert!(error.contains("nickname"), "{error}");
    // A misspelt argument and a wrong variable type fail as well.
    let bad_arg = members.replacen("order: NAME", "sort: NAME", 1);
    assert!(validate(schema(), name, &bad_arg).is_err());
    let bad_var = members.replacen("$teamsFirst: Int!", "$teamsFirst: String!", 1);
    assert!(validate(schema(), name, &bad_var).is_err());
}

#[test]
fn every_document_minus_each_optional_field_validates() {
    assert!(!drift::OPTIONAL_FIELDS.is_empty());
    for optional in drift::OPTIONAL_FIELDS {
        let marked_somewhere = DOCUMENTS
            .iter()
            .any(|(_, _, d)| drift::marked_fields(d).contains(&optional.field));
        assert!(marked_somewhere, "no document marks {}", optional.field);
        for (name, _, document) in DOCUMENTS {
            let fields = drift::OptionalFields::default();
            fields.drop_field(optional.field);
            let reduced = fields.document(document);
            validate(schema(), name, &reduced)
                .unwrap_or_else(|e| panic!("{name} without {}:\n{e}\n{reduced}", optional.field));
            assert!(
                drift::marked_fields(&reduced)
                    .iter()
                    .all(|f| *f != optional.field)
            );
        }
    }
    // All of them dropped at once.
    for (name, _, document) in DOCUMENTS {
        let fields = drift::OptionalFields::default();
        for optional in drift::OPTIONAL_FIELDS {
            fields.drop_field(optional.field);
        }
        let reduced = fields.document(document);
        validate(schema(), name, &reduced).unwrap_or_else(|e| panic!("{name}:\n{e}"));
        assert!(drift::marked_fields(&reduced).is_empty(), "{name}");
    }
}

#[test]
fn an_older_schema_rejects_the_full_query_and_accepts_the_reduced_one() {
    let optional: Vec<(&str, &str)> = drift::OPTIONAL_FIELDS
        .iter()
        .map(|f| (f.type_name, f.field))
        .collect();
    let older = schema_without(&optional);
    let (name, _, members) = DOCUMENTS[0];
    let error = validate(&older, name, members).expect_err("machineUser is unknown there");
    assert!(error.contains("machineUser"), "{error}");
    let fields = drift::OptionalFields::default();
    for (_, field) in &optional {
        fields.drop_field(field);
    }
    validate(&older, name, &fields.document(members)).expect("the reduced query validates");
}

/// GraphQL documents shown in the README files and the CLI help:
/// `GraphqlRequest::new("...")` and `--graphql '...'` with a literal document.
fn documented_examples() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<PathBuf> = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("crates"))
        .expect("crates dir")
        .flatten()
    {
        files.push(entry.path().join("README.md"));
        files.push(entry.path().join("src/cli.rs"));
        files.push(entry.path().join("src/lib.rs"));
    }
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (open, close) in [("GraphqlRequest::new(\"", "\")"), ("--graphql '", "'")] {
            for (at, _) in text.match_indices(open) {
                let rest = &text[at + open.len()..];
                if let Some(end) = rest.find(close) {
                    found.push((file.display().to_string(), rest[..end].to_owned()));
                }
            }
        }
    }
    found
}

#[test]
fn documented_examples_validate() {
    let examples = documented_examples();
    assert!(
        examples.len() >= 3,
        "expected the README and CLI help examples, found {examples:?}"
    );
    for (file, document) in examples {
        validate(schema(), &file, &document).unwrap_or_else(|e| panic!("{file}: {document}\n{e}"));
    }
}
