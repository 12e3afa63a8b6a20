//! `throughline demo`: a realistic, seeded sample — website, WhatsApp and email inboxes,
//! agents, teams, labels, canned responses, and a few hundred contacts in English, Brazilian
//! Portuguese and Polish, spread over the last four weeks. Some customers move between
//! channels within one conversation while their orders, payments and deliveries happen in
//! between; some contacts are probably the same person and wait as merge suggestions.

use anyhow::Context;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use throughline_core::conversation::{Priority, Status, StatusRequest};
use throughline_core::crypto;
use throughline_core::identity::AddressKind;
use throughline_core::linking::Reason;
use throughline_core::message::{DeliveryStatus, MessageType, SenderType};
use throughline_core::model::{ChannelType, Conversation, Inbox};
use throughline_core::role::Role;
use throughline_store::business_events::{self, NewBusinessEvent};
use throughline_store::contacts::{self, NewContact, NewIdentity};
use throughline_store::conversations::{self, NewConversation};
use throughline_store::email::{EmailChannel, ImapConfig, SmtpConfig};
use throughline_store::inboxes::{self, NewInbox};
use throughline_store::messages::{self, NewMessage};
use throughline_store::{
    AccountScope, Store, Tx, accounts, auth, canned, labels, now_ms, settings, suggestions, teams,
};

mod journeys;
mod text;

use journeys::{Channel, DAY, Happening, JOURNEYS, Order, Step, journey};
pub(crate) use text::{Lang, person, script};
use text::{email_subject, new_number};

pub struct DemoSummary {
    pub account_id: i64,
    pub contacts: usize,
    pub conversations: usize,
    pub messages: usize,
    pub agent_password: String,
}

const DEMO_MARK: &str = "demo_account_id";
const SUPPORT_EMAIL: &str = "support@acme.example";
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = DAY * MINUTE_MS;
/// Every so many contacts, one is probably someone already known (a merge suggestion).
const DUPLICATE_EVERY: usize = 15;
const DUPLICATE_AT: usize = 7;

/// One language's inboxes, team and agent.
struct Market {
    web: Inbox,
    whatsapp: Inbox,
    team: i64,
    agent: i64,
}

/// A contact being written and the identities it has so far.
struct Customer {
    id: i64,
    lang: Lang,
    first_name: String,
    email: Option<String>,
    phone: Option<String>,
    identities: Vec<(Channel, i64)>,
}

/// What a customer wrote, where and when.
struct Said<'a> {
    channel: Channel,
    text: String,
    at: i64,
    /// An email's subject.
    subject: &'a str,
}

/// A contact with its own details, whom a later contact may duplicate.
#[derive(Clone)]
struct Original {
    id: i64,
    lang: Lang,
    name: String,
    email: String,
}

struct Loader {
    scope: AccountScope,
    rng: StdRng,
    now: i64,
    email: Inbox,
    /// By `Lang::index`.
    markets: Vec<Market>,
    events: usize,
    conversations: usize,
    messages: usize,
}

impl Loader {
    fn market(&self, lang: Lang) -> &Market {
        &self.markets[lang.index()]
    }

    fn inbox(&self, lang: Lang, channel: Channel) -> &Inbox {
        match channel {
            Channel::Web => &self.market(lang).web,
            Channel::WhatsApp => &self.market(lang).whatsapp,
            Channel::Email => &self.email,
        }
    }

    /// Most customers chat on the website, many on WhatsApp, fewer write emails.
    fn any_channel(&mut self) -> Channel {
        match self.rng.random_range(0..10) {
            0..=4 => Channel::Web,
            5..=7 => Channel::WhatsApp,
            _ => Channel::Email,
        }
    }

