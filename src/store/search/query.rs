//! The search syntax users type, parsed once and rendered for each backend.
//!
//! Syntax (the same on SQLite and PostgreSQL):
//! - words: every word must match (`florist delivery`); in [`Match::Any`] mode, used by
//!   the assistants' `searchMessages`, any word may, and more matches rank higher;
//! - `"exact phrase"`: the words next to each other, in that order;
//! - `a OR b` (upper-case `OR`): either one;
//! - `-word` or `-"a phrase"`: documents containing it are left out;
//! - `flow*`: a prefix (ASCII letters and digits only; otherwise the star is dropped).
//!
//! Anything else is text: punctuation never reaches FTS5 or `tsquery` as syntax. Each
//! term goes to FTS5 as a double-quoted string (quotes doubled) and to PostgreSQL as a
//! bound parameter of `phraseto_tsquery`/`to_tsquery`, so a query cannot inject operators
//! (`NEAR(`, `*`, `"`, `'; drop ...` are words or nothing). A term without a letter or
//! digit is dropped; a query left with nothing to look for is an error, as is one longer
//! than [`MAX_QUERY_CHARS`] or with more than [`MAX_TERMS`] terms.

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Most terms (words, phrases, prefixes) in one query.
pub const MAX_TERMS: usize = 16;

/// How the top-level terms combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Every term must match (what users get).
    All,
    /// Any term may match; documents matching more rank higher (keyword lookups).
    Any,
}

/// Why a query string cannot be searched; the message is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("needs at least one word to look for")]
    Empty,
    #[error("at most {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("at most {MAX_TERMS} words or phrases")]
    TooManyTerms,
}

/// One term: a word or a phrase (the tokenizer splits it), or a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    /// `word*`: matches words that start with `text` (ASCII alphanumeric only).
    pub prefix: bool,
}

/// A parsed query: an AND of groups, each an OR of terms, minus the excluded terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub groups: Vec<Vec<Term>>,
    pub excluded: Vec<Term>,
}

/// A raw token of the input.
#[derive(Debug, PartialEq)]
enum Token {
    Or,
    Term { term: Term, negated: bool },
}

fn has_word_char(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

/// A bare word as a term: `None` when it has no letter or digit.
fn word_term(raw: &str) -> Option<Term> {
    let stem = raw.trim_end_matches('*');
    if stem.len() < raw.len() && !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Some(Term {
            text: stem.to_lowercase(),
            prefix: true,
        });
    }
    has_word_char(raw).then(|| Term {
        text: raw.to_owned(),
        prefix: false,
    })
}

fn tokenize(input: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut negated = false;
        if c == '-' {
            chars.next();
            negated = true;
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            // A phrase runs to the next quote, or to the end when it is not closed.
            let phrase: String = chars.by_ref().take_while(|&c| c != '"').collect();
            if has_word_char(&phrase) {
                let term = Term {
                    text: phrase.split_whitespace().collect::<Vec<_>>().join(" "),
                    prefix: false,
                };
                out.push(Token::Term { term, negated });
            }
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '"' {
                break;
            }
            word.push(c);
            chars.next();
        }
        if word == "OR" && !negated {
            out.push(Token::Or);
        } else if let Some(term) = word_term(&word) {
            out.push(Token::Term { term, negated });
        }
    }
    out
}

impl SearchQuery {
    /// Parses `input` (see the module doc).
    pub fn parse(input: &str, mode: Match) -> Result<SearchQuery, QueryError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let mut groups: Vec<Vec<Term>> = Vec::new();
        let mut excluded = Vec::new();
        // An OR joins the next term to the last group; a dangling OR is ignored.
        let mut join_next = false;
        let mut terms = 0usize;
        for token in tokenize(input) {
            match token {
                Token::Or => join_next = !groups.is_empty(),
                Token::Term { term, negated } => {
                    terms += 1;
                    if terms > MAX_TERMS {
                        return Err(QueryError::TooManyTerms);
                    }
                    if negated {
                        excluded.push(term);
                        join_next = false;
                    } else {
                        match groups.last_mut() {
                            Some(last) if join_next || mode == Match::Any => last.push(term),
                            _ => groups.push(vec![term]),
                        }
                        join_next = false;
                    }
                }
            }
        }
        if groups.is_empty() {
            return Err(QueryError::Empty);
        }
        Ok(SearchQuery { groups, excluded })
    }

    /// The FTS5 expression over the `title` and `body` columns (`scope` is the caller's).
    pub fn fts5(&self) -> String {
        let groups: Vec<String> = self.groups.iter().map(|g| fts5_any(g)).collect();
        let mut out = format!("({{title body}} : ({}))", groups.join(" AND "));
        if !self.excluded.is_empty() {
            out = format!("{out} NOT ({{title body}} : {})", fts5_any(&self.excluded));
        }
        out
    }

    /// A PostgreSQL `tsquery` expression; `bind` is called with each term's parameter
    /// value and returns its placeholder.
    pub fn tsquery(&self, config: &str, bind: &mut dyn FnMut(String) -> String) -> String {
        let mut ts_any = |terms: &[Term]| {
            let parts: Vec<String> = terms
                .iter()
                .map(|t| {
                    if t.prefix {
                        // `text` is ASCII alphanumeric: one lexeme, no tsquery syntax.
                        let p = bind(format!("{}:*", t.text));
                        format!("to_tsquery('{config}', {p})")
                    } else {
                        let p = bind(t.text.clone());
                        format!("phraseto_tsquery('{config}', {p})")
                    }
                })
                .collect();
            format!("({})", parts.join(" || "))
        };
        let groups: Vec<String> = self.groups.iter().map(|g| ts_any(g)).collect();
        let mut out = groups.join(" && ");
        if !self.excluded.is_empty() {
            out = format!("({out}) && !!{}", ts_any(&self.excluded));
        }
        out
    }
}

