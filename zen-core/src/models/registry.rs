//! Which models can be used right now: name resolution across providers,
//! allow-lists, and auto mode's choice.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use super::catalogue::Catalogue;
use super::spec::ModelSpec;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::providers::ProviderKind;

/// What a tool needs from a model, for auto mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolCategory {
    /// Quick answers: small, fast models are preferred.
    FastResponse,
    /// Everyday work: the most capable model overall.
    Balanced,
    /// Deep analysis: thinking models are preferred.
    ExtendedReasoning,
}

/// A model chosen for a call: its provider, capabilities and the exact name to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedModel {
    /// The provider that will serve it.
    pub provider: ProviderKind,
    /// Its capabilities.
    pub spec: Arc<ModelSpec>,
    /// The name sent on the wire (keeps a `:tag` suffix the user gave).
    pub api_name: String,
}

/// One configured provider's models and restrictions.
#[derive(Debug)]
struct Entry {
    kind: ProviderKind,
    catalogue: Catalogue,
    allow_var: &'static str,
    allowed: Option<Vec<String>>,
    custom_model_name: Option<String>,
}

/// The models of every configured provider, with restrictions applied.
#[derive(Debug)]
pub struct ModelRegistry {
    entries: Vec<Entry>,
    disabled: Vec<String>,
    preferred: Vec<String>,
    default_model: String,
    /// Model ids that a custom endpoint listed at `/models`.
    discovered: RwLock<Vec<String>>,
}

impl ModelRegistry {
    /// Loads the catalogues of every configured provider: the user's file where
    /// `<PROVIDER>_MODELS_CONFIG_PATH` names one, the built-in one otherwise.
    pub fn new(config: &Config) -> Result<Self> {
        let mut entries = Vec::new();
        for provider in &config.providers {
            let catalogue = match &provider.models_config_path {
                Some(path) => Catalogue::from_file(path, provider.kind)?,
                None => Catalogue::builtin(provider.kind)?,
            };
            entries.push(Entry {
                kind: provider.kind,
                catalogue,
                allow_var: provider.kind.allowed_models_var(),
                allowed: provider
                    .allowed_models
                    .as_ref()
                    .map(|list| list.iter().map(|m| m.to_ascii_lowercase()).collect()),
                custom_model_name: provider.custom_model_name.clone(),
            });
        }
        let registry = ModelRegistry {
            entries,
            disabled: config.disabled_models.clone(),
            preferred: config.preferred_models.clone(),
            default_model: config.default_model.clone(),
            discovered: RwLock::new(Vec::new()),
        };
        for entry in &registry.entries {
            for name in entry.allowed.iter().flatten() {
                let known = entry.catalogue.lookup(name).is_some()
                    || matches!(entry.kind, ProviderKind::Custom | ProviderKind::OpenRouter);
                if !known {
                    tracing::warn!(
                        "{} names `{name}`, which the {} catalogue ({}) does not list",
                        entry.allow_var,
                        entry.kind.id(),
                        entry.catalogue.source
                    );
                }
            }
        }
        Ok(registry)
    }

    /// Whether any provider is configured.
    pub fn has_providers(&self) -> bool {
        !self.entries.is_empty()
    }

