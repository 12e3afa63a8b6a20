//! Satisfaction surveys after a conversation is resolved: CSAT (1–5, Chatwoot's) and NPS
//! (0–10, Throughline's), the question in the customer's language, and the answer read from a
//! plain reply on channels that have no buttons ("5", "5 - ótimo", "nota 4", "ocena: 3/5").

use crate::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SurveyType {
    Csat,
    Nps,
}

impl SurveyType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csat => "csat",
            Self::Nps => "nps",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csat" => Some(Self::Csat),
            "nps" => Some(Self::Nps),
            _ => None,
        }
    }

    /// The lowest and highest rating.
    pub fn scale(self) -> (i64, i64) {
        match self {
            Self::Csat => (1, 5),
            Self::Nps => (0, 10),
        }
    }

    pub fn accepts(self, rating: i64) -> bool {
        let (low, high) = self.scale();
        (low..=high).contains(&rating)
    }
}

/// How long after it was sent an answer counts as on time; later ones are kept, marked late
/// (Chatwoot refuses answers after 14 days; a customer's late word is still worth keeping).
pub const ANSWER_PERIOD_MS: Millis = 14 * 24 * 3_600_000;

pub fn is_late(sent_at: Millis, answered_at: Millis) -> bool {
    answered_at.saturating_sub(sent_at) > ANSWER_PERIOD_MS
}

/// A rating read from a reply, with whatever the customer wrote after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyAnswer {
    pub rating: i64,
    pub comment: Option<String>,
}

/// Words customers put before the number, in the languages we serve.
const LEAD_WORDS: &[&str] = &[
    "nota", "note", "rating", "rate", "score", "ocena", "ocenka", "nps", "csat", "dou", "daję",
    "daje",
];

/// Reads a rating from a reply to a survey. The reply must start with it (optionally after a
/// word like "nota" or "ocena"), so "I ordered 5 items" is not a rating; a number outside the
/// scale, or one followed by more digits ("500"), is not either. Stars count on CSAT ("⭐⭐⭐⭐").
pub fn parse_reply(text: &str, kind: SurveyType) -> Option<ReplyAnswer> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 1_000 {
        return None;
    }
    if kind == SurveyType::Csat {
        let stars = text.chars().take_while(|c| *c == '⭐' || *c == '★').count();
        if stars > 0 {
            let rest: String = text.chars().skip(stars).collect();
            let rating = i64::try_from(stars).ok().filter(|r| kind.accepts(*r))?;
            return Some(ReplyAnswer {
                rating,
                comment: comment_of(&rest),
            });
        }
    }
    let mut rest = text;
    if let Some(word) = LEAD_WORDS.iter().find(|w| {
        rest.get(..w.len())
            .is_some_and(|head| head.to_lowercase() == **w)
            && rest[w.len()..].starts_with(|c: char| !c.is_alphanumeric())
    }) {
        rest = rest[word.len()..].trim_start_matches(|c: char| c.is_whitespace() || c == ':');
    }
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 2 {
        return None;
    }
    let rating: i64 = digits.parse().ok()?;
    let mut after = &rest[digits.len()..];
    // "4/5", "9/10": the scale written out.
    if let Some(scale) = after.strip_prefix('/') {
        let top: String = scale.chars().take_while(char::is_ascii_digit).collect();
        if top.is_empty() || top.parse::<i64>().ok() != Some(kind.scale().1) {
            return None;
        }
        after = &scale[top.len()..];
    }
    if after.starts_with(|c: char| c.is_alphanumeric() || c == ',' || c == '.') {
        // "5.5", "5,5", "5th", "5kg": not an answer.
        let tail = after.trim_start_matches(['.', ',']);
        if !after.starts_with(['.', ',']) || tail.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
    }
    if !kind.accepts(rating) {
        return None;
    }
    Some(ReplyAnswer {
        rating,
        comment: comment_of(after),
    })
}

fn comment_of(rest: &str) -> Option<String> {
    let trimmed = rest.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '-' | '–' | '—' | ':' | ',' | '.' | '!' | ')')
    });
    let trimmed = trimmed.trim();
    (!trimmed.is_empty()).then(|| trimmed.chars().take(1_000).collect())
}

