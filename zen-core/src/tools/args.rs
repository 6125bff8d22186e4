//! Tool arguments: schemas generated from Rust types, and checking a call's
//! arguments against them with errors that name the field.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::providers::ThinkingMode;

/// Declares a tool's argument type with the fields every model-calling tool
/// takes appended: `model`, `temperature`, `thinking_mode`, `continuation_id`.
/// (Written out rather than flattened, so errors keep naming the field.)
macro_rules! with_model_fields {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $($body)*
            /// Model name or alias.
            #[serde(default)]
            pub model: Option<String>,
            /// 0 (focused) to 2 (free).
            #[serde(default)]
            pub temperature: Option<f64>,
            /// How much the model may think.
            #[serde(default)]
            pub thinking_mode: Option<$crate::providers::ThinkingMode>,
            /// Id from an earlier answer, to carry on that conversation.
            #[serde(default)]
            pub continuation_id: Option<String>,
        }
    };
}
pub(crate) use with_model_fields;

impl JsonSchema for ThinkingMode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ThinkingMode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": ["minimal", "low", "medium", "high", "max"]
        })
    }
}

/// The JSON Schema of `T`, compact: subschemas inlined, no titles or
/// meta-schema, integer formats dropped.
pub fn schema_for<T: JsonSchema>() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value = schema.to_value();
    compact(&mut value);
    value
}

/// Removes what a client does not need: titles, `format` of numbers, and
/// `null` alternatives of optional fields.
fn compact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("title");
            map.remove("$schema");
            // Unknown fields are refused when a call is checked; saying so in
            // every schema would only cost the client's context.
            map.remove("additionalProperties");
            let empty_default = matches!(map.get("default"), Some(Value::Null))
                || matches!(map.get("default"), Some(Value::Array(a)) if a.is_empty());
            if empty_default {
                map.remove("default");
            }
            if let Some(Value::Array(options)) = map.get_mut("enum") {
                options.retain(|o| !o.is_null());
            }
            if let Some(Value::String(format)) = map.get("format")
                && matches!(
                    format.as_str(),
                    "uint" | "uint8" | "uint32" | "uint64" | "int32" | "int64" | "double" | "float"
                )
            {
                map.remove("format");
            }
            // `"type": ["string", "null"]` → `"type": "string"` for optional fields.
            if let Some(Value::Array(types)) = map.get("type")
                && types.len() == 2
                && types.iter().any(|t| t == "null")
                && let Some(other) = types.iter().find(|t| *t != "null").cloned()
            {
                map.insert("type".into(), other);
            }
            if let Some(Value::Array(any_of)) = map.get("anyOf")
                && any_of.len() == 2
                && any_of.iter().any(|s| s.get("type") == Some(&json!("null")))
                && let Some(Value::Object(inner)) = any_of
                    .iter()
                    .find(|s| s.get("type") != Some(&json!("null")))
                    .cloned()
            {
                map.remove("anyOf");
                for (k, v) in inner {
                    map.entry(k).or_insert(v);
                }
            }
            if map.get("minimum") == Some(&json!(0)) && map.get("type") == Some(&json!("integer")) {
                map.remove("minimum");
            }
            for child in map.values_mut() {
                compact(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(compact),
        _ => {}
    }
}

/// Checks `args` against `T`: an unknown field, a missing one, or a wrong
/// type is an [`Error::InvalidArguments`] naming the field. Argument types
/// refuse unknown fields themselves (`#[serde(deny_unknown_fields)]`, which
/// `with_model_fields!` adds), so nothing is generated per call.
pub fn parse_args<T: DeserializeOwned>(args: Value) -> Result<T> {
    serde_path_to_error::deserialize::<_, T>(args).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // serde names an unknown or missing field in its message; use it as the field.
        let named = |marker: &str| {
            inner
                .split(marker)
                .nth(1)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned)
        };
        let field = if path == "." || path.is_empty() {
            named("unknown field `")
                .or_else(|| named("missing field `"))
                .unwrap_or_else(|| "arguments".into())
        } else {
            // The path already ends at an unknown field; add its name otherwise.
            match named("unknown field `") {
                Some(unknown) if !path.ends_with(unknown.as_str()) => format!("{path}.{unknown}"),
                _ => path,
            }
        };
        let message = plain_types(inner.split(" at line ").next().unwrap_or(&inner));
        Error::InvalidArguments { field, message }
    })
}