/// A term as an FTS5 string: the text double-quoted, inner quotes doubled.
fn fts5_term(t: &Term) -> String {
    let quoted = format!("\"{}\"", t.text.replace('"', "\"\""));
    if t.prefix {
        format!("{quoted}*")
    } else {
        quoted
    }
}

fn fts5_any(terms: &[Term]) -> String {
    let parts: Vec<String> = terms.iter().map(fts5_term).collect();
    format!("({})", parts.join(" OR "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn word(s: &str) -> Term {
        Term {
            text: s.into(),
            prefix: false,
        }
    }

    #[test]
    fn words_phrases_or_not_and_prefix() {
        let q = SearchQuery::parse(
            r#"florist "late delivery" menu OR tasting -cancel flow*"#,
            Match::All,
        )
        .unwrap();
        assert_eq!(
            q.groups,
            vec![
                vec![word("florist")],
                vec![word("late delivery")],
                vec![word("menu"), word("tasting")],
                vec![Term {
                    text: "flow".into(),
                    prefix: true
                }],
            ]
        );
        assert_eq!(q.excluded, vec![word("cancel")]);
        assert_eq!(
            q.fts5(),
            r#"({title body} : (("florist") AND ("late delivery") AND ("menu" OR "tasting") AND ("flow"*))) NOT ({title body} : ("cancel"))"#
        );
        let mut n = 0;
        let mut values = Vec::new();
        let ts = q.tsquery("english", &mut |v| {
            n += 1;
            values.push(v);
            format!("${n}")
        });
        assert_eq!(
            ts,
            "((phraseto_tsquery('english', $1)) && (phraseto_tsquery('english', $2)) && \
             (phraseto_tsquery('english', $3) || phraseto_tsquery('english', $4)) && \
             (to_tsquery('english', $5))) && !!(phraseto_tsquery('english', $6))"
        );
        assert_eq!(
            values,
            [
                "florist",
                "late delivery",
                "menu",
                "tasting",
                "flow:*",
                "cancel"
            ]
        );
    }

    #[test]
    fn any_mode_puts_every_word_in_one_group() {
        let q = SearchQuery::parse("vegetarian menu", Match::Any).unwrap();
        assert_eq!(q.groups, vec![vec![word("vegetarian"), word("menu")]]);
    }

    #[test]
    fn syntax_characters_are_text() {
        for hostile in [r#"""#, "*", "(", "'; --", "-", "OR", "()", "^:*&|!"] {
            assert_eq!(
                SearchQuery::parse(hostile, Match::All),
                Err(QueryError::Empty),
                "{hostile}"
            );
        }
        let q = SearchQuery::parse(r#"NEAR(a b) say"hi" ab'c* x*y"#, Match::All).unwrap();
        assert_eq!(
            q.fts5(),
            r#"({title body} : (("NEAR(a") AND ("b)") AND ("say") AND ("hi") AND ("ab'c*") AND ("x*y")))"#
        );
        // An unclosed quote runs to the end; quotes inside a term are doubled.
        let q = SearchQuery::parse("a\"\"b", Match::All).unwrap();
        assert_eq!(q.groups.len(), 2);
        let t = Term {
            text: "x\"y".into(),
            prefix: false,
        };
        assert_eq!(fts5_term(&t), "\"x\"\"y\"");
    }

    #[test]
    fn limits() {
        assert_eq!(
            SearchQuery::parse(&"a".repeat(MAX_QUERY_CHARS + 1), Match::All),
            Err(QueryError::TooLong)
        );
        let many = (0..=MAX_TERMS)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            SearchQuery::parse(&many, Match::All),
            Err(QueryError::TooManyTerms)
        );
        assert_eq!(
            SearchQuery::parse("  \t ", Match::All),
            Err(QueryError::Empty)
        );
        assert_eq!(
            SearchQuery::parse("-only", Match::All),
            Err(QueryError::Empty)
        );
    }
}
