//! Benchmarks of unidir against the Buildkite simulator (`unidir-buildkite-sim`).
//!
//! Three binaries, each printing Markdown tables (see the README's Benchmarks section):
//!
//! * `sync`: full reads of simulated organizations under Buildkite's default budgets with a
//!   time scale (unidir over GraphQL, over REST only, a whole-directory read like `export`,
//!   and the classic per-team REST pattern as the baseline), against the lower bound the
//!   budgets allow; then request counts against the minimum on an unlimited simulator.
//! * `normalize`: Buildkite JSON turned into unified objects, MB/s per core.
//! * `memory`: peak RSS of the release `unidir` binary for `users --ndjson` and `export`.
//!
//! The library holds what the binaries share: the organization's shape and the lower-bound
//! arithmetic ([`bounds`]), result fingerprints for the equality check ([`keys`]), the
//! per-team REST baseline client ([`baseline`]) and process measurements ([`measure`]).

pub mod baseline;
pub mod bounds;
pub mod keys;
pub mod measure;

/// Runs a benchmark's `main` body on a two-worker runtime; a failure is printed as
/// `<name>: <error>` and ends the process with a failure status.
pub fn run_main<F>(name: &str, body: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = Result<(), String>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start a runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(body) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
