//! Article search for customers, in English, Portuguese (Brazil) and Polish.
//!
//! Customers type short questions, often without diacritics and in another grammatical form
//! than the article's ("rastreio do pedido" for "Como rastrear meu pedido", "anulowanie
//! zamowienia" for "Jak anulować zamówienie?"). Text and questions therefore go through the same
//! [`analyze`](fn@analyze): split into runs of letters and digits, lower-cased, diacritics folded
//! ([`fold`]), stopwords of the language dropped, and each word reduced to a stem. What each
//! locale gets (by its language part: `pt_BR`, `pt-PT` and `pt` are Portuguese):
//!
//! - **English** (`en…`): English stopwords; Snowball's English (Porter 2) stemmer on the folded
//!   word ("refunds", "refunded" → "refund").
//! - **Portuguese** (`pt…`): Portuguese stopwords (articles, prepositions and their contractions,
//!   pronouns, "como", "quero", "posso"…); Snowball's Portuguese stemmer, then folding. Snowball
//!   recognises suffixes by their accents (`-ção`, `-ções`, `-ência`, `-ável`…), which customers
//!   often leave out, so a word whose folded ending is one of those has its accents put back
//!   first ("devolucao" → "devolução" → "devolu", like "devoluções"), and plurals in -ões are
//!   read as their singular ("cartões" → "cartão"). Two kinds of nouns Snowball leaves apart
//!   from their verbs are brought to them: -amento/-imento ("pagamento" → "pag", like "pagar")
//!   and -eio of -ear verbs ("rastreio" → "rastr", like "rastrear" and "rastreamento").
//! - **Polish** (`pl…`): Polish stopwords ("jak", "czy", "w", "z", "na", "się", "nie", "mój"…);
//!   Snowball has no Polish, so [`polish_stem`], a light stemmer of this module, strips the
//!   common noun, adjective and verb endings of the folded word ("zamówienia", "zamowieniu" →
//!   "zamow"; "zwrotu", "zwroty" → "zwrot"; "płatności" → "platnosc").
//! - **Any other locale**: English stopwords and folding, no stemming.
//!
//! Articles are analysed once, when saved, into [`Indexed`] (kept by the store as text) and
//! ranked per query by [`rank`]: BM25 over the candidates given, with the title counting three
//! times and the description twice, the query's last word also matching as a prefix (people
//! search while typing), and a small tie-break by views. [`confidence`] says how sure the best
//! hit is, for answering without a human; [`snippet`] picks the passage to show under a hit.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

mod analyze;
#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;

use analyze::{Analyzer, bounded, first_chars, lower_word, word_spans};
pub use analyze::{analyze, polish_stem};

/// Letters written with a diacritic, lower and upper case, and the plain letters they are
/// searched as: the Portuguese and Polish ones and their neighbours. PostgreSQL indexes message
/// text through `translate(…, FOLD_FROM, FOLD_TO)` (store migration 0019); SQLite's FTS5 folds
/// every letter that decomposes itself, and the index is given `ł` as `l` (it does not
/// decompose).
pub const FOLD_FROM: &str = "áàâãäåąćçčďéèêëęěíìîïłńňñóòôõöøřśšťúùûüůýÿźżž\
ÁÀÂÃÄÅĄĆÇČĎÉÈÊËĘĚÍÌÎÏŁŃŇÑÓÒÔÕÖØŘŚŠŤÚÙÛÜŮÝŸŹŻŽ";
pub const FOLD_TO: &str = "aaaaaaacccdeeeeeeiiiilnnnoooooorsstuuuuuyyzzz\
aaaaaaacccdeeeeeeiiiilnnnoooooorsstuuuuuyyzzz";

/// `c` without its diacritic, when it is one of [`FOLD_FROM`].
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c;
    }
    FOLD_FROM
        .chars()
        .zip(FOLD_TO.chars())
        .find(|&(from, _)| from == c)
        .map_or(c, |(_, to)| to)
}

/// A word as the indexes hold it: diacritics of [`FOLD_FROM`] off ("zamówienie" → "zamowienie",
/// "łódź" → "lodz").
pub fn fold(word: &str) -> String {
    word.chars().map(fold_char).collect()
}