/// serde's message with Rust's type names in JSON's words ("expected f64"
/// becomes "expected a number").
fn plain_types(message: &str) -> String {
    let Some((before, expected)) = message.split_once("expected ") else {
        return message.to_owned();
    };
    let word = expected.split([' ', ',']).next().unwrap_or_default();
    let plain = match word {
        "f32" | "f64" => "a number".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => {
            "a whole number".to_owned()
        }
        "struct" => {
            let rest = expected.trim_start_matches("struct ");
            let name_end = rest.find([' ', ',']).unwrap_or(rest.len());
            return format!("{before}expected an object{}", &rest[name_end..]);
        }
        _ => return message.to_owned(),
    };
    format!("{before}expected {plain}{}", &expected[word.len()..])
}

// The arguments of a tool that takes none: anything given is refused by name.
// (A plain comment: a doc comment would land in every such schema.)
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NoArgs {}

/// How `model` is described in every schema for the current configuration,
/// worked out once per tool listing.
#[derive(Debug, Clone)]
pub(super) struct ModelField {
    /// Whether auto mode is on (then `model` is required).
    auto: bool,
    /// The start of every description (`Default X. ` outside auto mode).
    lead: String,
    /// Every usable model, strongest first.
    names: Vec<String>,
}

impl ModelField {
    /// The `model` field for `engine`'s configuration.
    pub(super) fn for_engine(engine: &Engine) -> Self {
        let auto = engine.config().is_auto_mode();
        let mut models = engine.models();
        models.sort_by_key(|m| std::cmp::Reverse(m.spec.capability_rank()));
        ModelField {
            auto,
            lead: if auto {
                String::new()
            } else {
                format!("Default {}. ", engine.config().default_model)
            },
            names: models.into_iter().map(|m| m.api_name).collect(),
        }
    }

    /// Completes a tool's schema: `model` is described (every usable model for
    /// the one tool that lists them, a pointer to listmodels for the rest, to
    /// keep tools/list small) and required only in auto mode.
    pub(super) fn apply(&self, mut schema: Value, uses_model: bool, full_list: bool) -> Value {
        let Some(object) = schema.as_object_mut() else {
            return schema;
        };
        let has_model = object
            .get("properties")
            .and_then(|p| p.get("model"))
            .is_some();
        if !uses_model || !has_model {
            return schema;
        }
        let mut description = self.lead.clone();
        if self.names.is_empty() {
            description.push_str("No model is configured.");
        } else if full_list {
            description.push_str(&self.names.join(", "));
        } else {
            description.push_str("Name or alias (listmodels).");
        }
        if let Some(Value::Object(props)) = object.get_mut("properties") {
            props.insert(
                "model".into(),
                json!({"type": "string", "description": description}),
            );
        }
        if self.auto {
            let required = object
                .entry("required")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = required
                && !list.iter().any(|v| v == "model")
            {
                list.push(json!("model"));
            }
        }
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_said_in_json_words() {
        for (serde, plain) in [
            (
                "invalid type: string \"hot\", expected f64",
                "invalid type: string \"hot\", expected a number",
            ),
            (
                "invalid type: string \"x\", expected u32",
                "invalid type: string \"x\", expected a whole number",
            ),
            (
                "invalid type: integer `3`, expected struct Issue",
                "invalid type: integer `3`, expected an object",
            ),
            (
                "invalid type: integer `5`, expected a string",
                "invalid type: integer `5`, expected a string",
            ),
        ] {
            assert_eq!(plain_types(serde), plain);
        }
    }

    with_model_fields! {
        #[allow(dead_code)]
        struct Sample {
            /// The prompt.
            prompt: String,
            #[serde(default)]
            count: Option<u32>,
        }
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse_args::<Sample>(json!({"prompt": "x", "count": "many"})).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArguments { ref field, .. } if field == "count"),
            "{err:?}"
        );
        let err = parse_args::<Sample>(json!({})).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArguments { ref field, .. } if field == "prompt"),
            "{err:?}"
        );
        let err = parse_args::<Sample>(json!({"prompt": "x", "colour": 1})).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArguments { ref field, .. } if field == "colour"),
            "{err:?}"
        );
        let err =
            parse_args::<Sample>(json!({"prompt": "x", "thinking_mode": "deep"})).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArguments { ref field, .. } if field == "thinking_mode"),
            "{err:?}"
        );
    }

    #[test]
    fn schemas_are_compact() {
        let schema = schema_for::<Sample>();
        let text = schema.to_string();
        assert!(
            !text.contains("$schema") && !text.contains("\"title\""),
            "{text}"
        );
        assert_eq!(schema["properties"]["count"]["type"], "integer");
        assert_eq!(schema["properties"]["prompt"]["description"], "The prompt.");
        assert_eq!(schema["required"], json!(["prompt"]));
    }
}
