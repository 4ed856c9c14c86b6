//! Prints the first page of users of the built-in sample directory as unified JSON.
//!
//! `cargo run -p unidir-core --example quickstart`

use unidir_core::{Directory, ListQuery, sample_directory};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), unidir_core::Error> {
    let directory = sample_directory();
    let page = directory
        .list_users(&ListQuery::new().with_limit(2))
        .await?;
    let json = serde_json::to_string_pretty(&page).map_err(|e| {
        unidir_core::Error::new(unidir_core::ErrorKind::ContractViolation, e.to_string())
    })?;
    #[allow(clippy::print_stdout)]
    {
        println!("{json}");
    }
    Ok(())
}