/// The most text analysed at once, in bytes (articles are limited to 100 000 characters).
const MAX_TEXT_BYTES: usize = 256 * 1024;
/// Words longer than this are cut (no real word is; the limit bounds stemming).
const MAX_WORD_CHARS: usize = 64;
/// A query is read up to this many characters…
pub const MAX_QUERY_CHARS: usize = 200;
/// …and up to this many distinct terms.
pub const MAX_QUERY_TERMS: usize = 12;
/// An article's body is indexed up to this many terms (its first few thousand words).
pub const MAX_BODY_TERMS: usize = 5_000;
/// Titles and descriptions are short; the cap only bounds what a stored value can cost.
const MAX_FIELD_TERMS: usize = 5_000;

/// BM25's term-frequency saturation and length normalisation.
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// How much a match counts in the title, the description and the body.
const FIELD_WEIGHTS: [f64; 3] = [3.0, 2.0, 1.0];
/// The most the views can add to a score, as a fraction of it (the most viewed candidate gets
/// all of it, one with no views none): enough to order equal matches, never to beat a better
/// one by much.
const VIEWS_BOOST: f64 = 0.02;
/// The last word of a query is also a prefix when it has at least this many characters.
const MIN_PREFIX_CHARS: usize = 3;

// ------------------------------------------------------------------------------------------
// The index
// ------------------------------------------------------------------------------------------

/// An article as search reads it: the terms of each field, in order. Built when the article is
/// saved ([`index`]); kept by the store as text ([`Indexed::to_stored`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Indexed {
    pub title: Vec<String>,
    pub description: Vec<String>,
    /// At most [`MAX_BODY_TERMS`].
    pub body: Vec<String>,
}

impl Indexed {
    /// Compact JSON (`{"title":[…],"description":[…],"body":[…]}`).
    pub fn to_stored(&self) -> String {
        // Serialising strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// What [`Indexed::to_stored`] wrote; `None` for anything else (then index the article
    /// again).
    pub fn from_stored(stored: &str) -> Option<Indexed> {
        serde_json::from_str(stored).ok()
    }
}

/// An article's terms: `body_plain` is its text without markup
/// ([`super::markdown::plain_text`]).
pub fn index(locale: &str, title: &str, description: &str, body_plain: &str) -> Indexed {
    let analyzer = Analyzer::new(locale);
    Indexed {
        title: analyzer.terms(title, MAX_FIELD_TERMS),
        description: analyzer.terms(description, MAX_FIELD_TERMS),
        body: analyzer.terms(body_plain, MAX_BODY_TERMS),
    }
}

// ------------------------------------------------------------------------------------------
// Queries and ranking
// ------------------------------------------------------------------------------------------

/// A query as ranking and snippets read it: distinct terms, the last word also as a prefix.
struct Query {
    terms: Vec<String>,
    /// The folded last word of the query and the term it belongs to, when it has at least
    /// [`MIN_PREFIX_CHARS`] characters and is not a stopword.
    prefix: Option<(usize, String)>,
    exact: HashMap<String, usize>,
}

impl Query {
    fn parse(analyzer: &Analyzer, query: &str) -> Self {
        let query = first_chars(query, MAX_QUERY_CHARS);
        let words: Vec<&str> = word_spans(query).map(|(s, e)| &query[s..e]).collect();
        let mut terms: Vec<String> = Vec::new();
        let mut prefix = None;
        for (i, word) in words.iter().enumerate() {
            let Some(term) = analyzer.term(word) else {
                continue;
            };
            let position = match terms.iter().position(|t| *t == term) {
                Some(p) => p,
                None if terms.len() < MAX_QUERY_TERMS => {
                    terms.push(term);
                    terms.len() - 1
                }
                None => break,
            };
            if i + 1 == words.len() {
                let folded = fold(&lower_word(word));
                if folded.chars().count() >= MIN_PREFIX_CHARS {
                    prefix = Some((position, folded));
                }
            }
        }
        let exact = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i))
            .collect();
        Self {
            terms,
            prefix,
            exact,
        }
    }

    /// Calls `found` with each query term `term` matches: exactly, or by the prefix.
    fn matches(&self, term: &str, mut found: impl FnMut(usize)) {
        let exact = self.exact.get(term).copied();
        if let Some(i) = exact {
            found(i);
        }
        if let Some((i, prefix)) = &self.prefix
            && exact != Some(*i)
            && term.starts_with(prefix.as_str())
        {
            found(*i);
        }
    }

    /// How often each query term occurs in `field`.
    fn count(&self, field: &[String]) -> Vec<u32> {
        let mut counts = vec![0u32; self.terms.len()];
        for term in field.iter().take(MAX_FIELD_TERMS) {
            self.matches(term, |i| counts[i] += 1);
        }
        counts
    }
}

