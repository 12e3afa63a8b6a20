//! Phone calls on a Twilio number, driven by a fake of Twilio's side of the call that signs
//! every request and runs our TwiML as Twilio does: the IVR in the inbox's language, the menu's
//! team, a voicemail landing on the caller's one conversation (the same as their SMS), status
//! reports late, out of order and twice, and what is refused unsigned. With the account's AI
//! assistant at a fake OpenAI-compatible server, a voicemail gets its transcript (in the IVR's
//! language, or the one its words are in), after a model that was down comes back, and stays as
//! it was when the model refuses it or the line's data may not be sent.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::fake_model::{Behaviour, FakeModel};
use throughline_testkit::receiver::{self, Receiver};
use throughline_testkit::twilio_voice::{self, FakeTwilioVoice, Reached, Tamper};
use throughline_testkit::ws::WsClient;
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
    a_queued_call_rings_agents_in_turn_and_the_one_who_takes_it_talks_with_the_caller,
    a_call_nobody_takes_overflows_to_voicemail_and_one_hung_up_in_the_queue_is_abandoned,
    callers_ask_to_be_called_back_and_an_agent_calls_them_with_one_click,
    a_voicemail_is_transcribed_in_the_language_the_caller_heard,
    a_polish_voicemail_is_transcribed_and_nothing_leaves_from_a_line_not_allowed,
    a_model_that_was_down_transcribes_later_and_one_that_refuses_leaves_the_voicemail_as_it_was,
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

    // A key that is no option, then the team's name said (the menu listens for words too).
    call.press("7").await;
    let Reached::Gather { .. } = call.run().await else {
        panic!("the menu again: {:?}", call.said())
    };
    assert!(
        call.said()
            .iter()
            .any(|(_, s)| s.contains("essa opção não existe"))
    );
    assert_eq!(
        call.say("Quero falar com Vendas, por favor.").await.status,
        200
    );
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

const ANA_PHONE: &str = "+48601000001";
const BRUNO_PHONE: &str = "+48601000002";

/// An agent of the account who gave their phone, at work (their socket open, online).
async fn agent_at_work(t: &TestApp, email: &str, phone: &str) -> (i64, String, WsClient) {
    let (id, token) = t.agent(email, "agent").await;
    let set = t
        .call(
            "PUT",
            "/api/v1/profile",
            Some(&token),
            Some(json!({"phone_number": phone})),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let ws = crate::routing::online(t, &token).await;
    (id, token, ws)
}

/// The phone inbox with `voice` settings, its agents as members; auto-assignment off so the
/// caller's SMS conversation waits for whoever takes the call.
async fn phone_inbox(t: &TestApp, agents: &[i64], voice: Value) -> Value {
    let inbox = twilio_inbox(t, "sms").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": agents}),
    )
    .await;
    let set = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{}", inbox["id"])),
            Some(json!({"enable_auto_assignment": false, "voice": voice})),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    inbox
}

