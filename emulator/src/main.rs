//! `emulator`: parse the command line, install signal handling, run.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = emulator::cli::Cli::parse();
    // First Ctrl-C/SIGTERM: graceful shutdown; the second one: exit now.
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        wait_signal().await;
        let _ = tx.send(());
        wait_signal().await;
        eprintln!("second signal: exiting without cleanup");
        std::process::exit(130);
    });
    let shutdown = async move {
        let _ = rx.await;
    };
    match emulator::cli::main(cli, shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line.
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("emulator: error: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn wait_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