/// An article that may answer a query: the store's pick (the portal's published articles in
/// the query's locale), with what ranking needs.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    pub id: i64,
    pub indexed: &'a Indexed,
    pub views: i64,
}

/// A candidate that matched: its score (higher is better, only comparable within one
/// ranking) and how many of the query's terms it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub id: i64,
    pub score: f64,
    pub matched_terms: usize,
    pub query_terms: usize,
}

/// The candidates that match `query`, best first, at most `limit`.
///
/// Scores are BM25F over the candidates as the corpus (k1 = 1.2, b = 0.75, each field's
/// length normalised against its average): a term counts three times in the title, twice in
/// the description, once in the body, and weighs more the fewer candidates hold it. The
/// query's last word (of at least three characters) also matches every term it begins
/// ("pedi" finds "pedido"). Views add at most 2 %, on a log scale, to order equal matches.
/// Candidates scoring nothing are left out; equal scores go to the lower id. A query of
/// stopwords only, or of nothing, finds nothing. The query is read up to 200 characters and
/// 12 distinct terms.
pub fn rank(locale: &str, query: &str, candidates: &[Candidate<'_>], limit: usize) -> Vec<Hit> {
    let query = Query::parse(&Analyzer::new(locale), query);
    if query.terms.is_empty() || candidates.is_empty() || limit == 0 {
        return Vec::new();
    }
    let fields = |c: &Candidate<'_>| {
        [
            c.indexed.title.len().min(MAX_FIELD_TERMS),
            c.indexed.description.len().min(MAX_FIELD_TERMS),
            c.indexed.body.len().min(MAX_FIELD_TERMS),
        ]
    };
    let counts: Vec<[Vec<u32>; 3]> = candidates
        .iter()
        .map(|c| {
            [
                query.count(&c.indexed.title),
                query.count(&c.indexed.description),
                query.count(&c.indexed.body),
            ]
        })
        .collect();
    let n = candidates.len() as f64;
    let mut average = [0.0f64; 3];
    for c in candidates {
        for (sum, len) in average.iter_mut().zip(fields(c)) {
            *sum += len as f64;
        }
    }
    for avg in &mut average {
        *avg = (*avg / n).max(1.0);
    }
    let idf: Vec<f64> = (0..query.terms.len())
        .map(|t| {
            let df = counts
                .iter()
                .filter(|fields| fields.iter().any(|f| f[t] > 0))
                .count() as f64;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        })
        .collect();
    let max_views = candidates.iter().map(|c| c.views.max(0)).max().unwrap_or(0);
    let views_scale = (1.0 + max_views as f64).ln();

    let mut hits: Vec<Hit> = candidates
        .iter()
        .zip(&counts)
        .filter_map(|(candidate, counts)| {
            let lengths = fields(candidate);
            let mut score = 0.0;
            let mut matched = 0;
            for (t, idf) in idf.iter().enumerate() {
                let mut weighted = 0.0;
                for f in 0..3 {
                    let tf = f64::from(counts[f][t]);
                    if tf > 0.0 {
                        let norm = 1.0 - B + B * lengths[f] as f64 / average[f];
                        weighted += FIELD_WEIGHTS[f] * tf / norm;
                    }
                }
                if weighted > 0.0 {
                    matched += 1;
                    score += idf * weighted * (K1 + 1.0) / (weighted + K1);
                }
            }
            if score <= 0.0 {
                return None;
            }
            if views_scale > 0.0 {
                let views = (1.0 + candidate.views.max(0) as f64).ln();
                score *= 1.0 + VIEWS_BOOST * views / views_scale;
            }
            Some(Hit {
                id: candidate.id,
                score,
                matched_terms: matched,
                query_terms: query.terms.len(),
            })
        })
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    hits.truncate(limit);
    hits
}

