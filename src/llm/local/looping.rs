//! A guard against greedy loops: small models decoded greedily can fall into repeating the
//! same phrase until the token limit ("a wedding at Harborview Loft, a wedding at ..."), which
//! on a CPU costs a minute and shows the user nonsense. The answer is ended once its tail is
//! one block of tokens written [`REPEATS`] times in a row.

/// The shortest and longest repeated block looked for, in tokens. Below 4 tokens repeats
/// are normal text (`| | |` in a table, `---`); above 48 a repeat is rare and costly to check.
const MIN_BLOCK: usize = 4;
const MAX_BLOCK: usize = 48;
/// How many times a block must follow itself.
pub const REPEATS: usize = 4;

/// Whether the last tokens of `generated` are one block repeated [`REPEATS`] times. A block
/// that is itself a shorter unit repeated (`| --- | --- |`: a table's separator row) does
/// not count: short units repeat in ordinary text.
pub fn is_looping<T: PartialEq>(generated: &[T]) -> bool {
    (MIN_BLOCK..=MAX_BLOCK).any(|block| {
        let span = block * REPEATS;
        if generated.len() < span {
            return false;
        }
        let tail = &generated[generated.len() - span..];
        let (first, rest) = tail.split_at(block);
        rest.chunks(block).all(|chunk| chunk == first) && !is_periodic(first)
    })
}

/// Whether `block` is a shorter unit written several times.
fn is_periodic<T: PartialEq>(block: &[T]) -> bool {
    (1..block.len()).any(|unit| {
        block.len().is_multiple_of(unit) && block.chunks(unit).all(|c| c == &block[..unit])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phrase_written_four_times_is_a_loop() {
        let phrase = [7, 8, 9, 10, 11];
        let mut tokens = vec![1, 2, 3];
        for n in 1..=REPEATS {
            assert!(!is_looping(&tokens), "after {} copies", n - 1);
            tokens.extend(phrase);
        }
        assert!(is_looping(&tokens));
    }

    #[test]
    fn ordinary_text_and_short_repeats_are_not() {
        let text: Vec<u32> = (0..500).map(|i| (i * 7919) % 1009).collect();
        assert!(!is_looping(&text));
        // A table's separators: a 2-token block many times.
        let table: Vec<u32> = std::iter::repeat_n([5, 6], 40).flatten().collect();
        assert!(!is_looping(&table));
        // Three copies are still text (a list of three similar items).
        let three: Vec<u32> = std::iter::repeat_n([1, 2, 3, 4, 5, 6], 3)
            .flatten()
            .collect();
        assert!(!is_looping(&three));
        assert!(!is_looping::<u32>(&[]));
    }
}
