//! A lean OpenAI-compatible provider for the benchmark: it reads the request,
//! waits the configured delay and answers a fixed reply. Unlike the test
//! stand-in (zen-testkit), it neither parses nor records requests, so the
//! figures measure zen rather than the harness around it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

/// The reply's text: about what a short model answer weighs.
const ANSWER: &str = "A fast stand-in answer: the code looks fine, though the error path \
                      could say which file it could not read and what to do next.";

#[derive(Debug)]
struct Shared {
    delay_ms: AtomicU64,
    chat: Bytes,
    responses: Bytes,
}

/// A running provider on 127.0.0.1; it stops with the runtime.
#[derive(Debug, Clone)]
pub struct FastProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FastProvider {
    /// Starts the provider on a free loopback port.
    pub async fn start() -> FastProvider {
        let chat = json!({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "gpt-4.1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 900, "completion_tokens": 30, "total_tokens": 930},
        });
        let responses = json!({
            "id": "resp-bench", "object": "response", "model": "gpt-4.1", "status": "completed",
            "output": [{"type": "message", "id": "msg-bench", "role": "assistant",
                        "content": [{"type": "output_text", "text": ANSWER, "annotations": []}]}],
            "usage": {"input_tokens": 900, "output_tokens": 30, "total_tokens": 930},
        });
        let shared = Arc::new(Shared {
            delay_ms: AtomicU64::new(0),
            chat: Bytes::from(chat.to_string()),
            responses: Bytes::from(responses.to_string()),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat_route))
            .route("/v1/responses", post(responses_route))
            .with_state(Arc::clone(&shared));
        // A listen backlog as deep as a provider's front end has: with
        // tokio's default (1,024) a burst of 1,000 new connections overflows
        // the accept queue, and the dropped handshakes cost a client a
        // retransmission (about 200 ms): the harness's cost, not zen's.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
        let listener = socket.listen(4096).unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FastProvider { addr, shared }
    }

    /// The base URL of its API, `http://127.0.0.1:PORT/v1`.
    pub fn base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Makes every reply wait `ms` milliseconds.
    pub fn set_delay_ms(&self, ms: u64) {
        self.shared.delay_ms.store(ms, Ordering::Relaxed);
    }
}

async fn reply(shared: &Shared, body: Bytes) -> Bytes {
    drop(body);
    let ms = shared.delay_ms.load(Ordering::Relaxed);
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    shared.chat.clone()
}

async fn chat_route(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let reply = reply(&shared, body).await;
    ([(CONTENT_TYPE, "application/json")], reply).into_response()
}

async fn responses_route(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let _ = reply(&shared, body).await;
    (
        [(CONTENT_TYPE, "application/json")],
        shared.responses.clone(),
    )
        .into_response()
}
