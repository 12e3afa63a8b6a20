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
/// How long a caller waits for an agent before voicemail (0: no queue, voicemail at once).
pub const DEFAULT_QUEUE_WAIT_SECONDS: u32 = 180;
pub const MAX_QUEUE_WAIT_SECONDS: u32 = 1_800;
/// How long an agent's phone rings before the call is offered to the next agent.
pub const DEFAULT_AGENT_RING_SECONDS: u32 = 20;
const AGENT_RING_SECONDS: std::ops::RangeInclusive<u64> = 10..=60;
/// Silence between two looks at the queue when there is no hold music: an agent who frees up
/// is rung within this many seconds.
pub const HOLD_PAUSE_SECONDS: u8 = 8;
/// The position is told about once a minute, not at every look.
const ANNOUNCE_EVERY_SECONDS: u32 = 60;
const MAX_URL: usize = 2_000;
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
    /// How long a caller waits in the queue for an agent before voicemail; 0: no queue.
    #[serde(default = "default_queue_wait")]
    pub queue_max_wait_seconds: u32,
    /// How long each agent's phone rings before the next agent's.
    #[serde(default = "default_agent_ring")]
    pub agent_ring_seconds: u32,
    /// What callers hear while they wait (an audio file Twilio can fetch); silence between
    /// position announcements when absent. Played whole before each look at the queue, so a
    /// short loop keeps the wait for a freed agent short.
    #[serde(default)]
    pub hold_music_url: Option<String>,
    /// Callers about to queue may press 2 to be called back instead, keeping their place.
    #[serde(default = "yes")]
    pub offer_callback: bool,
    /// Answered calls are recorded (from the answer, both sides), and callers are told so
    /// right after the greeting.
    #[serde(default)]
    pub record_calls: bool,
}

fn yes() -> bool {
    true
}

fn default_voicemail() -> u32 {
    DEFAULT_VOICEMAIL_SECONDS
}

fn default_queue_wait() -> u32 {
    DEFAULT_QUEUE_WAIT_SECONDS
}

fn default_agent_ring() -> u32 {
    DEFAULT_AGENT_RING_SECONDS
}

impl Default for VoiceSettings {
    fn default() -> Self {
        Self {
            language: "en".into(),
            greeting: BTreeMap::new(),
            menu: Vec::new(),
            voicemail_max_seconds: DEFAULT_VOICEMAIL_SECONDS,
            queue_max_wait_seconds: DEFAULT_QUEUE_WAIT_SECONDS,
            agent_ring_seconds: DEFAULT_AGENT_RING_SECONDS,
            hold_music_url: None,
            offer_callback: true,
            record_calls: false,
        }
    }
}

