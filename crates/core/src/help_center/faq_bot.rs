//! The built-in FAQ bot's rules: what it does with each customer message of a conversation it
//! holds. It answers from the help center when one article clearly fits, asks whether that
//! solved it, and hands the conversation to the team when the customer asks for a person,
//! when the best match is only a guess, or at the second miss. No I/O: the service gives it
//! the customer's words, its state and the search's best hit, and carries out the step.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::search;
use crate::validate::FieldError;

/// How sure the search must be (its [`search::confidence`]) for the bot to answer.
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.6;

/// An FAQ bot's `bot_config`: the portal it answers from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub portal_slug: String,
    /// 0–1; below it the bot hands over rather than guess.
    pub min_confidence: f64,
    /// Answer only outside the inbox's business hours: within them the team is there, and the
    /// bot hands every conversation over at once (`only_outside_business_hours`).
    pub only_outside_hours: bool,
}

impl Config {
    /// Reads an administrator's `bot_config`.
    pub fn from_json(raw: &Value) -> Result<Self, FieldError> {
        let slug = raw["portal_slug"]
            .as_str()
            .map(str::trim)
            .filter(|s| super::valid_slug(s))
            .ok_or_else(|| {
                FieldError::new(
                    "bot_config.portal_slug",
                    "invalid",
                    "an FAQ bot needs the slug of the portal it answers from",
                )
            })?;
        let min_confidence = match &raw["min_confidence"] {
            Value::Null => DEFAULT_MIN_CONFIDENCE,
            v => v
                .as_f64()
                .filter(|c| (0.0..=1.0).contains(c))
                .ok_or_else(|| {
                    FieldError::new(
                        "bot_config.min_confidence",
                        "invalid",
                        "min_confidence must be a number from 0 to 1",
                    )
                })?,
        };
        let only_outside_hours = match &raw["only_outside_business_hours"] {
            Value::Null => false,
            Value::Bool(b) => *b,
            _ => {
                return Err(FieldError::new(
                    "bot_config.only_outside_business_hours",
                    "invalid",
                    "only_outside_business_hours must be true or false",
                ));
            }
        };
        Ok(Self {
            portal_slug: slug.to_owned(),
            min_confidence,
            only_outside_hours,
        })
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({"portal_slug": self.portal_slug, "min_confidence": self.min_confidence,
            "only_outside_business_hours": self.only_outside_hours})
    }
}

/// What the bot remembers of a conversation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The article it answered with, while it waits to hear whether that solved it.
    pub awaiting: Option<i64>,
    /// Questions it could not answer, and answers the customer said did not help.
    pub misses: u32,
}

/// What a customer's message says to the bot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// "agent", "atendente", "konsultant"…: a person, now.
    WantsPerson,
    /// "yes", "sim", "tak"… (only meaningful after an answer).
    Yes,
    /// "no", "não", "nie"…
    No,
    /// Anything else: a question.
    Question,
}

/// Why the bot handed a conversation over (its activity line says it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Requested,
    SecondMiss,
    LowConfidence,
    /// The bot answers only outside business hours, and the inbox is open.
    BusinessHours,
    /// The customer left a voicemail: people listen to it.
    Voicemail,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::SecondMiss => "second_miss",
            Self::LowConfidence => "low_confidence",
            Self::BusinessHours => "business_hours",
            Self::Voicemail => "voicemail",
        }
    }
}

/// What the bot does with one message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// Answer with this article and ask whether it solved it.
    Answer {
        article_id: i64,
    },
    /// Nothing fits: ask the customer to put it another way (or to ask for a person).
    Rephrase,
    /// Glad it helped; the conversation is resolved.
    Resolve,
    HandOver(Reason),
}

/// Words that ask for a person, in English, Portuguese and Polish (folded, lower case).
const PERSON: &[&str] = &[
    "agent",
    "human",
    "person",
    "operator",
    "representative",
    "atendente",
    "atendimento humano",
    "humano",
    "pessoa",
    "falar com alguem",
    "konsultant",
    "konsultanta",
    "czlowiek",
    "czlowiekiem",
    "pracownik",
    "pracownikiem",
    "operatora",
];
const YES: &[&str] = &[
    "yes",
    "y",
    "yep",
    "yeah",
    "thanks",
    "thank you",
    "solved",
    "sim",
    "s",
    "resolveu",
    "resolvido",
    "obrigado",
    "obrigada",
    "valeu",
    "tak",
    "dziekuje",
    "dzieki",
    "pomoglo",
];
const NO: &[&str] = &[
    "no",
    "n",
    "nope",
    "not really",
    "nao",
    "nao resolveu",
    "nao ajudou",
    "nie",
    "nie pomoglo",
    "niestety nie",
];

