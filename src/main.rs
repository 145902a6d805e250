//! The `eventchat` binary: parse the command line, load config, hand over to the library.

use clap::Parser;
use eventchat::{cli, config::Settings, telemetry};

// mimalloc instead of glibc malloc: the turn path allocates many small, short-lived JSON
// values and strings; measured in the issue #7 benchmark.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Before tracing is set up (bad config) and for the final error, stderr is the only channel.
#[allow(clippy::print_stderr)]
#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("eventchat: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(settings.server.log_format);
    let mut stdout = std::io::stdout();
    match cli::run(cli, settings, &mut stdout).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "command failed");
            eprintln!("eventchat: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
