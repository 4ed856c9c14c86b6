//! `unidir`: the command-line tool of unidir.
//!
//! `main` parses the command line, connects (a real Buildkite organization when
//! `BUILDKITE_API_TOKEN` is set, the built-in simulator otherwise), runs the subcommand and
//! turns its failure into an exit code and one line on stderr (see `exit.rs`).

#![warn(clippy::unwrap_used)]

mod cli;
mod commands;
mod connect;
mod exit;
mod input;
mod notice;
mod output;
mod secret_guard;

use std::process::ExitCode;

use clap::Parser;
use unidir_core::ErrorKind;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::commands::{check, export, provision, proxy, read};
use crate::connect::Connection;
use crate::exit::{CliResult, Failure, code};
use crate::output::Out;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.global.json;
    // One worker beside the main thread: the commands wait on the network, not the CPU, and
    // with fewer threads the allocator keeps fewer arenas of freed page buffers (peak memory
    // of a whole-organization read stays flat in its size).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return exit::report(
                Failure::Io("could not start the async runtime".to_owned(), e),
                json,
            );
        }
    };
    match runtime.block_on(within_deadline(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => exit::report(failure, json),
    }
}

/// Runs the command within `--deadline`, which bounds the whole command (every request,
/// retry and wait), not each request alone; the proxy, a server, is bounded per request.
async fn within_deadline(cli: Cli) -> CliResult {
    let deadline = match (&cli.command, cli.global.deadline) {
        (Command::Proxy(_), _) | (_, None) => return run(cli).await,
        (_, Some(secs)) => secs,
    };
    match tokio::time::timeout(std::time::Duration::from_secs(deadline), run(cli)).await {
        Ok(result) => result,
        Err(_) => Err(Failure::Coded(
            code::UPSTREAM,
            format!(
                "the command did not finish within its deadline of {deadline}s (--deadline bounds the whole command); raise --deadline, or check the network and --api-url"
            ),
        )),
    }
}

async fn run(cli: Cli) -> CliResult {
    // A desired-state file that does not parse is reported before anything is contacted.
    if let Command::Plan { file } | Command::Apply { file, .. } = &cli.command {
        provision::read_desired(file)?;
    }
    let conn = connect::connect(&cli.global, &cli.command).await?;
    let mut out = Out::new(cli.global.format());
    let result = dispatch(&conn, &mut out, &cli.global, &cli.command).await;
    let flushed = out.flush();
    let result = match result {
        Err(failure) => Err(explain_not_found(&conn, &cli.command, failure).await),
        Ok(()) => flushed.map_err(Failure::from),
    };
    conn.close().await;
    result
}

async fn dispatch(
    conn: &Connection,
    out: &mut Out,
    global: &GlobalArgs,
    command: &Command,
) -> CliResult {
    let raw = global.remote_data;
    match command {
        Command::Me => read::me(conn, out, raw).await,
        Command::Orgs { list } => read::orgs(conn, out, list, raw).await,
        Command::Users {
            list,
            email,
            role,
            group,
            detail,
            with,
        } => {
            let filters = read::UserFilters {
                email: email.clone(),
                role: role.clone(),
                group: group.clone(),
                detail: (*detail).into(),
                fields: with.iter().map(|&f| f.into()).collect(),
            };
            read::users(conn, out, list, &filters, raw).await
        }
        Command::Groups { list } => read::groups(conn, out, list, raw).await,
        Command::Roles { list } => read::roles(conn, out, list, raw).await,
        Command::Members { group, list, role } => {
            read::members(conn, out, group, list, role.as_deref(), raw).await
        }
        Command::User { user } => read::user(conn, out, user, raw).await,
        Command::Check => check::check(conn, out).await,
        Command::Export {
            out: dir,
            format,
            detail,
            with,
        } => {
            let fields: Vec<_> = with.iter().map(|&f| f.into()).collect();
            export::export(conn, out, dir, *format, (*detail).into(), &fields, raw).await
        }
        Command::Grant { group, user, role } => {
            provision::grant(conn, out, group, user, role.as_deref()).await
        }
        Command::Revoke { group, user } => provision::revoke(conn, out, group, user).await,
        Command::Plan { file } => provision::plan(conn, out, file).await,
        Command::Apply { file, yes } => provision::apply(conn, out, file, *yes).await,
        Command::Proxy(args) => proxy::proxy(conn, out, args).await,
    }
}

/// Buildkite answers 404 both for a missing object and for an organization the token
/// cannot see. When an organization command hits "not found", ask whether the organization
/// itself is the missing piece, and say so.
async fn explain_not_found(conn: &Connection, command: &Command, failure: Failure) -> Failure {
    let not_found = match &failure {
        Failure::Directory(e) => e.kind() == ErrorKind::NotFound,
        Failure::Coded(c, _) => *c == code::NOT_FOUND,
        _ => false,
    };
    let Some(org) = conn.org.as_deref() else {
        return failure;
    };
    if !not_found || !command.needs_org() || conn.is_simulated() {
        return failure;
    }
    match conn
        .directory
        .get_organization(org, &Default::default())
        .await
    {
        Err(e) if e.kind() == ErrorKind::NotFound => Failure::Coded(
            code::NOT_FOUND,
            format!(
                "organization {org:?} not found or not visible to this token; check --org or BUILDKITE_ORGANIZATION (`unidir orgs` lists the organizations this token can see)"
            ),
        ),
        _ => failure,
    }
}
