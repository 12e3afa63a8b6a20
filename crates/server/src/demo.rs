//! `throughline demo`: a realistic, seeded sample — inboxes, agents, teams, labels, canned
//! responses, and a few hundred contacts with conversations in English, Brazilian Portuguese
//! and Polish, spread over the last four weeks.

use anyhow::Context;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use throughline_core::conversation::{Priority, Status, StatusRequest};
use throughline_core::crypto;
use throughline_core::message::{MessageType, SenderType};
use throughline_core::model::{ChannelType, Inbox};
use throughline_core::role::Role;
use throughline_store::contacts::{self, NewContact, NewIdentity};
use throughline_store::conversations::{self, NewConversation};
use throughline_store::inboxes::{self, NewInbox};
use throughline_store::messages::{self, NewMessage};
use throughline_store::{
    AccountScope, Store, accounts, auth, canned, labels, now_ms, settings, teams,
};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Pt,
    Pl,
}

const EN_FIRST: &[&str] = &[
    "Emma", "Oliver", "Ava", "Liam", "Sophia", "Noah", "Mia", "James", "Grace", "Henry", "Chloe",
    "Jack",
];
const EN_LAST: &[&str] = &[
    "Clarke", "Turner", "Walsh", "Bennett", "Hughes", "Price", "Foster", "Reid", "Murphy", "Shaw",
];
const PT_FIRST: &[&str] = &[
    "Ana", "João", "Maria", "Pedro", "Juliana", "Lucas", "Beatriz", "Gabriel", "Larissa", "Rafael",
    "Camila", "Thiago",
];
const PT_LAST: &[&str] = &[
    "Souza",
    "Oliveira",
    "Santos",
    "Pereira",
    "Costa",
    "Rodrigues",
    "Almeida",
    "Ferreira",
    "Lima",
    "Carvalho",
];
const PL_FIRST: &[&str] = &[
    "Jan",
    "Anna",
    "Piotr",
    "Katarzyna",
    "Tomasz",
    "Magdalena",
    "Paweł",
    "Agnieszka",
    "Michał",
    "Zofia",
    "Łukasz",
    "Małgorzata",
];
const PL_LAST: &[&str] = &[
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "Wójcik",
    "Kamiński",
    "Lewandowski",
    "Zieliński",
    "Szymański",
    "Dąbrowski",
    "Kozłowski",
];