    /// The configured providers, in priority order.
    pub fn providers(&self) -> impl Iterator<Item = ProviderKind> + '_ {
        self.entries.iter().map(|e| e.kind)
    }

    /// Where each configured provider's catalogue came from.
    pub fn catalogue_sources(&self) -> Vec<(ProviderKind, String)> {
        self.entries
            .iter()
            .map(|e| (e.kind, e.catalogue.source.clone()))
            .collect()
    }

    /// Records the models a custom endpoint listed, making them usable by name.
    pub fn set_discovered(&self, ids: Vec<String>) {
        if let Ok(mut guard) = self.discovered.write() {
            *guard = ids;
        }
    }

    /// The models a custom endpoint listed, as last recorded.
    pub fn discovered(&self) -> Vec<String> {
        self.discovered
            .read()
            .map(|g| g.clone())
            .unwrap_or_default()
    }

    /// Finds the model a user named: exact name, then case-insensitive, then
    /// alias, in provider priority order, skipping providers whose
    /// restrictions refuse it.
    pub fn resolve(&self, requested: &str) -> Result<ResolvedModel> {
        let name = requested.trim();
        if name.is_empty() {
            return Err(Error::invalid("model", "the model name is empty"));
        }
        if !self.has_providers() {
            return Err(Error::NoProvider);
        }
        if name.eq_ignore_ascii_case("auto") {
            return Err(self.not_available(
                name,
                "`auto` is not a model; name a model, or let the tool choose one in auto mode"
                    .into(),
            ));
        }
        let refusals = match self.usable(name) {
            Ok(model) => return Ok(model),
            Err(refusals) => refusals,
        };
        let reason = if refusals.is_empty() {
            format!("model `{name}` is not known to any configured provider")
        } else {
            format!("model `{name}` is not allowed: {}", refusals.join("; "))
        };
        Err(self.not_available(name, reason))
    }

    /// The model `name` means at the first provider that may serve it; else
    /// why each provider that knows it may not (empty when none knows it).
    fn usable(&self, name: &str) -> std::result::Result<ResolvedModel, Vec<String>> {
        let discovered = self.discovered();
        let mut refusals = Vec::new();
        for entry in &self.entries {
            let Some(model) = find_in(entry, name, &discovered) else {
                continue;
            };
            match self.refusal(entry, &model.spec, name) {
                Some(reason) => refusals.push(reason),
                None => return Ok(model),
            }
        }
        Err(refusals)
    }

    /// Every model that can be used right now (configured and allowed), in
    /// provider priority order.
    pub fn available(&self) -> Vec<ResolvedModel> {
        let discovered = self.discovered();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for entry in &self.entries {
            let mut candidates: Vec<ResolvedModel> = entry
                .catalogue
                .models()
                .iter()
                .map(|spec| ResolvedModel {
                    provider: entry.kind,
                    spec: Arc::clone(spec),
                    api_name: spec.model_name.clone(),
                })
                .collect();
            if entry.kind == ProviderKind::Custom {
                let configured = entry.custom_model_name.iter().map(|name| {
                    find_in(entry, name, &[]).unwrap_or_else(|| generic(entry.kind, name))
                });
                if discovered.is_empty() {
                    candidates.extend(configured);
                } else {
                    // Once the endpoint has listed its models, it offers
                    // those (as the catalogue's models where it knows them)
                    // and no catalogue model it does not serve: auto mode
                    // would pick a model the server answers with 404.
                    candidates = configured
                        .chain(discovered.iter().map(|id| listed_model(entry, id)))
                        .collect();
                }
            }
            for model in candidates {
                let key = (entry.kind, model.api_name.to_ascii_lowercase());
                let listed = model.spec.enabled_by_default || self.explicitly_allowed(&model);
                if listed
                    && self.refusal(entry, &model.spec, &model.api_name).is_none()
                    && seen.insert(key)
                {
                    out.push(model);
                }
            }
        }
        out
    }

    /// The model to use when `DEFAULT_MODEL` is `auto` and the tool's category is
    /// `category`: the first usable entry of `PREFERRED_MODELS`, else the best
    /// by capability rank for the category.
    pub fn auto_select(&self, category: ToolCategory) -> Result<ResolvedModel> {
        self.auto_select_excluding(category, &[])
    }

    /// Like [`ModelRegistry::auto_select`], leaving out the providers in
    /// `excluded` (ones that are failing, when falling back).
    pub fn auto_select_excluding(
        &self,
        category: ToolCategory,
        excluded: &[ProviderKind],
    ) -> Result<ResolvedModel> {
        if !self.has_providers() {
            return Err(Error::NoProvider);
        }
        // A preferred model that can't be used is passed over without
        // building the error `resolve` would explain it with.
        for name in &self.preferred {
            if let Ok(model) = self.usable(name.trim())
                && !excluded.contains(&model.provider)
            {
                return Ok(model);
            }
        }
        let mut candidates: Vec<(usize, ResolvedModel)> = self
            .available()
            .into_iter()
            .filter(|m| !excluded.contains(&m.provider))
            .enumerate()
            .collect();
        // Stable sort: ties keep provider priority order.
        candidates.sort_by_key(|(order, m)| {
            let rank = m.spec.capability_rank();
            let preferred_trait = match category {
                ToolCategory::ExtendedReasoning => m.spec.supports_extended_thinking,
                ToolCategory::FastResponse => m.spec.is_fast_tier(),
                ToolCategory::Balanced => true,
            };
            (
                std::cmp::Reverse(preferred_trait),
                std::cmp::Reverse(rank),
                *order,
            )
        });
        candidates
            .into_iter()
            .next()
            .map(|(_, m)| m)
            .ok_or_else(|| {
                self.not_available(
                    "auto",
                    "auto mode found no usable model: every configured model is excluded by \
                 allow-lists or DISABLED_MODELS"
                        .into(),
                )
            })
    }

    /// Another provider's entry for the same model (its name or an alias
    /// matching `model`'s name), leaving out the providers in `excluded`.
    pub fn same_model_elsewhere(
        &self,
        model: &ResolvedModel,
        excluded: &[ProviderKind],
    ) -> Option<ResolvedModel> {
        let wanted = model.spec.model_name.to_ascii_lowercase();
        let short = wanted.rsplit('/').next().unwrap_or(&wanted).to_owned();
        self.available().into_iter().find(|m| {
            if excluded.contains(&m.provider) || m.provider == model.provider {
                return false;
            }
            let names = names_of(&m.spec);
            names.contains(&wanted)
                || names.contains(&short)
                || m.spec
                    .model_name
                    .to_ascii_lowercase()
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n == short)
        })
    }

    /// The model for a call: `requested` when given (and not `auto`), else
    /// `DEFAULT_MODEL`, else auto mode's choice for `category`.
    pub fn select(&self, requested: Option<&str>, category: ToolCategory) -> Result<ResolvedModel> {
        match requested.map(str::trim).filter(|r| !r.is_empty()) {
            Some(name) if !name.eq_ignore_ascii_case("auto") => self.resolve(name),
            _ if !self.default_model.eq_ignore_ascii_case("auto") => {
                self.resolve(&self.default_model)
            }
            _ => self.auto_select(category),
        }
    }

    fn explicitly_allowed(&self, model: &ResolvedModel) -> bool {
        let names = names_of(&model.spec);
        let in_list = |list: &[String]| {
            list.iter()
                .any(|item| names.contains(&item.to_ascii_lowercase()))
        };
        self.entries
            .iter()
            .filter(|e| e.kind == model.provider)
            .any(|e| e.allowed.as_deref().is_some_and(in_list))
            || in_list(&self.preferred)
    }

    /// Why `entry` may not serve `spec`, if it may not.
    fn refusal(&self, entry: &Entry, spec: &ModelSpec, requested: &str) -> Option<String> {
        let mut names = names_of(spec);
        names.insert(requested.to_ascii_lowercase());
        let disabled = self.disabled.iter().any(|item| match item.split_once(':') {
            // `provider:model` scopes an entry to one provider; any other colon
            // is part of a model name (`llama3.2:1b`).
            Some((scope, model)) if ProviderKind::from_id(scope).is_some() => {
                ProviderKind::from_id(scope) == Some(entry.kind) && names.contains(model)
            }
            _ => names.contains(item),
        });
        if disabled {
            return Some(format!("DISABLED_MODELS lists `{}`", spec.model_name));
        }
        match &entry.allowed {
            Some(allowed) if !allowed.iter().any(|a| names.contains(a)) => Some(format!(
                "{} ({}) does not include `{}`",
                entry.allow_var,
                allowed.join(", "),
                spec.model_name
            )),
            _ => None,
        }
    }

    fn not_available(&self, requested: &str, reason: String) -> Error {
        let available = self.available();
        let mut names: Vec<String> = available.iter().map(|m| m.api_name.clone()).collect();
        names.dedup();
        let message = if names.is_empty() {
            format!(
                "{reason}. No model is usable with the current configuration; check the API keys and *_ALLOWED_MODELS settings"
            )
        } else {
            let suggestion = suggest(requested, &available);
            let shown: Vec<&str> = names.iter().take(25).map(String::as_str).collect();
            let more = names.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more (see listmodels)")
            } else {
                String::new()
            };
            let hint = match self.unconfigured_provider_of(requested) {
                Some(kind) => format!(
                    " `{requested}` is a {} model: set {} to use it.",
                    kind.display_name(),
                    kind.enabling_var()
                ),
                None => suggestion
                    .map(|s| format!(" Did you mean `{s}`?"))
                    .unwrap_or_default(),
            };
            format!(
                "{reason}. Available models: {}{more}.{hint}",
                shown.join(", ")
            )
        };
        Error::ModelNotAvailable {
            requested: requested.to_owned(),
            message,
        }
    }
}

