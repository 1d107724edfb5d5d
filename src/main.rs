//! The `oneauth` binary: one executable for the server and the CLI.

// glibc's malloc spent about a quarter of the server's CPU under load in
// arena locks and consolidation; mimalloc's per-thread heaps do not.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
