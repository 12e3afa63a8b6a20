//! The demo's cross-channel stories: a customer's messages on the website, WhatsApp and email
//! with their orders, payments and deliveries happening in between, in each language.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::text::Lang;

/// The channels a demo customer writes on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Channel {
    Web,
    WhatsApp,
    Email,
}

/// What the shop's own systems tell about a customer's order.
#[derive(Clone, Copy)]
pub(super) enum Happening {
    CartAbandoned,
    PaymentFailed,
    OrderPlaced,
    OrderShipped,
    OrderDelivered,
    ExchangeShipped,
}

impl Happening {
    pub(super) fn event_type(self) -> &'static str {
        match self {
            Happening::CartAbandoned => "cart_abandoned",
            Happening::PaymentFailed => "payment_failed",
            Happening::OrderPlaced => "order_placed",
            Happening::OrderShipped | Happening::ExchangeShipped => "order_shipped",
            Happening::OrderDelivered => "order_delivered",
        }
    }

    /// In the shop's language, as its systems would post it.
    pub(super) fn title(self, lang: Lang, order: u32) -> String {
        let t = match (lang, self) {
            (Lang::En, Happening::CartAbandoned) => "Cart abandoned",
            (Lang::En, Happening::PaymentFailed) => "Payment for order #{o} failed",
            (Lang::En, Happening::OrderPlaced) => "Order #{o} placed",
            (Lang::En, Happening::OrderShipped) => "Order #{o} shipped",
            (Lang::En, Happening::OrderDelivered) => "Order #{o} delivered",
            (Lang::En, Happening::ExchangeShipped) => "Exchange for order #{o} shipped",
            (Lang::Pt, Happening::CartAbandoned) => "Carrinho abandonado",
            (Lang::Pt, Happening::PaymentFailed) => "Pagamento do pedido #{o} recusado",
            (Lang::Pt, Happening::OrderPlaced) => "Pedido #{o} realizado",
            (Lang::Pt, Happening::OrderShipped) => "Pedido #{o} enviado",
            (Lang::Pt, Happening::OrderDelivered) => "Pedido #{o} entregue",
            (Lang::Pt, Happening::ExchangeShipped) => "Troca do pedido #{o} enviada",
            (Lang::Pl, Happening::CartAbandoned) => "Porzucony koszyk",
            (Lang::Pl, Happening::PaymentFailed) => "Płatność za zamówienie #{o} odrzucona",
            (Lang::Pl, Happening::OrderPlaced) => "Zamówienie #{o} złożone",
            (Lang::Pl, Happening::OrderShipped) => "Zamówienie #{o} wysłane",
            (Lang::Pl, Happening::OrderDelivered) => "Zamówienie #{o} doręczone",
            (Lang::Pl, Happening::ExchangeShipped) => "Wymiana do zamówienia #{o} wysłana",
        };
        t.replace("{o}", &order.to_string())
    }

    pub(super) fn properties(self, lang: Lang, order: &Order) -> Value {
        let id = order.number.to_string();
        let (currency, carrier, paid_with) = match lang {
            Lang::En => ("GBP", "Royal Mail", "card"),
            Lang::Pt => ("BRL", "Correios", "pix"),
            Lang::Pl => ("PLN", "InPost", "blik"),
        };
        let total = order.cents as f64 / 100.0;
        match self {
            Happening::CartAbandoned => json!({
                "cart_id": format!("cart-{id}"), "total": total, "currency": currency,
                "items": order.items,
            }),
            Happening::PaymentFailed => json!({
                "order_id": id, "total": total, "currency": currency, "payment_method": "card",
                "reason": "card_declined",
            }),
            Happening::OrderPlaced => json!({
                "order_id": id, "total": total, "currency": currency, "items": order.items,
                "payment_method": paid_with,
            }),
            Happening::OrderShipped => json!({
                "order_id": id, "carrier": carrier, "tracking_code": order.tracking,
            }),
            Happening::ExchangeShipped => json!({
                "order_id": id, "carrier": carrier, "tracking_code": order.tracking,
                "exchange": true,
            }),
            Happening::OrderDelivered => json!({ "order_id": id, "carrier": carrier }),
        }
    }
}

pub(super) struct Order {
    pub(super) number: u32,
    pub(super) cents: i64,
    pub(super) items: u32,
    pub(super) tracking: String,
}

