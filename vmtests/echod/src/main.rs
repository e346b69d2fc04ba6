//! The `echod` binary: everything is in the library (see its docs and `echod --help`).

fn main() -> std::process::ExitCode {
    echod::main()
}