/// (customer opening, agent reply, customer follow-up, agent closing) per topic and language.
pub(crate) fn script(lang: Lang, topic: usize, order: u32) -> [String; 4] {
    let s: [&str; 4] = match (lang, topic) {
        (Lang::En, 0) => [
            "Hi, my order #{o} still hasn't arrived. It was due on Monday.",
            "Sorry about the wait! I checked #{o}: it is with the courier and should arrive tomorrow.",
            "Thanks. Can I get a tracking link?",
            "Of course, I've just emailed it to you. Anything else I can help with?",
        ],
        (Lang::En, 1) => [
            "I was charged twice for order #{o}.",
            "Thanks for letting us know. I can see the duplicate charge and have refunded it.",
            "How long until I see the money back?",
            "Refunds take 3 to 5 business days to appear on your statement.",
        ],
        (Lang::En, 2) => [
            "The app logs me out every time I open it.",
            "That shouldn't happen. Which phone and app version are you using?",
            "iPhone 13, version 4.2.1.",
            "Thanks! Version 4.2.2 fixes this; please update and let us know.",
        ],
        (Lang::En, _) => [
            "Can I change the delivery address for #{o}?",
            "Yes, as long as it hasn't shipped. What's the new address?",
            "221B Baker Street, London NW1 6XE.",
            "Done, #{o} will go to the new address.",
        ],
        (Lang::Pt, 0) => [
            "Olá, meu pedido #{o} ainda não chegou. Era para segunda-feira.",
            "Desculpe pela demora! Verifiquei o #{o}: está com a transportadora e deve chegar amanhã.",
            "Obrigada. Pode me mandar o código de rastreio?",
            "Claro, acabei de enviar por e-mail. Posso ajudar em mais alguma coisa?",
        ],
        (Lang::Pt, 1) => [
            "Fui cobrado duas vezes no pedido #{o}.",
            "Obrigado por avisar. Vi a cobrança duplicada e já fiz o estorno.",
            "Em quanto tempo o valor volta no cartão?",
            "O estorno aparece na fatura em até 2 ciclos, dependendo do banco.",
        ],
        (Lang::Pt, 2) => [
            "O aplicativo fecha sozinho quando tento pagar com Pix.",
            "Que chato! Qual é o modelo do celular e a versão do app?",
            "Samsung A54, versão 4.2.1.",
            "Obrigado! A versão 4.2.2 corrige isso; atualize e me conte se resolveu.",
        ],
        (Lang::Pt, _) => [
            "Posso trocar o endereço de entrega do pedido #{o}?",
            "Pode sim, se ainda não foi despachado. Qual é o novo endereço?",
            "Rua Augusta, 1500, apto 42, São Paulo - SP.",
            "Pronto, o pedido #{o} vai para o novo endereço.",
        ],
        (Lang::Pl, 0) => [
            "Dzień dobry, moje zamówienie #{o} wciąż nie dotarło.",
            "Przepraszamy za opóźnienie! Zamówienie #{o} jest u kuriera, dotrze jutro.",
            "Dziękuję. Czy mogę prosić o numer przesyłki?",
            "Oczywiście, właśnie wysłałem go e-mailem. Czy mogę jeszcze w czymś pomóc?",
        ],
        (Lang::Pl, 1) => [
            "Pobrano ode mnie dwa razy opłatę za zamówienie #{o}.",
            "Dziękujemy za zgłoszenie. Widzę podwójną płatność i zleciłem zwrot.",
            "Kiedy pieniądze wrócą na konto?",
            "Zwrot pojawi się na koncie w ciągu 3–5 dni roboczych.",
        ],
        (Lang::Pl, 2) => [
            "Aplikacja wylogowuje mnie przy każdym uruchomieniu.",
            "To nie powinno się zdarzać. Jaki to telefon i wersja aplikacji?",
            "Xiaomi 13, wersja 4.2.1.",
            "Dziękuję! Wersja 4.2.2 naprawia ten błąd, proszę zaktualizować.",
        ],
        (Lang::Pl, _) => [
            "Czy mogę zmienić adres dostawy zamówienia #{o}?",
            "Tak, jeśli jeszcze nie zostało wysłane. Jaki jest nowy adres?",
            "ul. Marszałkowska 10/4, 00-590 Warszawa.",
            "Gotowe, zamówienie #{o} trafi pod nowy adres.",
        ],
    };
    s.map(|t| t.replace("{o}", &order.to_string()))
}

/// A name, an email and a phone number; the number is unique per `n` (random ones collided
/// in samples of a few thousand contacts).
pub(crate) fn person(rng: &mut StdRng, lang: Lang, n: usize) -> (String, String, String) {
    let (first, last, domain, phone) = match lang {
        Lang::En => (
            EN_FIRST,
            EN_LAST,
            "mail.example",
            format!("+4477009{:05}", n % 100_000),
        ),
        Lang::Pt => (
            PT_FIRST,
            PT_LAST,
            "correio.example",
            format!("+55119{:08}", 10_000_000 + n % 89_999_999),
        ),
        Lang::Pl => (
            PL_FIRST,
            PL_LAST,
            "poczta.example",
            format!("+485{:08}", 10_000_000 + n % 89_999_999),
        ),
    };
    let f = first.choose(rng).copied().unwrap_or("Alex");
    let l = last.choose(rng).copied().unwrap_or("Doe");
    let local: String = format!("{f}.{l}.{n}")
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'ã' | 'á' | 'â' | 'ą' => 'a',
            'é' | 'ê' | 'ę' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' => 'u',
            'ç' | 'ć' => 'c',
            'ł' => 'l',
            'ń' => 'n',
            'ś' => 's',
            'ź' | 'ż' => 'z',
            other => other,
        })
        .collect();
    (format!("{f} {l}"), format!("{local}@{domain}"), phone)
}

pub struct DemoSummary {
    pub account_id: i64,
    pub contacts: usize,
    pub conversations: usize,
    pub messages: usize,
    pub agent_password: String,
}

const DEMO_MARK: &str = "demo_account_id";