    /// A website visitor's id, as a browser would make it, but from the seed.
    fn visitor_id(&mut self) -> String {
        let h = format!("{:032x}", self.rng.random::<u128>());
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    /// The inbox and identity the customer writes through on `channel`, made on first use.
    async fn route(
        &mut self,
        tx: &mut Tx,
        customer: &mut Customer,
        channel: Channel,
    ) -> anyhow::Result<(i64, i64)> {
        let inbox_id = self.inbox(customer.lang, channel).id;
        if let Some((_, id)) = customer.identities.iter().find(|(c, _)| *c == channel) {
            return Ok((inbox_id, *id));
        }
        // As the channels would record them: WhatsApp proves the number, a From header proves
        // nothing, and a visitor is only their browser's id.
        let (source_id, address, proven) = match channel {
            Channel::Web => (self.visitor_id(), None, false),
            Channel::Email => {
                let email = customer
                    .email
                    .clone()
                    .context("an email needs an address")?;
                (email.clone(), Some((AddressKind::Email, email)), false)
            }
            Channel::WhatsApp => {
                let phone = customer.phone.clone().context("WhatsApp needs a number")?;
                (phone.clone(), Some((AddressKind::WhatsApp, phone)), true)
            }
        };
        let identity = contacts::create_identity(
            tx,
            &self.scope,
            NewIdentity {
                contact_id: customer.id,
                inbox: self.inbox(customer.lang, channel),
                source_id: Some(source_id),
                address,
                hmac_verified: false,
                address_proven: proven,
            },
        )
        .await?;
        customer.identities.push((channel, identity.id));
        Ok((inbox_id, identity.id))
    }

    async fn open(
        &mut self,
        tx: &mut Tx,
        customer: &mut Customer,
        channel: Channel,
        at: i64,
        subject: &str,
    ) -> anyhow::Result<Conversation> {
        let (inbox_id, identity_id) = self.route(tx, customer, channel).await?;
        let (team, agent) = {
            let m = self.market(customer.lang);
            (m.team, m.agent)
        };
        let mut new = NewConversation::open(customer.id, inbox_id, Some(identity_id));
        new.created_at = Some(at);
        new.team_id = Some(team);
        new.assignee_id = self.rng.random_bool(0.7).then_some(agent);
        new.additional_attributes = match channel {
            Channel::Web => json!({ "browser_language": customer.lang.browser_language() }),
            Channel::Email => json!({ "mail_subject": subject, "source": "email" }),
            Channel::WhatsApp => json!({}),
        };
        let conversation = conversations::create(tx, &self.scope, new).await?;
        self.conversations += 1;
        Ok(conversation)
    }

    async fn customer_says(
        &mut self,
        tx: &mut Tx,
        conversation: Conversation,
        customer: &mut Customer,
        said: Said<'_>,
    ) -> anyhow::Result<Conversation> {
        let (inbox_id, identity_id) = self.route(tx, customer, said.channel).await?;
        let mut m = NewMessage::text(MessageType::Incoming, said.text);
        m.sender = Some((SenderType::Contact, customer.id));
        m.inbox_id = Some(inbox_id);
        m.identity_id = Some(identity_id);
        m.created_at = Some(said.at);
        if said.channel == Channel::Email {
            m.content_attributes = json!({ "email": {
                "subject": said.subject, "from": [customer.email], "to": [SUPPORT_EMAIL],
            }});
        }
        let created = messages::create(tx, &self.scope, &conversation, m).await?;
        self.messages += 1;
        Ok(created.conversation)
    }

    /// The reply names no inbox, so it takes the channel the customer last wrote on
    /// (`channel`), as an agent's reply does by default.
    async fn agent_says(
        &mut self,
        tx: &mut Tx,
        conversation: Conversation,
        customer: &Customer,
        channel: Channel,
        text: String,
        at: i64,
    ) -> anyhow::Result<Conversation> {
        let agent = conversation
            .assignee_id
            .unwrap_or(self.market(customer.lang).agent);
        let mut m = NewMessage::text(MessageType::Outgoing, text);
        m.sender = Some((SenderType::User, agent));
        m.created_at = Some(at);
        // These replies reached the customer long ago. Marked so, they also stay so when an
        // instance that ran before the demo was loaded replays its events and tries to send
        // them through inboxes with no mail server or provider (only a reply still `sent`
        // becomes `failed`).
        m.status = match channel {
            Channel::Web => DeliveryStatus::Sent,
            Channel::WhatsApp => DeliveryStatus::Read,
            Channel::Email => DeliveryStatus::Delivered,
        };
        let created = messages::create(tx, &self.scope, &conversation, m).await?;
        self.messages += 1;
        Ok(created.conversation)
    }

    /// Records what the shop's systems would have posted, unless it is still to happen.
    async fn happens(
        &mut self,
        tx: &mut Tx,
        customer: &Customer,
        what: Happening,
        order: &Order,
        at: i64,
    ) -> anyhow::Result<()> {
        if at > self.now {
            return Ok(());
        }
        self.events += 1;
        let event = NewBusinessEvent {
            external_id: format!("demo-{:06}", self.events),
            event_type: what.event_type().to_owned(),
            title: Some(what.title(customer.lang, order.number)),
            properties: what.properties(customer.lang, order),
            occurred_at: Some(at),
        };
        business_events::record_event(tx, &self.scope, customer.id, event).await?;
        Ok(())
    }

    async fn finish(
        &mut self,
        tx: &mut Tx,
        conversation: Conversation,
        label: Option<&str>,
        resolved: bool,
    ) -> anyhow::Result<()> {
        if let Some(label) = label {
            conversations::set_labels(tx, &self.scope, &conversation, &[label.to_owned()]).await?;
        }
        let mut conversation = conversation;
        if self.rng.random_bool(0.15) {
            let priority = [Priority::High, Priority::Urgent, Priority::Medium]
                .choose(&mut self.rng)
                .copied()
                .unwrap_or(Priority::High);
            conversation =
                conversations::set_priority(tx, &self.scope, &conversation, Some(priority)).await?;
        }
        let status = if resolved {
            Some(Status::Resolved)
        } else {
            self.rng.random_bool(0.1).then_some(Status::Pending)
        };
        if let Some(status) = status {
            conversations::set_status(
                tx,
                &self.scope,
                &conversation,
                StatusRequest::Set {
                    status,
                    snoozed_until: None,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// A conversation on one channel about one of `script`'s topics, after the order it is
    /// about was placed.
    async fn single(
        &mut self,
        tx: &mut Tx,
        customer: &mut Customer,
        channel: Channel,
    ) -> anyhow::Result<()> {
        let lang = customer.lang;
        let started =
            self.now - self.rng.random_range(0..28 * DAY_MS) - self.rng.random_range(0..DAY_MS);
        let topic = self.rng.random_range(0..4);
        let order = Order::new(&mut self.rng, lang);
        match topic {
            0 => {
                let placed = started - self.rng.random_range(3 * DAY_MS..6 * DAY_MS);
                let shipped = started - self.rng.random_range(DAY_MS..2 * DAY_MS);
                self.happens(tx, customer, Happening::OrderPlaced, &order, placed)
                    .await?;
                self.happens(tx, customer, Happening::OrderShipped, &order, shipped)
                    .await?;
            }
            1 | 3 => {
                let placed = started - self.rng.random_range(10 * MINUTE_MS..2 * DAY_MS);
                self.happens(tx, customer, Happening::OrderPlaced, &order, placed)
                    .await?;
            }
            _ => {}
        }
        let subject = email_subject(lang, topic, order.number);
        let mut conversation = self.open(tx, customer, channel, started, &subject).await?;
        let length = self.rng.random_range(1..=4);
        let (mut at, mut written) = (started, 0);
        for (i, line) in script(lang, topic, order.number)
            .into_iter()
            .take(length)
            .enumerate()
        {
            if i > 0 {
                at += self.rng.random_range(MINUTE_MS..60 * MINUTE_MS);
            }
            if at > self.now {
                break;
            }
            conversation = if i % 2 == 0 {
                let said = Said {
                    channel,
                    text: line,
                    at,
                    subject: &subject,
                };
                self.customer_says(tx, conversation, customer, said).await?
            } else {
                self.agent_says(tx, conversation, customer, channel, line, at)
                    .await?
            };
            written += 1;
        }
        let resolved = written == 4 || self.rng.random_bool(0.3);
        if topic == 0 && resolved {
            let delivered = at + self.rng.random_range(2 * 60 * MINUTE_MS..DAY_MS);
            self.happens(tx, customer, Happening::OrderDelivered, &order, delivered)
                .await?;
        }
        let label = ["delivery", "billing", "bug", "delivery"][topic];
        self.finish(tx, conversation, Some(label), resolved).await
    }

    /// One conversation across channels with the order's events in between. It started long
    /// enough ago that the customer has changed channel at least once; steps after now have
    /// not happened yet, and the conversation stays open.
    async fn journey(
        &mut self,
        tx: &mut Tx,
        customer: &mut Customer,
        which: usize,
    ) -> anyhow::Result<()> {
        let lang = customer.lang;
        let story = journey(lang, which);
        let order = Order::new(&mut self.rng, lang);
        let fill = |text: &str| {
            text.replace("{o}", &order.number.to_string())
                .replace("{first}", &customer.first_name)
        };
        let subject = fill(story.subject);
        let mut offsets = Vec::with_capacity(story.steps.len());
        let mut offset = 0;
        for (minutes, _) in &story.steps {
            let ms = minutes * MINUTE_MS;
            offset += ms * 3 / 4 + self.rng.random_range(0..=ms / 2);
            offsets.push(offset);
        }
        let second_message = story
            .steps
            .iter()
            .zip(&offsets)
            .filter(|((_, step), _)| matches!(step, Step::Says(..)))
            .nth(1)
            .map_or(0, |(_, at)| *at);
        let back = self.rng.random_range(
            second_message + MINUTE_MS..=(27 * DAY_MS).max(second_message + MINUTE_MS),
        );
        let start = self.now - back;
        let texts: Vec<String> = story
            .steps
            .iter()
            .map(|(_, step)| match step {
                Step::Says(_, t) | Step::Answers(t) => fill(t),
                Step::Happens(_) => String::new(),
            })
            .collect();
        let mut conversation: Option<Conversation> = None;
        let mut last_channel = Channel::Web;
        let mut complete = true;
        for (((_, step), offset), text) in story.steps.iter().zip(&offsets).zip(texts) {
            let at = start + offset;
            if at > self.now {
                complete = false;
                break;
            }
            conversation = Some(match *step {
                Step::Happens(what) => {
                    self.happens(tx, customer, what, &order, at).await?;
                    continue;
                }
                Step::Says(channel, _) => {
                    last_channel = channel;
                    let current = match conversation.take() {
                        Some(c) => c,
                        None => self.open(tx, customer, channel, at, &subject).await?,
                    };
                    let said = Said {
                        channel,
                        text,
                        at,
                        subject: &subject,
                    };
                    self.customer_says(tx, current, customer, said).await?
                }
                Step::Answers(_) => {
                    let current = conversation
                        .take()
                        .context("a journey's customer writes first")?;
                    self.agent_says(tx, current, customer, last_channel, text, at)
                        .await?
                }
            });
        }
        let conversation = conversation.context("a journey's customer has written")?;
        let resolved = complete && self.rng.random_bool(0.85);
        self.finish(tx, conversation, Some(story.label), resolved)
            .await
    }

    /// A contact who is probably `of` (a merge suggestion for an agent), in turn one of three
    /// ways such contacts appear.
    async fn duplicate(&mut self, tx: &mut Tx, n: usize, of: &Original) -> anyhow::Result<()> {
        let lang = of.lang;
        let first_name = of.name.split(' ').next().unwrap_or(&of.name).to_owned();
        let mut new = NewContact {
            additional_attributes: json!({ "country_code": lang.country() }),
            ..Default::default()
        };
        let (channel, reason) = match (n / DUPLICATE_EVERY) % 3 {
            // The same name, and the same address typed without its dots.
            0 => {
                let (local, domain) = of.email.split_once('@').unwrap_or((&of.email, ""));
                new.name = of.name.clone();
                new.email = Some(format!("{}@{domain}", local.replace('.', "")));
                (Channel::Email, Some(Reason::SimilarEmail))
            }
            // A website visitor who typed `of`'s address into the pre-chat form: that proves
            // nothing, so the address is only kept as claimed.
            1 => {
                new.name = first_name.clone();
                new.additional_attributes["claimed_email"] = json!(of.email);
                (Channel::Web, Some(Reason::SameAddressUnverified))
            }
            // A new WhatsApp number whose first message names `of`'s address: the message
            // raises the suggestion, as any customer's would.
            _ => {
                let surname = of.name.split(' ').nth(1).unwrap_or_default();
                let initial: String = surname.chars().take(1).collect();
                new.name = format!("{first_name} {initial}.");
                new.phone_number = Some(person(&mut self.rng, lang, n).2);
                (Channel::WhatsApp, None)
            }
        };
        let contact = contacts::create(tx, &self.scope, new).await?;
        let mut customer = Customer {
            id: contact.id,
            lang,
            first_name,
            email: contact.email,
            phone: contact.phone_number,
            identities: Vec::new(),
        };
        if let Some(reason) = reason {
            let detail = (reason == Reason::SameAddressUnverified).then_some(of.email.as_str());
            suggestions::suggest(tx, &self.scope, contact.id, of.id, reason, detail).await?;
            return self.single(tx, &mut customer, channel).await;
        }
        let at = self.now - self.rng.random_range(MINUTE_MS..20 * DAY_MS);
        let [text, answer] = new_number(lang, &of.email);
        let conversation = self.open(tx, &mut customer, channel, at, "").await?;
        let said = Said {
            channel,
            text,
            at,
            subject: "",
        };
        let conversation = self
            .customer_says(tx, conversation, &mut customer, said)
            .await?;
        let answered = (at + 7 * MINUTE_MS).min(self.now);
        let conversation = self
            .agent_says(tx, conversation, &customer, channel, answer, answered)
            .await?;
        self.finish(tx, conversation, None, true).await
    }
}

pub async fn load(store: &Store, contacts_wanted: usize, seed: u64) -> anyhow::Result<DemoSummary> {
    {
        let mut conn = store.read().await?;
        if let Some(id) = settings::get(&mut conn, DEMO_MARK).await? {
            anyhow::bail!("demo data is already loaded (account {id})");
        }
    }
    let rng = StdRng::seed_from_u64(seed);
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
    // No inbox has provider credentials or a mail server: nothing here calls out, and an
    // administrator can connect them later.
    let mut market_inboxes: Vec<(Inbox, Inbox)> = Vec::new();
    for (lang, web_name, whatsapp_name, country, timezone, title, tagline) in [
        (
            Lang::En,
            "Website (EN)",
            "WhatsApp UK",
            None,
            "Europe/London",
            "Hi there 👋",
            "We usually reply in a few minutes.",
        ),
        (
            Lang::Pt,
            "Loja online (BR)",
            "WhatsApp Brasil",
            Some("BR"),
            "America/Sao_Paulo",
            "Olá 👋",
            "Respondemos em poucos minutos.",
        ),
        (
            Lang::Pl,
            "Sklep internetowy (PL)",
            "WhatsApp Polska",
            Some("PL"),
            "Europe/Warsaw",
            "Dzień dobry 👋",
            "Zwykle odpowiadamy w kilka minut.",
        ),
    ] {
        let web = NewInbox {
            default_country: country.map(str::to_owned),
            settings: json!({
                "timezone": timezone,
                "website_url": "https://acme.example",
                "widget_color": "#1f93ff",
                "welcome_title": title,
                "welcome_tagline": tagline,
                "enable_email_collect": true,
            }),
            ..NewInbox::new(web_name, ChannelType::WebWidget)
        };
        let whatsapp = NewInbox {
            default_country: Some(lang.country().to_owned()),
            settings: json!({ "timezone": timezone }),
            ..NewInbox::new(whatsapp_name, ChannelType::Whatsapp)
        };
        let mut pair = Vec::new();
        for new in [web, whatsapp] {
            let inbox = inboxes::create(tx.conn(), store.key(), &scope, new).await?;
            inboxes::add_members(tx.conn(), store.key(), &scope, inbox.id, &agent_ids).await?;
            pair.push(inbox);
        }
        let whatsapp = pair.pop().context("demo WhatsApp inbox")?;
        let web = pair.pop().context("demo website inbox")?;
        market_inboxes.push((web, whatsapp));
    }
    let email_inbox = inboxes::create(
        tx.conn(),
        store.key(),
        &scope,
        NewInbox::new("Email", ChannelType::Email),
    )
    .await?;
    inboxes::add_members(tx.conn(), store.key(), &scope, email_inbox.id, &agent_ids).await?;
    throughline_store::email::save(
        tx.conn(),
        store.key(),
        &scope,
        &EmailChannel {
            inbox_id: email_inbox.id,
            account_id: account.id,
            email: SUPPORT_EMAIL.into(),
            signature: Some("Acme Lojas".into()),
            smtp: SmtpConfig::default(),
            imap: ImapConfig::default(),
        },
    )
    .await?;
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

    let markets = market_inboxes
        .into_iter()
        .zip([team_en.id, team_br.id, team_pl.id])
        .zip(agent_ids)
        .map(|(((web, whatsapp), team), agent)| Market {
            web,
            whatsapp,
            team,
            agent,
        })
        .collect();
    let mut loader = Loader {
        scope,
        rng,
        now: now_ms(),
        email: email_inbox,
        markets,
        events: 0,
        conversations: 0,
        messages: 0,
    };
    let mut originals: Vec<Original> = Vec::new();
    for n in 0..contacts_wanted {
        let mut tx = store.begin().await?;
        let twin = if n % DUPLICATE_EVERY == DUPLICATE_AT {
            originals.choose(&mut loader.rng).cloned()
        } else {
            None
        };
        if let Some(of) = twin {
            loader.duplicate(&mut tx, n, &of).await?;
            tx.commit().await?;
            continue;
        }
        let lang = match loader.rng.random_range(0..10) {
            0..=3 => Lang::Pt,
            4..=6 => Lang::Pl,
            _ => Lang::En,
        };
        let (name, email, phone) = person(&mut loader.rng, lang, n);
        let plan = ["free", "pro", "business"]
            .choose(&mut loader.rng)
            .copied()
            .unwrap_or("free");
        let contact = contacts::create(
            &mut tx,
            &loader.scope,
            NewContact {
                name: name.clone(),
                email: Some(email.clone()),
                phone_number: Some(phone.clone()),
                additional_attributes: json!({ "country_code": lang.country() }),
                custom_attributes: json!({ "plan": plan }),
                ..Default::default()
            },
        )
        .await?;
        let mut customer = Customer {
            id: contact.id,
            lang,
            first_name: name.split(' ').next().unwrap_or(&name).to_owned(),
            email: Some(email.clone()),
            phone: Some(phone),
            identities: Vec::new(),
        };
        let more = if loader.rng.random_bool(0.4) {
            let which = loader.rng.random_range(0..JOURNEYS);
            loader.journey(&mut tx, &mut customer, which).await?;
            loader.rng.random_range(0..=1)
        } else {
            loader.rng.random_range(1..=2)
        };
        for _ in 0..more {
            let channel = loader.any_channel();
            loader.single(&mut tx, &mut customer, channel).await?;
        }
        tx.commit().await?;
        originals.push(Original {
            id: contact.id,
            lang,
            name,
            email,
        });
    }
    Ok(DemoSummary {
        account_id: account.id,
        contacts: contacts_wanted,
        conversations: loader.conversations,
        messages: loader.messages,
        agent_password,
    })
}
