//! The four fixed roles, paged by offset: no request.

use unidir_core::{
    Error, ErrorKind, GetOptions, ListQuery, Page, Resource, Result, Role, ensure_filters,
};

use super::paging::{MAX_PAGE, Position};
use super::{binding, tag};
use crate::{PROVIDER, roles};

/// `list_roles`.
pub(super) fn roles_page(query: &ListQuery) -> Result<Page<Role>> {
    const OP: &str = "list_roles";
    ensure_filters(PROVIDER, OP, &query.filters, &[])?;
    let binding = binding(Resource::Roles, query, &[]);
    let all = roles::all();
    let size = query.page_size(MAX_PAGE, MAX_PAGE).map_err(tag(OP))? as usize;
    let start = match &query.cursor {
        None => 0,
        Some(c) => match binding.decode::<Position>(c).map_err(tag(OP))? {
            Position::Offset { o } if o <= all.len() => o,
            _ => {
                return Err(tag(OP)(Error::invalid_cursor(
                    "cursor is not a page of this list",
                )));
            }
        },
    };
    let end = (start + size).min(all.len());
    let next = (end < all.len())
        .then(|| binding.encode(&Position::Offset { o: end }))
        .transpose()
        .map_err(tag(OP))?;
    let prev = (start > 0)
        .then(|| {
            binding.encode(&Position::Offset {
                o: start.saturating_sub(size),
            })
        })
        .transpose()
        .map_err(tag(OP))?;
    let keep = query.include_remote_data;
    let items = all[start..end]
        .iter()
        .cloned()
        .map(|mut r| {
            if !keep {
                r.remote_data = None;
            }
            r
        })
        .collect();
    Ok(Page::new(items, next, prev))
}

/// `get_role`.
pub(super) fn role_by_id(id: &str, options: &GetOptions) -> Result<Role> {
    let mut role = roles::role(id).ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!(
                "no Buildkite role \"{}\"",
                unidir_core::text::bounded(id, 64)
            ),
        )
        .with_provider(PROVIDER)
        .with_operation("get_role")
    })?;
    if !options.include_remote_data {
        role.remote_data = None;
    }
    Ok(role)
}
