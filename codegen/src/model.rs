//! api.yaml as Rust data: the raw schema (deserialised) and the lookups the renderers need.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub module: String,
    pub native: String,
    pub aliases: BTreeMap<String, String>,
    /// Other names a class is exported under (name -> class).
    #[serde(default)]
    pub class_aliases: BTreeMap<String, String>,
    /// TypedDicts combining groups' TypedDicts (name -> the TypedDicts it extends).
    #[serde(default)]
    pub typed_dict_unions: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub constants: Vec<Constant>,
    pub types: BTreeMap<String, TypeDef>,
    pub groups: BTreeMap<String, Group>,
    pub exceptions: Vec<ExceptionDef>,
    pub classes: Vec<Class>,
    pub functions: Vec<Function>,
    /// Parts of the API written in Python (hand-written modules under python/<module>/).
    #[serde(default)]
    pub python: Vec<PythonModule>,
}

/// A hand-written Python module of the package (typed inline, so it needs no stub). Its
/// `names` are re-exported from the package and listed in the API reference; a module whose
/// name has no leading underscore is also a public submodule (`httpr.exceptions`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PythonModule {
    pub module: String,
    pub doc: String,
    #[serde(default)]
    pub names: Vec<PythonName>,
    /// Its names are also imported into the compiled module's stub, for the `py` types that
    /// name them (`response.elapsed: Elapsed`).
    #[serde(default)]
    pub stub: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PythonName {
    pub name: String,
    pub doc: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TypeDef {
    pub py: String,
    #[serde(default)]
    pub rust: Option<String>,
    #[serde(default)]
    pub ret: Option<String>,
    #[serde(default)]
    pub ret_convert: Option<String>,
    #[serde(default)]
    pub unset: Option<String>,
    /// How a literal default becomes the Rust argument type (`{}` is the literal), for
    /// wrapper types such as `Count(3)`.
    #[serde(default)]
    pub from_literal: Option<String>,
    #[serde(default)]
    pub pass: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    #[serde(rename = "struct")]
    pub rust_struct: String,
    pub typed_dict: String,
    pub style: GroupStyle,
    pub doc: String,
    pub params: Vec<Param>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GroupStyle {
    Kwargs,
    Explicit,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub doc: Option<String>,
}

/// A parameter list entry: a parameter or a reference to a group.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ParamOrGroup {
    Group { group: String },
    Param(Param),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionDef {
    pub name: String,
    pub base: Bases,
    #[serde(default)]
    pub doc: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Bases {
    One(String),
    Many(Vec<String>),
}

impl Bases {
    pub fn list(&self) -> Vec<String> {
        match self {
            Bases::One(b) => vec![b.clone()],
            Bases::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    pub name: String,
    pub rust: String,
    #[serde(default)]
    pub doc: Option<String>,
    #[serde(default)]
    pub async_mirror: Option<String>,
    #[serde(default)]
    pub async_doc: Option<String>,
    /// A plain value (the binding type is `Clone`): arguments typed with a value class are
    /// read back by the runtime (`registry::unwrap_value`), e.g. `timeout=Timeout(...)`.
    #[serde(default)]
    pub value: bool,
    /// Abstract base classes (`collections.abc` names, e.g. `MutableMapping`) the class is
    /// registered with at import, so `isinstance(h, MutableMapping)` holds as for a dict.
    #[serde(default)]
    pub registers: Vec<String>,
    #[serde(default)]
    pub constructor: Option<Constructor>,
    #[serde(default)]
    pub properties: Vec<Property>,
    #[serde(default)]
    pub methods: Vec<Method>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Constant {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    /// A Python literal, also valid Rust.
    pub value: String,
    pub doc: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Constructor {
    #[serde(default)]
    pub params: Vec<ParamOrGroup>,
    /// Extra parameters of the async mirror's constructor, passed to `async_call`.
    #[serde(default)]
    pub async_params: Vec<ParamOrGroup>,
    #[serde(default)]
    pub async_call: Option<String>,
    /// The binding's constructor (default `new`).
    #[serde(default)]
    pub call: Option<String>,
    #[serde(default)]
    pub raises: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Property {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub py: bool,
    #[serde(default)]
    pub setter: Option<Setter>,
    /// Exceptions the getter may raise (makes the binding's getter fallible).
    #[serde(default)]
    pub raises: Vec<String>,
    #[serde(default)]
    pub doc: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Setter {
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub raises: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    pub name: String,
    #[serde(default)]
    pub call: Option<String>,
    #[serde(default)]
    pub fixed: Vec<String>,
    #[serde(default)]
    pub py: bool,
    #[serde(default)]
    pub this: bool,
    /// Also offered as a coroutine on the class's async mirror.
    #[serde(default, rename = "async")]
    pub is_async: bool,
    /// The binding method the async mirror calls (default: `a` + the sync target).
    #[serde(default)]
    pub async_call: Option<String>,
    /// `sync` or `async`: the method exists on one of the two classes only.
    #[serde(default)]
    pub only: Option<Only>,
    /// Also on the async mirror, unchanged (a plain method, not a coroutine).
    #[serde(default)]
    pub mirror: bool,
    /// The async mirror's version returns this (synchronously) instead of a coroutine.
    #[serde(default)]
    pub async_returns: Option<String>,
    /// The binding returns an awaitable resolving to `returns`; stubs say `async def`.
    #[serde(default)]
    pub coroutine: bool,
    #[serde(default)]
    pub params: Vec<ParamOrGroup>,
    #[serde(default)]
    pub returns: Option<String>,
    #[serde(default)]
    pub raises: Vec<String>,
    #[serde(default)]
    pub doc: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    pub name: String,
    pub rust: String,
    #[serde(default)]
    pub fixed: Vec<String>,
    #[serde(default)]
    pub params: Vec<ParamOrGroup>,
    #[serde(default)]
    pub returns: Option<String>,
    #[serde(default)]
    pub raises: Vec<String>,
    #[serde(default)]
    pub doc: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Only {
    Sync,
    Async,
}

/// Built-in exceptions a `raises:` list may name besides the declared ones.
pub const BUILTIN_EXCEPTIONS: &[&str] =
    &["Exception", "ValueError", "TypeError", "KeyError", "LookupError", "RuntimeError", "TimeoutError", "ResourceWarning", "OSError", "FileNotFoundError", "PermissionError", "json.JSONDecodeError"];