async fn a_queued_call_rings_agents_in_turn_and_the_one_who_takes_it_talks_with_the_caller(
    b: Backend,
) {
    let (t, voice) = app(b).await;
    let (ana, _, _ana_ws) = agent_at_work(&t, "ana@acme.test", ANA_PHONE).await;
    let (bruno, _, _bruno_ws) = agent_at_work(&t, "bruno@acme.test", BRUNO_PHONE).await;
    let team = t.post(&t.acc("/teams"), json!({"name": "Suporte"})).await;
    t.post(
        &t.acc(&format!("/teams/{}/team_members", team["id"])),
        json!({"user_ids": [ana, bruno]}),
    )
    .await;
    phone_inbox(
        &t,
        &[ana, bruno],
        json!({"menu": [{"digit": 1, "team_id": team["id"], "label": {"en": "support"}}],
               "queue_max_wait_seconds": 120, "agent_ring_seconds": 15, "record_calls": true}),
    )
    .await;
    twilio_post(
        &t,
        "/twilio/callback",
        &sms("SM1", CALLER, "My order is late"),
        None,
    )
    .await
    .expect(200);
    let conversation = t
        .eventually(WAIT, "the SMS conversation", || async {
            t.get(&t.acc("/conversations")).await["data"]["payload"][0]["id"].as_i64()
        })
        .await;

    let mut caller = voice.call(&voice_url(&t), Some(&status_url(&t)), CALLER, OUR_NUMBER);
    caller.ring().await;
    let Reached::Gather { .. } = caller.run().await else {
        panic!("the menu: {:?}", caller.said())
    };
    // The line records calls: callers are told before anyone answers.
    assert_eq!(
        caller.said()[1].1,
        "This call may be recorded.",
        "{:?}",
        caller.said()
    );
    caller.press("1").await;
    let Reached::Gather { .. } = caller.run().await else {
        panic!("the callback offer: {:?}", caller.said())
    };
    let Reached::Queued { name, .. } = caller.stay_silent().await else {
        panic!("the queue: {:?}", caller.said())
    };
    assert_eq!(name, format!("call-{}", caller.sid()));

    // The first look rings one agent of the team, from our number, for the ring time.
    let Reached::Queued { .. } = caller.wait(1, 0).await else {
        panic!("still waiting: {:?}", caller.said())
    };
    assert!(
        caller
            .said()
            .iter()
            .any(|(_, s)| s == "You are number 1 in line."),
        "{:?}",
        caller.said()
    );
    let placed = voice.placed();
    assert_eq!(placed.len(), 1, "{placed:?}");
    let first = placed[0].clone();
    assert!([ANA_PHONE, BRUNO_PHONE].contains(&first.to.as_str()));
    assert_eq!(first.from, OUR_NUMBER);
    assert_eq!(first.timeout, Some(15));
    assert!(first.status_events.contains(&"completed".to_owned()));
    // Another look while that phone rings rings nobody else.
    caller.wait(1, 8).await;
    assert_eq!(voice.placed().len(), 1, "one phone rings at a time");

    // A forged report on the agent's leg is refused; a real "no answer" moves the call on.
    let mut first_leg = voice.outbound(&first);
    first_leg.tamper_next(Tamper::WrongSignature);
    let forged = first_leg.status("no-answer", 1, None).await;
    assert!(matches!(forged.status, 401 | 403), "{}", forged.status);
    assert_eq!(voice.placed().len(), 1);
    let missed = first_leg.status("no-answer", 2, None).await;
    assert_eq!(missed.status, 204, "{}", missed.body);
    caller.wait(1, 16).await;
    let placed = voice.placed();
    assert_eq!(placed.len(), 2, "the next agent is rung: {placed:?}");
    let second = placed[1].clone();
    assert_ne!(second.to, first.to);
    let taker = if second.to == ANA_PHONE { ana } else { bruno };

    // The agent hears who calls and for which team, and takes the call with 1.
    let mut leg = voice.outbound(&second);
    leg.answer().await;
    let Reached::Gather { .. } = leg.run().await else {
        panic!("the whisper: {:?}", leg.said())
    };
    let heard: Vec<String> = leg.said().into_iter().map(|(_, s)| s).collect();
    assert!(
        heard.contains(&"A call from 5 5 1 1 9 8 7 6 5 4 3 2 1.".to_owned()),
        "{heard:?}"
    );
    assert!(heard.contains(&"For support.".to_owned()), "{heard:?}");
    leg.press("1").await;
    let Reached::Dialing { queue, .. } = leg.run().await else {
        panic!("bridging: {:?}", leg.said())
    };
    assert_eq!(queue.as_deref(), Some(name.as_str()));
    twilio_voice::bridge(&mut leg, &mut caller, 20).await;
    // Twilio will not hand the recording over when it announces it: it is fetched at the first
    // play instead.
    voice.set_recordings_fail(Some(503));
    let (agent_end, caller_end) = twilio_voice::end_bridge(&mut leg, &mut caller, 95).await;
    assert!(agent_end.error.is_none() || agent_end.status == 0);
    assert_eq!(caller_end.status, 200, "{}", caller_end.body);
    caller.status("completed", 3, Some(130)).await;
    leg.status("completed", 3, Some(100)).await;

    let call = t
        .eventually(WAIT, "the answered call", || async {
            calls(&t)
                .await
                .into_iter()
                .find(|c| c["outcome"] == "answered")
        })
        .await;
    assert_eq!(call["agent_id"], taker, "{call}");
    assert!(call["answered_at"].as_i64().is_some(), "{call}");
    assert_eq!(call["conversation_id"], conversation, "{call}");
    // The caller's conversation is the agent's now.
    let c = t
        .get(&t.acc(&format!("/conversations/{conversation}")))
        .await;
    assert_eq!(c["meta"]["assignee"]["id"], taker, "{c}");

    // The conversation was recorded from the answer: played through Throughline with the
    // agent's rights, the bytes Twilio served, never Twilio's address.
    let recording = call["recording_url"]
        .as_str()
        .unwrap_or_else(|| panic!("{call}"));
    assert_eq!(call["recording_duration"], 95, "{call}");
    assert!(
        !recording.contains("127.0.0.1"),
        "our own path: {recording}"
    );
    let play = |token: Option<String>| {
        let url = t.url(recording);
        async move {
            let mut req = reqwest::Client::new().get(url);
            if let Some(token) = token {
                req = req.header("api_access_token", token);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let kind = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            (
                status,
                kind,
                resp.bytes().await.unwrap_or_default().to_vec(),
            )
        }
    };
    let (status, ..) = play(Some(t.token.clone())).await;
    assert_eq!(
        status, 502,
        "Twilio still refuses it: said so, nothing kept"
    );
    voice.set_recordings_fail(None);
    let (status, kind, audio) = play(Some(t.token.clone())).await;
    assert_eq!((status, kind.as_str()), (200, "audio/mpeg"));
    assert_eq!(audio, twilio_voice::fake_mp3());
    // Kept now: played again without asking Twilio.
    voice.set_recordings_fail(Some(503));
    assert_eq!(
        play(Some(t.token.clone())).await.2,
        twilio_voice::fake_mp3()
    );
    voice.set_recordings_fail(None);
    assert_eq!(play(None).await.0, 401, "not without signing in");
    let timeline = t
        .get(&t.acc(&format!("/contacts/{}/timeline", call["contact_id"])))
        .await;
    let on_timeline = timeline["payload"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["kind"] == "call"))
        .cloned()
        .unwrap_or_else(|| panic!("{timeline}"));
    assert_eq!(on_timeline["recording_url"], recording, "{on_timeline}");
    assert_eq!(on_timeline["agent_id"], taker, "{on_timeline}");
    let (_, outsider) = t.agent("dora@acme.test", "agent").await;
    assert_eq!(
        play(Some(outsider)).await.0,
        404,
        "an agent of other inboxes does not hear it"
    );

    // The first agent's leg, picked up late, finds the call taken.
    let mut late = voice.outbound(&first);
    late.answer().await;
    let heard = late.run().await;
    assert!(
        matches!(heard, Reached::Hangup),
        "{heard:?} {:?}",
        late.said()
    );

    // The agent's phone is checked when saved.
    let (_, token) = t.agent("carla@acme.test", "agent").await;
    for bad in ["601 000 003", "+48", "call me"] {
        let a = t
            .call(
                "PUT",
                "/api/v1/profile",
                Some(&token),
                Some(json!({"phone_number": bad})),
            )
            .await;
        assert_eq!(a.status, 422, "{bad}: {:?}", a.body);
        assert!(a.body.to_string().contains("phone_number"), "{:?}", a.body);
    }
    let cleared = t
        .call(
            "PUT",
            "/api/v1/profile",
            Some(&token),
            Some(json!({"phone_number": "+48 601 000 003"})),
        )
        .await;
    assert_eq!(cleared.body["phone_number"], "+48601000003");
}