impl ModelRegistry {
    /// The provider, not configured here, whose built-in catalogue knows
    /// `name`.
    fn unconfigured_provider_of(&self, name: &str) -> Option<ProviderKind> {
        ProviderKind::PRIORITY
            .into_iter()
            .filter(|kind| !self.entries.iter().any(|e| e.kind == *kind))
            .filter(|kind| *kind != ProviderKind::Custom)
            .find(|kind| {
                Catalogue::builtin(*kind).is_ok_and(|catalogue| catalogue.lookup(name).is_some())
            })
    }
}

fn names_of(spec: &ModelSpec) -> BTreeSet<String> {
    std::iter::once(&spec.model_name)
        .chain(spec.aliases.iter())
        .map(|n| n.to_ascii_lowercase())
        .collect()
}

fn generic(kind: ProviderKind, id: &str) -> ResolvedModel {
    let description = match kind {
        ProviderKind::OpenRouter => "OpenRouter model not in the catalogue",
        _ => "model served by the custom endpoint",
    };
    ResolvedModel {
        provider: kind,
        spec: Arc::new(ModelSpec::generic(id, description)),
        api_name: id.to_owned(),
    }
}

/// Looks `name` up in one provider: catalogue (with `:tag` handling), then the
/// custom endpoint's own models, then OpenRouter's `vendor/model` catch-all.
/// The catalogue's model that a custom endpoint's listed `id` is: the id is
/// its name or an alias, that with `:latest`, or its untagged name with a
/// tag (`llama3.2:3b`). `None` for a model the catalogue doesn't know.
fn listed_spec<'a>(entry: &'a Entry, id: &str) -> Option<&'a Arc<ModelSpec>> {
    let catalogue = &entry.catalogue;
    catalogue
        .lookup(id)
        .or_else(|| {
            id.strip_suffix(":latest")
                .and_then(|base| catalogue.lookup(base))
        })
        .or_else(|| {
            let (base, _) = id.split_once(':')?;
            catalogue
                .lookup(base)
                .filter(|spec| spec.model_name.eq_ignore_ascii_case(base))
        })
}

