//! The front end's files (`/pkg`: WASM, JS, CSS), served precompressed and
//! cached for as long as their names say.
//!
//! cargo-leptos names the files after their content (`hash-files`:
//! `oneauth.<hash>.wasm`), so a browser may keep them forever
//! (`immutable`): a new build has new names. Files without a hash (the
//! stylesheet of a binary built by plain cargo) are revalidated on every use
//! instead. Brotli and gzip copies are
//! made once, next to the files, when the server starts (in the background),
//! and chosen by the browser's `Accept-Encoding`; until a file's copies
//! exist it is compressed on the fly, quickly rather than tightly.

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

use crate::state::AppState;

/// A year: the longest lifetime caches honour.
const FOREVER: &str = "public, max-age=31536000, immutable";
/// Files without a hash in their name: ask the server every time (it
/// answers 304 when unchanged).
const REVALIDATE: &str = "no-cache";

/// What gets compressed copies (text and WASM; images are compressed already).
const COMPRESSIBLE: &[&str] = &["wasm", "js", "css", "json", "svg"];

/// `/pkg/*` from `site_root/pkg`.
pub fn routes(site_root: &str) -> Router<AppState> {
    let pkg = Path::new(site_root).join("pkg");
    Router::new()
        .nest_service(
            "/pkg",
            ServeDir::new(pkg).precompressed_br().precompressed_gzip(),
        )
        // Passes the precompressed copies through (they carry their
        // Content-Encoding already).
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(middleware::from_fn(cache_headers))
}

async fn cache_headers(request: Request, next: Next) -> Response {
    let hashed = file_name(request.uri().path()).is_some_and(is_content_hashed);
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status().as_u16() == 304 {
        let policy = if hashed { FOREVER } else { REVALIDATE };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

fn file_name(path: &str) -> Option<&str> {
    path.rsplit('/').next().filter(|name| !name.is_empty())
}

/// Whether a file name carries a content hash, as cargo-leptos writes them:
/// `oneauth.<hash>.wasm`, `__wasm_split.<hash>.js`, split chunks
/// `<name>.<hash>.wasm`: a dot-separated part of at least 16 characters of
/// the base64url alphabet between the stem and the extension.
pub fn is_content_hashed(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1].iter().any(|part| {
            part.len() >= 16
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Write the missing or outdated brotli and gzip copies of the front end's
/// files, on a thread of their own (brotli at its best level takes seconds
/// for the WASM, minutes in a debug build). Not on tokio's blocking pool:
/// a stopping server would wait for it before exiting (the runtime waits
/// for its blocking tasks); a thread of its own ends with the process, and
/// each copy is written atomically, so one cut short leaves nothing half.
/// A read-only site directory only costs the compression.
pub fn precompress_in_background(site_root: &str) {
    let pkg = Path::new(site_root).join("pkg");
    std::thread::spawn(move || {
        if let Err(err) = precompress(&pkg) {
            tracing::warn!(%err, dir = %pkg.display(), "could not precompress the front end; it is served uncompressed");
        }
    });
}

/// The brotli and gzip copies of every compressible file under `dir`.
pub fn precompress(dir: &Path) -> std::io::Result<usize> {
    let mut written = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            written += precompress(&path)?;
            continue;
        }
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e));
        if !compressible {
            continue;
        }
        for (suffix, compress) in [("br", brotli_bytes as Compressor), ("gz", gzip_bytes)] {
            let copy = with_suffix(&path, suffix);
            if is_fresh(&copy, &path) {
                continue;
            }
            let original = std::fs::read(&path)?;
            write_atomically(&copy, &compress(&original)?)?;
            written += 1;
        }
    }
    Ok(written)
}

type Compressor = fn(&[u8]) -> std::io::Result<Vec<u8>>;

fn brotli_bytes(input: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &input[..], &mut out, &params)?;
    Ok(out)
}

fn gzip_bytes(input: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(input)?;
    encoder.finish()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// The copy exists and is newer than its original.
fn is_fresh(copy: &Path, original: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(copy), modified(original)), (Some(c), Some(o)) if c >= o)
}

/// Readers see the old copy or the whole new one, never half of it.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let partial = with_suffix(path, "partial");
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_hashed_names_are_immutable() {
        assert!(is_content_hashed("oneauth.rJ2cTtWb4tvl1gIcS3yC0Q.wasm"));
        assert!(is_content_hashed("__wasm_split.8hE6OR2k_8VKNHyJzyHwLA.js"));
        assert!(!is_content_hashed("oneauth.wasm"));
        assert!(!is_content_hashed("oneauth_bg.wasm"));
        assert!(!is_content_hashed("oneauth.css"));
        assert!(!is_content_hashed("favicon.svg"));
    }

    #[test]
    fn copies_are_made_once_and_decompress_to_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let original = b"(module) ".repeat(1000);
        std::fs::write(dir.path().join("app.wasm"), &original).unwrap();
        std::fs::write(dir.path().join("photo.png"), b"not text").unwrap();
        assert_eq!(precompress(dir.path()).unwrap(), 2);
        assert_eq!(precompress(dir.path()).unwrap(), 0, "fresh copies are kept");
        assert!(!dir.path().join("photo.png.br").exists());

        let mut unbrotli = Vec::new();
        brotli::BrotliDecompress(
            &mut std::fs::File::open(dir.path().join("app.wasm.br")).unwrap(),
            &mut unbrotli,
        )
        .unwrap();
        assert_eq!(unbrotli, original);
        let mut ungzip = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(
                std::fs::File::open(dir.path().join("app.wasm.gz")).unwrap(),
            ),
            &mut ungzip,
        )
        .unwrap();
        assert_eq!(ungzip, original);
    }
}
