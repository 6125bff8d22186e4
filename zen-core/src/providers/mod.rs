//! Model providers: one [`Provider`] trait, an OpenAI-compatible client that
//! serves six providers, and a Gemini client.

mod endpoints;
mod gemini;
mod http;
mod kind;
mod openai_compat;
mod request;

use std::sync::Arc;

use async_trait::async_trait;

pub use endpoints::{EXPLORE_EVERY, EndpointState};
pub use gemini::GeminiProvider;
pub use kind::ProviderKind;
pub use openai_compat::OpenAiCompatProvider;
pub use request::{GenerateRequest, GenerateResponse, ImageData, ThinkingMode, Usage};

use crate::config::ProviderConfig;
use crate::error::{Error, Result};
use crate::models::ResolvedModel;

/// A service that turns a prompt into a model's reply.
#[async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// Which provider this is.
    fn kind(&self) -> ProviderKind;

    /// Sends one request to `model` and returns its reply.
    async fn generate(
        &self,
        model: &ResolvedModel,
        request: &GenerateRequest,
    ) -> Result<GenerateResponse>;

    /// The model ids the endpoint itself reports, where it can say.
    async fn list_models(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Each endpoint's health and latency, when the provider balances
    /// calls between several; empty otherwise.
    fn endpoints(&self) -> Vec<EndpointState> {
        Vec::new()
    }

    /// Whether another of its endpoints is healthy now, so that a retry can
    /// go there at once.
    fn can_fail_over(&self) -> bool {
        false
    }
}

/// Builds the client for one configured provider, keeping up to
/// `idle_connections` connections per endpoint open between calls (the
/// provider's concurrency limit: the most it ever has in use at once).
pub fn build(config: &ProviderConfig, idle_connections: usize) -> Result<Arc<dyn Provider>> {
    Ok(match config.kind {
        ProviderKind::Gemini => Arc::new(GeminiProvider::new(config, idle_connections)?),
        _ => Arc::new(OpenAiCompatProvider::new(config, idle_connections)?),
    })
}

/// Checks what every provider needs checked before sending: images only to
/// vision models, and within the model's size limit.
pub(crate) fn check_request(model: &ResolvedModel, request: &GenerateRequest) -> Result<()> {
    if request.prompt.is_empty() && request.images.is_empty() {
        return Err(Error::invalid("prompt", "the prompt is empty"));
    }
    if request.images.is_empty() {
        return Ok(());
    }
    let spec = &model.spec;
    if !spec.supports_images {
        return Err(Error::invalid(
            "images",
            format!(
                "model `{}` does not accept images; remove them or choose a vision model",
                spec.model_name
            ),
        ));
    }
    let total: usize = request.images.iter().map(ImageData::decoded_len).sum();
    let limit_mb = if spec.max_image_size_mb > 0.0 {
        spec.max_image_size_mb
    } else {
        20.0
    };
    #[allow(clippy::cast_precision_loss)]
    let total_mb = total as f64 / (1024.0 * 1024.0);
    if total_mb > limit_mb {
        return Err(Error::invalid(
            "images",
            format!(
                "the images total {total_mb:.1} MB but `{}` takes at most {limit_mb} MB; \
                 send fewer or smaller images",
                spec.model_name
            ),
        ));
    }
    Ok(())
}
