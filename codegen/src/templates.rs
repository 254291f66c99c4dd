//! The minijinja environment. Templates are files under codegen/templates/, embedded at
//! build time so the generator binary is self-contained.

use std::collections::BTreeMap;

use minijinja::{context, Environment};

use crate::lower::Lowered;

const TEMPLATES: &[(&str, &str)] = &[
    ("lib.rs.j2", include_str!("../templates/lib.rs.j2")),
    ("stub.pyi.j2", include_str!("../templates/stub.pyi.j2")),
    ("types.py.j2", include_str!("../templates/types.py.j2")),
    ("exceptions.py.j2", include_str!("../templates/exceptions.py.j2")),
    ("init.py.j2", include_str!("../templates/init.py.j2")),
    ("macros.md.j2", include_str!("../templates/macros.md.j2")),
    ("doc_class.md.j2", include_str!("../templates/doc_class.md.j2")),
    ("doc_functions.md.j2", include_str!("../templates/doc_functions.md.j2")),
    ("doc_exceptions.md.j2", include_str!("../templates/doc_exceptions.md.j2")),
    ("doc_index.md.j2", include_str!("../templates/doc_index.md.j2")),
    ("doc_python.md.j2", include_str!("../templates/doc_python.md.j2")),
];

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    for (name, src) in TEMPLATES {
        env.add_template(name, src).expect("templates parse");
    }
    env.add_filter("kebab", |s: String| kebab(&s));
    env.add_filter("unescape", |s: String| s.replace("\\\"", "\"").replace("\\\\", "\\"));
    env
}

pub fn render_all(l: &Lowered) -> Result<BTreeMap<String, String>, minijinja::Error> {
    let env = env();
    let ctx = context! { api => l };
    let mut out = BTreeMap::new();
    let mut put = |path: String, tpl: &str, ctx: minijinja::Value| -> Result<(), minijinja::Error> {
        out.insert(path, env.get_template(tpl)?.render(ctx)?);
        Ok(())
    };
    put("generated/src/lib.rs".into(), "lib.rs.j2", ctx.clone())?;
    put(format!("python/{}/{}.pyi", l.module, l.native.rsplit('.').next().unwrap_or("_native")), "stub.pyi.j2", ctx.clone())?;
    put(format!("python/{}/_types.py", l.module), "types.py.j2", ctx.clone())?;
    put(format!("python/{}/_exceptions.py", l.module), "exceptions.py.j2", ctx.clone())?;
    put(format!("python/{}/__init__.py", l.module), "init.py.j2", ctx.clone())?;
    put("docs/api/index.md".into(), "doc_index.md.j2", ctx.clone())?;
    put("docs/api/functions.md".into(), "doc_functions.md.j2", ctx.clone())?;
    put("docs/api/exceptions.md".into(), "doc_exceptions.md.j2", ctx.clone())?;
    for m in &l.python {
        let slug = m.module.trim_matches('_').replace('_', "-");
        put(format!("docs/api/{slug}-module.md"), "doc_python.md.j2", context! { api => l, m => m })?;
    }
    for c in &l.classes {
        let slug = kebab(&c.name);
        put(format!("docs/api/{slug}.md"), "doc_class.md.j2", context! { api => l, c => c })?;
    }
    Ok(out)
}

/// `MockTransport` -> `mock-transport`; a run of capitals is one word (`SSEIterator` ->
/// `sse-iterator`).
pub fn kebab(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for (i, &ch) in chars.iter().enumerate() {
        let after_lower = i > 0 && !chars[i - 1].is_uppercase();
        let ends_capitals = i > 0 && chars[i - 1].is_uppercase() && chars.get(i + 1).is_some_and(|c| c.is_lowercase());
        if ch.is_uppercase() && (after_lower || ends_capitals) {
            out.push('-');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn kebab_keeps_acronyms_whole() {
        for (name, slug) in [("Client", "client"), ("MockTransport", "mock-transport"), ("SSEIterator", "sse-iterator"), ("AsyncSSEIterator", "async-sse-iterator"), ("HTTPError", "http-error"), ("URL", "url")] {
            assert_eq!(super::kebab(name), slug);
        }
    }
}