/// The endpoint's listed `id` as a model: the catalogue's, where it knows
/// it, sent under the id the endpoint listed.
fn listed_model(entry: &Entry, id: &str) -> ResolvedModel {
    match listed_spec(entry, id) {
        Some(spec) => ResolvedModel {
            provider: entry.kind,
            spec: Arc::clone(spec),
            api_name: id.to_owned(),
        },
        None => generic(entry.kind, id),
    }
}

/// The model `name` means at `entry`'s provider, if any; `discovered` is
/// what a custom endpoint listed.
fn find_in(entry: &Entry, name: &str, discovered: &[String]) -> Option<ResolvedModel> {
    let from_spec = |spec: &Arc<ModelSpec>, api_name: String| ResolvedModel {
        provider: entry.kind,
        spec: Arc::clone(spec),
        api_name,
    };
    if let Some(spec) = entry.catalogue.lookup(name) {
        // At a custom endpoint, send the id it serves this model under.
        let served = discovered
            .iter()
            .find(|id| listed_spec(entry, id).is_some_and(|s| Arc::ptr_eq(s, spec)));
        return Some(from_spec(
            spec,
            served.cloned().unwrap_or_else(|| spec.model_name.clone()),
        ));
    }
    if let Some((base, tag)) = name.rsplit_once(':')
        && !tag.is_empty()
        && let Some(spec) = entry.catalogue.lookup(base)
        // At a custom endpoint `llama3.2:3b` is the untagged `llama3.2` with
        // a tag, but `gemma4:latest` is not `gemma4:e4b` (alias `gemma4`)
        // with one. OpenRouter's variants (`deepseek:free`) go on any name.
        && (entry.kind != ProviderKind::Custom || spec.model_name.eq_ignore_ascii_case(base))
    {
        return Some(from_spec(spec, format!("{}:{tag}", spec.model_name)));
    }
    match entry.kind {
        ProviderKind::Custom => {
            let configured = entry
                .custom_model_name
                .iter()
                .any(|m| m.eq_ignore_ascii_case(name));
            let listed = discovered.iter().find(|id| {
                id.eq_ignore_ascii_case(name)
                    || id
                        .strip_suffix(":latest")
                        .is_some_and(|base| base.eq_ignore_ascii_case(name))
            });
            match listed {
                Some(id) if id.eq_ignore_ascii_case(name) => Some(listed_model(entry, id)),
                _ if configured || listed.is_some() => Some(generic(entry.kind, name)),
                _ => None,
            }
        }
        ProviderKind::OpenRouter if is_vendor_model(name) => Some(generic(entry.kind, name)),
        _ => None,
    }
}

