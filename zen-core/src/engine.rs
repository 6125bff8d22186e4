//! [`Engine`]: the configured providers and model catalogue, cheap to clone and
//! safe to share between threads.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::config::Config;
use crate::conversation::{ConversationStore, MemoryStore};
use crate::error::{Error, Result};
use crate::models::{ModelRegistry, ResolvedModel, ToolCategory};
use crate::providers::{self, GenerateRequest, GenerateResponse, Provider, ProviderKind};
use crate::tools::ToolRegistry;

/// How long a custom endpoint's model list is trusted before asking again.
const DISCOVERY_TTL: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Inner {
    config: Config,
    registry: ModelRegistry,
    store: Arc<dyn ConversationStore>,
    tools: ToolRegistry,
    providers: BTreeMap<ProviderKind, Arc<dyn Provider>>,
    /// When the custom endpoint's models were last listed.
    discovered_at: Mutex<Option<Instant>>,
}

/// The zen engine. Clones share one set of providers and catalogues.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// Builds an engine with the in-memory conversation store: loads the
    /// catalogues and sets up one pooled HTTP client per configured provider.
    /// Makes no network call.
    pub fn new(config: Config) -> Result<Self> {
        let store = Arc::new(MemoryStore::new(
            config.conversation_memory_limit_bytes,
            config.conversation_timeout,
        ));
        Self::with_store(config, store)
    }

    /// Builds an engine that keeps conversations in `store`.
    pub fn with_store(config: Config, store: Arc<dyn ConversationStore>) -> Result<Self> {
        let registry = ModelRegistry::new(&config)?;
        let tools = ToolRegistry::from_config(&config)?;
        let providers = config
            .providers
            .iter()
            .map(|p| Ok((p.kind, providers::build(p)?)))
            .collect::<Result<_>>()?;
        Ok(Engine {
            inner: Arc::new(Inner {
                config,
                registry,
                store,
                tools,
                providers,
                discovered_at: Mutex::new(None),
            }),
        })
    }

    /// The configuration the engine was built from.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The model catalogue and restrictions.
    pub fn registry(&self) -> &ModelRegistry {
        &self.inner.registry
    }

    /// The enabled tools.
    pub fn tool_registry(&self) -> &ToolRegistry {
        &self.inner.tools
    }

    /// Where conversations are kept.
    pub fn store(&self) -> &Arc<dyn ConversationStore> {
        &self.inner.store
    }

    /// Every model usable now, in provider priority order.
    pub fn models(&self) -> Vec<ResolvedModel> {
        self.inner.registry.available()
    }

    /// The client of a configured provider.
    pub fn provider(&self, kind: ProviderKind) -> Option<&Arc<dyn Provider>> {
        self.inner.providers.get(&kind)
    }

    /// Asks the custom endpoint which models it serves (`GET {CUSTOM_API_URL}/models`)
    /// and makes them usable by name. Returns the ids it listed.
    pub async fn discover_custom_models(&self) -> Result<Vec<String>> {
        let Some(custom) = self.provider(ProviderKind::Custom) else {
            return Ok(Vec::new());
        };
        let mut stamp = self.inner.discovered_at.lock().await;
        let ids = custom.list_models().await?;
        self.inner.registry.set_discovered(ids.clone());
        *stamp = Some(Instant::now());
        Ok(ids)
    }

    /// Resolves a model name, asking the custom endpoint for its models when the
    /// name is otherwise unknown (so a freshly pulled local model is found).
    pub async fn resolve_model(&self, name: &str) -> Result<ResolvedModel> {
        match self.inner.registry.resolve(name) {
            Err(Error::ModelNotAvailable { .. }) if self.discovery_is_stale().await => {
                if let Err(err) = self.discover_custom_models().await {
                    tracing::warn!("could not list the custom endpoint's models: {err}");
                }
                self.inner.registry.resolve(name)
            }
            other => other,
        }
    }

    /// The model for a call: the one requested, else `DEFAULT_MODEL`, else auto
    /// mode's choice for `category`.
    pub async fn select_model(
        &self,
        requested: Option<&str>,
        category: ToolCategory,
    ) -> Result<ResolvedModel> {
        match requested
            .map(str::trim)
            .filter(|r| !r.is_empty() && !r.eq_ignore_ascii_case("auto"))
        {
            Some(name) => self.resolve_model(name).await,
            None if !self.inner.config.is_auto_mode() => {
                self.resolve_model(&self.inner.config.default_model).await
            }
            None => self.inner.registry.auto_select(category),
        }
    }

    /// Sends `request` to `model`'s provider.
    pub async fn generate(
        &self,
        model: &ResolvedModel,
        request: &GenerateRequest,
    ) -> Result<GenerateResponse> {
        let provider = self.provider(model.provider).ok_or(Error::NoProvider)?;
        provider.generate(model, request).await
    }

    async fn discovery_is_stale(&self) -> bool {
        if !self.inner.providers.contains_key(&ProviderKind::Custom) {
            return false;
        }
        match *self.inner.discovered_at.lock().await {
            None => true,
            Some(at) => at.elapsed() > DISCOVERY_TTL,
        }
    }
}
