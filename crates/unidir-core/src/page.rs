//! The unified list envelope and the query that produces it.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::capabilities::FilterField;
use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::fields::UserField;
use crate::model::UserStatus;

/// One page of a list.
///
/// Serialises exactly as
/// `{ "result": [...], "next_cursor": "..."|null, "prev_cursor": "..."|null, "result_count": N }`,
/// where `result_count` is the number of items on this page (not a total).
/// `next_cursor` is `null` only on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page, in provider order.
    pub result: Vec<T>,
    /// Pass it back in [`ListQuery::cursor`] to read the next page; `None` on the last page.
    pub next_cursor: Option<Cursor>,
    /// Pass it back to read the previous page, where the provider allows it.
    pub prev_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page with its cursors.
    pub fn new(result: Vec<T>, next_cursor: Option<Cursor>, prev_cursor: Option<Cursor>) -> Self {
        Self {
            result,
            next_cursor,
            prev_cursor,
        }
    }

    /// A single, complete page.
    pub fn complete(result: Vec<T>) -> Self {
        Self::new(result, None, None)
    }

    /// Number of items on this page.
    pub fn result_count(&self) -> usize {
        self.result.len()
    }

    /// Maps the items, keeping the cursors.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            result: self.result.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
            prev_cursor: self.prev_cursor,
        }
    }
}

impl<T: Serialize> Serialize for Page<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Page", 4)?;
        st.serialize_field("result", &self.result)?;
        st.serialize_field("next_cursor", &self.next_cursor)?;
        st.serialize_field("prev_cursor", &self.prev_cursor)?;
        st.serialize_field("result_count", &self.result.len())?;
        st.end()
    }
}

/// The wire form, used to deserialise and to describe the schema.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Page")]
struct PageWire<T> {
    /// The items of this page.
    result: Vec<T>,
    /// Cursor of the next page; `null` on the last page.
    next_cursor: Option<Cursor>,
    /// Cursor of the previous page, where the provider allows it.
    prev_cursor: Option<Cursor>,
    /// Number of items in `result` (not a total).
    result_count: u64,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Page<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let wire = PageWire::<T>::deserialize(d)?;
        if wire.result_count != wire.result.len() as u64 {
            return Err(serde::de::Error::custom(format!(
                "result_count is {} but result holds {} items",
                wire.result_count,
                wire.result.len()
            )));
        }
        Ok(Page::new(wire.result, wire.next_cursor, wire.prev_cursor))
    }
}

impl<T: JsonSchema> JsonSchema for Page<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("PageOf{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        PageWire::<T>::json_schema(generator)
    }
}

/// Filters understood by list operations. Which ones a given list accepts is declared in
/// [`crate::Capabilities`]; an unsupported filter is an [`crate::ErrorKind::Unsupported`]
/// error, never silently ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Filters {
    /// Users with this e-mail address (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Users in this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Users (or memberships) holding this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    /// Users in this lifecycle state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
}

impl Filters {
    /// No filter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Users with this e-mail address.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Users in this group.
    pub fn with_group_id(mut self, group_id: impl Into<String>) -> Self {
        self.group_id = Some(group_id.into());
        self
    }

    /// Users (or memberships) holding this role.
    pub fn with_role_id(mut self, role_id: impl Into<String>) -> Self {
        self.role_id = Some(role_id.into());
        self
    }

    /// Users in this lifecycle state.
    pub fn with_status(mut self, status: UserStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// The filters that are set.
    pub fn used(&self) -> Vec<FilterField> {
        let mut used = Vec::new();
        if self.email.is_some() {
            used.push(FilterField::Email);
        }
        if self.group_id.is_some() {
            used.push(FilterField::GroupId);
        }
        if self.role_id.is_some() {
            used.push(FilterField::RoleId);
        }
        if self.status.is_some() {
            used.push(FilterField::Status);
        }
        used
    }
}

/// A list request: page size, position, filters, and whether to include raw provider JSON.
///
/// Keep the filters identical while paging: a cursor is bound to the filters (and to the
/// provider and resource) it was issued for, and is rejected with
/// [`crate::ErrorKind::InvalidCursor`] otherwise. The page size may change between pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ListQuery {
    /// Maximum items per page. Adapters clamp it to what the provider allows; the rest of
    /// the list stays reachable through `next_cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Where to continue, from a previous page's `next_cursor` or `prev_cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
    /// Filters.
    #[serde(default)]
    pub filters: Filters,
    /// Fill `remote_data` on every returned object.
    #[serde(default)]
    pub include_remote_data: bool,
    /// Which user attributes must be filled (users only; other lists ignore it).
    #[serde(default, skip_serializing_if = "Detail::is_full")]
    pub detail: Detail,
    /// Optional user fields to fill as well, each at an extra cost (users only; see
    /// [`UserField`]). A provider that cannot read a selected field leaves it `null` and
    /// says so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<UserField>,
}