/// How sure search is that `hit` answers the query, from 0 to 1: the share of the query's
/// terms it holds (coverage), times a factor from ½ (another hit of `hits` scores as well) to
/// 1 (no other hit scores anything).
///
/// Meant for answering without a human (the FAQ bot): it should send an article only above a
/// threshold, and hand over otherwise. Around 0.7 needs every term matched and a clear lead
/// (≥ 40 % over the runner-up), or most terms and no real rival. A hit of a ranking is best
/// judged against that same ranking's hits.
pub fn confidence(hit: &Hit, hits: &[Hit]) -> f64 {
    if hit.query_terms == 0 || !hit.score.is_finite() || hit.score <= 0.0 {
        return 0.0;
    }
    let coverage = (hit.matched_terms as f64 / hit.query_terms as f64).clamp(0.0, 1.0);
    let rival = hits
        .iter()
        .filter(|h| h.id != hit.id && h.score.is_finite())
        .map(|h| h.score)
        .fold(0.0, f64::max);
    let margin = ((hit.score - rival) / hit.score).clamp(0.0, 1.0);
    coverage * (0.5 + 0.5 * margin)
}

// ------------------------------------------------------------------------------------------
// Snippets
// ------------------------------------------------------------------------------------------

/// A word of the text a snippet is taken from, in characters, and whether it matches.
struct SnippetWord {
    start: usize,
    end: usize,
    term: Option<usize>,
}

/// The passage of `plain` (an article's text, [`super::markdown::plain_text`]) to show under a
/// hit: at most `max_chars` characters around the densest matches of `query` (the most
/// distinct query terms, then the most matches), as fragments of `plain` in order, where
/// `true` marks a matching word (each word analysed as the query is). A fragment "…" stands
/// for text left out at either end. Without a match, the passage is the text's beginning.
/// Cuts fall between words unless one word is longer than the passage.
pub fn snippet(locale: &str, query: &str, plain: &str, max_chars: usize) -> Vec<(String, bool)> {
    let plain = bounded(plain, MAX_TEXT_BYTES);
    if plain.is_empty() || max_chars == 0 {
        return Vec::new();
    }
    let analyzer = Analyzer::new(locale);
    let query = Query::parse(&analyzer, query);
    // The byte offset of each character, and the end.
    let offsets: Vec<usize> = plain
        .char_indices()
        .map(|(i, _)| i)
        .chain([plain.len()])
        .collect();
    let chars: Vec<char> = plain.chars().collect();
    let total = chars.len();
    let char_at = |byte: usize| offsets.partition_point(|&o| o < byte);
    // Terms begin as their words do: a word is only analysed when it begins as one of the
    // query's terms (or its prefix) does.
    let heads: Vec<String> = query
        .terms
        .iter()
        .chain(query.prefix.as_ref().map(|(_, p)| p))
        .map(|t| head(t))
        .collect();
    let words: Vec<SnippetWord> = word_spans(plain)
        .map(|(start, end)| {
            let word = &plain[start..end];
            let mut term = None;
            let word_head = head(&fold(&lower_word(first_chars(word, HEAD_CHARS))));
            if heads.iter().any(|h| word_head.starts_with(h.as_str()))
                && let Some(t) = analyzer.term(word)
            {
                query.matches(&t, |i| {
                    term.get_or_insert(i);
                });
            }
            SnippetWord {
                start: char_at(start),
                end: char_at(end),
                term,
            }
        })
        .collect();

    let (start, end) = if total <= max_chars {
        (0, total)
    } else {
        let (first, last) = densest(&words, max_chars).unwrap_or((0, 0));
        window(&chars, first, last, max_chars)
    };

    let slice = |from: usize, to: usize| plain[offsets[from]..offsets[to]].to_owned();
    let mut fragments = Vec::new();
    if start > 0 {
        fragments.push(("…".to_owned(), false));
    }
    let mut cursor = start;
    for word in &words {
        if word.term.is_none() || word.start < start || word.end > end {
            continue;
        }
        if word.start > cursor {
            fragments.push((slice(cursor, word.start), false));
        }
        fragments.push((slice(word.start, word.end), true));
        cursor = word.end;
    }
    if cursor < end {
        fragments.push((slice(cursor, end), false));
    }
    if end < total {
        fragments.push(("…".to_owned(), false));
    }
    fragments
}