pub async fn load(store: &Store, contacts_wanted: usize, seed: u64) -> anyhow::Result<DemoSummary> {
    {
        let mut conn = store.read().await?;
        if let Some(id) = settings::get(&mut conn, DEMO_MARK).await? {
            anyhow::bail!("demo data is already loaded (account {id})");
        }
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let agent_password = format!("demo-{}", crypto::random_token(6));
    let hash = {
        let p = agent_password.clone();
        tokio::task::spawn_blocking(move || crypto::hash_password(&p)).await??
    };

    let mut tx = store.begin().await?;
    let account = accounts::create_account(tx.conn(), "Acme Lojas (demo)", "en").await?;
    let scope = AccountScope::system(account.id);
    // The instance's first administrator can look at the demo.
    if let Some((first_admin, _)) =
        accounts::find_user_by_email_unscoped(tx.conn(), "admin@throughline.local").await?
    {
        accounts::add_member(
            tx.conn(),
            account.id,
            first_admin.id,
            Role::Administrator,
            None,
        )
        .await?;
    }
    let mut agent_ids = Vec::new();
    for (name, email, role) in [
        (
            "Emma Clarke",
            "emma.clarke@acme.example",
            Role::Administrator,
        ),
        ("Ana Souza", "ana.souza@acme.example", Role::Agent),
        ("Jan Kowalski", "jan.kowalski@acme.example", Role::Agent),
    ] {
        let user = match accounts::find_user_by_email_unscoped(tx.conn(), email).await? {
            Some((u, _)) => u,
            None => {
                let u = accounts::create_user(
                    tx.conn(),
                    accounts::NewUser {
                        email: email.into(),
                        name: name.into(),
                        display_name: None,
                        password_hash: Some(hash.clone()),
                        custom_attributes: json!({}),
                    },
                )
                .await?;
                auth::issue_token(tx.conn(), store.key(), auth::TokenOwner::User(u.id)).await?;
                u
            }
        };
        accounts::add_member(tx.conn(), account.id, user.id, role, None).await?;
        agent_ids.push(user.id);
    }
    let mut inbox_list: Vec<(Lang, Inbox)> = Vec::new();
    for (lang, name, country) in [
        (Lang::En, "Website (EN)", None),
        (Lang::Pt, "Loja online (BR)", Some("BR")),
        (Lang::Pl, "Sklep internetowy (PL)", Some("PL")),
    ] {
        let inbox = inboxes::create(
            tx.conn(),
            store.key(),
            &scope,
            NewInbox {
                default_country: country.map(str::to_owned),
                settings: json!({ "timezone": match lang { Lang::En => "Europe/London", Lang::Pt => "America/Sao_Paulo", Lang::Pl => "Europe/Warsaw" } }),
                ..NewInbox::new(name, ChannelType::Api)
            },
        )
        .await?;
        inboxes::add_members(tx.conn(), store.key(), &scope, inbox.id, &agent_ids).await?;
        inbox_list.push((lang, inbox));
    }
    for (title, color) in [
        ("billing", "#e0a800"),
        ("delivery", "#1f93ff"),
        ("bug", "#d9534f"),
        ("vip", "#8e44ad"),
        ("refund", "#2e8b57"),
    ] {
        labels::create(tx.conn(), &scope, title, None, color, true).await?;
    }
    let team_en = teams::create(
        tx.conn(),
        &scope,
        "support-en",
        Some("English-speaking customers"),
        true,
    )
    .await?;
    let team_br = teams::create(
        tx.conn(),
        &scope,
        "suporte-br",
        Some("Clientes do Brasil"),
        true,
    )
    .await?;
    let team_pl = teams::create(
        tx.conn(),
        &scope,
        "wsparcie-pl",
        Some("Klienci z Polski"),
        true,
    )
    .await?;
    for (team, agent) in [
        (&team_en, agent_ids[0]),
        (&team_br, agent_ids[1]),
        (&team_pl, agent_ids[2]),
    ] {
        teams::add_members(tx.conn(), &scope, team.id, &[agent]).await?;
    }
    for (code, content) in [
        (
            "hello",
            "Hi {{contact.name}}, thanks for reaching out! How can I help?",
        ),
        (
            "ola",
            "Olá {{contact.name}}, obrigado pelo contato! Como posso ajudar?",
        ),
        (
            "dzien-dobry",
            "Dzień dobry {{contact.name}}, dziękujemy za wiadomość! W czym mogę pomóc?",
        ),
        (
            "tracking",
            "You can follow your parcel here: https://track.example/{{order}}",
        ),
        (
            "estorno",
            "O estorno aparece na fatura em até 2 ciclos, dependendo do banco.",
        ),
        (
            "zwrot",
            "Zwrot pojawi się na koncie w ciągu 3–5 dni roboczych.",
        ),
    ] {
        canned::create(tx.conn(), &scope, code, content).await?;
    }
    settings::set(tx.conn(), DEMO_MARK, &account.id.to_string()).await?;
    tx.commit().await?;

    let now = now_ms();
    let day = 86_400_000i64;
    let (mut conversation_count, mut message_count) = (0usize, 0usize);
    for n in 0..contacts_wanted {
        let lang = match rng.random_range(0..10) {
            0..=3 => Lang::Pt,
            4..=6 => Lang::Pl,
            _ => Lang::En,
        };
        let (name, email, phone) = person(&mut rng, lang, n);
        let plan = ["free", "pro", "business"]
            .choose(&mut rng)
            .copied()
            .unwrap_or("free");
        let inbox = inbox_list
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, i)| i.clone())
            .context("demo inbox")?;
        let team = match lang {
            Lang::En => team_en.id,
            Lang::Pt => team_br.id,
            Lang::Pl => team_pl.id,
        };
        let agent = agent_ids[match lang {
            Lang::En => 0,
            Lang::Pt => 1,
            Lang::Pl => 2,
        }];
        let mut tx = store.begin().await?;
        let contact = contacts::create(
            &mut tx,
            &scope,
            NewContact {
                name,
                email: Some(email),
                phone_number: Some(phone),
                additional_attributes: json!({ "country_code": match lang { Lang::En => "GB", Lang::Pt => "BR", Lang::Pl => "PL" } }),
                custom_attributes: json!({ "plan": plan }),
                ..Default::default()
            },
        )
        .await?;
        let identity = contacts::create_identity(
            &mut tx,
            &scope,
            NewIdentity {
                contact_id: contact.id,
                inbox: &inbox,
                source_id: None,
                address: None,
                hmac_verified: false,
                address_proven: false,
            },
        )
        .await?;
        for _ in 0..rng.random_range(1..=2) {
            let started = now - rng.random_range(0..28 * day) - rng.random_range(0..day);
            let mut new = NewConversation::open(contact.id, inbox.id, Some(identity.id));
            new.created_at = Some(started);
            new.team_id = Some(team);
            new.assignee_id = rng.random_bool(0.7).then_some(agent);
            new.additional_attributes = json!({ "browser_language": match lang { Lang::En => "en", Lang::Pt => "pt-BR", Lang::Pl => "pl" } });
            let mut conv = conversations::create(&mut tx, &scope, new).await?;
            conversation_count += 1;
            let topic = rng.random_range(0..4);
            let lines = script(lang, topic, rng.random_range(10_000..99_999));
            let length = rng.random_range(1..=4);
            for (i, line) in lines.iter().take(length).enumerate() {
                let customer = i % 2 == 0;
                let mut m = NewMessage::text(
                    if customer {
                        MessageType::Incoming
                    } else {
                        MessageType::Outgoing
                    },
                    line.clone(),
                );
                m.sender = Some(if customer {
                    (SenderType::Contact, contact.id)
                } else {
                    (SenderType::User, agent)
                });
                m.created_at = Some(started + i as i64 * rng.random_range(60_000..3_600_000));
                if customer {
                    m.inbox_id = Some(inbox.id);
                    m.identity_id = Some(identity.id);
                }
                conv = messages::create(&mut tx, &scope, &conv, m)
                    .await?
                    .conversation;
                message_count += 1;
            }
            let label = ["delivery", "billing", "bug", "delivery"][topic];
            conversations::set_labels(&mut tx, &scope, &conv, &[label.to_owned()]).await?;
            if rng.random_bool(0.15) {
                conv = conversations::set_priority(
                    &mut tx,
                    &scope,
                    &conv,
                    Some(
                        [Priority::High, Priority::Urgent, Priority::Medium]
                            .choose(&mut rng)
                            .copied()
                            .unwrap_or(Priority::High),
                    ),
                )
                .await?;
            }
            if length == 4 || rng.random_bool(0.3) {
                conversations::set_status(
                    &mut tx,
                    &scope,
                    &conv,
                    StatusRequest::Set {
                        status: Status::Resolved,
                        snoozed_until: None,
                    },
                )
                .await?;
            } else if rng.random_bool(0.1) {
                conversations::set_status(
                    &mut tx,
                    &scope,
                    &conv,
                    StatusRequest::Set {
                        status: Status::Pending,
                        snoozed_until: None,
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
    }
    Ok(DemoSummary {
        account_id: account.id,
        contacts: contacts_wanted,
        conversations: conversation_count,
        messages: message_count,
        agent_password,
    })
}
