//! Voicemails put into words by the assistant's speech-to-text model, without I/O: which
//! message waits for a transcript, the language hint the model is given (the language of the
//! IVR the caller heard, when an administrator chose one), the transcript as kept, and the
//! message's text with it, so agents, search and notifications read what was said.

use serde_json::Value;

use crate::voice::ivr::VoiceSettings;

/// The longest transcript kept: ten minutes of speech (the longest voicemail) is about
/// 1,500 words; a model that answers far more is not transcribing.
pub const MAX_TRANSCRIPT_CHARS: usize = 12_000;

/// Whether a message with these `content_attributes` is a voicemail without a transcript (and
/// still holds what the caller left: not deleted, not anonymised).
pub fn awaits_transcript(attributes: &Value) -> bool {
    let call = &attributes["voice_call"];
    call["kind"] == "voicemail" && call.get("transcript").is_none() && attributes["deleted"] != true
}

/// Whether the recording of a voicemail (`content_attributes`) is still being fetched from the
/// provider (`media_pending`, not given up): worth waiting for rather than giving up on.
pub fn recording_pending(attributes: &Value) -> bool {
    attributes["media_pending"]
        .as_array()
        .is_some_and(|files| files.iter().any(|f| f["given_up"] != true))
}

/// The language the IVR of a phone inbox speaks (`pt-BR`, `pl`, `en`), when its settings name
/// one: the language the caller heard and most likely answered in. An inbox left at the
/// default says nothing about its callers, so the model is left to detect the language.
pub fn ivr_language(inbox_settings: &Value) -> Option<String> {
    let voice = inbox_settings.get("voice")?;
    voice.get("language")?.as_str()?;
    VoiceSettings::from_json(voice).ok().map(|s| s.language)
}

/// The ISO-639-1 code a speech-to-text model takes as its `language` hint, from a product
/// locale (`pt-BR` → `pt`, `pl` → `pl`); `None` for anything that is not one.
pub fn language_hint(locale: &str) -> Option<String> {
    let base = locale.trim().split(['-', '_']).next()?;
    (base.len() == 2 && base.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| base.to_ascii_lowercase())
}

/// The language a transcript is in, as the product's locales name it: the hint the model was
/// given, else what the words say when they say it clearly.
pub fn transcript_language(hinted: Option<&str>, transcript: &str) -> Option<String> {
    match hinted {
        Some(locale) => super::normalise_language(locale),
        None => crate::routing::detect_language(transcript).map(str::to_owned),
    }
}

/// The transcript as kept: without surrounding blanks or NUL characters (PostgreSQL's text
/// cannot hold them), at most [`MAX_TRANSCRIPT_CHARS`]; `None` when nothing was said.
pub fn clean(text: &str) -> Option<String> {
    let text = text.replace('\0', "");
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.chars().count() <= MAX_TRANSCRIPT_CHARS {
        return Some(text.to_owned());
    }
    let cut: String = text.chars().take(MAX_TRANSCRIPT_CHARS - 1).collect();
    Some(format!("{}…", cut.trim_end()))
}

/// The voicemail's text with the transcript below its heading ("🎙 Voicemail (0:42)").
pub fn with_transcript(heading: &str, transcript: &str) -> String {
    format!("{}\n\n{transcript}", heading.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_voicemail_without_a_transcript_awaits_one() {
        let voicemail = json!({"voice_call": {"kind": "voicemail", "call_id": 1}});
        assert!(awaits_transcript(&voicemail));
        assert!(!awaits_transcript(
            &json!({"voice_call": {"kind": "voicemail", "transcript": "Olá"}})
        ));
        assert!(!awaits_transcript(
            &json!({"voice_call": {"kind": "voicemail"}, "deleted": true})
        ));
        assert!(!awaits_transcript(&json!({"voice_call": {"kind": "call"}})));
        // Anonymised messages keep no attributes.
        assert!(!awaits_transcript(&json!({})));
        assert!(!awaits_transcript(&Value::Null));
    }

    #[test]
    fn a_recording_still_at_the_provider_is_waited_for() {
        assert!(recording_pending(
            &json!({"media_pending": [{"handle": "https://x/RE1.mp3", "error": "500"}]})
        ));
        assert!(!recording_pending(
            &json!({"media_pending": [{"handle": "h", "error": "500", "given_up": true}]})
        ));
        assert!(!recording_pending(
            &json!({"voice_call": {"kind": "voicemail"}})
        ));
    }

    #[test]
    fn the_hint_is_the_language_an_administrator_chose_for_the_ivr() {
        assert_eq!(
            ivr_language(&json!({"voice": {"language": "pt-BR", "menu": []}})).as_deref(),
            Some("pt-BR")
        );
        assert_eq!(
            ivr_language(&json!({"voice": {"language": "pl"}})).as_deref(),
            Some("pl")
        );
        // The default English of an inbox nobody configured says nothing about the caller.
        assert_eq!(ivr_language(&json!({"voice": {"menu": []}})), None);
        assert_eq!(ivr_language(&json!({})), None);
        assert_eq!(
            ivr_language(&json!({"voice": {"language": "klingon"}})),
            None
        );

        assert_eq!(language_hint("pt-BR").as_deref(), Some("pt"));
        assert_eq!(language_hint("pt_BR").as_deref(), Some("pt"));
        assert_eq!(language_hint("pl").as_deref(), Some("pl"));
        assert_eq!(language_hint("EN").as_deref(), Some("en"));
        assert_eq!(language_hint("por"), None);
        assert_eq!(language_hint(""), None);
        assert_eq!(language_hint("p1"), None);
    }

    #[test]
    fn the_transcript_language_is_the_hint_or_what_the_words_say() {
        assert_eq!(
            transcript_language(Some("pt-BR"), "whatever").as_deref(),
            Some("pt-BR")
        );
        assert_eq!(
            transcript_language(
                None,
                "Dzień dobry, dzwonię w sprawie zamówienia, które jeszcze nie dotarło."
            )
            .as_deref(),
            Some("pl")
        );
        assert_eq!(
            transcript_language(
                None,
                "Olá, estou ligando sobre o meu pedido que ainda não chegou, por favor me liguem."
            )
            .as_deref(),
            Some("pt-BR")
        );
        assert_eq!(transcript_language(None, "ok"), None);
    }

    #[test]
    fn transcripts_are_trimmed_bounded_and_never_empty() {
        assert_eq!(
            clean("  Olá, tudo bem?\n").as_deref(),
            Some("Olá, tudo bem?")
        );
        assert_eq!(clean("a\0b").as_deref(), Some("ab"));
        assert_eq!(clean(" \n\t "), None);
        assert_eq!(clean(""), None);
        let long = "ą".repeat(MAX_TRANSCRIPT_CHARS + 10);
        let kept = clean(&long).unwrap();
        assert_eq!(kept.chars().count(), MAX_TRANSCRIPT_CHARS);
        assert!(kept.ends_with('…'));
        let exact = "x".repeat(MAX_TRANSCRIPT_CHARS);
        assert_eq!(clean(&exact).unwrap(), exact);
    }

    #[test]
    fn the_transcript_reads_under_the_heading() {
        assert_eq!(
            with_transcript("🎙 Voicemail (0:42)", "Olá, é a Maria."),
            "🎙 Voicemail (0:42)\n\nOlá, é a Maria."
        );
        assert_eq!(
            with_transcript("🎙 Voicemail (0:07)\n", "Dzień dobry."),
            "🎙 Voicemail (0:07)\n\nDzień dobry."
        );
    }
}
