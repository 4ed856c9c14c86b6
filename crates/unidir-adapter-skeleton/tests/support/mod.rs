//! Shared by the tests: the toy simulator and a directory pointed at it.

pub(crate) mod sim;

use unidir_adapter_skeleton::{Toy, ToyBuilder};
use unidir_conformance::World;
use unidir_sim_harness::server::{self, RunningServer, ServeOptions};

use sim::ToySim;

/// The token the simulator accepts.
pub(crate) const TOKEN: &str = "toy_canary_7f3a9c";

/// Serves `world` on loopback.
pub(crate) async fn serve(world: &World) -> RunningServer<ToySim> {
    server::start(
        ToySim::from_world(world, TOKEN),
        server::loopback(),
        ServeOptions::default(),
    )
    .await
    .expect("the simulator starts on loopback")
}

/// A builder pointed at `server` with the accepted token.
pub(crate) fn builder(server: &RunningServer<ToySim>) -> ToyBuilder {
    Toy::builder()
        .with_token(TOKEN)
        .with_base_url(server.base_url().as_str())
}
