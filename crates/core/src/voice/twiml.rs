//! TwiML, the XML Twilio runs on a call, written from a few typed verbs. Every text and
//! attribute is escaped, so a caller's name or an administrator's greeting can never close a
//! tag or add a verb.

use std::fmt::Write;

/// A verb of a `<Response>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    /// Text read aloud in `language` (`en-US`, `pt-BR`, `pl-PL`).
    Say {
        text: String,
        language: String,
    },
    /// An audio file played (an absolute URL Twilio can fetch).
    Play {
        url: String,
    },
    /// Keys pressed (or words said) are posted to `action`; the nested verbs are the prompt.
    Gather {
        action: String,
        num_digits: u8,
        timeout_seconds: u8,
        language: String,
        speech: bool,
        prompt: Vec<Verb>,
    },
    /// The caller's message recorded; `action` gets its URL, `recording_callback` its status.
    Record {
        action: String,
        recording_callback: String,
        max_length_seconds: u32,
    },
    Pause {
        seconds: u8,
    },
    Redirect {
        url: String,
    },
    Hangup,
    /// The caller waits in the queue `name`: `wait_url` is asked what they hear (again each
    /// time it runs out), `action` is told how they left (`QueueResult`).
    Enqueue {
        name: String,
        action: String,
        wait_url: String,
    },
    /// Out of the queue (in a wait document): the `<Enqueue>` action says what comes next.
    Leave,
    /// Connects this call to `target`; `action` hears how it ended (`DialCallStatus`); without
    /// one the call goes on after the `<Dial>` (here: ends).
    Dial {
        action: Option<String>,
        timeout_seconds: u8,
        /// The number the callee sees (a `Number` target's).
        caller_id: Option<String>,
        /// Record both sides from the answer; the recording is announced to this URL.
        recording: Option<String>,
        target: DialTarget,
    },
}

/// What a `<Dial>` connects to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialTarget {
    /// The caller waiting in this queue.
    Queue(String),
    /// A phone number (E.164).
    Number(String),
}

/// `<?xml…?><Response>…</Response>` of `verbs`.
pub fn response(verbs: &[Verb]) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
    for v in verbs {
        write_verb(&mut out, v);
    }
    out.push_str("</Response>");
    out
}

