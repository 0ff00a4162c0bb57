//! `mock-registry serve`: the course's bundled registry, installed beside `dockerless`.

fn main() -> std::process::ExitCode {
    mock_registry::cli::main()
}
