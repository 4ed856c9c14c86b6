//! Enumerations shared by the REST and GraphQL layers.
//!
//! REST spells every value in lowercase, GraphQL in uppercase (reference §10.2); each enum
//! knows both spellings so the two APIs can never disagree about the stored value.

use serde::{Deserialize, Serialize};

macro_rules! two_spellings {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $rest:literal, $gql:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $(
                #[doc = concat!("REST `", $rest, "`, GraphQL `", $gql, "`.")]
                $variant,
            )+
        }

        impl $name {
            /// The lowercase REST spelling.
            pub fn as_rest(self) -> &'static str {
                match self {
                    $(Self::$variant => $rest,)+
                }
            }

            /// The uppercase GraphQL enum spelling.
            pub fn as_graphql(self) -> &'static str {
                match self {
                    $(Self::$variant => $gql,)+
                }
            }

            /// Parses the REST spelling (exact, lowercase).
            pub fn from_rest(value: &str) -> Option<Self> {
                match value {
                    $($rest => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// Parses the GraphQL spelling (exact, uppercase).
            pub fn from_graphql(value: &str) -> Option<Self> {
                match value {
                    $($gql => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

two_spellings!(
    /// Organization role of a member.
    OrgRole { Admin => "admin", "ADMIN", Member => "member", "MEMBER" }
);

two_spellings!(
    /// Role of a user inside one team.
    TeamRole { Maintainer => "maintainer", "MAINTAINER", Member => "member", "MEMBER" }
);

two_spellings!(
    /// Who can see a team.
    TeamPrivacy { Visible => "visible", "VISIBLE", Secret => "secret", "SECRET" }
);

two_spellings!(
    /// Whether a member must sign in through SSO.
    SsoMode { Required => "required", "REQUIRED", Optional => "optional", "OPTIONAL" }
);
