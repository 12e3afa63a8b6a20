//! Message search: the user's words turned into each database's full-text query.
//!
//! Both indexes (SQLite FTS5, PostgreSQL GIN over `to_tsvector('simple', …)`, see migration
//! 0006) split text into words; a search matches messages containing every word given, each
//! as a word prefix ("pedi" finds "pedido"). Only letters and digits reach the query
//! languages, so nothing a user types can change the query's structure.

/// At most this many words take part in one search.
const MAX_WORDS: usize = 8;
/// Words longer than this are cut (no real word is; the limit bounds the query).
const MAX_WORD_CHARS: usize = 64;

/// The searchable words of `input`: runs of letters and digits, lower-cased.
pub fn words(input: &str) -> Vec<String> {
    input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            // Lower-casing may add a combining mark ("İ" becomes "i" + U+0307): only letters
            // and digits are kept of what it gives.
            w.chars()
                .take(MAX_WORD_CHARS)
                .flat_map(char::to_lowercase)
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .collect()
}

/// An FTS5 MATCH expression: every word as a quoted prefix.
pub fn fts5_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A PostgreSQL `to_tsquery('simple', …)` expression: every word as a prefix, all required.
pub fn tsquery(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("{w}:*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn words_are_letters_and_digits_lower_cased() {
        assert_eq!(
            words("Pedido #4521, não chegou!"),
            ["pedido", "4521", "não", "chegou"]
        );
        assert_eq!(words("  \"*'() & | ! :"), Vec::<String>::new());
        // Found by the property test: a Turkish dotted capital I.
        assert_eq!(words("İstanbul"), ["istanbul"]);
        assert_eq!(fts5_query(&words("Gdzie PACZKA")), "\"gdzie\"* \"paczka\"*");
        assert_eq!(tsquery(&words("Gdzie PACZKA")), "gdzie:* & paczka:*");
    }

    proptest! {
        /// Whatever is typed, the query holds only quoted words, prefix stars and joins.
        #[test]
        fn no_input_escapes_the_query_syntax(input in ".{0,200}") {
            let w = words(&input);
            prop_assert!(w.len() <= MAX_WORDS);
            for word in &w {
                prop_assert!(word.chars().all(char::is_alphanumeric));
                prop_assert!(!word.is_empty());
            }
            let fts = fts5_query(&w);
            prop_assert_eq!(fts.matches('"').count(), 2 * w.len());
            let ts = tsquery(&w);
            prop_assert!(!ts.contains(['\'', '(', ')', '|', '!']));
        }
    }
}
