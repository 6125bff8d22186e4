//! One model entry of a catalogue file, in the Python PAL server's
//! `conf/*_models.json` format.

use serde::{Deserialize, Deserializer, Serialize};

/// How a model treats the `temperature` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TemperatureConstraint {
    /// Only 1.0 is accepted.
    Fixed,
    /// Any value from 0.0 to 2.0.
    Range,
    /// Only 0.0, 0.3, 0.7, 1.0, 1.5 and 2.0 (the nearest is used).
    Discrete,
}

/// Capabilities of one model, as written in a catalogue file.
///
/// Fields that a file leaves out (or sets to `null`) take PAL's defaults, so
/// that a PAL user's own file means the same thing here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The name sent to the provider's API.
    pub model_name: String,
    /// A readable name for listings.
    #[serde(default, deserialize_with = "null_default")]
    pub friendly_name: Option<String>,
    /// Short names a user may type instead (case-insensitive); a file may give
    /// a list or one comma-separated string.
    #[serde(default, deserialize_with = "aliases")]
    pub aliases: Vec<String>,
    /// A 1–20 rating of general capability; the main signal of auto mode.
    #[serde(default, deserialize_with = "null_default")]
    pub intelligence_score: Option<u8>,
    /// What the model is good at.
    #[serde(default, deserialize_with = "null_default")]
    pub description: String,
    /// Tokens in and out combined.
    #[serde(default, deserialize_with = "null_default")]
    pub context_window: u64,
    /// Most tokens one reply may hold; `None` when the file does not say (or says 0).
    #[serde(default, deserialize_with = "nonzero")]
    pub max_output_tokens: Option<u64>,
    /// Largest thinking budget, for models with budget-style thinking.
    #[serde(default, deserialize_with = "null_default")]
    pub max_thinking_tokens: u64,
    /// Named thinking levels the model takes instead of a token budget.
    #[serde(default, deserialize_with = "null_default")]
    pub supported_thinking_levels: Option<Vec<String>>,
    /// Whether the model can think before answering.
    #[serde(default, deserialize_with = "null_default")]
    pub supports_extended_thinking: bool,
    /// Whether a system prompt may be sent.
    #[serde(default = "yes", deserialize_with = "null_true")]
    pub supports_system_prompts: bool,
    /// Whether replies can be streamed.
    #[serde(default = "yes", deserialize_with = "null_true")]
    pub supports_streaming: bool,
    /// Whether the model takes function/tool definitions.
    #[serde(default, deserialize_with = "null_default")]
    pub supports_function_calling: bool,
    /// Whether images may be attached.
    #[serde(default, deserialize_with = "null_default")]
    pub supports_images: bool,
    /// Whether the model can be held to JSON output.
    #[serde(default, deserialize_with = "null_default")]
    pub supports_json_mode: bool,
    /// Whether `temperature` may be sent at all.
    #[serde(default = "yes", deserialize_with = "null_true")]
    pub supports_temperature: bool,
    /// Which temperatures are accepted; `None` means the 0.0–2.0 range.
    #[serde(default, deserialize_with = "null_default")]
    pub temperature_constraint: Option<TemperatureConstraint>,
    /// Use OpenAI's responses API instead of chat completions.
    #[serde(default, deserialize_with = "null_default")]
    pub use_openai_response_api: bool,
    /// Reasoning effort sent with responses-API calls (`low`, `medium`, `high`…).
    #[serde(default, deserialize_with = "null_default")]
    pub default_reasoning_effort: Option<String>,
    /// Whether the model may be asked to produce whole code files.
    #[serde(default, deserialize_with = "null_default")]
    pub allow_code_generation: bool,
    /// When false, auto mode leaves the model out unless an allow-list or
    /// `PREFERRED_MODELS` names it; it stays usable by name.
    #[serde(default = "yes", deserialize_with = "null_true")]
    pub enabled_by_default: bool,
    /// Largest total size of attached images, in MB.
    #[serde(default, deserialize_with = "null_default")]
    pub max_image_size_mb: f64,
    /// Azure: the deployment name to call for this model.
    #[serde(default, alias = "deployment_name", deserialize_with = "null_default")]
    pub deployment: Option<String>,
    /// OpenRouter catalogues: another provider that serves this entry instead
    /// (`custom` entries are skipped by OpenRouter).
    #[serde(default, deserialize_with = "null_default")]
    pub provider: Option<String>,
    /// Accepted for old PAL custom catalogues, which marked local models this way.
    #[serde(default, deserialize_with = "null_default", skip_serializing)]
    pub is_custom: bool,
}

fn yes() -> bool {
    true
}

fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn nonzero<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<u64>::deserialize(deserializer)?.filter(|&n| n > 0))
}

