//! Tells the crate which git commit it is built from, as `WEBEX_HITL_COMMIT`
//! (`--version`, `GET /v1/version` and `webex_hitl_build_info` all read it).
//!
//! `git rev-parse --short HEAD` in this crate's own checkout; "unknown" when
//! git or `.git` is absent (a source tarball), unless the builder says which
//! commit it is with the environment variable `WEBEX_HITL_COMMIT`. Cargo reruns
//! this only when HEAD moves (the files git keeps it in), not on every build.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=WEBEX_HITL_COMMIT");
    let commit = match std::env::var("WEBEX_HITL_COMMIT") {
        Ok(given) if !given.trim().is_empty() => given.trim().to_owned(),
        _ => from_git().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=WEBEX_HITL_COMMIT={commit}");
}

/// The short commit of HEAD, if this crate is the top of a git work tree (not a
/// tarball unpacked inside some other repository).
fn from_git() -> Option<String> {
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let top = git(&here, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != here.canonicalize().ok()? {
        return None;
    }
    // HEAD names a branch whose ref is a loose file or a line in packed-refs
    // (in a worktree these live in the main repository's git dir: ask git).
    let mut watched = vec![git(&here, &["rev-parse", "--git-path", "HEAD"])?];
    if let Some(branch) = git(&here, &["symbolic-ref", "-q", "HEAD"]) {
        watched.extend(git(&here, &["rev-parse", "--git-path", &branch]));
    }
    watched.extend(git(&here, &["rev-parse", "--git-path", "packed-refs"]));
    for path in watched {
        let path = here.join(path);
        // A path that does not exist would make cargo rerun this every build.
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    git(&here, &["rev-parse", "--short", "HEAD"])
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
