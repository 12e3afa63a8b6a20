//! Phone calls on a Twilio number, driven by a fake of Twilio's side of the call that signs
//! every request and runs our TwiML as Twilio does: the IVR in the inbox's language, the menu's
//! team, a voicemail landing on the caller's one conversation (the same as their SMS), status
//! reports late, out of order and twice, and what is refused unsigned.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::twilio_voice::{FakeTwilioVoice, Reached, Tamper};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::messaging::twilio::{
    ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, sms, twilio_inbox, twilio_post,
};

on_both_databases!(
    a_caller_picks_a_team_and_leaves_a_voicemail_on_their_conversation,
    unsigned_calls_are_refused_and_unknown_numbers_are_not_found,
    an_abandoned_call_settles_whatever_order_its_reports_arrive_in,
    a_closed_inbox_takes_a_message_at_once,
    a_voicemail_goes_to_people_not_to_the_faq_bot,
);

const CALLER: &str = "+5511987654321";
const WAIT: Duration = Duration::from_secs(15);

async fn app(b: Backend) -> (TestApp, FakeTwilioVoice) {
    let voice = FakeTwilioVoice::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let api = voice.media_base();
    let t = TestApp::start_with(b, move |s| s.twilio_api_url = Some(api)).await;
    (t, voice)
}

fn digits() -> String {
    OUR_NUMBER.trim_start_matches('+').to_owned()
}

fn voice_url(t: &TestApp) -> String {
    t.url(&format!("/twilio/voice/call/{}", digits()))
}

fn status_url(t: &TestApp) -> String {
    t.url(&format!("/twilio/voice/status/{}", digits()))
}