fn aliases<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aliases {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Option::<Aliases>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(Aliases::List(list)) => list,
        Some(Aliases::Text(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

fn null_true<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(true))
}

impl ModelSpec {
    /// A conservative description of a model no catalogue lists (a model found
    /// on a custom endpoint, or an OpenRouter `vendor/model` name).
    pub fn generic(model_name: &str, description: &str) -> Self {
        ModelSpec {
            model_name: model_name.to_owned(),
            friendly_name: None,
            aliases: Vec::new(),
            intelligence_score: None,
            description: description.to_owned(),
            context_window: 32_768,
            max_output_tokens: Some(8_192),
            max_thinking_tokens: 0,
            supported_thinking_levels: None,
            supports_extended_thinking: false,
            supports_system_prompts: true,
            supports_streaming: true,
            supports_function_calling: false,
            supports_images: false,
            supports_json_mode: false,
            supports_temperature: true,
            temperature_constraint: None,
            use_openai_response_api: false,
            default_reasoning_effort: None,
            allow_code_generation: false,
            enabled_by_default: true,
            max_image_size_mb: 0.0,
            deployment: None,
            provider: None,
            is_custom: false,
        }
    }

    /// The temperature to send for a requested one: `None` when the model takes
    /// none, otherwise the nearest value its constraint allows.
    pub fn effective_temperature(&self, requested: f64) -> Option<f64> {
        if !self.supports_temperature {
            return None;
        }
        Some(match self.temperature_constraint {
            Some(TemperatureConstraint::Fixed) => 1.0,
            Some(TemperatureConstraint::Discrete) => {
                const STEPS: [f64; 6] = [0.0, 0.3, 0.7, 1.0, 1.5, 2.0];
                STEPS
                    .into_iter()
                    .min_by(|a, b| (a - requested).abs().total_cmp(&(b - requested).abs()))
                    .unwrap_or(1.0)
            }
            Some(TemperatureConstraint::Range) | None => requested.clamp(0.0, 2.0),
        })
    }

    /// A score used to order models in auto mode: the intelligence score,
    /// nudged up for a large context, long replies, thinking and vision.
    pub fn capability_rank(&self) -> u32 {
        let mut rank = u32::from(self.intelligence_score.unwrap_or(10).clamp(1, 20)) * 10;
        rank += match self.context_window {
            c if c >= 1_000_000 => 5,
            c if c >= 200_000 => 3,
            c if c >= 100_000 => 2,
            c if c >= 32_000 => 1,
            _ => 0,
        };
        rank += match self.max_output_tokens.unwrap_or(0) {
            o if o >= 65_000 => 2,
            o if o >= 32_000 => 1,
            _ => 0,
        };
        if self.supports_extended_thinking {
            rank += 3;
        }
        if self.supports_images {
            rank += 1;
        }
        rank
    }

    /// Whether the name marks a small, quick model (`flash`, `mini`, `nano`, `lite`…).
    pub fn is_fast_tier(&self) -> bool {
        const MARKS: [&str; 8] = [
            "flash",
            "mini",
            "nano",
            "lite",
            "haiku",
            "fast",
            "spark",
            "flashlite",
        ];
        // Whole name parts only: `gemini` contains `mini` but is no mini model.
        self.model_name
            .to_ascii_lowercase()
            .split(['-', '.', '/', ':', '_'])
            .any(|part| MARKS.contains(&part))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_follows_the_constraint() {
        let mut spec = ModelSpec::generic("m", "");
        assert_eq!(spec.effective_temperature(3.0), Some(2.0));
        spec.temperature_constraint = Some(TemperatureConstraint::Fixed);
        assert_eq!(spec.effective_temperature(0.2), Some(1.0));
        spec.temperature_constraint = Some(TemperatureConstraint::Discrete);
        assert_eq!(spec.effective_temperature(0.2), Some(0.3));
        assert_eq!(spec.effective_temperature(1.3), Some(1.5));
        spec.supports_temperature = false;
        assert_eq!(spec.effective_temperature(0.2), None);
    }

    #[test]
    fn fast_tier_looks_at_whole_name_parts() {
        assert!(ModelSpec::generic("gemini-3.8-flash", "").is_fast_tier());
        assert!(ModelSpec::generic("o4-mini", "").is_fast_tier());
        assert!(!ModelSpec::generic("gemini-4-argon", "").is_fast_tier());
    }

    #[test]
    fn nulls_take_defaults() {
        let spec: ModelSpec = serde_json::from_str(
            r#"{"model_name":"m","aliases":null,"supports_temperature":null,"max_output_tokens":0}"#,
        )
        .unwrap();
        assert!(spec.aliases.is_empty());
        let spec: ModelSpec =
            serde_json::from_str(r#"{"model_name":"m","aliases":"a, b"}"#).unwrap();
        assert_eq!(spec.aliases, vec!["a", "b"]);
        assert!(spec.supports_temperature);
        assert_eq!(spec.max_output_tokens, None);
    }
}
