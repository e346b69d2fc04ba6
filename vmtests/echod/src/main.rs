//! The `echod` binary: everything is in the library (see its docs and `echod --help`).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    echod::main()
}
