//! `cargo run -p codegen` regenerates every file derived from api.yaml;
//! `cargo run -p codegen -- --check` exits 1 and names the stale files instead.
//! `--api PATH` and `--root DIR` point it at another spec or tree (used by tests).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    // The checkout we run in, not the one this binary was compiled in: scripts share one
    // cargo target dir between checkouts, so CARGO_MANIFEST_DIR may name another tree.
    let compiled_in = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut root = std::env::current_dir()
        .ok()
        .and_then(|cwd| cwd.ancestors().find(|d| d.join("api.yaml").is_file() && d.join("codegen").is_dir()).map(PathBuf::from))
        .unwrap_or_else(|| compiled_in.canonicalize().unwrap_or(compiled_in));
    let mut api: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--check" => check = true,
            "--api" => api = args.next().map(PathBuf::from),
            "--root" => root = args.next().map(PathBuf::from).unwrap_or(root),
            other => {
                eprintln!("unknown argument {other:?}; usage: codegen [--check] [--api api.yaml] [--root DIR]");
                return ExitCode::from(2);
            }
        }
    }
    let api = api.unwrap_or_else(|| root.join("api.yaml"));
    let text = match std::fs::read_to_string(&api) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {}: {e}", api.display());
            return ExitCode::from(2);
        }
    };
    let files = match codegen::render(&text) {
        Ok(f) => f,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return ExitCode::from(1);
        }
    };
    let mut stale = Vec::new();
    for (rel, content) in &files {
        let path = root.join(rel);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(content.as_str()) {
            continue;
        }
        if check {
            stale.push(rel.clone());
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).expect("create output dir");
            }
            std::fs::write(&path, content).expect("write generated file");
            println!("wrote {rel}");
        }
    }
    if check && !stale.is_empty() {
        eprintln!("generated files are stale (run `cargo run -p codegen`):");
        for s in stale {
            eprintln!("  {s}");
        }
        return ExitCode::from(1);
    }
    if check {
        println!("codegen: {} generated files are up to date", files.len());
    }
    ExitCode::SUCCESS
}
