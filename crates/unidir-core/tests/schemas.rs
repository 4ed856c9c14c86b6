//! `schemas/*.schema.json` match the code, and serialised objects validate against them.
//! Run with `UNIDIR_BLESS=1` to rewrite the files after an intended model change.

use std::path::PathBuf;

use futures::TryStreamExt;
use serde_json::Value;
use unidir_core::schema::all_schemas;
use unidir_core::{Directory, DirectoryExt, GetOptions, ListQuery, sample_directory};

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn load(name: &str) -> Value {
    let path = schema_dir().join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("schema is JSON")
}

#[test]
fn schema_files_match_the_code() {
    let bless = std::env::var_os("UNIDIR_BLESS").is_some();
    let mut drifted = Vec::new();
    for (name, schema) in all_schemas() {
        let path = schema_dir().join(format!("{name}.schema.json"));
        let expected = format!("{}\n", serde_json::to_string_pretty(&schema).expect("json"));
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        if actual != expected {
            if bless {
                std::fs::write(&path, expected).expect("write schema");
            } else {
                drifted.push(name);
            }
        }
    }
    assert!(
        drifted.is_empty(),
        "schemas/ drifted from the code for {drifted:?}; run UNIDIR_BLESS=1 cargo test -p unidir-core --test schemas"
    );
}

fn assert_valid(schema_name: &str, instance: &Value) {
    let schema = load(schema_name);
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{schema_name}: {errors:#?}");
}

#[tokio::test]
async fn sample_objects_validate() {
    let dir = sample_directory();
    let q = ListQuery::new().with_remote_data(true);
    for user in dir
        .users(q.clone())
        .try_collect::<Vec<_>>()
        .await
        .expect("users")
    {
        assert_valid("user", &serde_json::to_value(&user).expect("json"));
    }
    for group in dir
        .groups(q.clone())
        .try_collect::<Vec<_>>()
        .await
        .expect("groups")
    {
        assert_valid("group", &serde_json::to_value(&group).expect("json"));
    }
    let page = dir
        .list_users(&ListQuery::new().with_limit(2))
        .await
        .expect("page");
    assert_valid("user_page", &serde_json::to_value(&page).expect("json"));
    let me = dir.me(&GetOptions::default()).await.expect("me");
    assert_valid("me", &serde_json::to_value(&me).expect("json"));
    let caps = dir.capabilities().await.expect("caps");
    assert_valid("capabilities", &serde_json::to_value(&caps).expect("json"));
    let err = dir.get_user("x", &GetOptions::default()).await.unwrap_err();
    assert_valid("error", &serde_json::to_value(err.to_body()).expect("json"));
}

#[test]
fn schemas_reject_wrong_shapes() {
    let schema = load("user_page");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let missing_count =
        serde_json::json!({ "result": [], "next_cursor": null, "prev_cursor": null });
    assert!(!validator.is_valid(&missing_count));
    let user = load("user");
    let validator = jsonschema::validator_for(&user).expect("valid schema");
    assert!(!validator.is_valid(&serde_json::json!({ "id": 5 })));
}

#[test]
fn capabilities_with_scopes_validate() {
    use unidir_core::{Capabilities, Operation, Resource, ResourceSupport, ScopeRequirement};
    let caps = Capabilities::new(
        "test",
        vec![
            ResourceSupport::new(Resource::Users, &[Operation::List]).with_scopes(
                &[Operation::List],
                &[
                    ScopeRequirement::required("read", true),
                    ScopeRequirement::optional("fast", false, "slower"),
                ],
            ),
        ],
    );
    let json = serde_json::to_value(&caps).expect("json");
    assert_valid("capabilities", &json);
    let mut wrong = json.clone();
    wrong["resources"][0]["required_scopes"][0]["scopes"][0]["granted"] = "yes".into();
    let validator = jsonschema::validator_for(&load("capabilities")).expect("valid schema");
    assert!(!validator.is_valid(&wrong), "granted is a boolean");
}

#[test]
fn groups_without_roles_validate() {
    use unidir_core::{Capabilities, GroupRoles};
    let caps = Capabilities::new("test", Vec::new());
    let json = serde_json::to_value(&caps).expect("json");
    assert!(json.get("group_roles").is_none(), "left out when always");
    let back: Capabilities = serde_json::from_value(json).expect("old shape reads");
    assert_eq!(back.group_roles, GroupRoles::Always);
    let json = serde_json::to_value(caps.with_group_roles(GroupRoles::PerGroup)).expect("json");
    assert_eq!(json["group_roles"], "per_group");
    assert_valid("capabilities", &json);
    let mut wrong = json.clone();
    wrong["group_roles"] = "sometimes".into();
    let validator = jsonschema::validator_for(&load("capabilities")).expect("valid schema");
    assert!(!validator.is_valid(&wrong));

    let desired = serde_json::json!({
        "groups": [{"group": "guild", "members": [{"user": "u-1"}, {"user": "u-2", "role": "member"}]}]
    });
    assert_valid("desired_state", &desired);
    let validator = jsonschema::validator_for(&load("desired_state")).expect("valid schema");
    assert!(
        !validator.is_valid(
            &serde_json::json!({"groups": [{"group": "g", "members": [{"role": "member"}]}]})
        ),
        "user is required"
    );
}