/// The question sent after resolution, in the account's language (`en`, `pt_BR`/`pt-BR`,
/// `pl`); `link` is the survey page. Channels with buttons (the widget) show the rating
/// control instead of the numbers.
pub fn question(kind: SurveyType, locale: &str, link: &str) -> String {
    let lang = locale.to_ascii_lowercase().replace('_', "-");
    match (kind, lang.split('-').next().unwrap_or("en")) {
        (SurveyType::Csat, "pt") => format!(
            "Como foi o nosso atendimento? Responda com uma nota de 1 (ruim) a 5 (ótimo), ou avalie aqui: {link}"
        ),
        (SurveyType::Csat, "pl") => format!(
            "Jak oceniasz naszą obsługę? Odpowiedz liczbą od 1 (źle) do 5 (świetnie) albo oceń tutaj: {link}"
        ),
        (SurveyType::Csat, _) => format!(
            "How did we do? Reply with a number from 1 (poor) to 5 (great), or rate us here: {link}"
        ),
        (SurveyType::Nps, "pt") => format!(
            "De 0 a 10, qual a probabilidade de você nos recomendar a um amigo? Responda com o número, ou aqui: {link}"
        ),
        (SurveyType::Nps, "pl") => format!(
            "W skali od 0 do 10, jak bardzo prawdopodobne jest, że polecisz nas znajomemu? Odpowiedz liczbą albo tutaj: {link}"
        ),
        (SurveyType::Nps, _) => format!(
            "From 0 to 10, how likely are you to recommend us to a friend? Reply with the number, or answer here: {link}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csat(text: &str) -> Option<(i64, Option<String>)> {
        parse_reply(text, SurveyType::Csat).map(|a| (a.rating, a.comment))
    }

    #[test]
    fn plain_numbers_and_comments() {
        assert_eq!(csat("5"), Some((5, None)));
        assert_eq!(csat(" 4 "), Some((4, None)));
        assert_eq!(csat("5 - ótimo"), Some((5, Some("ótimo".into()))));
        assert_eq!(
            csat("5 – Ótimo atendimento!"),
            Some((5, Some("Ótimo atendimento!".into())))
        );
        assert_eq!(csat("nota 4"), Some((4, None)));
        assert_eq!(csat("Nota: 3, demorou"), Some((3, Some("demorou".into()))));
        assert_eq!(
            csat("ocena 2/5 za długo"),
            Some((2, Some("za długo".into())))
        );
        assert_eq!(csat("1."), Some((1, None)));
        assert_eq!(csat("⭐⭐⭐⭐ good"), Some((4, Some("good".into()))));
    }

    #[test]
    fn not_ratings() {
        for text in [
            "",
            "hello",
            "I ordered 5 items",
            "6",
            "0",
            "55",
            "500",
            "5.5",
            "4,5",
            "5th time",
            "5kg",
            "3/10",
            "notable 4",
            "⭐⭐⭐⭐⭐⭐",
        ] {
            assert_eq!(csat(text), None, "{text:?}");
        }
    }

    #[test]
    fn nps_scale() {
        let nps = |t| parse_reply(t, SurveyType::Nps).map(|a| a.rating);
        assert_eq!(nps("10"), Some(10));
        assert_eq!(nps("0 never"), Some(0));
        assert_eq!(nps("nota 9/10"), Some(9));
        assert_eq!(nps("11"), None);
        assert_eq!(nps("⭐⭐⭐"), None);
    }

    #[test]
    fn lateness() {
        assert!(!is_late(0, ANSWER_PERIOD_MS));
        assert!(is_late(0, ANSWER_PERIOD_MS + 1));
    }

    #[test]
    fn questions_carry_the_link_in_each_language() {
        for locale in ["en", "pt_BR", "pt-BR", "pl"] {
            for kind in [SurveyType::Csat, SurveyType::Nps] {
                assert!(question(kind, locale, "https://x/s/1").ends_with("https://x/s/1"));
            }
        }
        assert!(question(SurveyType::Csat, "pt_BR", "l").starts_with("Como"));
        assert!(question(SurveyType::Csat, "pl", "l").starts_with("Jak"));
    }
}