async fn a_call_nobody_takes_overflows_to_voicemail_and_one_hung_up_in_the_queue_is_abandoned(
    b: Backend,
) {
    let (t, voice) = app(b).await;
    let (ana, _, _ws) = agent_at_work(&t, "ana@acme.test", ANA_PHONE).await;
    phone_inbox(
        &t,
        &[ana],
        json!({"language": "pl", "queue_max_wait_seconds": 30}),
    )
    .await;

    // Twilio will not place the agent's call: the caller waits out the queue, then voicemail.
    voice.set_calls_fail(Some(500));
    let mut caller = voice.call(&voice_url(&t), Some(&status_url(&t)), CALLER, OUR_NUMBER);
    caller.ring().await;
    let Reached::Gather { .. } = caller.run().await else {
        panic!("no menu: the callback offer: {:?}", caller.said())
    };
    let Reached::Queued { .. } = caller.stay_silent().await else {
        panic!("then the queue: {:?}", caller.said())
    };
    let Reached::Queued { .. } = caller.wait(1, 0).await else {
        panic!("waiting: {:?}", caller.said())
    };
    assert!(voice.placed().is_empty());
    let Reached::Record { .. } = caller.wait(1, 31).await else {
        panic!("voicemail after the wait: {:?}", caller.said())
    };
    assert!(
        caller
            .said()
            .iter()
            .any(|(l, s)| l == "pl-PL" && s == "Niestety, wszyscy są nadal zajęci."),
        "{:?}",
        caller.said()
    );
    caller.record(12).await;
    caller.status("completed", 5, Some(50)).await;
    t.eventually(WAIT, "the voicemail", || async {
        calls(&t)
            .await
            .into_iter()
            .find(|c| c["outcome"] == "voicemail")
    })
    .await;

    // The next caller hangs up while the agent's phone rings: it stops, the call is abandoned.
    voice.set_calls_fail(None);
    let mut impatient = voice.call(
        &voice_url(&t),
        Some(&status_url(&t)),
        "+5511911112222",
        OUR_NUMBER,
    );
    impatient.ring().await;
    let Reached::Gather { .. } = impatient.run().await else {
        panic!("the callback offer: {:?}", impatient.said())
    };
    // A key that is not 2 goes on into the queue.
    impatient.press("5").await;
    let Reached::Queued { .. } = impatient.run().await else {
        panic!("the queue: {:?}", impatient.said())
    };
    impatient.wait(1, 0).await;
    let placed = voice.placed();
    assert_eq!(placed.len(), 1, "{placed:?}");
    assert_eq!(placed[0].to, ANA_PHONE);
    let left = impatient.hang_up_in_queue(9).await;
    assert_eq!(left.status, 200, "{}", left.body);
    assert!(
        voice
            .hung_up_by_api()
            .iter()
            .any(|(sid, _)| *sid == placed[0].sid),
        "the agent's phone stops ringing: {:?}",
        voice.hung_up_by_api()
    );
    impatient.status("completed", 4, Some(15)).await;
    let abandoned = t
        .eventually(WAIT, "the abandoned call", || async {
            calls(&t)
                .await
                .into_iter()
                .find(|c| c["outcome"] == "abandoned")
        })
        .await;
    assert!(abandoned["agent_id"].is_null(), "{abandoned}");
    // A leg URL naming a call of nobody's is not found.
    let other = t.url(&format!(
        "/twilio/voice/agent/{}?call=999999&leg=1",
        digits()
    ));
    let mut nowhere = voice.call(&other, None, OUR_NUMBER, ANA_PHONE);
    assert_eq!(nowhere.ring().await.status, 404);
}

