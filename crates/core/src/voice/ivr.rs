//! A phone inbox's IVR as an administrator writes it (`settings.voice` of the inbox), and what
//! the caller hears at each step, as TwiML verbs. No I/O: the HTTP layer supplies where Twilio
//! is to post next and whether the inbox is open.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::twiml::Verb;
use crate::validate::{FieldError, optional_text};

/// The languages the IVR speaks, as the product's locales and as Twilio's voices name them.
pub const LANGUAGES: [(&str, &str); 3] = [("en", "en-US"), ("pt-BR", "pt-BR"), ("pl", "pl-PL")];
pub const DEFAULT_VOICEMAIL_SECONDS: u32 = 120;
pub const MAX_VOICEMAIL_SECONDS: u32 = 600;
const MAX_TEXT: usize = 1_000;
/// Keys a caller may press in the menu.
const MENU_KEYS: &str = "123456789";
/// Tries at the menu before the caller is taken to voicemail.
pub const MENU_ATTEMPTS: u8 = 2;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuOption {
    /// The key: 1–9.
    pub digit: String,
    /// The team the call (and the caller's conversation) goes to.
    pub team_id: i64,
    /// What the option is called, per language ("sales", "vendas", "sprzedaż").
    #[serde(default)]
    pub label: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceSettings {
    /// The language the IVR speaks (`en`, `pt-BR`, `pl`).
    pub language: String,
    /// The greeting per language; the product's own words when absent.
    #[serde(default)]
    pub greeting: BTreeMap<String, String>,
    /// Keys to teams; none: straight to voicemail.
    #[serde(default)]
    pub menu: Vec<MenuOption>,
    #[serde(default = "default_voicemail")]
    pub voicemail_max_seconds: u32,
}

fn default_voicemail() -> u32 {
    DEFAULT_VOICEMAIL_SECONDS
}

impl Default for VoiceSettings {
    fn default() -> Self {
        Self {
            language: "en".into(),
            greeting: BTreeMap::new(),
            menu: Vec::new(),
            voicemail_max_seconds: DEFAULT_VOICEMAIL_SECONDS,
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, "invalid", message)
}

fn language(field: &str, raw: &str) -> Result<String, FieldError> {
    LANGUAGES
        .iter()
        .find(|(l, twilio)| l.eq_ignore_ascii_case(raw) || twilio.eq_ignore_ascii_case(raw))
        .map(|(l, _)| (*l).to_owned())
        .or_else(|| (raw.eq_ignore_ascii_case("pt_BR")).then(|| "pt-BR".to_owned()))
        .ok_or_else(|| invalid(field, format!("{field} must be en, pt-BR or pl")))
}

fn texts(field: &str, raw: &Value) -> Result<BTreeMap<String, String>, FieldError> {
    let mut out = BTreeMap::new();
    match raw {
        Value::Null => {}
        Value::Object(map) => {
            for (k, v) in map {
                let lang = language(&format!("{field}.{k}"), k)?;
                let text = v
                    .as_str()
                    .ok_or_else(|| invalid(&format!("{field}.{k}"), "must be a text"))?;
                if let Some(t) = optional_text(&format!("{field}.{k}"), text, MAX_TEXT)? {
                    out.insert(lang, t);
                }
            }
        }
        _ => return Err(invalid(field, format!("{field} maps a language to a text"))),
    }
    Ok(out)
}

impl VoiceSettings {
    /// An administrator's `voice` settings, checked (teams are checked against the account by
    /// the caller: `team_ids`).
    pub fn from_json(raw: &Value) -> Result<Self, FieldError> {
        if !raw.is_object() {
            return Err(invalid("voice", "voice settings are an object"));
        }
        let language = match raw["language"].as_str() {
            Some(l) => language("voice.language", l)?,
            None if raw["language"].is_null() => "en".into(),
            None => return Err(invalid("voice.language", "voice.language must be a text")),
        };
        let greeting = texts("voice.greeting", &raw["greeting"])?;
        let mut menu = Vec::new();
        match &raw["menu"] {
            Value::Null => {}
            Value::Array(list) if list.len() <= MENU_KEYS.len() => {
                for (i, o) in list.iter().enumerate() {
                    let field = format!("voice.menu[{i}]");
                    let digit = match &o["digit"] {
                        Value::String(s) => s.trim().to_owned(),
                        Value::Number(n) => n.to_string(),
                        _ => String::new(),
                    };
                    if digit.len() != 1 || !MENU_KEYS.contains(digit.as_str()) {
                        return Err(invalid(&format!("{field}.digit"), "a menu key is 1 to 9"));
                    }
                    if menu.iter().any(|m: &MenuOption| m.digit == digit) {
                        return Err(invalid(
                            &format!("{field}.digit"),
                            format!("key {digit} is used twice"),
                        ));
                    }
                    let team_id = o["team_id"].as_i64().filter(|t| *t > 0).ok_or_else(|| {
                        invalid(&format!("{field}.team_id"), "each option names a team")
                    })?;
                    let label = texts(&format!("{field}.label"), &o["label"])?;
                    menu.push(MenuOption {
                        digit,
                        team_id,
                        label,
                    });
                }
            }
            _ => {
                return Err(invalid(
                    "voice.menu",
                    "voice.menu is a list of at most 9 options",
                ));
            }
        }
        let voicemail_max_seconds = match &raw["voicemail_max_seconds"] {
            Value::Null => DEFAULT_VOICEMAIL_SECONDS,
            v => v
                .as_u64()
                .filter(|s| (10..=u64::from(MAX_VOICEMAIL_SECONDS)).contains(s))
                .map(|s| s as u32)
                .ok_or_else(|| {
                    invalid(
                        "voice.voicemail_max_seconds",
                        format!("voicemail_max_seconds is from 10 to {MAX_VOICEMAIL_SECONDS}"),
                    )
                })?,
        };
        Ok(Self {
            language,
            greeting,
            menu,
            voicemail_max_seconds,
        })
    }

    /// The teams the menu names (the caller checks they are the account's).
    pub fn team_ids(&self) -> Vec<i64> {
        self.menu.iter().map(|m| m.team_id).collect()
    }

    fn twilio_language(&self) -> &'static str {
        LANGUAGES
            .iter()
            .find(|(l, _)| *l == self.language)
            .map_or("en-US", |(_, t)| t)
    }

    fn say(&self, text: impl Into<String>) -> Verb {
        Verb::Say {
            text: text.into(),
            language: self.twilio_language().into(),
        }
    }

    /// The option a caller's keys choose.
    pub fn choice(&self, digits: &str) -> Option<&MenuOption> {
        let d = digits.trim();
        self.menu.iter().find(|m| m.digit == d)
    }
}

/// Where Twilio posts next (absolute URLs, naming the call).
#[derive(Clone, Debug)]
pub struct Urls {
    /// The menu's keys (`<Gather action>`), with the attempt in it.
    pub menu: String,
    /// After a recording (`<Record action>`).
    pub recorded: String,
    /// The recording's file is ready (`recordingStatusCallback`).
    pub recording: String,
}

/// The words the IVR says, per language.
pub struct Words {
    pub greeting: &'static str,
    pub option: &'static str,
    pub closed: &'static str,
    pub voicemail: &'static str,
    pub not_an_option: &'static str,
    pub goodbye: &'static str,
}

pub fn words(language: &str) -> &'static Words {
    match language {
        "pt-BR" => &PT_BR,
        "pl" => &PL,
        _ => &EN,
    }
}