async fn calls(t: &TestApp) -> Vec<Value> {
    t.get(&t.acc("/calls")).await["payload"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn a_caller_picks_a_team_and_leaves_a_voicemail_on_their_conversation(b: Backend) {
    let (t, voice) = app(b).await;
    let inbox = twilio_inbox(&t, "sms").await;
    let team = t.post(&t.acc("/teams"), json!({"name": "Vendas"})).await;
    let set = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{}", inbox["id"])),
            Some(
                json!({"voice": {"language": "pt-BR", "greeting": {"pt-BR": "Olá, aqui é a Loja."},
                "menu": [{"digit": 1, "team_id": team["id"], "label": {"pt-BR": "vendas"}}]}}),
            ),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    // The caller wrote an SMS earlier: the voicemail joins that conversation.
    twilio_post(
        &t,
        "/twilio/callback",
        &sms("SM1", CALLER, "Oi, meu pedido atrasou"),
        None,
    )
    .await
    .expect(200);
    let conversation = t
        .eventually(WAIT, "the SMS conversation", || async {
            let list = t.get(&t.acc("/conversations")).await;
            list["data"]["payload"][0]["id"].as_i64()
        })
        .await;

    let mut call = voice.call(&voice_url(&t), Some(&status_url(&t)), CALLER, OUR_NUMBER);
    assert_eq!(call.ring().await.status, 200);
    call.status("ringing", 0, None).await;
    let Reached::Gather { .. } = call.run().await else {
        panic!("the menu: {:?}", call.said())
    };
    let said = call.said();
    assert_eq!(
        said[0],
        ("pt-BR".to_owned(), "Olá, aqui é a Loja.".to_owned())
    );
    assert!(
        said.iter().any(|(_, s)| s == "Para vendas, tecle 1."),
        "{said:?}"
    );

    // A key that is no option, then the right one.
    call.press("7").await;
    let Reached::Gather { .. } = call.run().await else {
        panic!("the menu again: {:?}", call.said())
    };
    assert!(
        call.said()
            .iter()
            .any(|(_, s)| s.contains("essa opção não existe"))
    );
    call.press("1").await;
    let Reached::Record { .. } = call.run().await else {
        panic!("voicemail: {:?}", call.said())
    };
    let (after, callback) = call.record(42).await;
    assert_eq!(after.status, 200);
    assert!(after.body.contains("<Hangup/>"), "{}", after.body);
    assert!((200..300).contains(&callback.status), "{}", callback.body);
    call.status("in-progress", 1, None).await;
    call.status("completed", 2, Some(61)).await;

    let messages_path = t.acc(&format!("/conversations/{conversation}/messages"));
    let voicemail = t
        .eventually(WAIT, "the voicemail on the SMS conversation", || async {
            let all = t.get(&messages_path).await;
            all["payload"]
                .as_array()?
                .iter()
                .find(|m| m["content_attributes"]["voice_call"]["kind"] == "voicemail")
                .cloned()
        })
        .await;
    assert_eq!(voicemail["content"], "🎙 Voicemail (0:42)");
    assert_eq!(voicemail["message_type"], 0);
    let audio = &voicemail["attachments"][0];
    assert_eq!(audio["file_type"], "audio", "{voicemail}");
    assert_eq!(
        voice.downloads().len(),
        1,
        "fetched once, with the account's credentials"
    );
    let shown = t
        .get(&t.acc(&format!("/conversations/{conversation}")))
        .await;
    assert_eq!(shown["meta"]["team"]["id"], team["id"], "{shown}");

    let listed = calls(&t).await;
    assert_eq!(listed.len(), 1);
    let c = &listed[0];
    assert_eq!(c["call_sid"], call.sid());
    assert_eq!(c["direction"], "inbound");
    assert_eq!(c["from_number"], CALLER);
    assert_eq!(c["status"], "completed");
    assert_eq!(c["outcome"], "voicemail");
    assert_eq!(c["team_id"], team["id"]);
    assert_eq!(c["duration"], 61);
    assert_eq!(c["conversation_id"], conversation);
    assert_eq!(c["voicemail_message_id"], voicemail["id"]);
    let one = t
        .get(&t.acc(&format!("/calls?conversation_id={conversation}")))
        .await;
    assert_eq!(one["payload"].as_array().unwrap().len(), 1);
    // An agent who does not work the number's inbox sees none of its calls.
    let (_, outsider) = t.agent("outsider@acme.test", "agent").await;
    let theirs = t
        .call("GET", &t.acc("/calls"), Some(&outsider), None)
        .await
        .expect(200);
    assert_eq!(theirs["payload"], json!([]));
    // On the caller's journey, beside their SMS.
    let contact = c["contact_id"]
        .as_i64()
        .expect("the caller is the SMS's contact");
    let timeline = t
        .get(&t.acc(&format!("/contacts/{contact}/timeline?kinds=call,message")))
        .await;
    let items = timeline["payload"].as_array().unwrap();
    let on_timeline = items
        .iter()
        .find(|i| i["kind"] == "call")
        .expect("the call is on the timeline");
    assert_eq!(on_timeline["outcome"], "voicemail");
    assert_eq!(on_timeline["from_number"], CALLER);
    assert_eq!(on_timeline["display_id"], conversation);
    assert!(
        items
            .iter()
            .any(|i| i["kind"] == "message" && i["content"] == "Oi, meu pedido atrasou")
    );

    // The recording callback again (Twilio retries): still one voicemail.
    let callback = call
        .sent()
        .into_iter()
        .rev()
        .find(|r| r.url.contains("/recording_status/"))
        .expect("the recording callback was sent");
    let path = callback.url.trim_start_matches(&t.url(""));
    let params: Vec<(&str, &str)> = callback
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let again = twilio_post(&t, path, &params, None).await;
    assert!((200..300).contains(&again.status), "{:?}", again.body);
    let all = t.get(&messages_path).await;
    let voicemails = all["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["content_attributes"]["voice_call"]["kind"] == "voicemail")
        .count();
    assert_eq!(voicemails, 1);
}

async fn unsigned_calls_are_refused_and_unknown_numbers_are_not_found(b: Backend) {
    let (t, voice) = app(b).await;
    twilio_inbox(&t, "sms").await;
    for how in [Tamper::WrongSignature, Tamper::NoSignature] {
        let mut call = voice.call(&voice_url(&t), None, CALLER, OUR_NUMBER);
        call.tamper_next(how);
        let answer = call.ring().await;
        assert!(
            matches!(answer.status, 401 | 403),
            "{how:?}: {}",
            answer.status
        );
    }
    assert!(calls(&t).await.is_empty(), "nothing recorded");
    let mut elsewhere = voice.call(
        &t.url("/twilio/voice/call/15550001111"),
        None,
        CALLER,
        "+15550001111",
    );
    assert_eq!(elsewhere.ring().await.status, 404);
    // Menu choices for a call never announced are not found either.
    let bad_menu = voice.call(
        &t.url(&format!("/twilio/voice/menu/{}", digits())),
        None,
        CALLER,
        OUR_NUMBER,
    );
    let mut bad_menu = bad_menu;
    assert_eq!(bad_menu.ring().await.status, 404);
    // Bad menu settings are named.
    let inbox = t.get(&t.acc("/inboxes")).await["payload"][0].clone();
    let other_team = 999_999;
    for (voice_settings, field) in [
        (
            json!({"menu": [{"digit": 1, "team_id": other_team}]}),
            "voice.menu[0].team_id",
        ),
        (json!({"language": "klingon"}), "voice.language"),
        (
            json!({"menu": [{"digit": 0, "team_id": 1}]}),
            "voice.menu[0].digit",
        ),
    ] {
        let a = t
            .admin(
                "PATCH",
                &t.acc(&format!("/inboxes/{}", inbox["id"])),
                Some(json!({"voice": voice_settings})),
            )
            .await;
        assert_eq!(a.status, 422, "{voice_settings}: {:?}", a.body);
        assert_eq!(a.body["attributes"], json!([field]));
    }
}

async fn an_abandoned_call_settles_whatever_order_its_reports_arrive_in(b: Backend) {
    let (t, voice) = app(b).await;
    twilio_inbox(&t, "sms").await;
    let team = t.post(&t.acc("/teams"), json!({"name": "Suporte"})).await;
    let inbox = t.get(&t.acc("/inboxes")).await["payload"][0].clone();
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{}", inbox["id"])),
        Some(json!({"voice": {"menu": [{"digit": 2, "team_id": team["id"]}]}})),
    )
    .await
    .expect(200);
    let mut call = voice.call(&voice_url(&t), Some(&status_url(&t)), CALLER, OUR_NUMBER);
    call.ring().await;
    let Reached::Gather { .. } = call.run().await else {
        panic!("{:?}", call.said())
    };
    assert!(
        call.said()
            .iter()
            .any(|(lang, s)| lang == "en-US" && s.contains("press 2"))
    );
    // The caller hangs up in the menu; the reports arrive late, out of order and twice.
    assert_eq!(call.status("completed", 2, Some(9)).await.status, 204);
    assert_eq!(call.status("ringing", 0, None).await.status, 204);
    assert_eq!(call.status("in-progress", 1, None).await.status, 204);
    assert_eq!(call.status("completed", 2, Some(9)).await.status, 204);
    let listed = calls(&t).await;
    assert_eq!(listed[0]["status"], "completed");
    assert_eq!(listed[0]["outcome"], "abandoned");
    assert_eq!(listed[0]["duration"], 9);
    assert!(listed[0]["ended_at"].is_i64());
    let odd = call.status("exploded", 3, None).await;
    assert_eq!(odd.status, 422);
}

async fn a_closed_inbox_takes_a_message_at_once(b: Backend) {
    let (t, voice) = app(b).await;
    let inbox = twilio_inbox(&t, "sms").await;
    let closed: Vec<Value> = (0..7)
        .map(|d| json!({"day_of_week": d, "closed_all_day": true}))
        .collect();
    t.admin("PATCH", &t.acc(&format!("/inboxes/{}", inbox["id"])),
        Some(json!({"working_hours_enabled": true, "working_hours": closed, "timezone": "Europe/Warsaw",
            "voice": {"language": "pl", "menu": []}})))
        .await
        .expect(200);
    let mut call = voice.call(
        &voice_url(&t),
        Some(&status_url(&t)),
        "+48601234567",
        OUR_NUMBER,
    );
    call.ring().await;
    let Reached::Record { .. } = call.run().await else {
        panic!("{:?}", call.said())
    };
    let said = call.said();
    assert!(
        said.iter()
            .any(|(l, s)| l == "pl-PL" && s == "Obecnie jesteśmy nieczynni."),
        "{said:?}"
    );
    // The recording cannot be fetched: the message is kept, and the call is a voicemail.
    voice.set_recordings_fail(Some(500));
    call.record(7).await;
    let conversation = t
        .eventually(WAIT, "the caller's new conversation", || async {
            t.get(&t.acc("/conversations")).await["data"]["payload"][0]["id"].as_i64()
        })
        .await;
    let all = t
        .get(&t.acc(&format!("/conversations/{conversation}/messages")))
        .await;
    assert!(
        all["payload"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["content"] == "🎙 Voicemail (0:07)"),
        "{all}"
    );
    assert_eq!(calls(&t).await[0]["outcome"], "voicemail");
}

/// An FAQ bot on the number's inbox does not try to answer a voicemail: the conversation is
/// opened for the team at once, with the reason on the activity line.
async fn a_voicemail_goes_to_people_not_to_the_faq_bot(b: Backend) {
    let (t, voice) = app(b).await;
    let inbox = twilio_inbox(&t, "sms").await;
    crate::help_center::shop_portal(&t, "loja").await;
    crate::help_center::article(
        &t,
        "loja",
        json!({"title": "Voicemail", "locale": "pt_BR",
        "status": "published", "content": "Como ouvir o correio de voz."}),
    )
    .await;
    let bot = t
        .post(
            &t.acc("/agent_bots"),
            json!({"name": "Ajuda", "bot_type": "faq", "bot_config": {"portal_slug": "loja"}}),
        )
        .await;
    t.admin(
        "POST",
        &t.acc(&format!("/inboxes/{}/set_agent_bot", inbox["id"])),
        Some(json!({"agent_bot": bot["id"]})),
    )
    .await
    .expect(200);
    let mut call = voice.call(&voice_url(&t), Some(&status_url(&t)), CALLER, OUR_NUMBER);
    call.ring().await;
    let Reached::Record { .. } = call.run().await else {
        panic!("{:?}", call.said())
    };
    call.record(12).await;
    let conversation = t
        .eventually(
            WAIT,
            "the caller's conversation opened for the team",
            || async {
                let list = t.get(&t.acc("/conversations?status=open")).await;
                list["data"]["payload"][0]["id"].as_i64()
            },
        )
        .await;
    let all = t
        .get(&t.acc(&format!("/conversations/{conversation}/messages")))
        .await;
    let payload = all["payload"].as_array().unwrap();
    assert!(
        payload
            .iter()
            .any(|m| m["content_attributes"]["activity"]["reason"] == "voicemail"),
        "{all}"
    );
    assert!(
        !payload.iter().any(|m| m["sender_type"] == "AgentBot"
            && m["content"]
                .as_str()
                .unwrap_or_default()
                .contains("Como ouvir")),
        "the bot did not answer it: {all}"
    );
}
