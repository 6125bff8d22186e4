//! [`Engine`]: the configured providers and model catalogue, cheap to clone and
//! safe to share between threads.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::cache::{FileCache, Lookup, ResponseCache};
use crate::config::Config;
use crate::conversation::{ConversationStore, MemoryStore};
use crate::error::{Error, Result};
use crate::models::{ModelRegistry, ResolvedModel, ToolCategory};
use crate::providers::{self, GenerateRequest, GenerateResponse, Provider, ProviderKind};
use crate::resilience::{Policy, Resilience};
use crate::telemetry::{self, ModelCall, Telemetry};
use crate::tools::ToolRegistry;

/// How long a custom endpoint's model list is trusted before asking again.
const DISCOVERY_TTL: Duration = Duration::from_secs(60);

/// The longest a call waits for the custom endpoint to list its models.
pub const DISCOVERY_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Inner {
    config: Config,
    registry: ModelRegistry,
    store: Arc<dyn ConversationStore>,
    tools: ToolRegistry,
    resilience: Resilience,
    telemetry: Telemetry,
    files: FileCache,
    responses: ResponseCache,
    providers: BTreeMap<ProviderKind, Arc<dyn Provider>>,
    /// When the custom endpoint's models were last listed.
    discovered_at: Mutex<Option<Instant>>,
    /// Whether a refresh of the custom endpoint's models is under way.
    discovering: std::sync::atomic::AtomicBool,
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
        let policy = Policy::from_settings(&config.settings)?;
        let limits = policy.provider_limits.clone();
        let telemetry = Telemetry::new(&config.settings)?;
        let files = FileCache::from_settings(&config.settings)?;
        let responses = ResponseCache::from_settings(&config.settings)?;
        let providers = config
            .providers
            .iter()
            .map(|p| {
                let idle = limits.get(&p.kind).copied().unwrap_or(1);
                Ok((p.kind, providers::build(p, idle)?))
            })
            .collect::<Result<_>>()?;
        let resilience = Resilience::new(policy);
        Ok(Engine {
            inner: Arc::new(Inner {
                config,
                registry,
                store,
                tools,
                resilience,
                telemetry,
                files,
                responses,
                providers,
                discovered_at: Mutex::new(None),
                discovering: std::sync::atomic::AtomicBool::new(false),
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

    /// The cache of file contents every tool reads attachments through.
    pub fn file_cache(&self) -> &FileCache {
        &self.inner.files
    }

    /// The cache of temperature-0 replies (off unless `ZEN_RESPONSE_CACHE`).
    pub fn response_cache(&self) -> &ResponseCache {
        &self.inner.responses
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
        let listed = custom.list_models().await;
        // Asked, whatever the answer: the next ask waits its turn.
        *self.inner.discovered_at.lock().await = Some(Instant::now());
        let ids = listed?;
        self.inner.registry.set_discovered(ids.clone());
        Ok(ids)
    }

    /// Resolves a model name, asking the custom endpoint for its models when the
    /// name is otherwise unknown (so a freshly pulled local model is found).
    pub async fn resolve_model(&self, name: &str) -> Result<ResolvedModel> {
        match self.inner.registry.resolve(name) {
            Err(Error::ModelNotAvailable { .. }) if self.discovery_is_stale().await => {
                self.refresh_custom_models().await;
                self.inner.registry.resolve(name)
            }
            other => other,
        }
    }

    /// Asks the custom endpoint for its models again when the last answer is
    /// older than a minute (or there was none), waiting at most
    /// [`DISCOVERY_WAIT`]; a failure is logged, and what was known stays.
    pub async fn refresh_custom_models(&self) {
        if !self.discovery_is_stale().await {
            return;
        }
        // One ask at a time; calls meanwhile go on with what is known.
        let Some(_asking) = Flag::raise(&self.inner.discovering) else {
            return;
        };
        let outcome = tokio::time::timeout(DISCOVERY_WAIT, self.discover_custom_models()).await;
        if outcome.is_err() {
            *self.inner.discovered_at.lock().await = Some(Instant::now());
        }
        match outcome {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::warn!("could not list the custom endpoint's models: {err}"),
            Err(_) => tracing::warn!(
                "the custom endpoint did not list its models within {}s",
                DISCOVERY_WAIT.as_secs()
            ),
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
            None if !self.inner.config.is_auto_mode() => self
                .resolve_model(&self.inner.config.default_model)
                .await
                .map_err(|err| match err {
                    // The name came from the settings, not the call: say so.
                    Error::ModelNotAvailable { requested, message } => Error::ModelNotAvailable {
                        message: format!(
                            "DEFAULT_MODEL names `{requested}`, which can't be used: {message} \
                             Fix DEFAULT_MODEL (or set it to auto), or name a model in the call."
                        ),
                        requested,
                    },
                    other => other,
                }),
            None => {
                // Auto mode picks among the models the endpoint serves now.
                self.refresh_custom_models().await;
                self.inner.registry.auto_select(category)
            }
        }
    }

    /// Sends `request` to `model`'s provider along the guarded path: the
    /// provider's concurrency and rate limits, its circuit breaker, and
    /// retries of transient failures. Counted in the stats and the audit log.
    /// With `ZEN_RESPONSE_CACHE` on, a temperature-0 request identical to an
    /// earlier one is answered from the cache: no provider call, counted only
    /// as a cache hit.
    pub async fn generate(
        &self,
        model: &ResolvedModel,
        request: &GenerateRequest,
    ) -> Result<GenerateResponse> {
        let provider = self.provider(model.provider).ok_or(Error::NoProvider)?;
        let turn = match self.inner.responses.lookup(model, request).await {
            Lookup::Hit(reply) => return Ok(reply),
            Lookup::Ask(turn) => Some(turn),
            Lookup::Uncached => None,
        };
        let started = Instant::now();
        let (result, attempts) = self
            .inner
            .resilience
            .run_with_failover(
                model.provider,
                || provider.generate(model, request),
                || provider.can_fail_over(),
            )
            .await;
        let took = started.elapsed();
        let error = result.as_ref().err().map(|e| e.kind().as_str());
        let usage = result.as_ref().map(|r| r.usage).unwrap_or_default();
        if let (Some(turn), Ok(reply)) = (turn, &result) {
            self.inner.responses.insert(turn, reply);
        }
        let telemetry = &self.inner.telemetry;
        telemetry.stats.model_call(&ModelCall {
            provider: model.provider.id(),
            model: &model.api_name,
            took,
            retries: attempts.retries,
            tokens_in: usage.input_tokens,
            tokens_out: usage.output_tokens,
            error,
        });
        if !telemetry.auditing() {
            return result;
        }
        let call = telemetry::current_call().unwrap_or_default();
        let mut record = serde_json::json!({
            "event": "model_call",
            "call_id": (!call.call_id.is_empty()).then_some(&call.call_id),
            "tool": call.tool,
            "continuation_id": call.continuation_id,
            "provider": model.provider.id(),
            "model": model.api_name,
            "status": if error.is_some() { "error" } else { "ok" },
            "duration_ms": took.as_millis() as u64,
            "tokens_in": usage.input_tokens,
            "tokens_out": usage.output_tokens,
            "retries": attempts.retries,
            "error_kind": error,
        });
        if telemetry.audit_content()
            && let serde_json::Value::Object(map) = &mut record
        {
            map.insert("prompt".into(), serde_json::json!(request.prompt));
        }
        telemetry.audit(record);
        result
    }

    /// The guards on the model-call path.
    pub fn resilience(&self) -> &Resilience {
        &self.inner.resilience
    }

    /// Counters and the audit log.
    pub fn telemetry(&self) -> &Telemetry {
        &self.inner.telemetry
    }

    /// What the engine is doing, as JSON: per tool and per provider/model
    /// calls, errors by kind, latency histograms, tokens and retries; each
    /// provider's breaker, concurrency limit and queue; tool calls in flight;
    /// conversations held; resident memory; uptime.
    pub async fn stats(&self) -> serde_json::Value {
        let configured: Vec<ProviderKind> = self.inner.providers.keys().copied().collect();
        let mut providers = self.inner.resilience.snapshot();
        providers.retain(|p| configured.contains(&p.provider));
        let mut stats = self.inner.telemetry.snapshot(&telemetry::Sample {
            providers: &providers,
            tool_calls: self.inner.resilience.tool_calls(),
            conversations: self.store().usage().await,
        });
        let (files, responses) = (self.inner.files.stats(), self.inner.responses.stats());
        for (name, c) in [("files", &files), ("responses", &responses)] {
            let telemetry = &self.inner.telemetry;
            telemetry.cache(name, c.hits, c.misses, c.entries, c.bytes);
        }
        stats["caches"] = serde_json::json!({ "files": files, "responses": responses });
        if let Some(list) = stats["providers"].as_array_mut() {
            for entry in list {
                let kind = entry["provider"].as_str().and_then(ProviderKind::from_id);
                let endpoints = kind
                    .and_then(|k| self.provider(k))
                    .map(|p| p.endpoints())
                    .unwrap_or_default();
                if !endpoints.is_empty() {
                    entry["endpoints"] = serde_json::json!(endpoints);
                }
            }
        }
        stats
    }

    /// [`Engine::stats`] in the Prometheus text format.
    pub async fn prometheus(&self) -> String {
        self.stats().await;
        self.inner.telemetry.prometheus()
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

/// A raised flag, lowered when dropped (even when the call holding it is
/// cancelled).
struct Flag<'a>(&'a std::sync::atomic::AtomicBool);

impl<'a> Flag<'a> {
    /// Raises `flag`, unless it is up already.
    fn raise(flag: &'a std::sync::atomic::AtomicBool) -> Option<Self> {
        (!flag.swap(true, std::sync::atomic::Ordering::AcqRel)).then_some(Flag(flag))
    }
}

impl Drop for Flag<'_> {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}
