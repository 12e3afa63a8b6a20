//! The agent web app and the chat widget, embedded from the npm build (see `build.rs`).
//!
//! No HTTP types here: the http crate asks for a path and gets bytes, a content type and
//! whether the file may be cached for ever (Vite's hashed assets).

use std::borrow::Cow;

#[derive(rust_embed::RustEmbed)]
#[folder = "$OUT_DIR/web"]
struct Dist;

/// One file of the built UI.
pub struct Asset {
    pub body: Cow<'static, [u8]>,
    pub content_type: String,
    /// Hashed file names (`assets/…`) never change content: cache them for a year.
    pub immutable: bool,
}

/// Whether the UI was built into this binary (false with `THROUGHLINE_SKIP_WEB=1`).
pub fn is_built() -> bool {
    Dist::get("index.html").is_some()
}

/// The file at `path` (no leading slash), if the build produced it.
pub fn asset(path: &str) -> Option<Asset> {
    let file = Dist::get(path)?;
    let mime = file.metadata.mimetype();
    let content_type = if mime.starts_with("text/") || mime.contains("javascript") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    Some(Asset {
        body: file.data,
        content_type,
        immutable: path.starts_with("assets/"),
    })
}

/// The app's entry page, served for every client-side route; a plain explanation when the UI
/// was not built.
pub fn index() -> Asset {
    asset("index.html").unwrap_or_else(|| Asset {
        body: Cow::Borrowed(NOT_BUILT.as_bytes()),
        content_type: "text/html; charset=utf-8".into(),
        immutable: false,
    })
}

const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Throughline: UI not built</title></head><body><main><h1>UI not built</h1>\
<p>This Throughline binary was built without its web UI (<code>THROUGHLINE_SKIP_WEB=1</code> \
or no Node.js on the build machine). The API works; to get the agent app, build again on a \
machine with Node.js 20+ and npm.</p></main></body></html>";
