//! Building the prompt a model receives: the token budget, the conversation
//! history, and the limit on what a client may send inline.

mod budget;
mod history;

pub use budget::Budget;
pub use history::{History, build_history, left_out_note};

/// The most characters of prompt a client may send inline for a given
/// `MAX_MCP_OUTPUT_TOKENS`: 60% of the limit, at four characters a token
/// (60,000 characters at the default 25,000 tokens). Longer prompts are asked
/// to come as a `prompt.txt` file.
pub fn inline_prompt_limit(max_mcp_output_tokens: u32) -> usize {
    (u64::from(max_mcp_output_tokens) * 6 / 10 * 4) as usize
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_limit_is_sixty_thousand_characters() {
        assert_eq!(super::inline_prompt_limit(25_000), 60_000);
    }
}