impl Order {
    /// Prices as each market writes them: £59.99, R$ 249,90, 389,99 zł.
    pub(super) fn new(rng: &mut StdRng, lang: Lang) -> Self {
        let number = rng.random_range(10_000..99_999);
        let (cents, prefix, suffix) = match lang {
            Lang::En => (rng.random_range(20..250) * 100 - 1, "RM", "GB"),
            Lang::Pt => (rng.random_range(5..90) * 1000 - 10, "QB", "BR"),
            Lang::Pl => (rng.random_range(30..900) * 100 - 1, "IP", "PL"),
        };
        Order {
            number,
            cents,
            items: rng.random_range(1..=4),
            tracking: format!(
                "{prefix}{:09}{suffix}",
                rng.random_range(0..1_000_000_000u32)
            ),
        }
    }
}

/// One moment of a customer's journey.
#[derive(Clone, Copy)]
pub(super) enum Step {
    /// The customer writes on a channel.
    Says(Channel, &'static str),
    /// The agent answers (on the channel the customer last wrote on).
    Answers(&'static str),
    Happens(Happening),
}

/// A story across channels: minutes after the previous step, and the step. Texts may name
/// the order (`{o}`) and the customer's first name (`{first}`).
pub(super) struct Journey {
    pub(super) label: &'static str,
    /// The subject of the customer's email, when the story has one.
    pub(super) subject: &'static str,
    pub(super) steps: Vec<(i64, Step)>,
}

pub(super) const HOUR: i64 = 60;
pub(super) const DAY: i64 = 24 * HOUR;
pub(super) const JOURNEYS: usize = 3;

pub(super) fn journey(lang: Lang, which: usize) -> Journey {
    use Channel::{Email, Web, WhatsApp};
    use Happening::*;
    use Step::{Answers, Happens, Says};
    match which {
        // A late parcel: asked about in the website chat, followed up on WhatsApp, the invoice
        // asked for by email once it arrived.
        0 => {
            let (subject, t) = match lang {
                Lang::En => (
                    "Invoice for order #{o}",
                    [
                        "Hi! Tracking for order #{o} hasn't moved for two days. Is it lost?",
                        "Let me check with the courier. I'll message you as soon as I hear back.",
                        "Hi, it's {first} from the website chat. Any news about #{o}?",
                        "Yes! The courier found it at the depot: it goes out for delivery tomorrow morning.",
                        "It arrived, thank you! Could you email me the invoice for #{o}?",
                        "Of course, the invoice for #{o} is on its way to this address. Enjoy!",
                    ],
                ),
                Lang::Pt => (
                    "Nota fiscal do pedido #{o}",
                    [
                        "Oi! O rastreio do pedido #{o} está parado há dois dias. Será que extraviou?",
                        "Vou verificar com a transportadora e te aviso assim que tiver retorno.",
                        "Oi, aqui é {first}, falei com vocês no chat do site. Alguma novidade do #{o}?",
                        "Sim! A transportadora localizou o pacote no centro de distribuição: sai para \
                         entrega amanhã de manhã.",
                        "Chegou, valeu! Podem me mandar a nota fiscal do pedido #{o} por e-mail?",
                        "Claro! A nota fiscal do pedido #{o} já está a caminho deste endereço.",
                    ],
                ),
                Lang::Pl => (
                    "Faktura do zamówienia #{o}",
                    [
                        "Dzień dobry, śledzenie zamówienia #{o} stoi od dwóch dni. Czy paczka zaginęła?",
                        "Sprawdzę to u kuriera i dam znać, gdy tylko się czegoś dowiem.",
                        "Dzień dobry, tu {first} z czatu na stronie. Czy jest coś nowego w sprawie #{o}?",
                        "Tak! Kurier odnalazł paczkę w sortowni: jutro rano wyjedzie w doręczenie.",
                        "Paczka dotarła, dziękuję! Czy mogę prosić o fakturę do zamówienia #{o} e-mailem?",
                        "Oczywiście, faktura do zamówienia #{o} jest już w drodze na ten adres.",
                    ],
                ),
            };
            Journey {
                label: "delivery",
                subject,
                steps: vec![
                    (0, Happens(OrderPlaced)),
                    (DAY, Happens(OrderShipped)),
                    (2 * DAY, Says(Web, t[0])),
                    (4, Answers(t[1])),
                    (3 * HOUR, Says(WhatsApp, t[2])),
                    (10, Answers(t[3])),
                    (20 * HOUR, Happens(OrderDelivered)),
                    (2 * HOUR, Says(Email, t[4])),
                    (40, Answers(t[5])),
                ],
            }
        }
        // A declined card: asked about on WhatsApp, paid again on the website.
        1 => {
            let t = match lang {
                Lang::En => [
                    "Your checkout declined my card, but my bank shows the money on hold. What happened?",
                    "The payment for order #{o} didn't go through, so nothing was charged: the hold \
                     disappears within a few days. You can try again with another card.",
                    "I'm back on the website and paid with another card. Did it work this time?",
                    "It did: order #{o} is confirmed. Thanks for your patience!",
                ],
                Lang::Pt => [
                    "Meu cartão foi recusado no checkout, mas o banco mostra o valor bloqueado. O que houve?",
                    "O pagamento do pedido #{o} não foi concluído, então nada foi cobrado: o bloqueio \
                     some em alguns dias. Se quiser, pode pagar com Pix, que é na hora.",
                    "Voltei para o site e paguei com Pix. Deu certo agora?",
                    "Deu sim: o pedido #{o} está confirmado. Agradecemos a paciência!",
                ],
                Lang::Pl => [
                    "Karta została odrzucona przy płatności, a bank pokazuje blokadę środków. Co się stało?",
                    "Płatność za zamówienie #{o} nie przeszła, więc nic nie zostało pobrane: blokada \
                     zniknie w ciągu kilku dni. Można spróbować jeszcze raz, np. BLIK-iem.",
                    "Jestem znowu na stronie, płatność BLIK-iem poszła. Czy tym razem się udało?",
                    "Tak, zamówienie #{o} jest potwierdzone. Dziękujemy za cierpliwość!",
                ],
            };
            Journey {
                label: "billing",
                subject: "",
                steps: vec![
                    (0, Happens(PaymentFailed)),
                    (20, Says(WhatsApp, t[0])),
                    (6, Answers(t[1])),
                    (40, Happens(CartAbandoned)),
                    (2 * HOUR, Happens(OrderPlaced)),
                    (2, Says(Web, t[2])),
                    (3, Answers(t[3])),
                ],
            }
        }
        // An exchange: asked for by email, the size given on WhatsApp.
        _ => {
            let (subject, t) = match lang {
                Lang::En => (
                    "Exchange for order #{o}",
                    [
                        "Hello, the trainers from order #{o} are too small. Can I swap them for a bigger size?",
                        "Of course! Which size would you like?",
                        "Easier to answer here: a size 9, please.",
                        "Done! A size 9 pair ships today and the courier will collect the old one.",
                    ],
                ),
                Lang::Pt => (
                    "Troca do pedido #{o}",
                    [
                        "Olá, o tênis do pedido #{o} ficou pequeno. Posso trocar por um número maior?",
                        "Claro! Qual número você quer?",
                        "Respondo por aqui, é mais fácil: número 41, por favor.",
                        "Pronto! O par 41 sai hoje e a transportadora retira o antigo na entrega.",
                    ],
                ),
                Lang::Pl => (
                    "Wymiana – zamówienie #{o}",
                    [
                        "Dzień dobry, buty z zamówienia #{o} są za małe. Czy mogę je wymienić na większy rozmiar?",
                        "Oczywiście! Jaki rozmiar przesłać?",
                        "Odpowiem tutaj, tak szybciej: poproszę rozmiar 43.",
                        "Gotowe! Para w rozmiarze 43 wyjedzie dziś, a kurier odbierze poprzednią.",
                    ],
                ),
            };
            Journey {
                label: "delivery",
                subject,
                steps: vec![
                    (0, Happens(OrderPlaced)),
                    (DAY, Happens(OrderShipped)),
                    (2 * DAY, Happens(OrderDelivered)),
                    (5 * HOUR, Says(Email, t[0])),
                    (HOUR, Answers(t[1])),
                    (18 * HOUR, Says(WhatsApp, t[2])),
                    (15, Answers(t[3])),
                    (DAY, Happens(ExchangeShipped)),
                ],
            }
        }
    }
}
