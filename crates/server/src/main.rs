use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // One TLS stack: ring, for PostgreSQL connections and outgoing webhooks alike.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = throughline::cli::Cli::parse();
    match throughline::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
