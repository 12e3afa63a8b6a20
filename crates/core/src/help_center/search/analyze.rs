//! From text to search terms: words split into runs of letters and digits, lower-cased and
//! folded, each language's stopwords dropped, and each word stemmed (Snowball's English and
//! Portuguese, the light [`polish_stem`] of this module). See [`super`] for what each locale
//! gets.

use rust_stemmers::{Algorithm, Stemmer};

use super::{MAX_TEXT_BYTES, MAX_WORD_CHARS, fold};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Language {
    English,
    Portuguese,
    Polish,
    /// English stopwords, no stemming.
    Other,
}

impl Language {
    pub(super) fn of(locale: &str) -> Self {
        let primary = locale
            .trim()
            .split(['_', '-'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Self::English,
            "pt" => Self::Portuguese,
            "pl" => Self::Polish,
            _ => Self::Other,
        }
    }
}

/// Articles, pronouns, auxiliaries and prepositions, folded.
const EN_STOPWORDS: &str = "\
    a about am an and any are as at be been but by can could did do does for from had has have \
    how i if in into is it its just me my of on or our s should so t that the their them then \
    there these they this to us was we were what which will with would you your";

/// Articles, prepositions and their contractions, pronouns, common auxiliaries and the verbs
/// customers open a request with ("quero", "posso", "como faço"), folded. Question words that
/// carry the need ("onde", "quando", "quanto") are kept.
const PT_STOPWORDS: &str = "\
    a ao aos as ate com como consigo da das de do dos e ela elas ele eles em essa esse esta \
    estao este estou eu faco fazer foi gostaria isso isto ja lhe mais mas me meu meus mim \
    minha minhas muito na nao nas no nos num numa o os ou para pela pelas pelo pelos por \
    porque posso pra preciso pro qual quais que queria quero sao se sem ser seu seus sua suas \
    te tem tenho ter um uma umas uns voce voces";

/// Prepositions, conjunctions, pronouns, "być" and the verbs customers open a request with
/// ("chcę", "mogę", "proszę"), folded. Question words that carry the need ("gdzie", "kiedy",
/// "ile") are kept.
const PL_STOPWORDS: &str = "\
    a aby albo ale bo by byc byl byla bylo chce chcialabym chcialbym co czy dla do go i ich ja \
    jak jaka jaki jakie jakim jej jego jest jestem juz ku lub mam mi mnie moge moich moim moj \
    moja moje mojego mojej mozna mu my na nad nam nie o od oraz pan pani po pod prosze przez \
    przy sa sie swoj swoja swoje ta tak te tego tej ten to tu twoj twoja twoje twojego twojej \
    ty u w was we wy z za ze zeby";

/// Folded Portuguese endings that Snowball only recognises with their accents, and those
/// accents: a word ending so has them put back before stemming. Plurals in -ões are read as
/// their singular in -ão (Snowball stems "cartões" and "cartão" apart). Longest first.
const PT_ACCENTED_ENDINGS: [(&str, &str); 13] = [
    ("encias", "ências"),
    ("ancias", "âncias"),
    ("aveis", "áveis"),
    ("iveis", "íveis"),
    ("encia", "ência"),
    ("ancia", "ância"),
    ("coes", "ção"),
    ("avel", "ável"),
    ("ivel", "ível"),
    ("cao", "ção"),
    ("oes", "ão"),
    ("aes", "ães"),
    ("ao", "ão"),
];

/// One locale's way from a word to its term.
pub(super) struct Analyzer {
    language: Language,
    stemmer: Option<Stemmer>,
}

impl Analyzer {
    pub(super) fn new(locale: &str) -> Self {
        let language = Language::of(locale);
        let stemmer = match language {
            Language::English => Some(Stemmer::create(Algorithm::English)),
            Language::Portuguese => Some(Stemmer::create(Algorithm::Portuguese)),
            Language::Polish | Language::Other => None,
        };
        Self { language, stemmer }
    }

    fn is_stopword(&self, folded: &str) -> bool {
        let list = match self.language {
            Language::English | Language::Other => EN_STOPWORDS,
            Language::Portuguese => PT_STOPWORDS,
            Language::Polish => PL_STOPWORDS,
        };
        list.split_whitespace().any(|w| w == folded)
    }

