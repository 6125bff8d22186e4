//! MCP over streamable HTTP at `/mcp`, with `/health`.
//!
//! Requests must name a local host (`localhost`, `127.0.0.1`, `::1`, or one in
//! `ZEN_HTTP_ALLOWED_HOSTS`) and, when they carry an `Origin`, come from a
//! local page (or one in `ZEN_HTTP_ALLOWED_ORIGINS`): this keeps web pages the
//! user visits from driving the server (DNS rebinding). With `ZEN_HTTP_TOKEN`
//! set, `/mcp` also wants `Authorization: Bearer <token>`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::ServerHandler;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use zen_core::Engine;

use crate::server::ZenServer;

#[derive(Debug, Clone)]
struct Guard {
    hosts: Vec<String>,
    origins: Vec<String>,
    token: Option<String>,
    engine: Engine,
    started: Instant,
}

/// Serves MCP over HTTP on `addr` until the process is stopped.
pub async fn serve(engine: Engine, addr: &str) -> Result<(), String> {
    serve_handler(engine, addr, ZenServer::new).await
}

/// Serves the MCP handler that `handler` builds from `engine` (one per
/// session) over HTTP on `addr`, behind the same checks and routes as
/// [`serve`]. The conformance fixture server wraps zen's handler this way.
pub async fn serve_handler<H>(
    engine: Engine,
    addr: &str,
    handler: impl Fn(Engine) -> H + Send + Sync + 'static,
) -> Result<(), String>
where
    H: ServerHandler + Send + 'static,
{
    crate::server::progress_interval(&engine)?;
    crate::server::learn_custom_models(&engine);
    // A host name to listen on is a name clients will send in `Host`.
    let named = addr
        .rsplit_once(':')
        .map(|(host, _)| host.trim_matches(['[', ']']))
        .filter(|host| host.parse::<std::net::IpAddr>().is_err() && !host.is_empty())
        .map(str::to_ascii_lowercase);
    let addr = listen_address(addr).ok_or_else(|| {
        format!(
            "`{addr}` is not an address to listen on; use HOST:PORT, e.g. 127.0.0.1:8765 or \
             localhost:8765"
        )
    })?;
    let settings = &engine.config().settings;
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    hosts.extend(settings.list("ZEN_HTTP_ALLOWED_HOSTS").unwrap_or_default());
    hosts.extend(named);
    let origins = settings
        .list("ZEN_HTTP_ALLOWED_ORIGINS")
        .unwrap_or_default();
    let token = settings.get("ZEN_HTTP_TOKEN").map(str::to_owned);
    if !addr.ip().is_loopback() && token.is_none() {
        tracing::warn!(
            "listening on {addr} without ZEN_HTTP_TOKEN: anyone who can reach it and names an \
             allowed host can use your API keys"
        );
    }
    let guard = Guard {
        hosts,
        origins,
        token,
        engine: engine.clone(),
        started: Instant::now(),
    };

    let config = StreamableHttpServerConfig::default().with_allowed_hosts(guard.hosts.clone());
    let mcp_engine = engine.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(handler(mcp_engine.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let app = Router::new()
        .nest_service("/mcp", mcp)
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(guard.clone(), check))
        .with_state(guard);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("can't listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("can't read the bound address: {e}"))?;
    // The one line scripts wait for: where the server is.
    eprintln!("zen-mcp listening on http://{bound}/mcp");
    tracing::info!("serving MCP at http://{bound}/mcp");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("the HTTP server stopped: {e}"))
}

/// The socket address `addr` (`IP:PORT` or `HOST:PORT`) names: an IP as
/// written, or a host name's first address (`localhost:8765` listens on
/// loopback).
pub fn listen_address(addr: &str) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs;
    if let Ok(parsed) = addr.parse() {
        return Some(parsed);
    }
    let mut found: Vec<SocketAddr> = addr.to_socket_addrs().ok()?.collect();
    // Prefer IPv4 loopback for `localhost`, which clients try first.
    found.sort_by_key(|a| !a.is_ipv4());
    found.into_iter().next()
}