/// A whole number of seconds within `range` (absent: `default`).
fn seconds(
    raw: &Value,
    field: &str,
    range: std::ops::RangeInclusive<u64>,
    default: u32,
) -> Result<u32, FieldError> {
    match raw {
        Value::Null => Ok(default),
        v => v
            .as_u64()
            .filter(|s| range.contains(s))
            .and_then(|s| u32::try_from(s).ok())
            .ok_or_else(|| {
                let name = field.trim_start_matches("voice.");
                invalid(
                    field,
                    format!("{name} is from {} to {}", range.start(), range.end()),
                )
            }),
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
        let voicemail_max_seconds = seconds(
            &raw["voicemail_max_seconds"],
            "voice.voicemail_max_seconds",
            10..=u64::from(MAX_VOICEMAIL_SECONDS),
            DEFAULT_VOICEMAIL_SECONDS,
        )?;
        let queue_max_wait_seconds = seconds(
            &raw["queue_max_wait_seconds"],
            "voice.queue_max_wait_seconds",
            0..=u64::from(MAX_QUEUE_WAIT_SECONDS),
            DEFAULT_QUEUE_WAIT_SECONDS,
        )?;
        let agent_ring_seconds = seconds(
            &raw["agent_ring_seconds"],
            "voice.agent_ring_seconds",
            AGENT_RING_SECONDS,
            DEFAULT_AGENT_RING_SECONDS,
        )?;
        let hold_music_url = match &raw["hold_music_url"] {
            Value::Null => None,
            Value::String(u) if u.trim().is_empty() => None,
            Value::String(u)
                if u.len() <= MAX_URL
                    && (u.starts_with("https://") || u.starts_with("http://"))
                    && !u.chars().any(char::is_whitespace) =>
            {
                Some(u.clone())
            }
            _ => {
                return Err(invalid(
                    "voice.hold_music_url",
                    "hold_music_url is an http or https address of an audio file",
                ));
            }
        };
        let offer_callback = match &raw["offer_callback"] {
            Value::Null => true,
            Value::Bool(b) => *b,
            _ => {
                return Err(invalid(
                    "voice.offer_callback",
                    "offer_callback is true or false",
                ));
            }
        };
        let record_calls = match &raw["record_calls"] {
            Value::Null => false,
            Value::Bool(b) => *b,
            _ => {
                return Err(invalid(
                    "voice.record_calls",
                    "record_calls is true or false",
                ));
            }
        };
        Ok(Self {
            language,
            greeting,
            menu,
            voicemail_max_seconds,
            queue_max_wait_seconds,
            agent_ring_seconds,
            hold_music_url,
            offer_callback,
            record_calls,
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

    /// Whether callers may say an option's name: every option has one in the IVR's language.
    pub fn listens(&self) -> bool {
        !self.menu.is_empty()
            && self.menu.iter().all(|o| {
                o.label
                    .get(&self.language)
                    .is_some_and(|l| !fold(l).is_empty())
            })
    }

    /// The option whose name the caller said ("quero falar com vendas", "wsparcie techniczne
    /// proszę"), accents and case aside: the one whose whole name was said, else the only one
    /// with a word of its name said (words of four letters and more), else the key said as a
    /// number. `None` when nothing, or more than one, fits.
    pub fn choice_by_speech(&self, said: &str) -> Option<&MenuOption> {
        if !self.listens() {
            return None;
        }
        let said = fold(said);
        let words: Vec<&str> = said.split(' ').collect();
        let label = |o: &MenuOption| fold(o.label.get(&self.language).map_or("", String::as_str));
        let whole: Vec<&MenuOption> = self
            .menu
            .iter()
            .filter(|o| format!(" {said} ").contains(&format!(" {} ", label(o))))
            .collect();
        if let [only] = whole.as_slice() {
            return Some(only);
        }
        if whole.len() > 1 {
            return None;
        }
        let partly: Vec<&MenuOption> = self
            .menu
            .iter()
            .filter(|o| {
                label(o)
                    .split(' ')
                    .any(|w| w.chars().count() >= 4 && words.contains(&w))
            })
            .collect();
        match partly.as_slice() {
            [only] => Some(only),
            [] => self.menu.iter().find(|o| words.contains(&o.digit.as_str())),
            _ => None,
        }
    }
}

/// Lower case, without diacritics (as search folds them), punctuation as spaces, one space
/// between words.
fn fold(text: &str) -> String {
    let plain: String = text
        .to_lowercase()
        .chars()
        .map(crate::help_center::search::fold_char)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
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
    /// What a queued caller hears next (`<Enqueue waitUrl>`).
    pub wait: String,
    /// The caller left the queue (`<Enqueue action>`).
    pub left_queue: String,
    /// The key pressed at the callback offer.
    pub callback: String,
}

/// The words the IVR says, per language.
pub struct Words {
    pub greeting: &'static str,
    pub option: &'static str,
    pub closed: &'static str,
    pub voicemail: &'static str,
    pub not_an_option: &'static str,
    pub goodbye: &'static str,
    pub position: &'static str,
    pub hold: &'static str,
    pub nobody: &'static str,
    pub busy: &'static str,
    pub whisper: &'static str,
    pub whisper_team: &'static str,
    pub press_to_take: &'static str,
    pub connecting: &'static str,
    pub gone: &'static str,
    pub offer_callback: &'static str,
    pub callback_taken: &'static str,
    pub calling: &'static str,
    pub not_reached: &'static str,
    pub recorded: &'static str,
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
    position: "You are number {n} in line.",
    hold: "Please stay on the line; someone will be with you shortly.",
    nobody: "No one can take your call right now.",
    busy: "Sorry, everyone is still busy.",
    whisper: "A call from {from}.",
    whisper_team: "For {team}.",
    press_to_take: "Press 1 to take it.",
    connecting: "Connecting.",
    gone: "This call has ended or was taken by someone else.",
    offer_callback: "To be called back instead, keeping your place in line, press 2.",
    callback_taken: "Thank you. We will call you back at this number. Goodbye.",
    calling: "Calling {to}.",
    not_reached: "The customer did not answer.",
    recorded: "This call may be recorded.",
};
const PT_BR: Words = Words {
    greeting: "Obrigado por ligar para {name}.",
    option: "Para {label}, tecle {digit}.",
    closed: "No momento estamos fechados.",
    voicemail: "Deixe sua mensagem após o sinal e retornaremos a ligação.",
    not_an_option: "Desculpe, essa opção não existe.",
    goodbye: "Obrigado. Até logo.",
    position: "Você é o número {n} na fila.",
    hold: "Por favor, aguarde na linha; logo alguém vai atender.",
    nobody: "No momento ninguém pode atender sua ligação.",
    busy: "Desculpe, todos continuam ocupados.",
    whisper: "Ligação de {from}.",
    whisper_team: "Para {team}.",
    press_to_take: "Tecle 1 para atender.",
    connecting: "Conectando.",
    gone: "Esta ligação terminou ou foi atendida por outra pessoa.",
    offer_callback: "Para receber nossa ligação sem perder seu lugar na fila, tecle 2.",
    callback_taken: "Obrigado. Retornaremos a ligação para este número. Até logo.",
    calling: "Ligando para {to}.",
    not_reached: "O cliente não atendeu.",
    recorded: "Esta ligação pode ser gravada.",
};
const PL: Words = Words {
    greeting: "Dziękujemy za telefon do {name}.",
    option: "W sprawie: {label}, naciśnij {digit}.",
    closed: "Obecnie jesteśmy nieczynni.",
    voicemail: "Zostaw wiadomość po sygnale, a oddzwonimy.",
    not_an_option: "Niestety, nie ma takiej opcji.",
    goodbye: "Dziękujemy. Do widzenia.",
    position: "Jesteś {n}. w kolejce.",
    hold: "Prosimy pozostać na linii; zaraz ktoś się zgłosi.",
    nobody: "Obecnie nikt nie może odebrać połączenia.",
    busy: "Niestety, wszyscy są nadal zajęci.",
    whisper: "Połączenie od {from}.",
    whisper_team: "Sprawa: {team}.",
    press_to_take: "Naciśnij 1, aby odebrać.",
    connecting: "Łączę.",
    gone: "To połączenie zakończyło się lub odebrał je ktoś inny.",
    offer_callback: "Aby zamiast czekać otrzymać telefon od nas, z zachowaniem miejsca w kolejce, naciśnij 2.",
    callback_taken: "Dziękujemy. Oddzwonimy na ten numer. Do widzenia.",
    calling: "Dzwonię pod numer {to}.",
    not_reached: "Klient nie odebrał.",
    recorded: "Ta rozmowa może być nagrywana.",
};

/// Where a caller goes once the IVR has done its part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Onward<'a> {
    /// Into this queue: someone who can take calls is at work.
    Queue(&'a str),
    /// Nobody can take calls now (or the inbox has no queue): voicemail.
    Voicemail,
}

/// What a caller hears first: the greeting, then — open with a menu — the menu waiting for a
/// key; open without a menu, `onward`; closed, voicemail.
pub fn answer(
    s: &VoiceSettings,
    inbox_name: &str,
    open_now: bool,
    onward: Onward<'_>,
    urls: &Urls,
) -> Vec<Verb> {
    let w = words(&s.language);
    let greeting = s
        .greeting
        .get(&s.language)
        .cloned()
        .unwrap_or_else(|| w.greeting.replace("{name}", inbox_name));
    let mut verbs = vec![s.say(greeting)];
    // Told before anyone can answer (consent under LGPD and GDPR); a closed line takes a
    // message only, which is the caller's own recording.
    if s.record_calls && open_now {
        verbs.push(s.say(w.recorded));
    }
    if !open_now {
        verbs.push(s.say(w.closed));
        verbs.extend(voicemail(s, urls));
    } else if s.menu.is_empty() {
        verbs.extend(to_people(s, onward, urls));
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
        // Callers may say the team's name too, when every option has one.
        speech: s.listens(),
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

/// The caller is through the menu (or there is none): into the queue, or — nobody can take
/// calls now, or the inbox has no queue — said so, and voicemail.
pub fn to_people(s: &VoiceSettings, onward: Onward<'_>, urls: &Urls) -> Vec<Verb> {
    match onward {
        Onward::Queue(name) if s.queue_max_wait_seconds > 0 => {
            let mut verbs = Vec::new();
            if s.offer_callback {
                // Silence falls through to the queue.
                verbs.push(Verb::Gather {
                    action: urls.callback.clone(),
                    num_digits: 1,
                    timeout_seconds: 3,
                    language: s.twilio_language().into(),
                    speech: false,
                    prompt: vec![s.say(words(&s.language).offer_callback)],
                });
            }
            verbs.extend(enqueue(name, urls));
            verbs
        }
        Onward::Queue(_) => voicemail(s, urls),
        Onward::Voicemail => {
            let mut verbs = vec![s.say(words(&s.language).nobody)];
            verbs.extend(voicemail(s, urls));
            verbs
        }
    }
}

/// Into the queue `name`.
pub fn enqueue(name: &str, urls: &Urls) -> Vec<Verb> {
    vec![Verb::Enqueue {
        name: name.to_owned(),
        action: urls.left_queue.clone(),
        wait_url: urls.wait.clone(),
    }]
}

/// The caller will be called back: thanks, and the call ends.
pub fn callback_taken(s: &VoiceSettings) -> Vec<Verb> {
    vec![s.say(words(&s.language).callback_taken), Verb::Hangup]
}

/// What a queued caller hears until Twilio looks again: their place now and then, the hold
/// music or a short silence. `position` is Twilio's `QueuePosition`, `waited` its `QueueTime`.
pub fn hold(s: &VoiceSettings, position: Option<u32>, waited: u32) -> Vec<Verb> {
    let w = words(&s.language);
    let step = u32::from(HOLD_PAUSE_SECONDS);
    let mut verbs = Vec::new();
    let announce = waited < step || waited % ANNOUNCE_EVERY_SECONDS < step;
    if announce && let Some(n) = position.filter(|n| *n > 0) {
        verbs.push(s.say(w.position.replace("{n}", &n.to_string())));
        verbs.push(s.say(w.hold));
    }
    match &s.hold_music_url {
        Some(url) => verbs.push(Verb::Play { url: url.clone() }),
        None => verbs.push(Verb::Pause {
            seconds: HOLD_PAUSE_SECONDS,
        }),
    }
    verbs
}

/// The wait is over with nobody free: out of the queue (its action then takes a message).
pub fn give_up_waiting() -> Vec<Verb> {
    vec![Verb::Leave]
}

/// Out of the queue unanswered: said so, and voicemail.
pub fn overflow(s: &VoiceSettings, urls: &Urls) -> Vec<Verb> {
    let mut verbs = vec![s.say(words(&s.language).busy)];
    verbs.extend(voicemail(s, urls));
    verbs
}

/// What the agent hears when they pick up: who calls (digit by digit) and for which team,
/// and the key that takes the call. Silence hangs up, so an agent's own voicemail picking up
/// never takes a caller: the call goes to the next agent.
pub fn whisper(s: &VoiceSettings, from: &str, team: Option<&str>, accept: &str) -> Vec<Verb> {
    let w = words(&s.language);
    let spoken = spelled(from);
    // A withheld number is not read out.
    let mut prompt = Vec::new();
    if !spoken.is_empty() {
        prompt.push(s.say(w.whisper.replace("{from}", &spoken)));
    }
    if let Some(team) = team {
        prompt.push(s.say(w.whisper_team.replace("{team}", team)));
    }
    prompt.push(s.say(w.press_to_take));
    vec![
        Verb::Gather {
            action: accept.to_owned(),
            num_digits: 1,
            timeout_seconds: 8,
            language: s.twilio_language().into(),
            speech: false,
            prompt,
        },
        Verb::Hangup,
    ]
}

/// The agent took the call: bridged to the caller waiting in `queue`; when either hangs up,
/// the agent's call ends. Recorded from the answer, when the inbox records calls, announced to
/// `recording`.
pub fn connect_agent(s: &VoiceSettings, queue: &str, recording: &str) -> Vec<Verb> {
    vec![
        s.say(words(&s.language).connecting),
        Verb::Dial {
            action: None,
            timeout_seconds: 10,
            caller_id: None,
            recording: s.record_calls.then(|| recording.to_owned()),
            target: super::twiml::DialTarget::Queue(queue.to_owned()),
        },
    ]
}

/// The agent picked up the call they placed: the customer is dialled from the line's number
/// (recorded from the answer when the inbox records calls, announced to `recording`).
pub fn dial_customer(
    s: &VoiceSettings,
    line: &str,
    to: &str,
    dialed: &str,
    recording: &str,
) -> Vec<Verb> {
    vec![
        s.say(words(&s.language).calling.replace("{to}", &spelled(to))),
        Verb::Dial {
            action: Some(dialed.to_owned()),
            timeout_seconds: 30,
            caller_id: Some(line.to_owned()),
            recording: s.record_calls.then(|| recording.to_owned()),
            target: super::twiml::DialTarget::Number(to.to_owned()),
        },
    ]
}

/// The customer did not pick up: said so to the agent, and the call ends.
pub fn not_reached(s: &VoiceSettings) -> Vec<Verb> {
    vec![s.say(words(&s.language).not_reached), Verb::Hangup]
}

/// A number read digit by digit.
fn spelled(number: &str) -> String {
    number
        .chars()
        .filter(char::is_ascii_digit)
        .map(String::from)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The agent picked up a call that is over or was taken by someone else.
pub fn call_gone(s: &VoiceSettings) -> Vec<Verb> {
    vec![s.say(words(&s.language).gone), Verb::Hangup]
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
            wait: "w".into(),
            left_queue: "l".into(),
            callback: "cb".into(),
        }
    }

    fn settings() -> VoiceSettings {
        VoiceSettings::from_json(&json!({"language": "pt_BR", "menu": [
            {"digit": 1, "team_id": 7, "label": {"pt-BR": "vendas"}},
            {"digit": "2", "team_id": 8, "label": {"pt-BR": "suporte"}}]}))
        .unwrap()
    }

    #[test]
    fn callers_say_the_team_they_want() {
        let s = settings();
        assert!(s.listens());
        let said = |words: &str| s.choice_by_speech(words).map(|o| o.team_id);
        assert_eq!(said("Quero falar com VENDAS, por favor."), Some(7));
        assert_eq!(said("suporte"), Some(8));
        assert_eq!(said("opção 2"), Some(8), "the key said as a number");
        assert_eq!(said("vendas ou suporte"), None, "two names: no guess");
        assert_eq!(said("não sei"), None);
        assert_eq!(said(""), None);
        // Accents and Polish letters aside; a word of a longer name is enough when only one
        // option has it.
        let pl = VoiceSettings::from_json(&json!({"language": "pl", "menu": [
            {"digit": 1, "team_id": 1, "label": {"pl": "sprzedaż"}},
            {"digit": 2, "team_id": 2, "label": {"pl": "wsparcie techniczne"}}]}))
        .unwrap();
        assert_eq!(pl.choice_by_speech("Sprzedaz").map(|o| o.team_id), Some(1));
        assert_eq!(
            pl.choice_by_speech("potrzebuję wsparcia, techniczne sprawy")
                .map(|o| o.team_id),
            Some(2)
        );
        // The menu listens for words only when every option has a name to say.
        let unnamed = VoiceSettings::from_json(&json!({"language": "en", "menu": [
            {"digit": 1, "team_id": 1, "label": {"en": "sales"}},
            {"digit": 2, "team_id": 2}]}))
        .unwrap();
        assert!(!unnamed.listens());
        assert_eq!(unnamed.choice_by_speech("sales"), None);
        let Verb::Gather { speech, .. } = &menu(&s, &urls())[0] else {
            panic!()
        };
        assert!(*speech);
        let Verb::Gather { speech, .. } = &menu(&unnamed, &urls())[0] else {
            panic!()
        };
        assert!(!*speech);
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
            (
                json!({"queue_max_wait_seconds": 1801}),
                "voice.queue_max_wait_seconds",
            ),
            (
                json!({"queue_max_wait_seconds": -1}),
                "voice.queue_max_wait_seconds",
            ),
            (json!({"agent_ring_seconds": 5}), "voice.agent_ring_seconds"),
            (
                json!({"hold_music_url": "javascript:alert(1)"}),
                "voice.hold_music_url",
            ),
            (
                json!({"hold_music_url": "https://x/a b.mp3"}),
                "voice.hold_music_url",
            ),
            (json!({"offer_callback": "yes"}), "voice.offer_callback"),
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
        let verbs = answer(&settings(), "Loja", true, Onward::Voicemail, &urls());
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
        let verbs = answer(&settings(), "Loja", false, Onward::Queue("q"), &urls());
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

    #[test]
    fn through_the_menu_a_caller_queues_when_someone_takes_calls() {
        let s = settings();
        let queued = to_people(&s, Onward::Queue("call-CA1"), &urls());
        let Verb::Gather { action, prompt, .. } = &queued[0] else {
            panic!("{queued:?}")
        };
        assert_eq!(action, "cb");
        assert_eq!(
            prompt[0],
            Verb::Say {
                text: "Para receber nossa ligação sem perder seu lugar na fila, tecle 2.".into(),
                language: "pt-BR".into()
            }
        );
        assert_eq!(
            queued[1],
            Verb::Enqueue {
                name: "call-CA1".into(),
                action: "l".into(),
                wait_url: "w".into()
            }
        );
        let no_offer = VoiceSettings {
            offer_callback: false,
            ..s.clone()
        };
        assert_eq!(
            to_people(&no_offer, Onward::Queue("call-CA1"), &urls()),
            enqueue("call-CA1", &urls())
        );
        assert_eq!(callback_taken(&s).last(), Some(&Verb::Hangup));
        let nobody = to_people(&s, Onward::Voicemail, &urls());
        assert_eq!(
            nobody[0],
            Verb::Say {
                text: "No momento ninguém pode atender sua ligação.".into(),
                language: "pt-BR".into()
            }
        );
        assert!(matches!(nobody.last(), Some(Verb::Record { .. })));
        // An inbox without a queue takes a message even when agents are at work.
        let no_queue = VoiceSettings {
            queue_max_wait_seconds: 0,
            ..s
        };
        assert!(matches!(
            to_people(&no_queue, Onward::Queue("q"), &urls()).last(),
            Some(Verb::Record { .. })
        ));
        // Without a menu, the greeting leads straight to the queue.
        let plain = VoiceSettings::default();
        let verbs = answer(&plain, "Shop", true, Onward::Queue("q"), &urls());
        assert!(matches!(verbs[2], Verb::Enqueue { .. }), "{verbs:?}");
    }

    #[test]
    fn the_place_in_line_is_told_at_first_and_about_once_a_minute() {
        let s = VoiceSettings::default();
        let first = hold(&s, Some(2), 0);
        assert_eq!(
            first[0],
            Verb::Say {
                text: "You are number 2 in line.".into(),
                language: "en-US".into()
            }
        );
        assert_eq!(
            first.last(),
            Some(&Verb::Pause {
                seconds: HOLD_PAUSE_SECONDS
            })
        );
        assert_eq!(hold(&s, Some(2), 20).len(), 1, "only the pause in between");
        assert_eq!(hold(&s, Some(1), 61).len(), 3, "told again after a minute");
        let music = VoiceSettings {
            hold_music_url: Some("https://cdn/hold.mp3".into()),
            ..s
        };
        assert_eq!(
            hold(&music, None, 30),
            vec![Verb::Play {
                url: "https://cdn/hold.mp3".into()
            }]
        );
        assert_eq!(give_up_waiting(), vec![Verb::Leave]);
        assert!(matches!(
            overflow(&music, &urls()).last(),
            Some(Verb::Record { .. })
        ));
    }

    #[test]
    fn an_agent_hears_who_calls_and_takes_the_call_with_a_key() {
        let s = settings();
        let verbs = whisper(&s, "+55 11 9876", Some("Vendas"), "accept");
        let Verb::Gather {
            action,
            num_digits,
            prompt,
            ..
        } = &verbs[0]
        else {
            panic!("{verbs:?}")
        };
        assert_eq!((action.as_str(), *num_digits), ("accept", 1));
        assert_eq!(
            prompt[0],
            Verb::Say {
                text: "Ligação de 5 5 1 1 9 8 7 6.".into(),
                language: "pt-BR".into()
            }
        );
        assert_eq!(
            prompt[1],
            Verb::Say {
                text: "Para Vendas.".into(),
                language: "pt-BR".into()
            }
        );
        assert_eq!(verbs.last(), Some(&Verb::Hangup), "silence is no answer");
        let connect = connect_agent(&s, "call-CA1", "https://x/rec");
        assert_eq!(
            connect[1],
            Verb::Dial {
                action: None,
                timeout_seconds: 10,
                caller_id: None,
                recording: None,
                target: super::super::twiml::DialTarget::Queue("call-CA1".into())
            }
        );
        let recorded = VoiceSettings {
            record_calls: true,
            ..s.clone()
        };
        assert!(matches!(
            &connect_agent(&recorded, "call-CA1", "https://x/rec")[1],
            Verb::Dial { recording: Some(url), .. } if url == "https://x/rec"
        ));
        assert!(matches!(
            &dial_customer(&recorded, "+4812", "+5511", "d", "https://x/rec")[1],
            Verb::Dial {
                recording: Some(_),
                ..
            }
        ));
        // Callers hear the notice after the greeting, only when someone may answer.
        let open = answer(&recorded, "Loja", true, Onward::Queue("q"), &urls());
        assert!(
            open.contains(&recorded.say(words("pt-BR").recorded)),
            "{open:?}"
        );
        let closed = answer(&recorded, "Loja", false, Onward::Queue("q"), &urls());
        assert!(!closed.contains(&recorded.say(words("pt-BR").recorded)));
        assert_eq!(call_gone(&s).last(), Some(&Verb::Hangup));
    }
}
