//! The demo's people and words: names in each language (Polish surnames agreeing with gender),
//! the conversations' lines, email subjects.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Pt,
    Pl,
}

impl Lang {
    pub(super) fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::Pt => 1,
            Lang::Pl => 2,
        }
    }

    pub(super) fn country(self) -> &'static str {
        match self {
            Lang::En => "GB",
            Lang::Pt => "BR",
            Lang::Pl => "PL",
        }
    }

    pub(super) fn browser_language(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Pt => "pt-BR",
            Lang::Pl => "pl",
        }
    }
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
/// Women's names end in -a, men's here never do: `person` reads the gender from that.
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
/// (a man's form, a woman's form): surnames built like adjectives (-ski) agree with the
/// bearer's gender; the others are the same for both.
const PL_LAST: &[(&str, &str)] = &[
    ("Kowalski", "Kowalska"),
    ("Nowak", "Nowak"),
    ("Wiśniewski", "Wiśniewska"),
    ("Wójcik", "Wójcik"),
    ("Kamiński", "Kamińska"),
    ("Lewandowski", "Lewandowska"),
    ("Zieliński", "Zielińska"),
    ("Szymański", "Szymańska"),
    ("Dąbrowski", "Dąbrowska"),
    ("Kozłowski", "Kozłowska"),
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
    fn pick(rng: &mut StdRng, names: &[&'static str]) -> &'static str {
        names.choose(rng).copied().unwrap_or("Alex")
    }
    let (f, l) = match lang {
        Lang::En => (pick(rng, EN_FIRST), pick(rng, EN_LAST)),
        Lang::Pt => (pick(rng, PT_FIRST), pick(rng, PT_LAST)),
        Lang::Pl => {
            let first = pick(rng, PL_FIRST);
            let (his, hers) = PL_LAST.choose(rng).copied().unwrap_or(("Nowak", "Nowak"));
            (first, if first.ends_with('a') { hers } else { his })
        }
    };
    let (domain, phone) = match lang {
        Lang::En => ("mail.example", format!("+4477009{:05}", n % 100_000)),
        Lang::Pt => (
            "correio.example",
            format!("+55119{:08}", 10_000_000 + n % 89_999_999),
        ),
        Lang::Pl => (
            "poczta.example",
            format!("+485{:08}", 10_000_000 + n % 89_999_999),
        ),
    };
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

/// The subject of an email about one of `script`'s topics.
pub(super) fn email_subject(lang: Lang, topic: usize, order: u32) -> String {
    let s = match (lang, topic) {
        (Lang::En, 0) => "Order #{o} has not arrived",
        (Lang::En, 1) => "Charged twice for order #{o}",
        (Lang::En, 2) => "The app keeps logging me out",
        (Lang::En, _) => "Delivery address for order #{o}",
        (Lang::Pt, 0) => "Pedido #{o} não chegou",
        (Lang::Pt, 1) => "Cobrança duplicada no pedido #{o}",
        (Lang::Pt, 2) => "Aplicativo fechando sozinho",
        (Lang::Pt, _) => "Endereço de entrega do pedido #{o}",
        (Lang::Pl, 0) => "Zamówienie #{o} nie dotarło",
        (Lang::Pl, 1) => "Podwójna płatność za zamówienie #{o}",
        (Lang::Pl, 2) => "Aplikacja ciągle mnie wylogowuje",
        (Lang::Pl, _) => "Adres dostawy zamówienia #{o}",
    };
    s.replace("{o}", &order.to_string())
}

/// A customer who writes from a new WhatsApp number and names the email their account has.
pub(super) fn new_number(lang: Lang, email: &str) -> [String; 2] {
    let [said, answer] = match lang {
        Lang::En => [
            "Hi, this is my new number. My orders are under {email}.",
            "Thanks! I've found your account and noted the new number.",
        ],
        Lang::Pt => [
            "Oi, esse é meu número novo. Meus pedidos estão no e-mail {email}.",
            "Obrigada! Encontrei sua conta e anotei o número novo.",
        ],
        Lang::Pl => [
            "Dzień dobry, to mój nowy numer. Zamówienia mam na adres {email}.",
            "Dziękuję! Znalazłem konto i zapisałem nowy numer.",
        ],
    };
    [said.replace("{email}", email), answer.to_owned()]
}
