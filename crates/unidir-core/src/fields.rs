//! Field selection: optional user fields a read fills only when the caller asks
//! ([`crate::ListQuery::with_field`]), because they cost the provider more than the rest
//! (on Buildkite, another nested GraphQL connection per member). Cheap reads stay cheap; a
//! caller that needs the field opts in.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An optional [`crate::User`] field that is only filled when selected.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UserField {
    /// [`crate::User::last_sign_in_at`]: the last sign-in (on Buildkite, the member's most
    /// recent SSO authorization; `null` for members who never signed in through SSO).
    LastSignInAt,
}

impl UserField {
    /// Every selectable field.
    pub const ALL: &'static [UserField] = &[UserField::LastSignInAt];

    /// The field's name, as in the JSON objects (`last_sign_in_at`).
    pub fn as_str(self) -> &'static str {
        match self {
            UserField::LastSignInAt => "last_sign_in_at",
        }
    }

    /// The field named `name` (as [`UserField::as_str`] spells it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.as_str() == name)
    }
}

impl std::fmt::Display for UserField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_json() {
        for field in UserField::ALL {
            assert_eq!(UserField::parse(field.as_str()), Some(*field));
            assert_eq!(
                serde_json::to_value(field).expect("serialises"),
                serde_json::json!(field.as_str())
            );
        }
        assert_eq!(UserField::parse("password"), None);
    }
}
