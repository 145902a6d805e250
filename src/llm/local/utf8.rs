//! Token pieces to text: a token is a run of bytes, and a character may span two tokens
//! (emoji, accented letters in byte-level BPE). [`Utf8Pieces`] keeps an unfinished
//! character's bytes until the next token completes it, so every text delta is whole UTF-8;
//! bytes that can never become valid are replaced with U+FFFD rather than dropped.

#[derive(Debug, Default)]
pub struct Utf8Pieces {
    pending: Vec<u8>,
}

impl Utf8Pieces {
    /// Adds a token's bytes; returns the text that is complete now (may be empty).
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(text) => {
                    out.push_str(text);
                    self.pending.clear();
                    return out;
                }
                Err(error) => {
                    let valid = error.valid_up_to();
                    // The prefix was just checked.
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match error.error_len() {
                        // An incomplete character at the end: wait for more bytes.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// What is left at the end of the answer (an unfinished character becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::Utf8Pieces;

    #[test]
    fn a_character_split_over_tokens_comes_out_whole() {
        let mut pieces = Utf8Pieces::default();
        let party = "🎉".as_bytes();
        assert_eq!(pieces.push(b"Hi "), "Hi ");
        assert_eq!(pieces.push(&party[..1]), "");
        assert_eq!(pieces.push(&party[1..3]), "");
        assert_eq!(pieces.push(&party[3..]), "🎉");
        assert_eq!(pieces.finish(), "");
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut pieces = Utf8Pieces::default();
        assert_eq!(pieces.push(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(pieces.push(b"\xe2\x82"), "");
        assert_eq!(pieces.finish(), "\u{fffd}");
    }
}
