//! Token estimates, for budgets: how much of a model's context a text will use.
//!
//! Providers count tokens with their own tokenizers; zen only needs a safe
//! estimate to keep prompts within budget. English prose and code average
//! close to four characters per token with current tokenizers; dense text
//! (CJK, long numbers) averages fewer, so characters outside ASCII count as a
//! token each, which keeps the estimate on the safe (high) side.

/// Estimated tokens in `text`.
pub fn estimate_tokens(text: &str) -> u64 {
    let mut ascii = 0u64;
    let mut other = 0u64;
    for c in text.chars() {
        if c.is_ascii() {
            ascii += 1;
        } else {
            other += 1;
        }
    }
    ascii.div_ceil(4) + other
}

/// Estimated tokens in `bytes` bytes of text whose content is not read yet
/// (a file on disk): one token per four bytes.
pub fn estimate_tokens_for_bytes(bytes: u64) -> u64 {
    bytes.div_ceil(4)
}

/// The most bytes of text that fit in `tokens` tokens, by the same rule.
pub fn bytes_for_tokens(tokens: u64) -> u64 {
    tokens.saturating_mul(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_four_chars_a_token_and_other_text_counts_high() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("日本語"), 3);
        assert_eq!(estimate_tokens_for_bytes(4001), 1001);
        assert_eq!(bytes_for_tokens(10), 40);
    }
}