async fn callers_ask_to_be_called_back_and_an_agent_calls_them_with_one_click(b: Backend) {
    let (t, voice) = app(b).await;
    let (ana, ana_token, _at_work) = agent_at_work(&t, "ana@acme.test", ANA_PHONE).await;
    let (bruno, bruno_token) = t.agent("bruno@acme.test", "agent").await;
    let line = phone_inbox(&t, &[ana, bruno], json!({"language": "pt-BR"})).await;
    twilio_post(
        &t,
        "/twilio/callback",
        &sms("SM1", CALLER, "Pode me ligar?"),
        None,
    )
    .await
    .expect(200);
    let conversation = t
        .eventually(WAIT, "the SMS conversation", || async {
            t.get(&t.acc("/conversations")).await["data"]["payload"][0]["id"].as_i64()
        })
        .await;
    // Ana is at work, so the caller is offered the queue — and a callback instead.
    let mut caller = voice.call(&voice_url(&t), Some(&status_url(&t)), CALLER, OUR_NUMBER);
    caller.ring().await;
    let Reached::Gather { .. } = caller.run().await else {
        panic!("the callback offer: {:?}", caller.said())
    };
    caller.press("2").await;
    assert_eq!(caller.run().await, Reached::Hangup);
    assert!(
        caller
            .said()
            .iter()
            .any(|(l, s)| l == "pt-BR" && s.starts_with("Obrigado. Retornaremos")),
        "{:?}",
        caller.said()
    );
    caller.status("completed", 2, Some(20)).await;
    let asked = t
        .eventually(WAIT, "the call's outcome", || async {
            calls(&t)
                .await
                .into_iter()
                .find(|c| c["outcome"] == "callback")
        })
        .await;
    let waiting = t.get(&t.acc("/callback_requests")).await["payload"].clone();
    assert_eq!(waiting.as_array().map(Vec::len), Some(1), "{waiting}");
    let from_ivr = waiting[0].clone();
    assert_eq!(from_ivr["source"], "ivr");
    assert_eq!(from_ivr["phone_number"], CALLER);
    assert_eq!(from_ivr["conversation_id"], conversation);
    assert_eq!(from_ivr["from_call_id"], asked["id"]);
    assert_eq!(from_ivr["inbox_id"], line["id"]);

    // A visitor asks in the website widget; asking twice keeps one request.
    let site = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://acme.test"}}),
        )
        .await;
    let ident = site["inbox_identifier"].as_str().unwrap().to_owned();
    let config = t
        .call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert!(config["web_calls"].is_null(), "not offered yet: {config}");
    let visitor = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts"),
            None,
            Some(json!({"name": "Visitante"})),
        )
        .await
        .expect(200);
    let source_id = visitor["source_id"].as_str().unwrap().to_owned();
    let ask = format!("/public/api/v1/inboxes/{ident}/contacts/{source_id}/callback_requests");
    let not_offered = t
        .call(
            "POST",
            &ask,
            None,
            Some(json!({"phone_number": "+48500600700"})),
        )
        .await;
    assert_eq!(not_offered.status, 422, "{:?}", not_offered.body);
    let offered = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{}", site["id"])),
            Some(json!({"channel": {"web_calls": {"callbacks": true}}})),
        )
        .await;
    assert_eq!(offered.status, 200, "{:?}", offered.body);
    let config = t
        .call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(
        config["web_calls"],
        json!({"calls": false, "video": false, "callbacks": true})
    );
    let bad = t
        .call("POST", &ask, None, Some(json!({"phone_number": "12"})))
        .await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);
    let tomorrow = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 86_400;
    let first = t
        .call(
            "POST",
            &ask,
            None,
            Some(json!({"phone_number": "+48 500 600 700", "preferred_at": tomorrow, "note": "<b>po 15</b>"})),
        )
        .await
        .expect(200);
    assert_eq!(first["phone_number"], "+48500600700");
    assert_eq!(first["status"], "waiting");
    let again = t
        .call(
            "POST",
            &ask,
            None,
            Some(json!({"phone_number": "+48500600700"})),
        )
        .await
        .expect(200);
    assert_eq!(again["id"], first["id"]);
    let nobody = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts/nobody/callback_requests"),
            None,
            Some(json!({"phone_number": "+48500600700"})),
        )
        .await;
    assert_eq!(nobody.status, 404);

    // An agent notes one for a number; bad input is named.
    for (body, field) in [
        (json!({"phone_number": "call me"}), "phone_number"),
        (
            json!({"phone_number": "+48601222333", "preferred_at": 5}),
            "preferred_at",
        ),
        (json!({}), "phone_number"),
    ] {
        let a = t
            .admin("POST", &t.acc("/callback_requests"), Some(body.clone()))
            .await;
        assert_eq!(a.status, 422, "{body}: {:?}", a.body);
        assert!(a.body.to_string().contains(field), "{body}: {:?}", a.body);
    }
    let noted = t
        .post(
            &t.acc("/callback_requests"),
            json!({"phone_number": "+48601222333", "note": "Wants the invoice explained"}),
        )
        .await;
    assert_eq!(noted["source"], "agent");
    // The waiting, in the order they are due: the caller (earliest), the agent's note (now),
    // the visitor's (tomorrow).
    let order: Vec<Value> = t.get(&t.acc("/callback_requests")).await["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(
        order,
        vec![
            from_ivr["id"].clone(),
            noted["id"].clone(),
            first["id"].clone()
        ]
    );

    // Calling back needs the agent's own phone (rung first); an agent outside the line's inbox
    // does not see the request at all.
    let (_, carla_token) = t.agent("carla@acme.test", "agent").await;
    let outside = t
        .call(
            "GET",
            &t.acc("/callback_requests"),
            Some(&carla_token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(outside["payload"], json!([]));
    let no_phone = t
        .call(
            "POST",
            &t.acc("/calls"),
            Some(&bruno_token),
            Some(json!({"callback_request_id": from_ivr["id"]})),
        )
        .await;
    assert_eq!(no_phone.status, 422, "{:?}", no_phone.body);
    assert!(voice.placed().is_empty());

    // One click: Ana's phone rings, she picks up and the caller is dialled from our number.
    let placed_call = t
        .call(
            "POST",
            &t.acc("/calls"),
            Some(&ana_token),
            Some(json!({"callback_request_id": from_ivr["id"]})),
        )
        .await
        .expect(200);
    assert_eq!(placed_call["direction"], "outbound");
    assert_eq!(placed_call["agent_id"], ana);
    assert_eq!(placed_call["to_number"], CALLER);
    assert_eq!(placed_call["conversation_id"], conversation);
    let twice = t
        .call(
            "POST",
            &t.acc("/calls"),
            Some(&ana_token),
            Some(json!({"callback_request_id": from_ivr["id"]})),
        )
        .await;
    assert_eq!(twice.status, 409, "called once: {:?}", twice.body);
    let placed = voice.placed();
    assert_eq!(placed.len(), 1, "{placed:?}");
    assert_eq!(placed[0].to, ANA_PHONE);
    assert_eq!(placed[0].from, OUR_NUMBER);
    let mut leg = voice.outbound(&placed[0]);
    leg.answer().await;
    let Reached::Dialing {
        numbers, caller_id, ..
    } = leg.run().await
    else {
        panic!("dialling the customer: {:?}", leg.said())
    };
    assert_eq!(numbers, vec![CALLER.to_owned()]);
    assert_eq!(caller_id.as_deref(), Some(OUR_NUMBER));
    assert!(
        leg.said()
            .iter()
            .any(|(_, s)| s == "Ligando para 5 5 1 1 9 8 7 6 5 4 3 2 1."),
        "{:?}",
        leg.said()
    );
    leg.dial_ends("completed", Some(80)).await;
    leg.status("completed", 3, Some(95)).await;
    let done = t
        .eventually(WAIT, "the callback answered", || async {
            calls(&t)
                .await
                .into_iter()
                .find(|c| c["direction"] == "outbound" && c["outcome"] == "answered")
        })
        .await;
    assert_eq!(done["agent_id"], ana);
    assert_eq!(done["duration"], 95);
    let called = t.get(&t.acc("/callback_requests?status=called")).await["payload"][0].clone();
    assert_eq!(called["id"], from_ivr["id"]);
    assert_eq!(called["call_id"], done["id"]);

    // A request withdrawn is not called; only canceling is done by hand.
    let cancel = t.acc(&format!("/callback_requests/{}", noted["id"]));
    let wrong = t
        .admin("PATCH", &cancel, Some(json!({"status": "called"})))
        .await;
    assert_eq!(wrong.status, 422);
    let canceled = t
        .admin("PATCH", &cancel, Some(json!({"status": "canceled"})))
        .await;
    assert_eq!(canceled.body["status"], "canceled", "{:?}", canceled.body);
    assert_eq!(
        t.admin("PATCH", &cancel, Some(json!({"status": "canceled"})))
            .await
            .status,
        409
    );

    // Twilio refusing the call is the agent's to read; nothing is recorded.
    voice.set_calls_fail(Some(400));
    let refused = t
        .call(
            "POST",
            &t.acc("/calls"),
            Some(&ana_token),
            Some(json!({"callback_request_id": first["id"]})),
        )
        .await;
    assert_eq!(refused.status, 502, "{:?}", refused.body);
    assert_eq!(
        t.get(&t.acc("/callback_requests")).await["payload"][0]["id"],
        first["id"],
        "still waiting"
    );
}

const MODEL_KEY: &str = "sk-test-voicemail";
const POLISH_CALLER: &str = "+48601234567";

/// The account's AI assistant at `model`, allowed to be sent the customer data of `inboxes`.
async fn assistant(t: &TestApp, model: &FakeModel, inboxes: &[&Value]) -> Value {
    let ids: Vec<Value> = inboxes.iter().map(|i| i["id"].clone()).collect();
    t.post(
        &t.acc("/integrations/hooks"),
        json!({"hook": {"app_id": "openai", "settings": {"api_key": MODEL_KEY,
            "base_url": model.base_url(), "model": "fake-chat", "customer_data_inbox_ids": ids}}}),
    )
    .await
}

/// A call from `from` to the number of `digits` that nobody takes: it goes on to voicemail and
/// the caller speaks for `seconds`. The call's SID.
async fn leave_voicemail(
    t: &TestApp,
    voice: &FakeTwilioVoice,
    digits: &str,
    from: &str,
    seconds: u32,
) -> String {
    let mut call = voice.call(
        &t.url(&format!("/twilio/voice/call/{digits}")),
        Some(&t.url(&format!("/twilio/voice/status/{digits}"))),
        from,
        &format!("+{digits}"),
    );
    assert_eq!(call.ring().await.status, 200);
    let Reached::Record { .. } = call.run().await else {
        panic!("voicemail: {:?}", call.said())
    };
    let (_, callback) = call.record(seconds).await;
    assert!((200..300).contains(&callback.status), "{}", callback.body);
    call.sid().to_owned()
}

/// The voicemail message the call `sid` left, as agents read it.
async fn voicemail_of(t: &TestApp, sid: &str) -> Value {
    let call = calls(t)
        .await
        .into_iter()
        .find(|c| c["call_sid"] == sid)
        .expect("the call is recorded");
    let messages = t
        .get(&t.acc(&format!(
            "/conversations/{}/messages",
            call["conversation_id"]
        )))
        .await;
    messages["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == call["voicemail_message_id"])
        .cloned()
        .expect("the voicemail is on the call's conversation")
}

/// The voicemail of call `sid` once it carries a transcript.
async fn transcribed(t: &TestApp, sid: &str) -> Value {
    t.eventually(WAIT, "the voicemail's transcript", || async {
        let m = voicemail_of(t, sid).await;
        m["content_attributes"]["voice_call"]["transcript"]
            .is_string()
            .then_some(m)
    })
    .await
}

/// Whether no voicemail waits for the model any more (given up or done).
async fn nothing_waits_for_the_model(t: &TestApp) -> bool {
    let mut conn = t.app.store.read().await.unwrap();
    throughline_store::transcriptions::next_due_unscoped(&mut conn)
        .await
        .unwrap()
        .is_none()
}

async fn a_voicemail_is_transcribed_in_the_language_the_caller_heard(b: Backend) {
    let (t, voice) = app(b).await;
    let model = FakeModel::start().await.with_key(MODEL_KEY);
    let said = "Olá, aqui é a Maria Souza. Quero trocar o tamanho da camiseta, por favor me \
                liguem de volta.";
    model.set_transcript(said);
    let inbox = twilio_inbox(&t, "sms").await;
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{}", inbox["id"])),
        Some(json!({"voice": {"language": "pt-BR"}})),
    )
    .await
    .expect(200);
    let hook = assistant(&t, &model, &[&inbox]).await;
    assert_eq!(
        hook["settings"]["transcription_model"], "whisper-1",
        "{hook}"
    );
    let rx = Receiver::start(receiver::Behaviour::Accept).await;
    t.post(
        &t.acc("/webhooks"),
        json!({"url": rx.url, "subscriptions": ["message_updated"]}),
    )
    .await;
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

    let sid = leave_voicemail(&t, &voice, &digits(), CALLER, 42).await;
    let voicemail = transcribed(&t, &sid).await;
    assert_eq!(
        voicemail["conversation_id"], conversation,
        "on the SMS conversation: {voicemail}"
    );
    assert_eq!(
        voicemail["content"],
        format!("🎙 Voicemail (0:42)\n\n{said}")
    );
    let call = &voicemail["content_attributes"]["voice_call"];
    assert_eq!(call["transcript"], said);
    assert_eq!(call["transcript_language"], "pt-BR");
    assert_eq!(
        (call["kind"].as_str(), call["duration_seconds"].as_i64()),
        (Some("voicemail"), Some(42))
    );
    assert_eq!(voicemail["attachments"][0]["file_type"], "audio");

    // The model was sent the recording Twilio served, once, with the IVR's language.
    let asked = model.transcription_requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].file, Some(twilio_voice::fake_mp3()));
    assert_eq!(
        asked[0].file_name.as_deref(),
        Some(format!("voicemail-{sid}.mp3").as_str())
    );
    assert_eq!(asked[0].content_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(asked[0].field("model"), Some("whisper-1"));
    assert_eq!(asked[0].field("language"), Some("pt"));
    assert_eq!(asked[0].field("response_format"), Some("json"));
    let sent = model
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/audio/transcriptions")
        .unwrap();
    assert_eq!(
        sent.authorization.as_deref(),
        Some(format!("Bearer {MODEL_KEY}").as_str())
    );

    // Integrations hear of the change, and search finds what was said.
    let updated = t
        .eventually(WAIT, "message_updated with the transcript", || async {
            rx.received().into_iter().map(|r| r.body).find(|b| {
                b["event"] == "message_updated"
                    && b["id"] == voicemail["id"]
                    && b["content_attributes"]["voice_call"]["transcript"] == said
            })
        })
        .await;
    assert_eq!(updated["content"], voicemail["content"]);
    let found = t.get(&t.acc("/search?q=camiseta")).await;
    let ids: Vec<&Value> = found["payload"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(ids, [&voicemail["id"]], "{found}");
    let listed = t.get(&t.acc("/conversations?q=camiseta")).await;
    assert_eq!(listed["data"]["payload"][0]["id"], conversation, "{listed}");

    // Another speech-to-text model, named in the assistant's settings.
    t.admin(
        "PATCH",
        &t.acc(&format!("/integrations/hooks/{}", hook["id"])),
        Some(json!({"settings": {"transcription_model": "gpt-4o-transcribe"}})),
    )
    .await
    .expect(200);
    let again = leave_voicemail(&t, &voice, &digits(), CALLER, 5).await;
    transcribed(&t, &again).await;
    let asked = model.transcription_requests();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[1].field("model"), Some("gpt-4o-transcribe"));
}