const EN: Words = Words {
    greeting: "Thank you for calling {name}.",
    option: "For {label}, press {digit}.",
    closed: "We are closed right now.",
    voicemail: "Please leave a message after the tone, and we will call you back.",
    not_an_option: "Sorry, that is not an option.",
    goodbye: "Thank you. Goodbye.",
};
const PT_BR: Words = Words {
    greeting: "Obrigado por ligar para {name}.",
    option: "Para {label}, tecle {digit}.",
    closed: "No momento estamos fechados.",
    voicemail: "Deixe sua mensagem após o sinal e retornaremos a ligação.",
    not_an_option: "Desculpe, essa opção não existe.",
    goodbye: "Obrigado. Até logo.",
};
const PL: Words = Words {
    greeting: "Dziękujemy za telefon do {name}.",
    option: "W sprawie: {label}, naciśnij {digit}.",
    closed: "Obecnie jesteśmy nieczynni.",
    voicemail: "Zostaw wiadomość po sygnale, a oddzwonimy.",
    not_an_option: "Niestety, nie ma takiej opcji.",
    goodbye: "Dziękujemy. Do widzenia.",
};

/// What a caller hears first: the greeting, then — open with a menu — the menu waiting for a
/// key; closed, or without a menu, voicemail.
pub fn answer(s: &VoiceSettings, inbox_name: &str, open_now: bool, urls: &Urls) -> Vec<Verb> {
    let w = words(&s.language);
    let greeting = s
        .greeting
        .get(&s.language)
        .cloned()
        .unwrap_or_else(|| w.greeting.replace("{name}", inbox_name));
    let mut verbs = vec![s.say(greeting)];
    if !open_now {
        verbs.push(s.say(w.closed));
        verbs.extend(voicemail(s, urls));
    } else if s.menu.is_empty() {
        verbs.extend(voicemail(s, urls));
    } else {
        verbs.extend(menu(s, urls));
    }
    verbs
}

/// The menu, waiting for one key; silence falls through to voicemail.
pub fn menu(s: &VoiceSettings, urls: &Urls) -> Vec<Verb> {
    let w = words(&s.language);
    let prompt = s
        .menu
        .iter()
        .map(|o| {
            let label = o.label.get(&s.language).map_or("", String::as_str);
            s.say(
                w.option
                    .replace("{label}", label)
                    .replace("{digit}", &o.digit),
            )
        })
        .collect();
    let mut verbs = vec![Verb::Gather {
        action: urls.menu.clone(),
        num_digits: 1,
        timeout_seconds: 6,
        language: s.twilio_language().into(),
        speech: false,
        prompt,
    }];
    verbs.extend(voicemail(s, urls));
    verbs
}

