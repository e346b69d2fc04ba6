//! `echod`, the reference daemon: see `echod --help` and the `vmtests::echod` module docs.

fn main() -> std::process::ExitCode {
    vmtests::echod::main()
}