/// `vendor/model` or `vendor/model:variant`, as OpenRouter names models.
fn is_vendor_model(name: &str) -> bool {
    match name.split_once('/') {
        Some((vendor, model)) => {
            !vendor.is_empty()
                && !model.is_empty()
                && !model.contains('/')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
        }
        None => false,
    }
}

/// The available name (or alias) closest to `requested`, if one is close.
fn suggest(requested: &str, available: &[ResolvedModel]) -> Option<String> {
    let wanted = requested.to_ascii_lowercase();
    available
        .iter()
        .flat_map(|m| std::iter::once(m.api_name.clone()).chain(m.spec.aliases.iter().cloned()))
        .map(|candidate| {
            let lower = candidate.to_ascii_lowercase();
            // One name inside the other counts only when it is most of it
            // (`gpt5` in `gpt-5.1`, not `mini` in `gemini-pro`).
            let close_in_length =
                lower.len() * 3 >= wanted.len() * 2 && wanted.len() * 3 >= lower.len() * 2;
            let distance =
                if close_in_length && (lower.contains(&wanted) || wanted.contains(&lower)) {
                    lower.len().abs_diff(wanted.len()).min(2)
                } else {
                    edit_distance(&wanted, &lower)
                };
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance <= 3.max(wanted.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_model_names() {
        assert!(is_vendor_model("meta-llama/llama-3.3-70b-instruct:free"));
        assert!(!is_vendor_model("gpt5"));
        assert!(!is_vendor_model("a/b/c"));
        assert!(!is_vendor_model("/b"));
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("flash", "flash"), 0);
        assert_eq!(edit_distance("flsh", "flash"), 1);
        assert_eq!(edit_distance("o3", "o4-mini"), 6);
    }
}