/// A key that is no option: said so, and the menu again — or voicemail after the last try.
pub fn not_an_option(s: &VoiceSettings, attempt: u8, urls: &Urls) -> Vec<Verb> {
    let mut verbs = vec![s.say(words(&s.language).not_an_option)];
    if attempt < MENU_ATTEMPTS {
        verbs.extend(menu(s, urls));
    } else {
        verbs.extend(voicemail(s, urls));
    }
    verbs
}

/// The voicemail prompt and the recording.
pub fn voicemail(s: &VoiceSettings, urls: &Urls) -> Vec<Verb> {
    vec![
        s.say(words(&s.language).voicemail),
        Verb::Record {
            action: urls.recorded.clone(),
            recording_callback: urls.recording.clone(),
            max_length_seconds: s.voicemail_max_seconds,
        },
    ]
}

/// After the recording: thanks, and the call ends.
pub fn goodbye(s: &VoiceSettings) -> Vec<Verb> {
    vec![s.say(words(&s.language).goodbye), Verb::Hangup]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn urls() -> Urls {
        Urls {
            menu: "m".into(),
            recorded: "r".into(),
            recording: "c".into(),
        }
    }

    fn settings() -> VoiceSettings {
        VoiceSettings::from_json(&json!({"language": "pt_BR", "menu": [
            {"digit": 1, "team_id": 7, "label": {"pt-BR": "vendas"}},
            {"digit": "2", "team_id": 8, "label": {"pt-BR": "suporte"}}]}))
        .unwrap()
    }

    #[test]
    fn settings_are_checked_with_their_field() {
        for (raw, field) in [
            (json!({"language": "de"}), "voice.language"),
            (
                json!({"menu": [{"digit": 0, "team_id": 1}]}),
                "voice.menu[0].digit",
            ),
            (
                json!({"menu": [{"digit": 1, "team_id": 1}, {"digit": "1", "team_id": 2}]}),
                "voice.menu[1].digit",
            ),
            (json!({"menu": [{"digit": 1}]}), "voice.menu[0].team_id"),
            (json!({"greeting": {"xx": "hi"}}), "voice.greeting.xx"),
            (
                json!({"voicemail_max_seconds": 5}),
                "voice.voicemail_max_seconds",
            ),
            (json!("on"), "voice"),
        ] {
            assert_eq!(
                VoiceSettings::from_json(&raw).unwrap_err().field,
                field,
                "{raw}"
            );
        }
        assert_eq!(settings().team_ids(), vec![7, 8]);
        assert_eq!(settings().choice(" 2").map(|o| o.team_id), Some(8));
        assert_eq!(settings().choice("9"), None);
    }

    #[test]
    fn an_open_inbox_greets_and_offers_its_menu_in_its_language() {
        let verbs = answer(&settings(), "Loja", true, &urls());
        assert_eq!(
            verbs[0],
            Verb::Say {
                text: "Obrigado por ligar para Loja.".into(),
                language: "pt-BR".into()
            }
        );
        let Verb::Gather {
            action,
            prompt,
            language,
            ..
        } = &verbs[1]
        else {
            panic!("{verbs:?}")
        };
        assert_eq!((action.as_str(), language.as_str()), ("m", "pt-BR"));
        assert_eq!(
            prompt[1],
            Verb::Say {
                text: "Para suporte, tecle 2.".into(),
                language: "pt-BR".into()
            }
        );
        assert!(
            matches!(verbs.last(), Some(Verb::Record { .. })),
            "silence falls through to voicemail"
        );
    }

    #[test]
    fn a_closed_inbox_takes_a_message() {
        let verbs = answer(&settings(), "Loja", false, &urls());
        assert!(verbs.iter().all(|v| !matches!(v, Verb::Gather { .. })));
        assert_eq!(
            verbs[1],
            Verb::Say {
                text: "No momento estamos fechados.".into(),
                language: "pt-BR".into()
            }
        );
        assert_eq!(
            verbs[3],
            Verb::Record {
                action: "r".into(),
                recording_callback: "c".into(),
                max_length_seconds: 120
            }
        );
    }

    #[test]
    fn a_wrong_key_gets_one_more_try() {
        assert!(
            not_an_option(&settings(), 1, &urls())
                .iter()
                .any(|v| matches!(v, Verb::Gather { .. }))
        );
        assert!(
            !not_an_option(&settings(), 2, &urls())
                .iter()
                .any(|v| matches!(v, Verb::Gather { .. }))
        );
        assert_eq!(goodbye(&settings()).last(), Some(&Verb::Hangup));
    }
}