/// Host, Origin and token checks, before anything else runs.
async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if let Some(problem) = guard.refusal(headers, request.uri().path()) {
        return problem;
    }
    let ending_session = request.method() == axum::http::Method::DELETE;
    let json_post = request.method() == axum::http::Method::POST
        && request.uri().path().starts_with("/mcp")
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                // The media type before any parameters, as rmcp reads it.
                let essence = v.split_once(';').map_or(v, |(essence, _)| essence);
                essence.trim().eq_ignore_ascii_case("application/json")
            });
    // The body is kept (a shared buffer, no copy) in case rmcp can't read it.
    let (request, body) = if json_post {
        match read_body(request).await {
            Ok(read) => read,
            Err(refusal) => return refusal,
        }
    } else {
        (request, None)
    };
    let mut response = next.run(request).await;
    // rmcp answers a session's DELETE with 202; the Python SDK's client logs
    // anything but 200 or 204 as a failed termination.
    if ending_session && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
        *response.body_mut() = axum::body::Body::empty();
    }
    // rmcp says 415 for a body it can't read as a message, though the type
    // was right: say which JSON-RPC error it is. Only then is it parsed again.
    if let Some(body) = body
        && response.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE
    {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
            Err(err) => rpc_error(
                StatusCode::BAD_REQUEST,
                -32700,
                &format!("Parse error: the body is not JSON ({err})"),
            ),
            Ok(_) => rpc_error(
                StatusCode::BAD_REQUEST,
                -32600,
                "Invalid Request: the body is JSON but not a JSON-RPC request, notification or \
                 response",
            ),
        };
    }
    response
}

/// The largest request body read (rmcp's own limit).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// `request` with its body read into memory, and that body; or the answer
/// for a body over [`MAX_BODY_BYTES`] or cut short.
async fn read_body(request: Request) -> Result<(Request, Option<axum::body::Bytes>), Response> {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return Err(rpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            -32600,
            &format!(
                "Invalid Request: the body is over {MAX_BODY_BYTES} bytes, or ended before it \
                 was complete"
            ),
        ));
    };
    let request = Request::from_parts(parts, axum::body::Body::from(bytes.clone()));
    Ok((request, Some(bytes)))
}

/// A JSON-RPC error with no id, as an HTTP answer of `status`.
fn rpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

impl Guard {
    fn refusal(&self, headers: &HeaderMap, path: &str) -> Option<Response> {
        let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let host = text(header::HOST).map(host_name).unwrap_or_default();
        if !self.hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            return Some(refuse(
                StatusCode::FORBIDDEN,
                &format!("host `{host}` is not allowed; add it to ZEN_HTTP_ALLOWED_HOSTS"),
            ));
        }
        if let Some(origin) = text(header::ORIGIN) {
            let local = origin
                .split_once("://")
                .map(|(_, rest)| host_name(rest))
                .is_some_and(|h| ["localhost", "127.0.0.1", "::1"].contains(&h.as_str()));
            if !local && !self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
                return Some(refuse(
                    StatusCode::FORBIDDEN,
                    &format!(
                        "origin `{origin}` is not allowed; add it to ZEN_HTTP_ALLOWED_ORIGINS"
                    ),
                ));
            }
        }
        if path.starts_with("/mcp")
            && let Some(token) = &self.token
        {
            // The scheme's name is case-insensitive (RFC 9110).
            let given = text(header::AUTHORIZATION)
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, credentials)| credentials.trim());
            if given != Some(token.as_str()) {
                let mut refusal = refuse(
                    StatusCode::UNAUTHORIZED,
                    "missing or wrong bearer token; send Authorization: Bearer <ZEN_HTTP_TOKEN>",
                );
                refusal.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"zen-mcp\""),
                );
                return Some(refusal);
            }
        }
        None
    }
}

/// The host part of `host[:port]` or `[v6]:port`, lowercase.
fn host_name(value: &str) -> String {
    let value = value.split('/').next().unwrap_or_default();
    let host = match value.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => value.rsplit_once(':').map_or(value, |(h, _)| h),
    };
    host.to_ascii_lowercase()
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

async fn health(State(guard): State<Guard>) -> axum::Json<serde_json::Value> {
    let engine = &guard.engine;
    let providers: Vec<&str> = engine
        .config()
        .providers
        .iter()
        .map(|p| p.kind.id())
        .collect();
    let stats = engine.stats().await;
    axum::Json(json!({
        "status": "ok",
        "version": zen_core::VERSION,
        "providers": providers,
        "models": engine.models().len(),
        "tools": engine.tool_registry().names().len(),
        "uptime_seconds": guard.started.elapsed().as_secs(),
        "conversations": stats["conversations"],
        "breakers": stats["providers"],
        "queue": stats["queue"],
        "resident_bytes": stats["process"]["resident_bytes"],
    }))
}

/// The engine's stats in the Prometheus text format.
async fn metrics(State(guard): State<Guard>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        guard.engine.prometheus().await,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names_drop_ports() {
        assert_eq!(host_name("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_name("LocalHost"), "localhost");
        assert_eq!(host_name("[::1]:9000"), "::1");
        assert_eq!(host_name("evil.example:80/path"), "evil.example");
    }
}