/// The customer's words folded for matching: lower case, no diacritics, letters and spaces.
fn plain(text: &str) -> String {
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(search::fold_char)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What `text` says to the bot.
pub fn read(text: &str) -> Reading {
    let p = plain(text);
    let words: Vec<&str> = p.split(' ').collect();
    let has = |phrase: &str| {
        let wanted: Vec<&str> = phrase.split(' ').collect();
        words.windows(wanted.len()).any(|w| w == wanted.as_slice())
    };
    if PERSON.iter().any(|w| has(w)) {
        return Reading::WantsPerson;
    }
    // A short answer only: "sim, obrigado" is a yes; a long message is a new question.
    if words.len() <= 4 {
        if NO.contains(&p.as_str()) || NO.iter().any(|w| words.first() == Some(w)) {
            return Reading::No;
        }
        if YES.contains(&p.as_str()) || YES.iter().any(|w| words.first() == Some(w)) {
            return Reading::Yes;
        }
    }
    Reading::Question
}

/// The next step and the state after it. `best` is the search's best article for a question
/// and how sure the search is of it.
pub fn decide(
    state: State,
    reading: Reading,
    best: Option<(i64, f64)>,
    config: &Config,
) -> (Step, State) {
    let miss = |state: State| {
        let misses = state.misses + 1;
        let next = State {
            awaiting: None,
            misses,
        };
        if misses >= 2 {
            (Step::HandOver(Reason::SecondMiss), next)
        } else {
            (Step::Rephrase, next)
        }
    };
    match (reading, state.awaiting) {
        (Reading::WantsPerson, _) => (
            Step::HandOver(Reason::Requested),
            State {
                awaiting: None,
                ..state
            },
        ),
        (Reading::Yes, Some(_)) => (Step::Resolve, State::default()),
        (Reading::No, Some(_)) => miss(state),
        _ => match best {
            Some((article_id, confidence)) if confidence >= config.min_confidence => (
                Step::Answer { article_id },
                State {
                    awaiting: Some(article_id),
                    ..state
                },
            ),
            // Something matched, but not clearly: a person answers rather than a guess.
            Some(_) => (
                Step::HandOver(Reason::LowConfidence),
                State {
                    awaiting: None,
                    ..state
                },
            ),
            None => miss(state),
        },
    }
}

/// The portal locale the bot answers in: the customer's language when the portal has it and
/// the text says it; else `earlier` (the language of the bot's last answer: "konsultanta" alone
/// is too short to tell); else the portal's default.
pub fn locale_for(text: &str, allowed: &[String], earlier: Option<&str>, default: &str) -> String {
    let has = |l: &&str| allowed.iter().any(|a| a == l);
    crate::routing::detect_language_with(text, 0.2)
        .and_then(super::normalise_locale)
        .filter(has)
        .or(earlier.filter(has))
        .unwrap_or(default)
        .to_owned()
}

/// What the bot says, in one language.
pub struct Words {
    /// Before the article's summary: "This article may help:".
    pub answer: &'static str,
    pub ask: &'static str,
    pub rephrase: &'static str,
    pub hand_over: &'static str,
    pub thanks: &'static str,
}

const EN: Words = Words {
    answer: "This article may help:",
    ask: "Did this solve it? Reply yes or no (or type \"agent\" to talk to a person).",
    rephrase: "Sorry, I could not find an answer to that. Could you say it in other words? You can also type \"agent\" to talk to a person.",
    hand_over: "I am passing you to a person from our team. They will answer here shortly.",
    thanks: "Glad it helped! Write again any time.",
};
const PT_BR: Words = Words {
    answer: "Este artigo pode ajudar:",
    ask: "Isso resolveu? Responda sim ou não (ou escreva \"atendente\" para falar com uma pessoa).",
    rephrase: "Desculpe, não encontrei uma resposta para isso. Pode dizer com outras palavras? Você também pode escrever \"atendente\" para falar com uma pessoa.",
    hand_over: "Vou passar você para uma pessoa da nossa equipe. Ela responderá aqui em breve.",
    thanks: "Que bom que ajudou! Escreva quando precisar.",
};
const PL: Words = Words {
    answer: "Ten artykuł może pomóc:",
    ask: "Czy to rozwiązało problem? Odpowiedz tak lub nie (albo napisz \"konsultant\", aby porozmawiać z człowiekiem).",
    rephrase: "Niestety nie znalazłem odpowiedzi. Czy możesz opisać to innymi słowami? Możesz też napisać \"konsultant\", aby porozmawiać z człowiekiem.",
    hand_over: "Przekazuję rozmowę osobie z naszego zespołu. Odpowie tutaj wkrótce.",
    thanks: "Cieszę się, że pomogło! Napisz, gdy będziesz potrzebować pomocy.",
};

pub fn words(locale: &str) -> &'static Words {
    match super::normalise_locale(locale) {
        Some("pt_BR") => &PT_BR,
        Some("pl") => &PL,
        _ => &EN,
    }
}

