//! `emulator`: parse the command line, install signal handling, run.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
            // One clear line: the error and those of its causes it does
            // not already quote (our errors often include their source).
            let mut msg = e.to_string();
            for cause in e.chain().skip(1) {
                let cause = cause.to_string();
                if !msg.contains(&cause) {
                    msg.push_str(": ");
                    msg.push_str(&cause);
                }
            }
            let msg = msg.replace('\n', " ");
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
