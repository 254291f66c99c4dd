//! Validation and lowering: checks api.yaml (unknown types, duplicate parameters, missing docs,
//! unknown exceptions) and turns it into render-ready records whose strings the templates
//! only have to place. Every error names the entry and its line in api.yaml.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::*;

#[derive(Debug, Clone, Serialize)]
pub struct RParam {
    pub name: String,
    pub py_type: String,
    pub rust_type: String,
    /// Python default as written in api.yaml (None when required).
    pub py_default: Option<String>,
    /// Rust expression used in the PyO3 signature when the argument is omitted.
    pub rust_default: Option<String>,
    pub doc: String,
    pub group: Option<String>,
    /// In a `kwargs`-style group: keyword-only, rendered as `**kwargs: Unpack[...]` in stubs.
    pub kwargs: bool,
    pub pass: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RGroup {
    pub name: String,
    pub rust_struct: String,
    pub typed_dict: String,
    pub kwargs: bool,
    pub doc: String,
    pub params: Vec<RParam>,
    /// kwargs-style groups only: the body of the generated `extract_<group>` function.
    pub extract: String,
}

impl RGroup {
    /// `Struct { a, b, ... }` from local variables named like the parameters; a type's `pass`
    /// conversion applies to its field (`t: t.map(...)`), as it does to a plain argument.
    fn struct_literal(&self) -> String {
        let fields: Vec<String> = self.params.iter().map(|p| if p.pass == p.name { p.name.clone() } else { format!("{}: {}", p.name, p.pass) }).collect();
        format!("{} {{ {} }}", self.rust_struct, fields.join(", "))
    }

