//! Embeds every rule pack in `packs/` into the library, so that the binary needs no files at run time
//! and a new pack is picked up by dropping a `.toml` file beside the others.
//!
//! Packs are written in TOML for people and converted to JSON here: a syntax error fails the build
//! with the file and line, and start-up parses JSON, several times faster than TOML (it sits on the
//! path of every hook call).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = manifest.join("packs");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("packs/ directory is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut out = String::from("pub(crate) const PACK_FILES: &[(&str, &str)] = &[\n");
    for path in &paths {
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("pack names are UTF-8");
        let text = fs::read_to_string(path).expect("pack is readable UTF-8");
        let value: toml::Value = match toml::from_str(&text) {
            Ok(v) => v,
            Err(e) => panic!("rule pack {}: {e}", path.display()),
        };
        let json = serde_json::to_string(&value).expect("TOML values convert to JSON");
        let json_path = out_dir.join(format!("{stem}.json"));
        fs::write(&json_path, json).expect("OUT_DIR is writable");
        writeln!(
            out,
            "    ({stem:?}, include_str!({:?})),",
            json_path.display().to_string()
        )
        .expect("write to String");
    }
    out.push_str("];\n");
    fs::write(out_dir.join("packs_generated.rs"), out).expect("OUT_DIR is writable");
    fig_options(&manifest, &out_dir);
}

/// Splits `fig/options.json` (the option grammar converted from the Fig specs) into one JSON string
/// per tool, sorted by name: a lookup parses only the tool it needs, so start-up pays nothing.
fn fig_options(manifest: &std::path::Path, out_dir: &std::path::Path) {
    let path = manifest.join("fig/options.json");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = fs::read_to_string(&path).expect("fig/options.json is readable");
    let all: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).expect("fig/options.json is a JSON object");
    let mut names: Vec<&String> = all.keys().collect();
    names.sort();
    let mut out = String::from("pub(crate) const FIG_TOOLS: &[(&str, &str)] = &[\n");
    for name in names {
        let json = serde_json::to_string(&all[name]).expect("JSON values serialise");
        writeln!(out, "    ({name:?}, {json:?}),").expect("write to String");
    }
    out.push_str("];\n");
    fs::write(out_dir.join("fig_generated.rs"), out).expect("OUT_DIR is writable");
}