    /// The term of one word (a run of letters and digits); `None` for a stopword.
    pub(super) fn term(&self, word: &str) -> Option<String> {
        let lower = lower_word(word);
        if lower.is_empty() {
            return None;
        }
        let folded = fold(&lower);
        if self.is_stopword(&folded) {
            return None;
        }
        let term = match (self.language, &self.stemmer) {
            (Language::Portuguese, Some(stemmer)) => portuguese_stem(stemmer, &lower, &folded),
            (Language::English, Some(stemmer)) => stemmer.stem(&folded).into_owned(),
            (Language::Polish, _) => polish_stem(&folded),
            _ => folded.clone(),
        };
        // Stemmers keep at least a letter of a word; the guard keeps terms non-empty anyway.
        // Snippets find a term's words by their first letters: a stem that does not begin as
        // its word does (Portuguese accents put back on nonsense like "ęóęś") is not used.
        let word_head = super::head(&fold(&lower_word(first_chars(word, super::HEAD_CHARS))));
        Some(if term.is_empty() || !term.starts_with(&word_head) {
            folded
        } else {
            term
        })
    }

    /// The terms of `text`, at most `cap`.
    pub(super) fn terms(&self, text: &str, cap: usize) -> Vec<String> {
        let text = bounded(text, MAX_TEXT_BYTES);
        word_spans(text)
            .filter_map(|(start, end)| self.term(&text[start..end]))
            .take(cap)
            .collect()
    }
}

/// `text` cut to at most `max_bytes`, on a character boundary.
pub(super) fn bounded(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` cut to at most `max_chars` characters.
pub(super) fn first_chars(text: &str, max_chars: usize) -> &str {
    text.char_indices()
        .nth(max_chars)
        .map_or(text, |(end, _)| &text[..end])
}

/// The byte ranges of the runs of letters and digits of `text`.
pub(super) fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let start = loop {
            let (i, c) = chars.next()?;
            if c.is_alphanumeric() {
                break i;
            }
        };
        let mut end = text.len();
        while let Some(&(i, c)) = chars.peek() {
            if !c.is_alphanumeric() {
                end = i;
                break;
            }
            chars.next();
        }
        Some((start, end))
    })
}

/// A word lower-cased and cut to [`MAX_WORD_CHARS`]. Lower-casing may add a combining mark
/// ("İ" becomes "i" + U+0307): only letters and digits are kept of what it gives.
pub(super) fn lower_word(word: &str) -> String {
    word.chars()
        .take(MAX_WORD_CHARS)
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// `lower` with the accents of its ending put back when its folded form ends as one of
/// [`PT_ACCENTED_ENDINGS`] ("devolucao", "devoluçao" → "devolução"); as it is otherwise.
/// Folding maps one character to one, so `lower` and `folded` have the same length in
/// characters.
fn restore_portuguese_accents(lower: &str, folded: &str) -> String {
    for (plain, accented) in PT_ACCENTED_ENDINGS {
        if folded.len() > plain.len() && folded.ends_with(plain) {
            let keep = folded.chars().count() - plain.len();
            let mut restored: String = lower.chars().take(keep).collect();
            restored.push_str(accented);
            return restored;
        }
    }
    lower.to_owned()
}

/// Snowball's Portuguese stem of a word (`lower`, and `folded` without its diacritics),
/// folded, with two nouns Snowball leaves apart from their verbs brought to them:
///
/// - accents are first put back on the ending ([`restore_portuguese_accents`]);
/// - a stem still ending in -ament/-iment (Snowball strips -amento only from long words) loses
///   it, with the -e- of -ear verbs: "pagamento" → "pag" like "pagar", "rastreamento" →
///   "rastr" like "rastrear";
/// - a noun in -eio of an -ear verb loses -ei: "rastreio" → "rastr", "bloqueio" → "bloqu".
///
/// Each keeps at least three letters ("alimento" stays "aliment").
fn portuguese_stem(stemmer: &Stemmer, lower: &str, folded: &str) -> String {
    let stem = fold(&stemmer.stem(&restore_portuguese_accents(lower, folded)));
    for ending in ["eament", "ament", "iment"] {
        if let Some(short) = stem.strip_suffix(ending) {
            return if short.chars().count() >= 3 {
                short.to_owned()
            } else {
                stem
            };
        }
    }
    if (folded.ends_with("eio") || folded.ends_with("eios"))
        && let Some(short) = stem.strip_suffix("ei")
        && short.chars().count() >= 4
    {
        return short.to_owned();
    }
    stem
}

/// Whatever its ending, a Polish noun shorter than this is left whole.
const PL_MIN_WORD: usize = 4;

/// Polish endings, folded (each group's separated by spaces), with what replaces them and the
/// fewest characters the result must keep. [`polish_stem`] takes the longest ending that
/// leaves enough.
const PL_ENDINGS: &[(&str, &str, usize)] = &[
    // Verbal nouns in -anie/-enie, in every case, reduced to the verb's stem so they meet the
    // verb ("zamówienie", "zamówień" and "zamówić" → "zamow"; "anulowanie", "anulować" →
    // "anulow"). They keep five characters, so "wymianie" is not taken for one.
    (
        "an anie ania aniu aniem aniach aniami aniom en enie enia eniu eniem eniach eniami eniom \
         ien ienie ienia ieniu ieniem ieniach ieniami ieniom",
        "",
        5,
    ),
    // Infinitives (-ać, -eć, -ić, -yć).
    ("ac ec ic yc", "", 4),
    // Present tense: -uje… belongs to -ować verbs ("anuluje" → "anulow", like "anulować").
    ("uje ujesz ujemy ujecie uja ujac", "ow", 4),
    ("esz emy isz imy icie ysz ymy ycie asz amy acie aja", "", 4),
    // Past tense, first and second person, as customers write about themselves
    // ("zamówiłem", "zapłaciłam" → "zamow", "zaplac").
    (
        "alem alam ales alas ilem ilam iles ilas ylem ylam yles ylas elem elam eles elas alismy \
         alysmy ilismy ilysmy ylismy ylysmy elismy elysmy",
        "",
        4,
    ),
    // Noun and adjective cases.
    (
        "ami ach owi om ow em ego emu ej ych ymi ym ich imi im iego iemu iej iem iach iami iom \
         iow ie ia iu io a e i o u y",
        "",
        3,
    ),
    // The locative's consonant changes, undone: "fakturze" → "faktur", "karcie" → "kart",
    // "paczce" → "paczk", "przesyłce" → "przesylk"; "-ście"/"-ęcie" nouns keep their stem
    // ("wyjście" → "wyjsc", like "wyjścia").
    ("rze", "r", 4),
    ("cie", "t", 4),
    ("scie", "sc", 4),
    ("ecie", "ec", 4),
    ("zce", "zk", 4),
    ("lce", "lk", 4),
    ("dce", "dk", 4),
    ("tce", "tk", 4),
    ("nce", "nk", 4),
];

/// Nouns whose ending only looks inflectional ("problem" is not "probl" + "-em"): these and
/// their inflected forms ("problemu", "problemami") stem to themselves.
const PL_KEEP: [&str; 3] = ["problem", "program", "system"];

/// A light stemmer for Polish: `folded` (lower-case, diacritics folded) without its
/// inflectional ending, the longest in its table that leaves the stem long enough.
/// Words of fewer than four characters are kept whole.
///
/// It is deliberately shallow: one ending goes, and the vowel and consonant changes inside the
/// stem are not undone ("pieniądze"/"pieniędzy", "zwrot"/"zwrócić" stay apart), so inflected
/// forms of one word meet while different words sharing a root mostly do not.
pub fn polish_stem(folded: &str) -> String {
    let chars = folded.chars().count();
    if chars < PL_MIN_WORD {
        return folded.to_owned();
    }
    if let Some(kept) = PL_KEEP
        .iter()
        .find(|k| folded.starts_with(**k) && folded.len() - k.len() <= 3)
    {
        return (*kept).to_owned();
    }
    let mut best: Option<(&str, &str)> = None;
    let endings = PL_ENDINGS
        .iter()
        .flat_map(|&(endings, replacement, min_stem)| {
            endings
                .split_whitespace()
                .map(move |ending| (ending, replacement, min_stem))
        });
    for (ending, replacement, min_stem) in endings {
        // Endings are ASCII: their length in bytes is their length in characters.
        let fits = folded.ends_with(ending)
            && chars > ending.len()
            && chars - ending.len() + replacement.len() >= min_stem;
        if fits && best.is_none_or(|(longest, _)| ending.len() > longest.len()) {
            best = Some((ending, replacement));
        }
    }
    match best {
        Some((ending, replacement)) => {
            let mut stem = folded[..folded.len() - ending.len()].to_owned();
            stem.push_str(replacement);
            stem
        }
        None => folded.to_owned(),
    }
}

/// The search terms of `text` in `locale`, in order, repeated as often as they occur (see the
/// module documentation for what each language gets). At most 256 KiB of `text` are read.
pub fn analyze(locale: &str, text: &str) -> Vec<String> {
    Analyzer::new(locale).terms(text, usize::MAX)
}
