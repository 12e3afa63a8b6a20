//! The language a customer writes in, for a `lang:` skill requirement.
//!
//! whatlang guesses from trigrams and scripts; short or mixed texts are guessed badly, so a
//! guess below [`MIN_CONFIDENCE`] (or from fewer than [`MIN_LETTERS`] letters) is no answer
//! and the caller routes without a language requirement. Portuguese is reported as `pt-BR`
//! (the variant the product serves); the others as their two-letter code where one exists.

/// whatlang's confidence (0–1) a guess needs to count.
pub const MIN_CONFIDENCE: f64 = 0.5;
/// Fewer letters than this and no guess is made ("ok", "hi", an emoji).
pub const MIN_LETTERS: usize = 12;

/// The language of `text` as a BCP-47-like code (`pt-BR`, `pl`, `en`, `es`…), when whatlang is
/// sure enough.
pub fn detect_language(text: &str) -> Option<&'static str> {
    detect_language_with(text, MIN_CONFIDENCE)
}

/// [`detect_language`] with another confidence threshold.
pub fn detect_language_with(text: &str, min_confidence: f64) -> Option<&'static str> {
    if text.chars().filter(|c| c.is_alphabetic()).count() < MIN_LETTERS {
        return None;
    }
    let info = whatlang::detect(text)?;
    if info.confidence() < min_confidence {
        return None;
    }
    Some(code(info.lang()))
}

/// whatlang's ISO 639-3 languages as the codes the product uses.
fn code(lang: whatlang::Lang) -> &'static str {
    use whatlang::Lang;
    match lang {
        Lang::Por => "pt-BR",
        Lang::Pol => "pl",
        Lang::Eng => "en",
        Lang::Spa => "es",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ita => "it",
        Lang::Nld => "nl",
        Lang::Rus => "ru",
        Lang::Ukr => "uk",
        Lang::Cmn => "zh",
        Lang::Jpn => "ja",
        Lang::Kor => "ko",
        Lang::Ara => "ar",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Hin => "hi",
        Lang::Ben => "bn",
        Lang::Epo => "eo",
        Lang::Kat => "ka",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
        Lang::Cym => "cy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_products_languages_are_recognised() {
        let cases = [
            (
                "Olá, comprei um celular na semana passada e ainda não chegou. Vocês podem verificar o meu pedido?",
                "pt-BR",
            ),
            (
                "Dzień dobry, zamówiłem telefon w zeszłym tygodniu i nadal nie dotarł. Czy możecie sprawdzić moje zamówienie?",
                "pl",
            ),
            (
                "Hello, I ordered a phone last week and it still has not arrived. Could you check my order please?",
                "en",
            ),
            (
                "Hola, compré un teléfono la semana pasada y todavía no ha llegado. ¿Pueden revisar mi pedido?",
                "es",
            ),
        ];
        for (text, code) in cases {
            assert_eq!(detect_language(text), Some(code), "{text}");
        }
    }

    #[test]
    fn too_little_text_is_no_answer() {
        for text in ["ok", "hi!", "👍👍", "", "12345 67890 1234"] {
            assert_eq!(detect_language(text), None, "{text}");
        }
    }

    #[test]
    fn a_strict_threshold_refuses_a_doubtful_guess() {
        // Mixed languages: whatlang leans one way but not with full confidence.
        let mixed = "thanks obrigado dziękuję merci danke";
        assert_eq!(detect_language_with(mixed, 1.01), None);
    }

    #[test]
    fn every_code_is_short_and_distinct() {
        let codes: Vec<_> = whatlang::Lang::all().iter().map(|l| code(*l)).collect();
        let mut unique = codes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
        assert!(codes.iter().all(|c| (2..=5).contains(&c.len())));
    }
}
