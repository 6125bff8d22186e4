//! A provider's list of models: the built-in one embedded in the binary, or the
//! user's file that replaces it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::spec::ModelSpec;
use crate::error::{Error, Result};
use crate::providers::ProviderKind;

/// The built-in catalogue text of a provider.
fn builtin_text(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Gemini => include_str!("../../conf/gemini_models.json"),
        ProviderKind::OpenAi => include_str!("../../conf/openai_models.json"),
        ProviderKind::Azure => include_str!("../../conf/azure_models.json"),
        ProviderKind::Xai => include_str!("../../conf/xai_models.json"),
        ProviderKind::Dial => include_str!("../../conf/dial_models.json"),
        ProviderKind::Custom => include_str!("../../conf/custom_models.json"),
        ProviderKind::OpenRouter => include_str!("../../conf/openrouter_models.json"),
    }
}

/// The models of one provider, with name and alias lookup.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Where it came from: a file path, or `built-in <provider>`.
    pub source: String,
    models: Vec<Arc<ModelSpec>>,
    /// Lowercased model names, aliases and deployments → (index into
    /// `models`, whether the key is an alias).
    index: HashMap<String, (usize, bool)>,
}

impl Catalogue {
    /// The built-in catalogue of `kind`.
    pub fn builtin(kind: ProviderKind) -> Result<Self> {
        Self::parse(builtin_text(kind), &format!("built-in {}", kind.id()), kind)
    }

    /// Reads a user's catalogue file.
    pub fn from_file(path: &Path, kind: ProviderKind) -> Result<Self> {
        let setting = kind.models_config_var();
        let text = std::fs::read_to_string(path).map_err(|err| Error::Catalogue {
            file: path.display().to_string(),
            message: format!("can't be read ({err}); fix the path in {setting} or unset it"),
        })?;
        Self::parse(&text, &path.display().to_string(), kind)
    }

    /// Parses the catalogue text of provider `kind`; `source` names it in errors.
    /// Entries whose `provider` field names another provider are left out.
    pub fn parse(text: &str, source: &str, kind: ProviderKind) -> Result<Self> {
        let fail = |message: String| Error::Catalogue {
            file: source.to_owned(),
            message,
        };
        let root: Value = serde_json::from_str(text).map_err(|err| {
            fail(format!(
                "not valid JSON at line {} column {}: {err}",
                err.line(),
                err.column()
            ))
        })?;
        let Value::Object(root) = root else {
            return Err(fail(
                r#"must be a JSON object like {"models": [...]}"#.into(),
            ));
        };
        let mut entries = Vec::new();
        for (key, value) in root {
            match key.as_str() {
                "models" => match value {
                    Value::Array(items) => entries = items,
                    _ => return Err(fail("`models` must be an array of model entries".into())),
                },
                k if k.starts_with('_') => {}
                other => {
                    return Err(fail(format!(
                        "unknown top-level key `{other}`; only `models` and keys starting with `_` are allowed"
                    )));
                }
            }
        }

        let mut catalogue = Catalogue {
            source: source.to_owned(),
            models: Vec::with_capacity(entries.len()),
            index: HashMap::new(),
        };
        for (position, entry) in entries.into_iter().enumerate() {
            let spec = parse_entry(entry, position).map_err(fail)?;
            let elsewhere = spec
                .provider
                .as_deref()
                .is_some_and(|p| ProviderKind::from_id(p) != Some(kind));
            if !elsewhere {
                catalogue.add(spec, position).map_err(fail)?;
            }
        }
        Ok(catalogue)
    }

    fn add(&mut self, spec: ModelSpec, position: usize) -> Result<(), String> {
        let slot = self.models.len();
        let mut names = vec![(spec.model_name.clone(), false)];
        names.extend(spec.aliases.iter().map(|a| (a.clone(), true)));
        names.extend(spec.deployment.iter().map(|d| (d.clone(), false)));
        for (name, is_alias) in names {
            let key = name.to_ascii_lowercase();
            if let Some(&(other, _)) = self.index.get(&key) {
                if other == slot {
                    continue; // an alias repeating its own model's name is harmless
                }
                return Err(format!(
                    "models[{position}] (`{}`): the name or alias `{name}` is already used by `{}`; \
                     each name and alias must be unique in a file",
                    spec.model_name, self.models[other].model_name
                ));
            }
            self.index.insert(key, (slot, is_alias));
        }
        self.models.push(Arc::new(spec));
        Ok(())
    }

