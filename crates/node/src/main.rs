//! `pingpong-node`: reads its config, binds, serves until SIGTERM/SIGINT.

use std::process::ExitCode;

use pingpong_node::Config;

#[tokio::main]
async fn main() -> ExitCode {
    pingpong_kit::init_tracing();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pingpong-node: bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.bind_addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pingpong-node: cannot listen on {}: {e}", config.bind_addr);
            return ExitCode::from(1);
        }
    };
    match pingpong_node::run(listener, config, pingpong_kit::serve::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pingpong-node: {e}");
            ExitCode::from(1)
        }
    }
}