/// How many first characters of a word its term always keeps (every stemmer here strips
/// endings, and keeps at least three characters of a longer word).
const HEAD_CHARS: usize = 2;

/// The first [`HEAD_CHARS`] characters of `text`.
fn head(text: &str) -> String {
    first_chars(text, HEAD_CHARS).to_owned()
}

/// The span, in characters, from the first to the last matching word of the run of matches
/// that fits in `max_chars` and holds the most distinct query terms (then the most matches;
/// then the earliest); `None` without one.
fn densest(words: &[SnippetWord], max_chars: usize) -> Option<(usize, usize)> {
    let matched: Vec<&SnippetWord> = words.iter().filter(|w| w.term.is_some()).collect();
    let mut in_window: HashMap<usize, usize> = HashMap::new();
    let mut best: Option<((usize, usize), (usize, usize))> = None;
    let mut left = 0;
    for right in 0..matched.len() {
        if let Some(t) = matched[right].term {
            *in_window.entry(t).or_default() += 1;
        }
        while left <= right && matched[right].end - matched[left].start > max_chars {
            if let Some(t) = matched[left].term
                && let Some(n) = in_window.get_mut(&t)
            {
                *n -= 1;
                if *n == 0 {
                    in_window.remove(&t);
                }
            }
            left += 1;
        }
        if left > right {
            continue;
        }
        let quality = (in_window.len(), right - left + 1);
        if best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, (matched[left].start, matched[right].end)));
        }
    }
    best.map(|(_, span)| span)
}

/// A window of `max_chars` (< the text's length) around the characters `first..last`: a
/// quarter of the room left before them (all that precedes them when that is at most half),
/// the rest after, moved to whole words where it can.
fn window(chars: &[char], first: usize, last: usize, max_chars: usize) -> (usize, usize) {
    let total = chars.len();
    let room = max_chars.saturating_sub(last - first);
    // From the beginning when that costs little of the room; else a quarter of it before.
    let lead = if first <= room / 2 { first } else { room / 4 };
    let mut start = first - lead.min(first);
    let end = (start + max_chars).min(total);
    start = end.saturating_sub(max_chars).min(start);
    let mut end = end;
    let alnum = |i: usize| chars.get(i).is_some_and(|c| c.is_alphanumeric());
    if start > 0 {
        let mut s = start;
        if alnum(s - 1) {
            // Inside a word: start after it.
            while s < first && alnum(s) {
                s += 1;
            }
        }
        while s < first && !alnum(s) {
            s += 1;
        }
        if s < end {
            start = s;
        }
    }
    if end < total {
        let mut e = end;
        if alnum(e) {
            // Inside a word: end before it.
            while e > last && alnum(e - 1) {
                e -= 1;
            }
        }
        while e > last && chars[e - 1].is_whitespace() {
            e -= 1;
        }
        if e > start {
            end = e;
        }
    }
    (start, end)
}

/// [`snippet`] as HTML: each fragment escaped, matching words in `<mark>`.
pub fn snippet_html(locale: &str, query: &str, plain: &str, max_chars: usize) -> String {
    let mut html = String::new();
    for (text, matched) in snippet(locale, query, plain, max_chars) {
        if matched {
            html.push_str("<mark>");
            escape_into(&mut html, &text);
            html.push_str("</mark>");
        } else {
            escape_into(&mut html, &text);
        }
    }
    html
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}
