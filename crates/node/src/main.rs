//! `pingpong-node`: reads its config, binds, serves until SIGTERM/SIGINT.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = pingpong_node::Config::from_env();
    pingpong_kit::serve::main("pingpong-node", config, |c| c.bind_addr, pingpong_node::run).await
}
