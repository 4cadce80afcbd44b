//! Which build this is: the crate's version and the git commit `build.rs`
//! found. `--version`, `GET /v1/version` and the `webex_hitl_build_info` gauge
//! all read these constants, so they cannot disagree.

use super::Exposition;

/// The package version (`Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The short git commit the binary was built from, or "unknown" (see `build.rs`).
pub const COMMIT: &str = env!("WEBEX_HITL_COMMIT");
/// `0.1.0 (commit 1a2b3c4)`: what `webex-hitl --version` prints after the name.
pub const VERSION_LINE: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("WEBEX_HITL_COMMIT"), ")");

/// `webex_hitl_build_info{version="…",commit="…"} 1`, the Prometheus idiom for
/// build facts: join on it to tell which version each series came from.
pub fn write_build_info(out: &mut Exposition) {
    out.family("webex_hitl_build_info", "gauge", "Always 1; the labels say which build is running.");
    out.sample("webex_hitl_build_info", &[("version", VERSION), ("commit", COMMIT)], 1.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gauge_carries_the_version_and_commit() {
        let mut out = Exposition::default();
        write_build_info(&mut out);
        let text = out.finish();
        let line = format!("webex_hitl_build_info{{version=\"{VERSION}\",commit=\"{COMMIT}\"}} 1\n");
        assert!(text.contains(&line), "{text}");
        assert_eq!(VERSION_LINE, format!("{VERSION} (commit {COMMIT})"));
    }
}
