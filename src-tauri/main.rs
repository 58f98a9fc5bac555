//! The `glasshouse` binary: the CLI, the capture worker, and (with no subcommand) the desktop app.

fn main() -> std::process::ExitCode {
    glasshouse::cli::main()
}
