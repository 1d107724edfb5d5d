//! The `oneauth` binary: one executable for the server and the CLI.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    oneauth::cli::run().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The binary is built with the `ssr` feature only (cargo-leptos
    // `bin-features`); the browser build uses the library's `hydrate()`.
}
