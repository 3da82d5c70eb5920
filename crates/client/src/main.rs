//! `pingpong-client`: reads its config, binds, serves until SIGTERM/SIGINT.
//! `pingpong-client healthcheck` probes a running client's `/` instead.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = pingpong_client::Config::from_env();
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        let addr = config
            .as_ref()
            .map(|c| c.bind_addr)
            .unwrap_or(([127, 0, 0, 1], 3000).into());
        return pingpong_kit::healthcheck::run(addr, "/");
    }
    pingpong_kit::serve::main(
        "pingpong-client",
        config,
        |c| c.bind_addr,
        pingpong_client::run,
    )
    .await
}