    /// All models, in file order.
    pub fn models(&self) -> &[Arc<ModelSpec>] {
        &self.models
    }

    /// Finds a model by exact name, then case-insensitively, then by alias.
    /// A model with `enabled_by_default: false` answers only to its own name.
    pub fn lookup(&self, name: &str) -> Option<&Arc<ModelSpec>> {
        if let Some(spec) = self.models.iter().find(|m| m.model_name == name) {
            return Some(spec);
        }
        let &(i, is_alias) = self.index.get(&name.to_ascii_lowercase())?;
        let spec = &self.models[i];
        (!is_alias || spec.enabled_by_default).then_some(spec)
    }
}

fn parse_entry(entry: Value, position: usize) -> Result<ModelSpec, String> {
    let Value::Object(mut fields) = entry else {
        return Err(format!("models[{position}] must be an object"));
    };
    fields.retain(|key, _| !key.starts_with('_'));
    let label = match fields.get("model_name") {
        Some(Value::String(name)) => format!("models[{position}] (`{name}`)"),
        _ => return Err(format!("models[{position}] has no `model_name` string")),
    };
    let spec: ModelSpec =
        serde_json::from_value(Value::Object(fields)).map_err(|err| format!("{label}: {err}"))?;
    if spec.model_name.trim().is_empty() {
        return Err(format!("{label}: `model_name` is empty"));
    }
    if let Some(score) = spec.intelligence_score
        && !(1..=20).contains(&score)
    {
        return Err(format!(
            "{label}: intelligence_score {score} is outside 1-20"
        ));
    }
    if spec.max_image_size_mb < 0.0 {
        return Err(format!("{label}: max_image_size_mb must not be negative"));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_catalogue_loads() {
        for kind in ProviderKind::PRIORITY {
            let catalogue = Catalogue::builtin(kind).unwrap();
            if kind != ProviderKind::Azure {
                assert!(!catalogue.models().is_empty(), "{kind:?} is empty");
            }
        }
    }

    #[test]
    fn lookup_by_name_case_and_alias() {
        let c = Catalogue::parse(
            r#"{"_README": {"x": 1}, "models": [
                {"model_name": "Big-Model", "aliases": ["big"], "_note": "ignored"},
                {"model_name": "small-model"}
            ]}"#,
            "t.json",
            ProviderKind::Custom,
        )
        .unwrap();
        assert_eq!(c.lookup("big-model").unwrap().model_name, "Big-Model");
        assert_eq!(c.lookup("small-model").unwrap().model_name, "small-model");
        assert_eq!(c.lookup("BIG").unwrap().model_name, "Big-Model");
        assert!(c.lookup("medium").is_none());
    }

    #[test]
    fn hidden_models_answer_only_to_their_name() {
        let c = Catalogue::parse(
            r#"{"models": [
                {"model_name": "old", "aliases": ["legacy"], "enabled_by_default": false},
                {"model_name": "gpt-x", "deployment": "prod-gpt"},
                {"model_name": "elsewhere", "provider": "custom"}
            ]}"#,
            "t.json",
            ProviderKind::Azure,
        )
        .unwrap();
        assert!(c.lookup("OLD").is_some());
        assert!(c.lookup("legacy").is_none());
        assert_eq!(c.lookup("prod-gpt").unwrap().model_name, "gpt-x");
        assert!(c.lookup("elsewhere").is_none());
    }

    #[test]
    fn errors_name_file_and_entry() {
        let err = Catalogue::parse(
            r#"{"models": [{"model_name": "a"}, {"model_name": "b", "colour": "red"}]}"#,
            "mine.json",
            ProviderKind::Custom,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("mine.json") && err.contains("models[1]") && err.contains("colour"),
            "{err}"
        );

        let err = Catalogue::parse(
            r#"{"models": [{"model_name": "a", "aliases": ["x"]}, {"model_name": "b", "aliases": ["X"]}]}"#,
            "dup.json",
            ProviderKind::Custom,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("dup.json") && err.contains("`X`") && err.contains("`a`"),
            "{err}"
        );

        let err = Catalogue::parse("{\"models\": [", "broken.json", ProviderKind::Custom)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("broken.json") && err.contains("line 1"),
            "{err}"
        );
    }
}
