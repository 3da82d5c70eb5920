//! `pingpong-client`: reads its config, binds, serves until SIGTERM/SIGINT.
//! `pingpong-client healthcheck` probes a running client's `/` instead.

fn main() -> std::process::ExitCode {
    let config = pingpong_client::Config::from_env();
    pingpong_kit::serve::main(
        "pingpong-client",
        "/",
        config,
        |c| c.bind_addr,
        pingpong_client::run,
    )
}
