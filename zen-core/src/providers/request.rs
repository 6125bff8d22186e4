//! What is sent to a provider and what comes back, independent of wire format.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::ProviderKind;
use crate::error::{Error, Result};

/// How hard a model should think before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThinkingMode {
    /// Barely at all.
    Minimal,
    /// A little.
    Low,
    /// A fair amount.
    Medium,
    /// A lot.
    High,
    /// As much as the model allows.
    Max,
}

impl ThinkingMode {
    /// The share of a model's thinking budget this mode spends.
    pub fn budget_fraction(self) -> f64 {
        match self {
            ThinkingMode::Minimal => 0.005,
            ThinkingMode::Low => 0.08,
            ThinkingMode::Medium => 0.33,
            ThinkingMode::High => 0.67,
            ThinkingMode::Max => 1.0,
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ThinkingMode::Minimal => "minimal",
            ThinkingMode::Low => "low",
            ThinkingMode::Medium => "medium",
            ThinkingMode::High => "high",
            ThinkingMode::Max => "max",
        }
    }
}

impl fmt::Display for ThinkingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ThinkingMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "minimal" => Ok(ThinkingMode::Minimal),
            "low" => Ok(ThinkingMode::Low),
            "medium" => Ok(ThinkingMode::Medium),
            "high" => Ok(ThinkingMode::High),
            "max" => Ok(ThinkingMode::Max),
            other => Err(format!(
                "`{other}` is not a thinking mode; use minimal, low, medium, high or max"
            )),
        }
    }
}

/// An image to show a vision model.
#[derive(Clone, PartialEq, Eq)]
pub struct ImageData {
    /// MIME type, e.g. `image/png`.
    pub mime_type: String,
    /// The image bytes, base64-encoded.
    pub base64: String,
}

impl fmt::Debug for ImageData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageData")
            .field("mime_type", &self.mime_type)
            .field("bytes", &self.decoded_len())
            .finish()
    }
}

impl ImageData {
    /// An image from raw bytes.
    pub fn from_bytes(mime_type: &str, bytes: &[u8]) -> Self {
        ImageData {
            mime_type: mime_type.to_owned(),
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    /// An image from a `data:image/png;base64,...` URL.
    pub fn from_data_url(url: &str) -> Result<Self> {
        let refuse = |why: &str| {
            Error::invalid(
                "images",
                format!("{why}; expected data:<mime type>;base64,<data>"),
            )
        };
        let rest = url
            .strip_prefix("data:")
            .ok_or_else(|| refuse("not a data URL"))?;
        let (meta, data) = rest
            .split_once(',')
            .ok_or_else(|| refuse("the data URL has no `,`"))?;
        let mime_type = meta
            .strip_suffix(";base64")
            .ok_or_else(|| refuse("the data URL is not base64"))?;
        if !mime_type.starts_with("image/") {
            return Err(refuse(&format!("`{mime_type}` is not an image type")));
        }
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|err| refuse(&format!("the base64 data is invalid ({err})")))?;
        Ok(ImageData {
            mime_type: mime_type.to_owned(),
            base64: data.to_owned(),
        })
    }

    /// The image as a data URL.
    pub fn to_data_url(&self) -> String {
        format!("data:{};base64,{}", self.mime_type, self.base64)
    }

    /// The size of the decoded image in bytes.
    pub fn decoded_len(&self) -> usize {
        let padding = self.base64.bytes().rev().take_while(|&b| b == b'=').count();
        (self.base64.len() / 4 * 3).saturating_sub(padding)
    }
}

/// One request to a model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerateRequest {
    /// The user's message, with any history and files already folded in.
    pub prompt: String,
    /// Instructions for the model's role.
    pub system_prompt: Option<String>,
    /// The requested temperature; the model's constraint decides what is sent.
    pub temperature: Option<f64>,
    /// How hard to think, for thinking models.
    pub thinking_mode: Option<ThinkingMode>,
    /// Most tokens for the reply; the model's own limit when `None`.
    pub max_output_tokens: Option<u64>,
    /// Images for vision models.
    pub images: Vec<ImageData>,
}

impl GenerateRequest {
    /// A request holding only a prompt.
    pub fn new(prompt: impl Into<String>) -> Self {
        GenerateRequest {
            prompt: prompt.into(),
            ..Self::default()
        }
    }
}

/// Token counts reported by the provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Reply tokens (including thinking, where the provider counts it there).
    pub output_tokens: u64,
    /// Both.
    pub total_tokens: u64,
}

/// A model's reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerateResponse {
    /// The reply text.
    pub content: String,
    /// The model that answered, as the provider named it.
    pub model_name: String,
    /// The provider that answered.
    pub provider: ProviderKind,
    /// Token counts.
    pub usage: Usage,
    /// Why the model stopped (`stop`, `length`, `STOP`, `MAX_TOKENS`…), as reported.
    pub finish_reason: Option<String>,
}