/// A second Twilio number of the account, whose customer data the assistant may not be sent.
async fn second_line(t: &TestApp) -> (Value, String) {
    let number = "+14155550100";
    let inbox = t
        .post(
            &t.acc("/channels/twilio_channel"),
            json!({"twilio_channel": {"name": "Twilio backoffice", "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN, "phone_number": number, "medium": "sms"}}),
        )
        .await;
    (inbox, number.trim_start_matches('+').to_owned())
}

async fn a_polish_voicemail_is_transcribed_and_nothing_leaves_from_a_line_not_allowed(b: Backend) {
    let (t, voice) = app(b).await;
    let model = FakeModel::start().await;
    let said = "Dzień dobry, mówi Anna Kowalska. Moje zamówienie jeszcze nie dotarło, proszę o \
                kontakt.";
    model.set_transcript(said);
    // The line's IVR speaks the default English: no language is suggested to the model.
    let inbox = twilio_inbox(&t, "sms").await;
    let (closed_line, closed_digits) = second_line(&t).await;
    assistant(&t, &model, &[&inbox]).await;

    let not_sent = leave_voicemail(&t, &voice, &closed_digits, POLISH_CALLER, 7).await;
    let sid = leave_voicemail(&t, &voice, &digits(), POLISH_CALLER, 9).await;
    // The second voicemail's event comes after the first's: once it is transcribed, the first
    // was decided on.
    let voicemail = transcribed(&t, &sid).await;
    assert_eq!(
        voicemail["content"],
        format!("🎙 Voicemail (0:09)\n\n{said}")
    );
    assert_eq!(
        voicemail["content_attributes"]["voice_call"]["transcript_language"],
        "pl"
    );
    let asked = model.transcription_requests();
    assert_eq!(asked.len(), 1, "only the allowed line's voicemail was sent");
    assert_eq!(asked[0].field("language"), None);
    assert_eq!(asked[0].field("model"), Some("whisper-1"));
    assert_eq!(asked[0].file, Some(twilio_voice::fake_mp3()));

    let kept = voicemail_of(&t, &not_sent).await;
    assert_eq!(kept["inbox_id"], closed_line["id"]);
    assert_eq!(kept["content"], "🎙 Voicemail (0:07)");
    assert!(
        kept["content_attributes"]["voice_call"]
            .get("transcript")
            .is_none(),
        "{kept}"
    );
    assert!(nothing_waits_for_the_model(&t).await);
}

async fn a_model_that_was_down_transcribes_later_and_one_that_refuses_leaves_the_voicemail_as_it_was(
    b: Backend,
) {
    let (t, voice) = app(b).await;
    let model = FakeModel::start().await;
    let said = "Oi, é o João. Recebi o produto errado, me liguem por favor.";
    model.set_transcript(said);
    let inbox = twilio_inbox(&t, "sms").await;
    assistant(&t, &model, &[&inbox]).await;

    // The recording is not handed over at first, and the model is down, then busy, then
    // back: the transcript waits for the file, then is asked for again until it comes.
    voice.set_recordings_fail(Some(500));
    model.fail_next_transcriptions(&[500, 429]);
    let sid = leave_voicemail(&t, &voice, &digits(), CALLER, 12).await;
    let waiting = voicemail_of(&t, &sid).await;
    assert!(
        waiting["content_attributes"]["media_pending"].is_array(),
        "{waiting}"
    );
    assert!(
        model.transcription_requests().is_empty(),
        "nothing to send yet"
    );
    voice.set_recordings_fail(None);
    let voicemail = transcribed(&t, &sid).await;
    assert!(voice.downloads().len() >= 2, "fetched again");
    assert_eq!(
        voicemail["content"],
        format!("🎙 Voicemail (0:12)\n\n{said}")
    );
    let asked = model.transcription_requests();
    assert_eq!(asked.len(), 3, "two failures and the answer");
    assert!(
        asked
            .iter()
            .all(|r| r.file == Some(twilio_voice::fake_mp3()))
    );

    // A request the provider refuses is not asked again; the voicemail stays as it was.
    model.set_transcription_behaviour(Behaviour::Status(400));
    let refused = leave_voicemail(&t, &voice, &digits(), CALLER, 7).await;
    model.wait_for_requests(4, WAIT).await;
    t.eventually(WAIT, "the refused voicemail given up", || async {
        nothing_waits_for_the_model(&t).await.then_some(())
    })
    .await;
    assert_eq!(model.transcription_requests().len(), 4, "not asked again");
    let kept = voicemail_of(&t, &refused).await;
    assert_eq!(kept["content"], "🎙 Voicemail (0:07)");
    assert!(
        kept["content_attributes"]["voice_call"]
            .get("transcript")
            .is_none(),
        "{kept}"
    );
    assert_eq!(
        kept["content_attributes"]["voice_call"]["call_sid"],
        refused
    );
    assert_eq!(kept["attachments"][0]["file_type"], "audio", "{kept}");
    // The earlier transcript is untouched.
    assert_eq!(
        voicemail_of(&t, &sid).await["content_attributes"]["voice_call"]["transcript"],
        said
    );
}
