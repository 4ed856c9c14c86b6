//! # unidir-core
//!
//! The provider-neutral half of unidir: the unified model ([`User`], [`Group`], [`Role`],
//! [`Organization`], [`GroupMembership`], [`Me`]), the [`Directory`] trait every provider
//! adapter implements, the list envelope [`Page`] with opaque, query-bound [`Cursor`]s, the
//! stream helpers that walk all pages, one [`Error`] type, and [`MemoryDirectory`], an
//! in-memory reference implementation.
//!
//! ```
//! use futures::TryStreamExt;
//! use unidir_core::{Directory, DirectoryExt, ListQuery, sample_directory};
//!
//! # tokio_test_block(async {
//! let directory = sample_directory();
//! let page = directory.list_users(&ListQuery::new().with_limit(2)).await?;
//! assert_eq!(page.result_count(), 2);
//! assert!(page.next_cursor.is_some());
//!
//! let everyone: Vec<_> = directory.users(ListQuery::new()).try_collect().await?;
//! assert_eq!(everyone.len(), 4);
//! # Ok::<(), unidir_core::Error>(())
//! # });
//! # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
//! #     futures::executor::block_on(f)
//! # }
//! ```

#![warn(clippy::unwrap_used)]
#![warn(missing_docs)]

mod capabilities;
mod cursor;
mod directory;
mod error;
mod fields;
mod memory;
mod model;
mod open_enum;
mod page;
pub mod provision;
mod sample;
pub mod schema;
mod seen;
mod stream;
pub mod text;

pub use capabilities::{
    Capabilities, FilterField, GroupRoles, Operation, OperationScopes, Resource, ResourceSupport,
    ScopeRequirement, ensure_filters,
};
pub use cursor::{CURSOR_VERSION, Cursor, CursorBinding, MAX_CURSOR_LEN};
pub use directory::{ArcDirectoryExt, Directory, DirectoryExt, find_user_by_email};
pub use error::{Error, ErrorBody, ErrorKind, Result};
pub use fields::UserField;
pub use memory::{MemoryDirectory, MemoryDirectoryBuilder};
pub use model::{
    Credential, Email, Group, GroupAssignment, GroupMembership, GroupPrivacy, GroupType, Me,
    Organization, OrganizationRef, Role, RoleAssignment, RoleScope, Timestamp, User, UserStatus,
};
pub use page::{Detail, Filters, GetOptions, ListQuery, Page};
pub use provision::{MembershipResult, Outcome, UserRef};
pub use sample::sample_directory;
pub use seen::key_digest;
pub use stream::{
    Keyed, WalkBudget, WalkLimits, WalkStats, Walker, bounded_pages, paginate, paginate_pages,
};

/// Re-exported so adapters and embedders name the same trait macro version.
pub use async_trait::async_trait;