/// The answer message: the article's title and summary, its link, and the question.
pub fn answer_text(locale: &str, title: &str, summary: &str, url: &str) -> String {
    let w = words(locale);
    let summary = summary.trim();
    if summary.is_empty() {
        format!("{}\n\n{title}\n{url}\n\n{}", w.answer, w.ask)
    } else {
        format!("{}\n\n{title}\n{summary}\n{url}\n\n{}", w.answer, w.ask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_json(&serde_json::json!({"portal_slug": "loja"})).unwrap()
    }

    #[test]
    fn what_customers_write_is_read_in_three_languages() {
        for t in [
            "Quero falar com um atendente",
            "AGENT please",
            "Poproszę konsultanta",
            "chcę rozmawiać z człowiekiem",
        ] {
            assert_eq!(read(t), Reading::WantsPerson, "{t}");
        }
        for t in ["sim", "Sim, obrigado!", "yes", "Tak, dziękuję"] {
            assert_eq!(read(t), Reading::Yes, "{t}");
        }
        for t in ["não", "Nao resolveu", "nie", "No."] {
            assert_eq!(read(t), Reading::No, "{t}");
        }
        for t in [
            "Como rastrear meu pedido?",
            "nie mogę zapłacić blikiem za zamówienie",
            "não consigo pagar com pix hoje de manhã",
        ] {
            assert_eq!(read(t), Reading::Question, "{t}");
        }
    }

    #[test]
    fn confident_answer_then_yes_resolves() {
        let c = config();
        let (step, state) = decide(State::default(), Reading::Question, Some((7, 0.9)), &c);
        assert_eq!(step, Step::Answer { article_id: 7 });
        assert_eq!(state.awaiting, Some(7));
        let (step, state) = decide(state, Reading::Yes, None, &c);
        assert_eq!(step, Step::Resolve);
        assert_eq!(state, State::default());
    }

    #[test]
    fn two_misses_hand_over() {
        let c = config();
        let (step, state) = decide(State::default(), Reading::Question, Some((7, 0.9)), &c);
        assert_eq!(step, Step::Answer { article_id: 7 });
        let (step, state) = decide(state, Reading::No, None, &c);
        assert_eq!(step, Step::Rephrase);
        assert_eq!(state.misses, 1);
        let (step, _) = decide(state, Reading::Question, None, &c);
        assert_eq!(step, Step::HandOver(Reason::SecondMiss));
    }

    #[test]
    fn a_guess_or_a_request_hands_over_at_once() {
        let c = config();
        let (step, _) = decide(State::default(), Reading::Question, Some((7, 0.2)), &c);
        assert_eq!(step, Step::HandOver(Reason::LowConfidence));
        let (step, _) = decide(State::default(), Reading::WantsPerson, Some((7, 0.9)), &c);
        assert_eq!(step, Step::HandOver(Reason::Requested));
        // "yes" with nothing asked is a question like any other.
        let (step, _) = decide(State::default(), Reading::Yes, None, &c);
        assert_eq!(step, Step::Rephrase);
    }

    #[test]
    fn config_is_checked() {
        assert!(Config::from_json(&serde_json::json!({})).is_err());
        assert!(
            Config::from_json(&serde_json::json!({"portal_slug": "a", "min_confidence": 2}))
                .is_err()
        );
        let c = Config::from_json(&serde_json::json!({"portal_slug": "a", "min_confidence": 0.7}))
            .unwrap();
        assert_eq!(Config::from_json(&c.to_json()).unwrap(), c);
    }

    #[test]
    fn the_bot_speaks_the_customers_language_when_the_portal_does() {
        let allowed = vec!["pt_BR".to_owned(), "pl".to_owned()];
        assert_eq!(
            locale_for(
                "Gdzie jest moja paczka? Zamówiłem ją tydzień temu",
                &allowed,
                None,
                "pt_BR"
            ),
            "pl"
        );
        assert_eq!(
            locale_for(
                "Where is my parcel? I ordered it a week ago",
                &allowed,
                None,
                "pt_BR"
            ),
            "pt_BR"
        );
        assert_eq!(locale_for("tak", &allowed, Some("pl"), "pt_BR"), "pl");
        assert_eq!(locale_for("tak", &allowed, Some("de"), "pt_BR"), "pt_BR");
        assert!(
            answer_text(
                "pl",
                "Zwrot",
                "W ciągu 14 dni",
                "https://x/hc/a/articles/zwrot"
            )
            .contains("Czy to rozwiązało")
        );
    }
}