    /// For a kwargs-style group: the body of `extract_<group>(func, kwargs)`, which reads the
    /// group's parameters from `**kwargs` (unknown names raise TypeError).
    fn extract_body(&self) -> String {
        let mut s = String::new();
        for p in &self.params {
            let default = p.rust_default.clone().unwrap_or_else(|| "None".into());
            s.push_str(&format!("let mut {}: {} = {};\n", p.name, p.rust_type, default));
        }
        s.push_str("if let Some(kwargs) = kwargs {\n    for (key, value) in kwargs.iter() {\n        match key.extract::<&str>()? {\n");
        for p in &self.params {
            s.push_str(&format!("            \"{0}\" => {0} = rt::py::args::kwarg(&value, \"{0}\")?,\n", p.name));
        }
        s.push_str("            other => return Err(rt::py::args::unexpected_kwarg(func, other)),\n        }\n    }\n}\n");
        s.push_str(&format!("Ok({})", self.struct_literal()));
        s
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RCallable {
    pub name: String,
    pub doc: String,
    /// The docstring shown by help(): doc + Args + Returns + Raises.
    pub docstring: String,
    pub params: Vec<RParam>,
    /// Groups used, in order, with whether each is kwargs-style.
    pub groups: Vec<RGroup>,
    pub kwargs_group: Option<String>,
    pub pyo3_signature: String,
    pub text_signature: String,
    pub rust_params: String,
    pub call: String,
    pub fallible: bool,
    pub ret_rust: String,
    pub ret_expr: String,
    pub py_ret: String,
    pub stub_params: String,
    /// Rust statements that fill the kwargs-style parameters from `**kwargs`.
    pub kw_prelude: String,
    pub raises: Vec<String>,
    pub this: bool,
    pub returns_self: bool,
    /// A Python protocol slot (`__getitem__`, `__len__`, ...): PyO3 takes no signature/doc there.
    pub slot: bool,
    /// On an async mirror: the wrapper returns an awaitable; stubs say `async def`.
    pub coroutine: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RProperty {
    pub name: String,
    pub doc: String,
    pub py_type: String,
    pub ret_rust: String,
    pub getter_expr: String,
    pub setter: Option<RSetter>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RSetter {
    pub rust_type: String,
    pub py_type: String,
    pub raises: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RClass {
    pub name: String,
    pub rust: String,
    pub doc: String,
    pub constructor: Option<RCallable>,
    pub properties: Vec<RProperty>,
    pub methods: Vec<RCallable>,
    pub async_mirror: Option<String>,
    pub async_doc: String,
    /// Set on an async mirror: the sync class it mirrors (same binding type).
    pub mirror_of: Option<String>,
    pub value: bool,
    pub registers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RException {
    pub name: String,
    pub bases: Vec<String>,
    pub doc: String,
    pub depth: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RTypeAlias {
    pub name: String,
    pub py: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lowered {
    pub module: String,
    pub native: String,
    pub classes: Vec<RClass>,
    pub functions: Vec<RCallable>,
    pub exceptions: Vec<RException>,
    pub groups: Vec<RGroup>,
    pub aliases: Vec<RTypeAlias>,
    pub class_aliases: Vec<RTypeAlias>,
    pub unions: Vec<RUnion>,
    pub constants: Vec<RConstant>,
    pub python: Vec<RPythonModule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RPythonModule {
    pub module: String,
    pub doc: String,
    /// Imported as a submodule too (`from . import exceptions`).
    pub public: bool,
    pub names: Vec<crate::model::PythonName>,
    /// Its names are imported into the stub (see `PythonModule::stub`).
    pub stub: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RUnion {
    pub name: String,
    pub bases: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RConstant {
    pub name: String,
    pub py_type: String,
    pub value: String,
    pub doc: String,
}

pub struct Lowering<'a> {
    api: &'a Api,
    text: &'a str,
    errors: Vec<String>,
}

/// Line (1-based) of `name: needle` after the line where `parents` were found in order.
pub fn locate(text: &str, path: &[&str]) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    for needle in path {
        let pats = [format!("name: {needle}"), format!("{needle}:")];
        if let Some(i) = (start..lines.len()).find(|&i| {
            let l = lines[i].trim_start().trim_start_matches("- ").trim_start_matches('{');
            pats.iter().any(|p| l.starts_with(p.as_str()) && l[p.len()..].chars().next().map_or(true, |c| !c.is_alphanumeric() && c != '_'))
        }) {
            start = i;
        }
    }
    start + 1
}

fn literal_to_rust(lit: &str) -> Option<String> {
    match lit {
        "None" => Some("None".into()),
        "True" => Some("true".into()),
        "False" => Some("false".into()),
        _ if lit.parse::<i64>().is_ok() => Some(lit.into()),
        // A float literal is the same in Python and Rust (given a dot: `0.5`, `120.0`).
        _ if lit.contains('.') && lit.parse::<f64>().is_ok_and(f64::is_finite) => Some(lit.into()),
        // A plain string literal ('message' or "message"; no escapes), for a `String` param.
        _ if lit.len() >= 2 && (lit.starts_with('\'') && lit.ends_with('\'') || lit.starts_with('"') && lit.ends_with('"')) => {
            let inner = &lit[1..lit.len() - 1];
            (!inner.contains(['\\', '\'', '"'])).then(|| format!("String::from({inner:?})"))
        }
        _ => None,
    }
}

/// Python protocol methods PyO3 implements as type slots: no signature or docs there, and
/// their arguments are positional-only without defaults.
fn is_slot(name: &str) -> bool {
    name.starts_with("__") && !matches!(name, "__enter__" | "__exit__" | "__new__")
}

/// The wrapper returns the binding's awaitable as is; the stub keeps the resolved type.
fn make_coroutine(r: &mut RCallable) {
    r.coroutine = true;
    r.fallible = true;
    r.ret_rust = "Py<PyAny>".into();
    r.ret_expr = "v".into();
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

impl<'a> Lowering<'a> {
    pub fn new(api: &'a Api, text: &'a str) -> Self {
        Lowering { api, text, errors: Vec::new() }
    }

    fn err(&mut self, path: &[&str], msg: impl AsRef<str>) {
        let line = locate(self.text, path);
        self.errors.push(format!("api.yaml:{line}: {}: {}", path.join("."), msg.as_ref()));
    }

    fn doc(&mut self, path: &[&str], doc: &Option<String>) -> String {
        match doc {
            Some(d) if !d.trim().is_empty() => d.trim().to_string(),
            _ => {
                self.err(path, "missing doc");
                String::new()
            }
        }
    }

    fn class_names(&self) -> BTreeSet<&str> {
        self.api.classes.iter().map(|c| c.name.as_str()).collect()
    }

    fn check_raises(&mut self, path: &[&str], raises: &[String]) {
        let declared: BTreeSet<String> = self.api.exceptions.iter().map(|e| e.name.clone()).collect();
        for r in raises {
            if !declared.contains(r) && !BUILTIN_EXCEPTIONS.contains(&r.as_str()) {
                self.err(path, format!("raises unknown exception {r:?}"));
            }
        }
    }

    fn param(&mut self, path: &[&str], p: &Param, group: Option<&Group>, group_name: Option<&str>) -> RParam {
        let mut full: Vec<&str> = path.to_vec();
        full.push(&p.name);
        let doc = self.doc(&full, &p.doc);
        let Some(t) = self.api.types.get(&p.ty) else {
            self.err(&full, format!("unknown type {:?}", p.ty));
            return RParam { name: p.name.clone(), py_type: String::new(), rust_type: String::new(), py_default: None, rust_default: None, doc, group: None, kwargs: false, pass: String::new() };
        };
        let Some(rust) = t.rust.clone() else {
            self.err(&full, format!("type {:?} cannot be used as a parameter (no `rust`)", p.ty));
            return RParam { name: p.name.clone(), py_type: t.py.clone(), rust_type: String::new(), py_default: None, rust_default: None, doc, group: None, kwargs: false, pass: String::new() };
        };
        let (py_type, rust_type) = if p.optional { (format!("{} | None", t.py), format!("Option<{rust}>")) } else { (t.py.clone(), rust) };
        // A type with `unset` takes it for any default (the runtime applies the documented
        // value), unless it also has `from_literal` and the default is a plain literal: then
        // the wrapper passes that value (`keepalive_expiry=5.0`).
        let literal = |lit: &str| lit != "..." && !(lit == "None" && !p.optional) && t.from_literal.is_some();
        let rust_default = match (&p.default, &t.unset) {
            (None, _) => None,
            (Some(lit), Some(unset)) if !literal(lit) => Some(unset.clone()),
            (Some(lit), _) => match literal_to_rust(lit) {
                Some(r) if r == "None" && p.optional => Some(r),
                Some(r) if t.from_literal.is_some() => {
                    let wrapped = t.from_literal.as_deref().unwrap_or("{}").replace("{}", &r);
                    Some(if p.optional { format!("Some({wrapped})") } else { wrapped })
                }
                Some(r) if p.optional => Some(format!("Some({r})")),
                Some(r) if r != "None" => Some(r),
                _ => {
                    self.err(&full, format!("default {lit:?} has no Rust equivalent for type {:?} (give the type an `unset`)", p.ty));
                    None
                }
            },
        };
        RParam {
            name: p.name.clone(),
            py_type,
            rust_type,
            py_default: p.default.clone(),
            rust_default,
            doc,
            group: group_name.map(str::to_owned),
            kwargs: group.is_some_and(|g| g.style == GroupStyle::Kwargs),
            pass: t.pass.clone().unwrap_or_else(|| "{}".into()).replace("{}", &p.name),
        }
    }

    fn group(&mut self, name: &str) -> Option<RGroup> {
        let Some(g) = self.api.groups.get(name) else { return None };
        let g = g.clone();
        let path = ["groups", name];
        let doc = self.doc(&path, &Some(g.doc.clone()));
        let params = g.params.iter().map(|p| self.param(&path, p, Some(&g), Some(name))).collect();
        let mut group = RGroup { name: name.into(), rust_struct: g.rust_struct.clone(), typed_dict: g.typed_dict.clone(), kwargs: g.style == GroupStyle::Kwargs, doc, params, extract: String::new() };
        if group.kwargs {
            group.extract = group.extract_body();
        }
        Some(group)
    }

    fn ret(&mut self, path: &[&str], ty: Option<&str>) -> (String, String, String, bool) {
        // (rust type, conversion of `v`, python annotation, returns self)
        let Some(ty) = ty else { return ("()".into(), "v".into(), "None".into(), false) };
        if self.class_names().contains(ty) {
            return (ty.to_string(), format!("{ty}(v)"), ty.to_string(), false);
        }
        match self.api.types.get(ty) {
            None => {
                self.err(path, format!("unknown return type {ty:?}"));
                (String::new(), String::new(), String::new(), false)
            }
            Some(t) => match &t.ret {
                None => {
                    self.err(path, format!("type {ty:?} cannot be returned (no `ret`)"));
                    (String::new(), String::new(), String::new(), false)
                }
                Some(r) => (r.clone(), t.ret_convert.clone().unwrap_or_else(|| "{}".into()).replace("{}", "v"), t.py.clone(), ty == "self"),
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn callable(
        &mut self,
        path: &[&str],
        name: &str,
        doc: &Option<String>,
        entries: &[ParamOrGroup],
        fixed: &[String],
        returns: Option<&str>,
        raises: &[String],
        target: &str,
        pass_py: bool,
        this: bool,
        is_method: bool,
    ) -> RCallable {
        let doc = self.doc(path, doc);
        self.check_raises(path, raises);
        let mut params: Vec<RParam> = Vec::new();
        let mut groups: Vec<RGroup> = Vec::new();
        for e in entries {
            match e {
                ParamOrGroup::Param(p) => {
                    let rp = self.param(path, p, None, None);
                    params.push(rp);
                }
                ParamOrGroup::Group { group } => match self.group(group) {
                    Some(g) => {
                        params.extend(g.params.iter().cloned());
                        groups.push(g);
                    }
                    None => self.err(path, format!("unknown group {group:?}")),
                },
            }
        }
        let mut seen = BTreeSet::new();
        for p in &params {
            if !seen.insert(p.name.clone()) {
                self.err(path, format!("duplicate parameter {:?}", p.name));
            }
        }
        let (ret_rust, ret_expr, py_ret, returns_self) = self.ret(path, returns);

        // PyO3 signature and the text signature (Python defaults) for inspect/help().
        let mut sig = Vec::new();
        let mut text = Vec::new();
        if is_method {
            text.push("$self".to_string());
        }
        // Parameters of a kwargs-style group arrive as a real `**kwargs` dict (matching the
        // stub's `**kwargs: Unpack[TypedDict]`) and are extracted by `kw_prelude`.
        for p in params.iter().filter(|p| !p.kwargs) {
            match (&p.rust_default, &p.py_default) {
                (Some(rd), Some(pd)) => {
                    sig.push(format!("{}={}", p.name, rd));
                    text.push(format!("{}={}", p.name, pd));
                }
                (None, _) if p.rust_type.starts_with("Option<") => {
                    sig.push(format!("{}=None", p.name));
                    text.push(format!("{}=None", p.name));
                }
                _ => {
                    sig.push(p.name.clone());
                    text.push(p.name.clone());
                }
            }
        }
        let mut rust_params: Vec<String> = params.iter().filter(|p| !p.kwargs).map(|p| format!("{}: {}", p.name, p.rust_type)).collect();
        // A kwargs-style group is filled by its generated `extract_<group>` function.
        let kw_groups: Vec<&RGroup> = groups.iter().filter(|g| g.kwargs).collect();
        if kw_groups.len() > 1 {
            self.err(path, "at most one kwargs-style group per callable");
        }
        let mut kw_prelude = String::new();
        if let Some(g) = kw_groups.first() {
            sig.push("**kwargs".into());
            text.push("**kwargs".into());
            rust_params.push("kwargs: Option<&Bound<'_, pyo3::types::PyDict>>".into());
            kw_prelude = format!("let {0} = extract_{0}(\"{name}\", kwargs)?;", g.name);
        }

        // The runtime call: fixed args, then plain params, then one struct per group.
        let mut args: Vec<String> = Vec::new();
        if pass_py {
            args.push("py".into());
        }
        if this {
            args.push("slf.as_any()".into());
        }
        args.extend(fixed.iter().cloned());
        for e in entries {
            match e {
                ParamOrGroup::Param(p) => {
                    if let Some(rp) = params.iter().find(|x| x.name == p.name && x.group.is_none()) {
                        args.push(rp.pass.clone());
                    }
                }
                ParamOrGroup::Group { group } => {
                    if let Some(g) = groups.iter().find(|g| &g.name == group) {
                        if g.kwargs {
                            args.push(g.name.clone());
                        } else {
                            args.push(g.struct_literal());
                        }
                    }
                }
            }
        }
        let call = format!("{target}({})", args.join(", "));

        let kwargs_group = groups.iter().find(|g| g.kwargs).map(|g| g.typed_dict.clone());
        let mut stub = Vec::new();
        if is_method {
            stub.push("self".to_string());
        }
        for p in params.iter().filter(|p| !p.kwargs) {
            if is_slot(name) {
                stub.push(format!("{}: {}", p.name, p.py_type));
                continue;
            }
            match &p.py_default {
                Some(d) => stub.push(format!("{}: {} = {}", p.name, p.py_type, d)),
                None if p.rust_type.starts_with("Option<") => stub.push(format!("{}: {} = None", p.name, p.py_type)),
                None => stub.push(format!("{}: {}", p.name, p.py_type)),
            }
        }
        if is_slot(name) && stub.len() > 1 {
            // Protocol slots take their arguments positionally only.
            stub.push("/".into());
        }
        if let Some(td) = &kwargs_group {
            stub.push(format!("**kwargs: Unpack[{td}]"));
        }

        let mut docstring = doc.clone();
        if !params.is_empty() {
            docstring.push_str("\n\nArgs:");
            for p in &params {
                docstring.push_str(&format!("\n    {} ({}): {}", p.name, p.py_type, p.doc));
                match p.py_default.as_deref() {
                    Some("...") => docstring.push_str(" Default: the client's setting."),
                    Some(d) => docstring.push_str(&format!(" Default: {d}.")),
                    None => {}
                }
            }
        }
        if returns.is_some() {
            docstring.push_str(&format!("\n\nReturns:\n    {py_ret}"));
        }
        if !raises.is_empty() {
            docstring.push_str(&format!("\n\nRaises:\n    {}", raises.join(", ")));
        }

        RCallable {
            name: name.to_string(),
            doc,
            docstring: esc(&docstring),
            params,
            groups,
            kwargs_group,
            pyo3_signature: sig.join(", "),
            text_signature: esc(&format!("({})", text.join(", "))),
            rust_params: rust_params.join(", "),
            call,
            fallible: !raises.is_empty(),
            ret_rust,
            ret_expr,
            py_ret,
            stub_params: stub.join(", "),
            kw_prelude,
            raises: raises.to_vec(),
            this,
            returns_self,
            coroutine: false,
            slot: is_slot(name),
        }
    }

    fn property(&mut self, cls: &str, p: &Property) -> RProperty {
        let path = [cls, p.name.as_str()];
        let doc = self.doc(&path, &p.doc);
        let (ret_rust, ret_expr, py_type, _) = self.ret(&path, Some(&p.ty));
        self.check_raises(&path, &p.raises);
        let fallible = if p.raises.is_empty() { "" } else { "?" };
        let getter_expr = format!("self.0.{}({}){fallible}", p.name, if p.py { "py" } else { "" });
        let setter = p.setter.as_ref().map(|s| {
            self.check_raises(&path, &s.raises);
            match self.api.types.get(&s.ty).and_then(|t| t.rust.clone().map(|r| (r, t.py.clone()))) {
                Some((r, py)) => RSetter {
                    rust_type: if s.optional { format!("Option<{r}>") } else { r },
                    py_type: if s.optional { format!("{py} | None") } else { py },
                    raises: s.raises.clone(),
                },
                None => {
                    self.err(&path, format!("setter type {:?} is unknown or not a parameter type", s.ty));
                    RSetter { rust_type: String::new(), py_type: String::new(), raises: vec![] }
                }
            }
        });
        RProperty { name: p.name.clone(), doc: esc(&doc), py_type, ret_rust, getter_expr: format!("{{ let v = {getter_expr}; {ret_expr} }}"), setter }
    }

    fn exceptions(&mut self) -> Vec<RException> {
        let mut out: Vec<RException> = Vec::new();
        let mut depth: BTreeMap<String, usize> = BTreeMap::new();
        for e in &self.api.exceptions {
            let path = ["exceptions", e.name.as_str()];
            let doc = self.doc(&path, &e.doc);
            if depth.contains_key(&e.name) {
                self.err(&path, "duplicate exception");
            }
            let bases = e.base.list();
            let mut d = 0;
            for b in &bases {
                match depth.get(b) {
                    Some(bd) => d = d.max(bd + 1),
                    None if BUILTIN_EXCEPTIONS.contains(&b.as_str()) => {}
                    None => self.err(&path, format!("base {b:?} is neither a builtin nor declared above")),
                }
            }
            depth.insert(e.name.clone(), d);
            out.push(RException { name: e.name.clone(), bases, doc, depth: d });
        }
        out
    }

    pub fn run(mut self) -> Result<Lowered, Vec<String>> {
        let api = self.api;
        let exceptions = self.exceptions();
        let mut classes = Vec::new();
        let mut mirrors = Vec::new();
        let mut names = BTreeSet::new();
        for c in &api.classes {
            if !names.insert(c.name.clone()) {
                self.err(&["classes", &c.name], "duplicate class");
            }
            let doc = self.doc(&["classes", &c.name], &c.doc);
            let mirror_constructor = c.constructor.as_ref().filter(|k| !k.async_params.is_empty()).map(|k| {
                let call = k.async_call.clone().unwrap_or_else(|| "new_async".into());
                let target = format!("rt::py::{}::{call}", c.rust);
                let mut params = k.params.clone();
                params.extend(k.async_params.iter().cloned());
                let mut r = self.callable(&[&c.name, "constructor"], "__new__", &Some(doc.clone()), &params, &[], None, &k.raises, &target, false, false, false);
                r.ret_rust = "Self".into();
                r
            });
            let constructor = c.constructor.as_ref().map(|k| {
                let target = format!("rt::py::{}::{}", c.rust, k.call.as_deref().unwrap_or("new"));
                let mut r = self.callable(&[&c.name, "constructor"], "__new__", &Some(doc.clone()), &k.params, &[], None, &k.raises, &target, false, false, false);
                r.ret_rust = "Self".into();
                r
            });
            let properties = c.properties.iter().map(|p| self.property(&c.name, p)).collect();
            let mut methods = Vec::new();
            let mut async_methods = Vec::new();
            let mut mnames = BTreeSet::new();
            for m in &c.methods {
                if !mnames.insert(m.name.clone()) {
                    self.err(&[&c.name, &m.name], "duplicate method");
                }
                let recv = if m.this { "slf.get().0" } else { "self.0" };
                let sync_target = m.call.clone().unwrap_or_else(|| m.name.clone());
                if m.only != Some(Only::Async) {
                    let target = format!("{recv}.{sync_target}");
                    let mut r = self.callable(&[&c.name, &m.name], &m.name, &m.doc, &m.params, &m.fixed, m.returns.as_deref(), &m.raises, &target, m.py, m.this, true);
                    if m.coroutine {
                        make_coroutine(&mut r);
                    }
                    methods.push(r);
                }
                if m.mirror {
                    let target = format!("{recv}.{sync_target}");
                    let r = self.callable(&[&c.name, &m.name], &m.name, &m.doc, &m.params, &m.fixed, m.returns.as_deref(), &m.raises, &target, m.py, m.this, true);
                    async_methods.push(r);
                }
                let on_mirror = m.only == Some(Only::Async) || (m.is_async && m.only != Some(Only::Sync));
                if on_mirror {
                    if c.async_mirror.is_none() {
                        self.err(&[&c.name, &m.name], "async method on a class without `async_mirror`");
                    }
                    let (name, target) = if m.only == Some(Only::Async) {
                        (m.name.clone(), format!("{recv}.{sync_target}"))
                    } else {
                        let name = if m.name == "close" { "aclose".to_string() } else { m.name.clone() };
                        (name, format!("{recv}.{}", m.async_call.clone().unwrap_or_else(|| format!("a{sync_target}"))))
                    };
                    let returns = m.async_returns.as_deref().or(m.returns.as_deref());
                    let mut r = self.callable(&[&c.name, &m.name], &name, &m.doc, &m.params, &m.fixed, returns, &m.raises, &target, true, m.this, true);
                    if m.async_returns.is_none() {
                        make_coroutine(&mut r);
                    }
                    async_methods.push(r);
                }
            }
            if let Some(mirror) = &c.async_mirror {
                mirrors.push(RClass {
                    name: mirror.clone(),
                    rust: c.rust.clone(),
                    doc: esc(c.async_doc.as_deref().unwrap_or_default()),
                    constructor: mirror_constructor.clone().or_else(|| constructor.clone()),
                    properties: c.properties.iter().map(|p| self.property(&c.name, p)).collect(),
                    methods: async_methods,
                    async_mirror: None,
                    async_doc: String::new(),
                    mirror_of: Some(c.name.clone()),
                    value: false,
                    registers: Vec::new(),
                });
            }
            classes.push(RClass {
                name: c.name.clone(),
                rust: c.rust.clone(),
                doc: esc(&doc),
                constructor,
                properties,
                methods,
                async_mirror: c.async_mirror.clone(),
                async_doc: c.async_doc.clone().unwrap_or_default(),
                mirror_of: None,
                value: c.value,
                registers: c.registers.clone(),
            });
        }
        classes.extend(mirrors);
        let mut functions = Vec::new();
        let mut fnames = BTreeSet::new();
        for f in &api.functions {
            if !fnames.insert(f.name.clone()) {
                self.err(&["functions", &f.name], "duplicate function");
            }
            let target = format!("rt::py::{}", f.rust);
            functions.push(self.callable(&["functions", &f.name], &f.name, &f.doc, &f.params, &f.fixed, f.returns.as_deref(), &f.raises, &target, true, false, false));
        }
        let mut constants = Vec::new();
        for k in &api.constants {
            let doc = self.doc(&["constants", &k.name], &k.doc);
            match self.api.types.get(&k.ty) {
                Some(t) => constants.push(RConstant { name: k.name.clone(), py_type: t.py.clone(), value: k.value.clone(), doc }),
                None => self.err(&["constants", &k.name], format!("unknown type {:?}", k.ty)),
            }
        }
        for (alias, target) in &api.class_aliases {
            if !self.class_names().contains(target.as_str()) {
                self.err(&["class_aliases", alias], format!("unknown class {target:?}"));
            }
        }
        let mut python = Vec::new();
        let mut exported: BTreeSet<String> = self.class_names().iter().map(|s| s.to_string()).collect();
        exported.extend(api.functions.iter().map(|f| f.name.clone()));
        exported.extend(api.exceptions.iter().map(|e| e.name.clone()));
        exported.extend(api.class_aliases.keys().cloned());
        for m in &api.python {
            if !m.module.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || m.module.is_empty() {
                self.err(&["python", &m.module], "module must be a plain Python module name");
            }
            for n in &m.names {
                if !exported.insert(n.name.clone()) {
                    self.err(&["python", &m.module, &n.name], "name already exported");
                }
            }
            python.push(RPythonModule { module: m.module.clone(), doc: esc(&m.doc), public: !m.module.starts_with('_'), stub: m.stub, names: m.names.iter().map(|n| crate::model::PythonName { name: n.name.clone(), doc: esc(&n.doc) }).collect() });
        }
        let groups: Vec<RGroup> = api.groups.keys().cloned().collect::<Vec<_>>().iter().filter_map(|g| self.group(g)).collect();
        if self.errors.is_empty() {
            let aliases = api.aliases.iter().map(|(k, v)| RTypeAlias { name: k.clone(), py: v.clone() }).collect();
            let class_aliases = api.class_aliases.iter().map(|(k, v)| RTypeAlias { name: k.clone(), py: v.clone() }).collect();
            let unions = api.typed_dict_unions.iter().map(|(k, v)| RUnion { name: k.clone(), bases: v.clone() }).collect();
            Ok(Lowered { module: api.module.clone(), native: api.native.clone(), classes, functions, exceptions, groups, aliases, class_aliases, unions, constants, python })
        } else {
            self.errors.sort();
            self.errors.dedup();
            Err(self.errors)
        }
    }
}
