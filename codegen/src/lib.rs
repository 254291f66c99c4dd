//! httpr's generator: api.yaml -> PyO3 wrappers, Python stubs and facade, API docs.
//! `render` is pure (text in, files out) so tests can run it on fixture yaml.

pub mod lower;
pub mod model;
pub mod templates;

use std::collections::BTreeMap;

use model::Api;

/// Parse api.yaml (YAML merge keys `<<:` are applied first).
pub fn parse(text: &str) -> Result<Api, Vec<String>> {
    let mut value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| vec![format!("api.yaml: {e}")])?;
    value.apply_merge().map_err(|e| vec![format!("api.yaml: {e}")])?;
    serde_yaml::from_value(value).map_err(|e| vec![format!("api.yaml: {e}")])
}

/// Every generated file, keyed by path relative to the repository root.
pub fn render(text: &str) -> Result<BTreeMap<String, String>, Vec<String>> {
    let api = parse(text)?;
    let lowered = lower::Lowering::new(&api, text).run()?;
    templates::render_all(&lowered).map_err(|e| vec![format!("template error: {e:#}")])
}
