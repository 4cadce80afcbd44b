//! The modules' dependencies point one way, in the layers ARCHITECTURE.md
//! lists: a module may use only modules of earlier layers. A cycle would make
//! every change to one module a change to the other, and the store must never
//! call back into the logic that uses it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const LAYERS: &[&[&str]] = &[
    &["model", "backoff", "secret"],
    &["webex"],
    &["config", "sim"],
    &["logging", "store"],
    &["signals", "spaces", "metrics", "systemd"],
    &["escalation", "leader"],
    &["dispatch"],
    &["api"],
    &["cli"],
    &["mcp"],
    &["daemon"],
    &["doctor", "demo", "rotate"],
    &["bench"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every `.rs` file of a top-level module (`src/x.rs`, or all of `src/x/`).
fn files_of(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).expect("a readable source dir") {
        files.extend(files_of(&entry.expect("a directory entry").path()));
    }
    files.retain(|f| f.extension().is_some_and(|e| e == "rs"));
    files
}

/// The top-level modules a file names as `crate::<module>`.
fn uses(text: &str) -> BTreeSet<String> {
    text.match_indices("crate::")
        .map(|(at, _)| text[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .collect()
}

#[test]
fn modules_use_only_modules_of_earlier_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(&src).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        let module = path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 name").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(layer) = layer_of(&module) else {
            wrong.push(format!("{module} is in no layer: add it to LAYERS and ARCHITECTURE.md"));
            continue;
        };
        for file in files_of(&path) {
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            for used in uses(&text).into_iter().filter(|used| *used != module) {
                match layer_of(&used) {
                    Some(other) if other < layer => {}
                    _ => wrong.push(format!("{} uses crate::{used} (layer {module} < {used})", file.display())),
                }
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_a_use() {
    assert_eq!(uses("use crate::store::Store; // crate::model"), BTreeSet::from(["store".into(), "model".into()]));
}
