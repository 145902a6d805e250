//! A synthetic, deterministic corpus for scenario (s): words drawn from a Zipf distribution
//! (s = 1) over a vocabulary of 30,000 words, like natural text: a few dozen event-planning
//! words are very common, most words are rare. The first [`REAL_WORDS`] ranks are real
//! words, the rest are pronounceable pseudo-words made of syllables.

use std::collections::HashSet;

/// Vocabulary size.
pub const VOCABULARY: usize = 30_000;

/// The most common words, most common first.
const REAL_WORDS: &[&str] = &[
    "wedding",
    "guests",
    "menu",
    "venue",
    "table",
    "dinner",
    "flowers",
    "music",
    "photo",
    "cake",
    "budget",
    "date",
    "catering",
    "drinks",
    "garden",
    "hall",
    "invitation",
    "seating",
    "dessert",
    "lighting",
    "ceremony",
    "reception",
    "vendor",
    "contract",
    "deposit",
    "schedule",
    "parking",
    "florist",
    "band",
    "speech",
    "chairs",
    "linen",
    "wine",
    "toast",
    "dance",
    "photographer",
    "decor",
    "rehearsal",
    "brunch",
    "shuttle",
];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ren", "to", "sa", "vel", "dor", "bri", "chal", "fen", "gor", "han", "jul",
    "kem", "lar", "mon", "nix", "pra", "qui", "ros", "sul", "tam", "ul", "vor", "wen", "xan",
    "yel", "zor", "bat", "cor", "dal",
];

/// A small, fast, deterministic generator (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

/// The vocabulary and its Zipf cumulative weights.
pub struct Corpus {
    pub words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Corpus {
    pub fn new() -> Corpus {
        let mut words: Vec<String> = REAL_WORDS.iter().map(|w| (*w).to_owned()).collect();
        let mut seen: HashSet<String> = words.iter().cloned().collect();
        let mut rng = Rng::new(7);
        while words.len() < VOCABULARY {
            let n = rng.between(2, 4);
            let w: String = (0..n)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                .collect();
            // Distinct as written; a stemmer may still merge a few, which only makes
            // those terms a little more common.
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=VOCABULARY)
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Corpus { words, cumulative }
    }

    /// A word drawn by frequency.
    pub fn word(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative[VOCABULARY - 1];
        let x = rng.unit() * total;
        let i = self.cumulative.partition_point(|&c| c < x);
        &self.words[i.min(VOCABULARY - 1)]
    }

    /// `lo..=hi` words drawn by frequency, as a sentence.
    pub fn text(&self, rng: &mut Rng, lo: usize, hi: usize) -> String {
        let n = rng.between(lo, hi);
        let mut out = String::with_capacity(n * 8);
        for i in 0..n {
            if i > 0 {
                out.push(if rng.below(12) == 0 { '.' } else { ' ' });
                if out.ends_with('.') {
                    out.push(' ');
                }
            }
            out.push_str(self.word(rng));
        }
        out
    }

    /// The word of a rank (0 = most common).
    pub fn at(&self, rank: usize) -> &str {
        &self.words[rank.min(VOCABULARY - 1)]
    }
}
