//! The four fixed roles, paged by offset: no request.

use unidir_core::{
    Error, ErrorKind, GetOptions, ListQuery, Page, Resource, Result, Role, ensure_filters,
};

use unidir_http::paging::{self, Offset, OffsetWindow};

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
    let from = match &query.cursor {
        None => None,
        Some(c) => match binding.decode::<Position>(c).map_err(tag(OP))? {
            Position::Offset(o) => Some(o),
            _ => return Err(tag(OP)(paging::not_a_page())),
        },
    };
    let window = OffsetWindow::new(all.len(), from, size).map_err(tag(OP))?;
    let encode = |o: Option<Offset>| {
        o.map(|o| binding.encode(&Position::Offset(o)))
            .transpose()
            .map_err(tag(OP))
    };
    let (next, prev) = (encode(window.next)?, encode(window.prev)?);
    let (start, end) = (window.start, window.end);
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
