//! The tree is the architecture: every `crate::` path in `src/` runs down the layers.
//!
//! `src/lib.rs` draws the layers, bottom to top, and says a module may use the layers
//! below its own and never one above. This test reads every source file and holds the
//! code to that drawing (doc comments may point anywhere: a link is not a dependency),
//! and checks that every file opens with a module doc saying why it exists.

use std::fs;
use std::path::{Path, PathBuf};

/// The layers of `src/`, bottom first: the order of the drawing in `src/lib.rs`.
const LAYERS: [&str; 9] = [
    "protocol",
    "model",
    "policy",
    "output",
    "transport",
    "engine",
    "report",
    "serve",
    "app",
];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The layer a file belongs to: its first folder under `src/` (`None` for lib.rs and
/// main.rs, which sit above everything).
fn layer_of(file: &Path) -> Option<&'static str> {
    let relative = file.strip_prefix(src()).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    LAYERS.iter().copied().find(|l| *l == first)
}

/// Every `crate::LAYER` named on a line of code (comments and doc comments skipped).
fn layers_used(text: &str) -> Vec<(usize, &'static str)> {
    let mut used = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if let Some(layer) = LAYERS.iter().copied().find(|l| *l == name) {
                used.push((number + 1, layer));
            }
        }
    }
    used
}

#[test]
fn every_use_runs_down_the_layers() {
    let mut files = Vec::new();
    source_files(&src(), &mut files);
    files.sort();
    let mut upward = Vec::new();
    let mut arrows = 0;
    for file in &files {
        let Some(me) = layer_of(file) else { continue };
        let text = fs::read_to_string(file).unwrap();
        for (line, used) in layers_used(&text) {
            arrows += 1;
            if rank(used) > rank(me) {
                let shown = file.strip_prefix(src()).unwrap().display();
                upward.push(format!("src/{shown}:{line}: {me} uses {used}"));
            }
        }
    }
    assert!(arrows > 100, "the scan found only {arrows} crate:: paths");
    assert!(
        upward.is_empty(),
        "{} uses run up the layers:\n{}",
        upward.len(),
        upward.join("\n")
    );
}

#[test]
fn every_top_level_folder_is_a_layer() {
    for entry in fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if path.is_dir() {
            assert!(
                rank(&name).is_some(),
                "src/{name}/ is not a layer of lib.rs"
            );
        } else {
            assert!(
                name == "lib.rs" || name == "main.rs",
                "src/{name}: a file outside the layer folders"
            );
        }
    }
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    for layer in LAYERS {
        assert!(
            lib.contains(&format!("pub mod {layer};")),
            "lib.rs lacks {layer}"
        );
        assert!(
            lib.contains(&format!("//!  {layer}/")),
            "lib.rs draws no {layer}/"
        );
    }
}

#[test]
fn every_file_opens_with_a_module_doc() {
    let mut files = Vec::new();
    source_files(&src(), &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !fs::read_to_string(f).unwrap().starts_with("//!"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(missing.is_empty(), "no module doc: {missing:?}");
}

/// The leading `//!` lines of a file: its module doc.
fn module_doc(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_module_doc_says_what_it_may_use() {
    let mut files = Vec::new();
    source_files(&src(), &mut files);
    let mut silent = Vec::new();
    for file in &files {
        let Some(layer) = layer_of(file) else {
            continue;
        };
        let doc = module_doc(&fs::read_to_string(file).unwrap());
        let named = doc.contains("May use:") || doc.contains(&format!("Layer: `{layer}`"));
        if !named {
            silent.push(file.strip_prefix(src()).unwrap().display().to_string());
        }
    }
    assert!(
        silent.is_empty(),
        "module docs that do not say what the file may use (a `May use:` line, or \
         `Layer: `NAME`; may use ...`): {silent:?}"
    );
}

#[test]
fn the_scan_sees_code_and_skips_comments() {
    let text = "use crate::engine::pump;\n/// [`crate::app::run`]\nlet x = crate::model::job::JobId(1); // crate::app\n";
    assert_eq!(layers_used(text), vec![(1, "engine"), (3, "model")]);
}

/// The identifier `cli` on the code lines of `text` (comments skipped): the line numbers.
fn names_of_cli(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or("");
            code.trim() != "pub mod cli;"
                && code
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|word| word == "cli")
        })
        .map(|(number, _)| number + 1)
        .collect()
}

/// The library takes its own types (`app::run::GetTask`, `app::demo::DemoOptions`, the
/// options of `model::options`); only the binary and the parser itself name `app::cli`.
#[test]
fn only_the_binary_names_the_command_line() {
    let mut files = Vec::new();
    source_files(&src(), &mut files);
    files.sort();
    let cli = src().join("app").join("cli");
    let mut found = Vec::new();
    for file in files
        .iter()
        .filter(|f| !f.starts_with(&cli) && !f.ends_with("main.rs"))
    {
        let text = fs::read_to_string(file).unwrap();
        for line in names_of_cli(&text) {
            let shown = file.strip_prefix(src()).unwrap().display();
            found.push(format!("src/{shown}:{line}"));
        }
    }
    assert!(
        found.is_empty(),
        "the library names the command line:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_cli_scan_sees_paths_and_imports() {
    let text = "use crate::app::cli::GetArgs;\nuse crate::app::{cli, run};\n/// [`cli`]\npub mod cli;\nserve::run_cli(config);\n";
    assert_eq!(names_of_cli(text), vec![1, 2]);
}

#[test]
fn the_architecture_doc_draws_the_same_layers() {
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .unwrap();
    let missing: Vec<&str> = LAYERS
        .iter()
        .copied()
        .filter(|layer| !doc.contains(&format!("src/{layer}/")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md names no src/LAYER/ folder for {missing:?}"
    );
}

#[test]
fn every_source_path_the_docs_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![root.join("README.md")];
    for entry in fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    let mut missing = Vec::new();
    for doc in &docs {
        let text = fs::read_to_string(doc).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("src/") {
            rest = &rest[at..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "_/.".contains(*c))
                .collect();
            rest = &rest["src/".len()..];
            let Some(end) = path.find(".rs") else {
                continue;
            };
            let path = &path[..end + ".rs".len()];
            if !root.join(path).exists() {
                let name = doc.file_name().unwrap().to_string_lossy();
                missing.push(format!("{name}: {path}"));
            }
        }
    }
    assert!(docs.len() > 5, "read only {} docs", docs.len());
    assert!(
        missing.is_empty(),
        "the docs name files that do not exist: {missing:?}"
    );
}