/// How much of each user a read must fill. A provider may be able to read the essentials
/// much more cheaply (Buildkite: from REST alone, whose budget is independent of GraphQL's),
/// so a caller that does not need the rest can say so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    /// Every attribute the provider has (the default).
    #[default]
    Full,
    /// `id`, `name`, `emails`, `status`, `roles`, `groups` and `is_sso_required`; the other
    /// optional attributes (avatar, bot and 2FA flags, timestamps) may be `null` even when the
    /// provider knows them.
    Essential,
}

impl Detail {
    /// Whether this is [`Detail::Full`].
    pub fn is_full(&self) -> bool {
        *self == Detail::Full
    }
}

impl ListQuery {
    /// The default query: provider page size, first page, no filters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the page size.
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continues from `cursor`.
    pub fn with_cursor(mut self, cursor: Cursor) -> Self {
        self.cursor = Some(cursor);
        self
    }

    /// Filters on e-mail.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.filters.email = Some(email.into());
        self
    }

    /// Filters on group.
    pub fn with_group_id(mut self, group_id: impl Into<String>) -> Self {
        self.filters.group_id = Some(group_id.into());
        self
    }

    /// Filters on role.
    pub fn with_role_id(mut self, role_id: impl Into<String>) -> Self {
        self.filters.role_id = Some(role_id.into());
        self
    }

    /// Filters on status.
    pub fn with_status(mut self, status: UserStatus) -> Self {
        self.filters.status = Some(status);
        self
    }

    /// Asks for `remote_data` on every object.
    pub fn with_remote_data(mut self, include: bool) -> Self {
        self.include_remote_data = include;
        self
    }

    /// Sets how much of each user to fill.
    pub fn with_detail(mut self, detail: Detail) -> Self {
        self.detail = detail;
        self
    }

    /// Selects an optional user field (once, however often it is asked for).
    pub fn with_field(mut self, field: UserField) -> Self {
        if !self.fields.contains(&field) {
            self.fields.push(field);
        }
        self
    }

    /// Whether the optional user field `field` is selected.
    pub fn wants(&self, field: UserField) -> bool {
        self.fields.contains(&field)
    }

    /// The page size to use: `limit` clamped to `1..=max`; without a limit, the page size
    /// the cursor's walk was started with ([`Cursor::page_size`]), else `default`.
    /// A `limit` of zero is an error rather than an empty page that looks complete, and a
    /// limit that differs from the cursor's page size is [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// naming both: a walk keeps its page size (leave the limit out, or start a new walk).
    pub fn page_size(&self, default: u32, max: u32) -> Result<u32> {
        let at_cursor = self.cursor.as_ref().and_then(Cursor::page_size);
        match (self.limit, at_cursor) {
            (Some(0), _) => Err(Error::invalid_input("limit must be at least 1")),
            (_, Some(0)) => Err(Error::invalid_cursor("cursor is not a unidir cursor")),
            (Some(n), Some(size)) if n.min(max) != size.min(max) => {
                Err(Error::invalid_input(format!(
                    "limit {n} differs from the page size {} this cursor's walk was started with; leave the limit out (or give {}) to continue it, or start a new walk without the cursor",
                    size.min(max),
                    size.min(max)
                )))
            }
            (Some(n), _) => Ok(n.min(max)),
            (None, Some(size)) => Ok(size.min(max)),
            (None, None) => Ok(default.min(max)),
        }
    }
}

/// Options for reading a single object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct GetOptions {
    /// Fill `remote_data` on the returned object.
    #[serde(default)]
    pub include_remote_data: bool,
}

impl GetOptions {
    /// The default: no `remote_data`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for `remote_data`.
    pub fn with_remote_data() -> Self {
        Self {
            include_remote_data: true,
        }
    }

    /// Sets whether to fill `remote_data`.
    pub fn remote_data(mut self, include: bool) -> Self {
        self.include_remote_data = include;
        self
    }
}
