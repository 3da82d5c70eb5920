//! `pingpong-node`: reads its config, binds, serves until SIGTERM/SIGINT.
//! `pingpong-node healthcheck` probes a running node's `/ping` instead.

fn main() -> std::process::ExitCode {
    let config = pingpong_node::Config::from_env();
    pingpong_kit::serve::main(
        "pingpong-node",
        "/ping",
        config,
        |c| c.bind_addr,
        pingpong_node::run,
    )
}