fn write_verb(out: &mut String, verb: &Verb) {
    match verb {
        Verb::Say { text, language } => {
            let _ = write!(
                out,
                r#"<Say language="{}" voice="{}">{}</Say>"#,
                escape(language),
                escape(voice_for(language)),
                escape(text)
            );
        }
        Verb::Play { url } => {
            let _ = write!(out, "<Play>{}</Play>", escape(url));
        }
        Verb::Gather {
            action,
            num_digits,
            timeout_seconds,
            language,
            speech,
            prompt,
        } => {
            let input = if *speech { "dtmf speech" } else { "dtmf" };
            let _ = write!(
                out,
                r#"<Gather action="{}" method="POST" input="{input}" numDigits="{num_digits}" timeout="{timeout_seconds}" language="{}">"#,
                escape(action),
                escape(language)
            );
            for v in prompt {
                write_verb(out, v);
            }
            out.push_str("</Gather>");
        }
        Verb::Record {
            action,
            recording_callback,
            max_length_seconds,
        } => {
            let _ = write!(
                out,
                r#"<Record action="{}" method="POST" maxLength="{max_length_seconds}" playBeep="true" recordingStatusCallback="{}" recordingStatusCallbackMethod="POST"/>"#,
                escape(action),
                escape(recording_callback)
            );
        }
        Verb::Pause { seconds } => {
            let _ = write!(out, r#"<Pause length="{seconds}"/>"#);
        }
        Verb::Redirect { url } => {
            let _ = write!(out, r#"<Redirect method="POST">{}</Redirect>"#, escape(url));
        }
        Verb::Hangup => out.push_str("<Hangup/>"),
        Verb::Enqueue {
            name,
            action,
            wait_url,
        } => {
            let _ = write!(
                out,
                r#"<Enqueue action="{}" method="POST" waitUrl="{}" waitUrlMethod="POST">{}</Enqueue>"#,
                escape(action),
                escape(wait_url),
                escape(name)
            );
        }
        Verb::Leave => out.push_str("<Leave/>"),
        Verb::Dial {
            action,
            timeout_seconds,
            caller_id,
            recording,
            target,
        } => {
            let _ = write!(out, r#"<Dial timeout="{timeout_seconds}""#);
            if let Some(url) = recording {
                let _ = write!(
                    out,
                    r#" record="record-from-answer-dual" recordingStatusCallback="{}" recordingStatusCallbackMethod="POST""#,
                    escape(url)
                );
            }
            if let Some(action) = action {
                let _ = write!(out, r#" action="{}" method="POST""#, escape(action));
            }
            if let Some(id) = caller_id {
                let _ = write!(out, r#" callerId="{}""#, escape(id));
            }
            let _ = match target {
                DialTarget::Queue(name) => write!(out, "><Queue>{}</Queue></Dial>", escape(name)),
                DialTarget::Number(n) => write!(out, "><Number>{}</Number></Dial>", escape(n)),
            };
        }
    }
}

/// A voice that speaks `language` (Amazon Polly's, as Twilio names them; Twilio's basic voices
/// do not cover Portuguese or Polish).
pub fn voice_for(language: &str) -> &'static str {
    match language {
        "pt-BR" => "Polly.Camila",
        "pl-PL" => "Polly.Ewa",
        _ => "Polly.Joanna",
    }
}

/// XML text and attribute escaping.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_are_written_as_twilio_reads_them() {
        let xml = response(&[
            Verb::Gather {
                action: "https://h/twilio/voice/menu?call=1&x=2".into(),
                num_digits: 1,
                timeout_seconds: 6,
                language: "pt-BR".into(),
                speech: false,
                prompt: vec![Verb::Say {
                    text: "Olá! Tecle 1.".into(),
                    language: "pt-BR".into(),
                }],
            },
            Verb::Redirect {
                url: "https://h/twilio/voice/voicemail".into(),
            },
        ]);
        assert_eq!(
            xml,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="https://h/twilio/voice/menu?call=1&amp;x=2" method="POST" input="dtmf" numDigits="1" timeout="6" language="pt-BR"><Say language="pt-BR" voice="Polly.Camila">Olá! Tecle 1.</Say></Gather><Redirect method="POST">https://h/twilio/voice/voicemail</Redirect></Response>"#
        );
    }

    #[test]
    fn nothing_a_greeting_says_can_add_a_verb() {
        let xml = response(&[Verb::Say {
            text: "</Say><Dial>+48111</Dial><Say>\u{7}".into(),
            language: "en-US\" voice=\"x".into(),
        }]);
        assert!(!xml.contains("<Dial>"), "{xml}");
        assert!(xml.contains("&lt;/Say&gt;&lt;Dial&gt;"));
        assert!(xml.contains(r#"language="en-US&quot; voice=&quot;x""#));
        assert!(!xml.contains('\u{7}'));
    }

    #[test]
    fn record_and_hangup() {
        let xml = response(&[
            Verb::Record {
                action: "a".into(),
                recording_callback: "b".into(),
                max_length_seconds: 120,
            },
            Verb::Hangup,
        ]);
        assert!(xml.contains(r#"<Record action="a" method="POST" maxLength="120" playBeep="true" recordingStatusCallback="b" recordingStatusCallbackMethod="POST"/><Hangup/>"#));
    }

    #[test]
    fn queue_verbs() {
        let xml = response(&[
            Verb::Enqueue {
                name: "call-CA1".into(),
                action: "l?x=1&y=2".into(),
                wait_url: "w".into(),
            },
            Verb::Leave,
            Verb::Dial {
                action: None,
                timeout_seconds: 20,
                caller_id: None,
                recording: None,
                target: DialTarget::Queue("call-<CA1>".into()),
            },
            Verb::Dial {
                action: Some("d".into()),
                timeout_seconds: 30,
                caller_id: Some("+4812".into()),
                recording: Some("r?a=1&b=2".into()),
                target: DialTarget::Number("+5511".into()),
            },
        ]);
        assert!(xml.contains(r#"<Enqueue action="l?x=1&amp;y=2" method="POST" waitUrl="w" waitUrlMethod="POST">call-CA1</Enqueue><Leave/>"#), "{xml}");
        assert!(
            xml.contains(r#"<Dial timeout="20"><Queue>call-&lt;CA1&gt;</Queue></Dial>"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<Dial timeout="30" record="record-from-answer-dual" recordingStatusCallback="r?a=1&amp;b=2" recordingStatusCallbackMethod="POST" action="d" method="POST" callerId="+4812"><Number>+5511</Number></Dial>"#), "{xml}");
    }
}
