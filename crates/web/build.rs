//! Builds `web/` (the Svelte agent app and the widget bundle) with npm into `$OUT_DIR/web`,
//! which `src/lib.rs` embeds.
//!
//! - `npm ci` runs only when `web/node_modules` is missing or older than `package-lock.json`.
//! - The build reruns only when a file under `web/` (other than node_modules/dist) changes.
//! - `THROUGHLINE_SKIP_WEB=1`, or no `npm` on the PATH, skips it: the binary then serves a
//!   "UI not built" page instead of the app.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../../web");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("web");
    println!("cargo:rerun-if-env-changed=THROUGHLINE_SKIP_WEB");
    println!("cargo:rerun-if-changed=build.rs");
    watch(&web);

    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("create OUT_DIR/web");

    if std::env::var("THROUGHLINE_SKIP_WEB").is_ok_and(|v| !v.is_empty() && v != "0") {
        println!("cargo:warning=THROUGHLINE_SKIP_WEB is set: the web UI is not built");
        return;
    }
    if Command::new("npm").arg("--version").output().is_err() {
        println!(
            "cargo:warning=npm not found: the web UI is not built (install Node.js 20+, or set THROUGHLINE_SKIP_WEB=1 to silence this)"
        );
        return;
    }
    if stale_modules(&web) {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&web));
    }
    run(Command::new("npm")
        .args(["run", "build", "--silent"])
        .env("THROUGHLINE_WEB_OUT", &out)
        .current_dir(&web));
}

fn stale_modules(web: &Path) -> bool {
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(web.join("node_modules/.package-lock.json")),
        modified(web.join("package-lock.json")),
    ) {
        (Some(installed), Some(lock)) => installed < lock,
        _ => true,
    }
}

fn run(command: &mut Command) {
    let status = command.status().expect("run npm");
    assert!(
        status.success(),
        "{command:?} failed ({status}); fix web/ or set THROUGHLINE_SKIP_WEB=1 to build without the UI"
    );
}

/// Asks cargo to rerun on changes to web/'s sources (not node_modules, not build output).
fn watch(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if matches!(name.as_ref(), "node_modules" | "dist" | "artifacts") || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if dir.ends_with("web") && name == "tests" {
                continue;
            }
            watch(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
