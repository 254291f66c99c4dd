//! The generator on a small fixture (insta snapshots), its validation messages, and the two
//! promises of the spec-driven layout: adding a parameter to api.yaml reaches the wrapper,
//! the stub and the docs; a stale tree fails `--check`.

use std::path::{Path, PathBuf};
use std::process::Command;

const SMALL: &str = include_str!("fixtures/small.yaml");

/// The checkout under test. Read at run time: with a target dir shared between checkouts,
/// cargo may reuse a test binary compiled in another one (its fingerprints are relative).
fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf());
    manifest.join("..")
}

fn real_api() -> String {
    std::fs::read_to_string(root().join("api.yaml")).unwrap()
}

#[test]
fn snapshots_of_the_small_fixture() {
    let files = codegen::render(SMALL).expect("fixture renders");
    for (path, content) in &files {
        let name = path.replace('/', "__");
        insta::assert_snapshot!(name, content);
    }
}

fn errors_for(yaml: &str) -> String {
    codegen::render(yaml).expect_err("should be rejected").join("\n")
}

#[test]
fn unknown_type_names_entry_and_line() {
    let bad = SMALL.replace("{name: how, type: str,", "{name: how, type: strr,");
    let err = errors_for(&bad);
    assert!(err.contains("Thing.poke.how") && err.contains("unknown type \"strr\""), "{err}");
    let line = bad.lines().position(|l| l.contains("name: how")).unwrap() + 1;
    assert!(err.contains(&format!("api.yaml:{line}:")), "{err}");
}

#[test]
fn duplicate_parameter_is_rejected() {
    let bad = SMALL.replace("{name: how, type: str, doc: How to poke.}", "{name: retries, type: str, doc: Clash.}");
    let err = errors_for(&bad);
    assert!(err.contains("Thing.poke") && err.contains("duplicate parameter \"retries\""), "{err}");
}

#[test]
fn missing_doc_is_rejected() {
    let bad = SMALL.replace("{name: size, type: int, doc: The size.}\n    returns", "{name: size, type: int}\n    returns");
    let err = errors_for(&bad);
    assert!(err.contains("functions.make.size: missing doc"), "{err}");
}

#[test]
fn unknown_exception_in_raises_is_rejected() {
    let err = errors_for(&SMALL.replace("raises: [DemoError]\n        doc: Poke", "raises: [NoSuchError]\n        doc: Poke"));
    assert!(err.contains("raises unknown exception \"NoSuchError\""), "{err}");
}

#[test]
fn adding_a_parameter_reaches_wrapper_stub_and_docs() {
    let api = real_api();
    let marker = "      - name: files\n";
    assert!(api.contains(marker));
    let added = api.replacen(
        marker,
        "      - name: trace_id\n        type: str\n        optional: true\n        default: None\n        doc: A trace id sent along.\n      - name: files\n",
        1,
    );
    let before = codegen::render(&api).unwrap();
    let after = codegen::render(&added).unwrap();
    let wrapper = &after["generated/src/lib.rs"];
    assert!(!before["generated/src/lib.rs"].contains("trace_id"));
    assert!(wrapper.contains("let mut trace_id: Option<String> = None;"), "wrapper argument with its default");
    assert!(wrapper.contains("\"trace_id\" => trace_id = rt::py::args::kwarg(&value, \"trace_id\")?"), "read from **kwargs");
    assert!(wrapper.contains("RequestKwargs { params, headers, cookies, auth, auth_bearer, timeout, retries, content, data, json, trace_id, files, follow_redirects, allow_redirects, stream, hooks }"));
    assert!(after["python/httpr/_types.py"].contains("trace_id: str | None"), "TypedDict gains it");
    assert!(after["docs/api/client.md"].contains("`trace_id`"), "docs gain it");
    assert!(after["docs/api/functions.md"].contains("A trace id sent along."));
}

#[test]
fn check_fails_on_a_changed_default_and_names_the_files() {
    let changed = real_api().replacen("        default: \"20\"\n", "        default: \"21\"\n", 1);
    assert_ne!(changed, real_api());
    let dir = std::env::temp_dir().join(format!("codegen-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let api_path = dir.join("api.yaml");
    std::fs::write(&api_path, changed).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_codegen")).args(["--check", "--api"]).arg(&api_path).arg("--root").arg(root()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("generated/src/lib.rs") && stderr.contains("docs/api/client.md"), "{stderr}");
    // And the committed tree itself is up to date.
    let ok = Command::new(env!("CARGO_BIN_EXE_codegen")).arg("--check").arg("--root").arg(root()).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}

#[test]
fn a_types_pass_conversion_applies_to_group_fields() {
    // A class-typed option (e.g. `transport=MockTransport`) reaches the runtime struct as the
    // binding's core, converted by the type's `pass` expression.
    let api = SMALL.replacen(
        "types:\n",
        "types:\n  thing: {py: \"Thing | None\", rust: \"Option<Py<Thing>>\", unset: \"None\", pass: \"{}.map(|t| t.get().0.clone())\"}\n",
        1,
    );
    let api = api.replacen(
        "      - {name: label, type: str, optional: true, default: None, doc: A label.}\n",
        "      - {name: label, type: str, optional: true, default: None, doc: A label.}\n      - {name: peer, type: thing, default: None, doc: Another thing.}\n",
        1,
    );
    let files = codegen::render(&api).expect("renders");
    let lib = &files["generated/src/lib.rs"];
    assert!(lib.contains("let mut peer: Option<Py<Thing>> = None;"), "{lib}");
    assert!(lib.contains("Opts { retries, label, peer: peer.map(|t| t.get().0.clone()) }"), "{lib}");
    assert!(files["python/demo/_types.py"].contains("peer: Thing | None"));
}
