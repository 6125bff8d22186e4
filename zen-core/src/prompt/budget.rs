//! How a model's context window is shared between the request, the files, the
//! conversation history and the reply.

use serde::Serialize;

/// Context windows from this size up count as large.
const LARGE_CONTEXT: u64 = 300_000;

/// Token allowances for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// The model's whole context window.
    pub context_window: u64,
    /// Everything sent: request, files and history together.
    pub content: u64,
    /// Files, current and from earlier turns.
    pub files: u64,
    /// Earlier turns.
    pub history: u64,
    /// Kept free for the reply.
    pub response: u64,
}

impl Budget {
    /// The split for a model with `context_window` tokens: below 300K, 60% for
    /// content (30% of it files, 50% history) and 40% for the reply; from 300K,
    /// 80% content (40% files, 40% history) and 20% reply.
    pub fn for_context(context_window: u64) -> Self {
        let (content_pct, files_pct, history_pct) = if context_window >= LARGE_CONTEXT {
            (80, 40, 40)
        } else {
            (60, 30, 50)
        };
        let content = context_window * content_pct / 100;
        Budget {
            context_window,
            content,
            files: content * files_pct / 100,
            history: content * history_pct / 100,
            response: context_window - content,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_follow_the_window_size() {
        let small = Budget::for_context(200_000);
        assert_eq!(
            (small.content, small.files, small.history, small.response),
            (120_000, 36_000, 60_000, 80_000)
        );
        let large = Budget::for_context(1_000_000);
        assert_eq!(
            (large.content, large.files, large.history, large.response),
            (800_000, 320_000, 320_000, 200_000)
        );
        let edge = Budget::for_context(300_000);
        assert_eq!(edge.content, 240_000);
    }
}
