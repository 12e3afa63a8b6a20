//! Relevance: a web shop's help center, and questions as its customers type them. The
//! articles and queries were written first, as a shop would; the analyzer was then made good
//! enough for them.

use super::{Candidate, Indexed, confidence, index, rank};

/// (id, title, description, body)
const PT_ARTICLES: [(i64, &str, &str, &str); 9] = [
    (
        1,
        "Como rastrear meu pedido",
        "Acompanhe a entrega do seu pedido pelo código de rastreamento.",
        "Assim que o seu pedido é despachado, você recebe por e-mail e SMS o código de \
         rastreamento. Para acompanhar a entrega, acesse Minha Conta > Meus Pedidos e clique \
         em Rastrear. O status é atualizado pela transportadora em até 24 horas após o \
         envio. Se o rastreio não mostrar movimentação por mais de 5 dias úteis, fale com o \
         nosso atendimento.",
    ),
    (
        2,
        "Trocas e devoluções",
        "Saiba como devolver ou trocar um produto em até 7 dias.",
        "Você pode solicitar a devolução ou a troca de qualquer produto em até 7 dias \
         corridos após o recebimento, conforme o Código de Defesa do Consumidor. Acesse Meus \
         Pedidos, escolha o item e clique em Solicitar devolução. Embale o produto na \
         embalagem original, com todos os acessórios e a nota fiscal, e leve-o a uma agência \
         dos Correios com o código de postagem que enviaremos por e-mail. A postagem é \
         gratuita.",
    ),
    (
        3,
        "Reembolso: prazos e formas",
        "Quando e como o valor da sua compra é devolvido.",
        "Depois que o produto devolvido chega ao nosso centro de distribuição e passa pela \
         análise, o reembolso é feito na mesma forma de pagamento usada na compra. Cartão de \
         crédito: o estorno aparece em até duas faturas. PIX e boleto: o valor é depositado \
         em até 5 dias úteis na conta bancária informada. Você também pode optar por um \
         vale-compras, liberado na hora.",
    ),
    (
        4,
        "Formas de pagamento",
        "Cartão de crédito, PIX e boleto bancário.",
        "Aceitamos cartões de crédito Visa, Mastercard, Elo e American Express, em até 10 \
         parcelas sem juros. No PIX, o pagamento é aprovado em poucos minutos e você ganha 5% \
         de desconto: basta ler o QR Code ou copiar o código na tela de confirmação. O boleto \
         bancário vence em 3 dias úteis e a compensação leva até 2 dias úteis após o \
         pagamento; o pedido só é separado depois da confirmação.",
    ),
    (
        5,
        "Prazo de entrega",
        "Quanto tempo leva para o seu pedido chegar.",
        "O prazo de entrega é calculado no carrinho a partir do CEP e começa a contar após a \
         confirmação do pagamento. Capitais do Sudeste recebem em 2 a 4 dias úteis; demais \
         regiões, em 5 a 12 dias úteis. Pedidos com frete expresso são enviados no mesmo dia \
         se aprovados até as 12h. Em feriados e datas promocionais os prazos podem aumentar.",
    ),
    (
        6,
        "Alterar o endereço de entrega",
        "Como mudar o endereço depois de finalizar a compra.",
        "Enquanto o pedido estiver com o status Aguardando pagamento ou Em separação, você \
         pode alterar o endereço de entrega em Meus Pedidos > Detalhes > Editar endereço. \
         Depois que o pedido for enviado à transportadora, não é mais possível mudar o \
         destino; nesse caso, recuse a entrega ou entre em contato com o atendimento. Para as \
         próximas compras, atualize seus endereços em Minha Conta.",
    ),
    (
        7,
        "Cancelar um pedido",
        "Como cancelar a compra antes ou depois do envio.",
        "Você pode cancelar o pedido sem custo enquanto ele não tiver sido enviado: em Meus \
         Pedidos, clique em Cancelar pedido e escolha o motivo. Se o pagamento já foi \
         aprovado, o valor é estornado automaticamente. Se o pedido já saiu para entrega, \
         recuse o recebimento ou solicite a devolução em até 7 dias após receber.",
    ),
    (
        8,
        "Nota fiscal",
        "Onde encontrar a nota fiscal eletrônica (NF-e) da sua compra.",
        "A nota fiscal eletrônica é emitida quando o pedido é faturado e enviada para o seu \
         e-mail em formato PDF e XML. Você também pode baixá-la a qualquer momento em Meus \
         Pedidos > Detalhes > Nota fiscal. Para compras de empresas, informe o CNPJ e a \
         inscrição estadual no cadastro antes de finalizar a compra; não é possível alterar \
         os dados da nota depois da emissão.",
    ),
    (
        9,
        "Esqueci minha senha",
        "Como redefinir a senha de acesso à sua conta.",
        "Na página de login, clique em Esqueci minha senha e informe o e-mail cadastrado. \
         Enviaremos um link para criar uma nova senha, válido por 1 hora. Se o e-mail não \
         chegar, verifique a caixa de spam ou lixo eletrônico. Por segurança, a senha deve \
         ter pelo menos 8 caracteres, com letras e números.",
    ),
];

/// (query, the article that answers it)
const PT_QUERIES: [(&str, i64); 12] = [
    ("como devolver um produto", 2),
    ("rastreio do pedido", 1),
    ("quero cancelar minha compra", 7),
    ("nota fiscal", 8),
    ("pagar com pix", 4),
    ("quanto tempo demora a entrega", 5),
    ("mudar endereco de entrega", 6),
    ("esqueci a senha", 9),
    ("estorno no cartao", 3),
    ("boleto vencido", 4),
    ("quando recebo meu reembolso", 3),
    ("devolucao", 2),
];

const PL_ARTICLES: [(i64, &str, &str, &str); 9] = [
    (
        11,
        "Gdzie jest moja paczka? Śledzenie przesyłki",
        "Jak sprawdzić, na jakim etapie jest Twoje zamówienie.",
        "Gdy zamówienie zostanie wysłane, otrzymasz e-mail z numerem przesyłki i linkiem do \
         śledzenia u przewoźnika (InPost, DPD lub Poczta Polska). Status paczki sprawdzisz \
         też w zakładce Moje konto → Zamówienia. Informacje u kuriera aktualizują się zwykle \
         w ciągu kilku godzin od nadania.",
    ),
    (
        12,
        "Zwrot towaru",
        "Masz 30 dni na zwrot zakupów bez podania przyczyny.",
        "Możesz odstąpić od umowy i zwrócić towar w ciągu 30 dni od jego otrzymania. Zgłoś \
         zwrot w zakładce Moje konto → Zwroty, wybierz produkty i sposób nadania. Paczkę \
         nadasz bezpłatnie w automacie paczkowym InPost, podając kod zwrotu. Odeślij towar \
         kompletny, w miarę możliwości w oryginalnym opakowaniu.",
    ),
    (
        13,
        "Zwrot pieniędzy",
        "Kiedy i jak oddajemy pieniądze za zwrócone produkty.",
        "Pieniądze zwracamy w ciągu 14 dni od otrzymania przesyłki zwrotnej, tą samą metodą, \
         którą zapłacono za zamówienie. Przy płatności BLIK lub przelewem środki wracają na \
         konto bankowe, a przy płatności kartą — na kartę. Jeśli zamówienie było opłacone \
         przy odbiorze, podaj numer rachunku w formularzu zwrotu.",
    ),
    (
        14,
        "Metody płatności",
        "BLIK, karta, szybki przelew lub płatność przy odbiorze.",
        "Za zamówienie zapłacisz kodem BLIK, kartą płatniczą (Visa, Mastercard), szybkim \
         przelewem przez Przelewy24 lub gotówką przy odbiorze (dopłata 5 zł). Płatność BLIK: \
         po wybraniu tej metody wpisz sześciocyfrowy kod z aplikacji banku i potwierdź \
         transakcję w telefonie. Zamówienia opłacone przelewem tradycyjnym realizujemy po \
         zaksięgowaniu wpłaty, co może potrwać do 2 dni roboczych.",
    ),
    (
        15,
        "Czas dostawy",
        "Ile czeka się na paczkę i ile kosztuje dostawa.",
        "Zamówienia złożone i opłacone do godziny 14:00 w dni robocze wysyłamy tego samego \
         dnia. Dostawa kurierem trwa zwykle 1–2 dni robocze, do paczkomatu InPost — 1–2 dni. \
         Dostawa jest darmowa od 199 zł, poniżej tej kwoty kosztuje od 9,99 zł. W okresie \
         świątecznym czas dostawy może się wydłużyć.",
    ),
    (
        16,
        "Jak zmienić adres dostawy?",
        "Zmiana danych do wysyłki po złożeniu zamówienia.",
        "Adres dostawy możesz zmienić samodzielnie, dopóki zamówienie ma status „Przyjęte” \
         lub „W realizacji”: wejdź w Moje konto → Zamówienia → Szczegóły i kliknij „Edytuj \
         adres”. Gdy paczka zostanie przekazana przewoźnikowi, zmiana jest możliwa już tylko \
         u kuriera — przez link w wiadomości SMS od InPost lub DPD.",
    ),
    (
        17,
        "Jak anulować zamówienie?",
        "Rezygnacja z zamówienia przed wysyłką.",
        "Zamówienie możesz anulować, dopóki nie zostało przekazane do wysyłki: w Moje konto → \
         Zamówienia kliknij „Anuluj zamówienie”. Jeśli zapłaciłeś już za zamówienie, \
         pieniądze zwrócimy automatycznie w ciągu 3 dni roboczych. Gdy paczka jest już w \
         drodze, nie odbieraj jej lub zgłoś zwrot po otrzymaniu.",
    ),
    (
        18,
        "Faktura VAT",
        "Jak otrzymać fakturę na firmę.",
        "Aby otrzymać fakturę VAT, zaznacz w koszyku opcję „Chcę fakturę” i podaj NIP oraz \
         dane firmy. Faktura w formacie PDF zostanie wysłana e-mailem w dniu wysyłki \
         zamówienia i będzie dostępna w Moje konto → Zamówienia. Fakturę do paragonu możemy \
         wystawić tylko wtedy, gdy paragon zawiera NIP nabywcy.",
    ),
    (
        19,
        "Nie pamiętam hasła",
        "Jak ustawić nowe hasło do konta.",
        "Na stronie logowania kliknij „Nie pamiętasz hasła?” i podaj adres e-mail powiązany z \
         kontem. Wyślemy link do ustawienia nowego hasła, ważny przez 60 minut. Jeśli \
         wiadomość nie dotarła, sprawdź folder spam. Hasło musi mieć co najmniej 8 znaków, w \
         tym cyfrę i wielką literę.",
    ),
];

const PL_QUERIES: [(&str, i64); 12] = [
    ("zwrot towaru", 12),
    ("gdzie jest moja paczka", 11),
    ("zmiana adresu dostawy", 16),
    ("platnosc blik", 14),
    ("faktura vat", 18),
    ("anulowanie zamowienia", 17),
    ("kiedy dostane zwrot pieniedzy", 13),
    ("ile trwa dostawa", 15),
    ("nie pamietam hasla", 19),
    ("sledzenie przesylki", 11),
    ("jak zaplacic karta", 14),
    ("chce zrezygnowac z zamowienia", 17),
];

fn corpus(locale: &str, articles: &[(i64, &str, &str, &str)]) -> Vec<(i64, Indexed)> {
    articles
        .iter()
        .map(|(id, title, description, body)| (*id, index(locale, title, description, body)))
        .collect()
}

/// The query's top hit, for every query; printed in full when one is wrong.
fn top_hits(
    locale: &str,
    articles: &[(i64, &str, &str, &str)],
    queries: &[(&str, i64)],
) -> Vec<(String, Option<i64>, i64)> {
    let indexed = corpus(locale, articles);
    let candidates: Vec<Candidate<'_>> = indexed
        .iter()
        .map(|(id, indexed)| Candidate {
            id: *id,
            indexed,
            views: 0,
        })
        .collect();
    queries
        .iter()
        .map(|(query, expected)| {
            let hits = rank(locale, query, &candidates, 3);
            println!(
                "{query:?} → {:?}",
                hits.iter()
                    .map(|h| (
                        h.id,
                        (h.score * 100.0).round() / 100.0,
                        confidence(h, &hits)
                    ))
                    .collect::<Vec<_>>()
            );
            ((*query).to_owned(), hits.first().map(|h| h.id), *expected)
        })
        .collect()
}

fn assert_top(results: &[(String, Option<i64>, i64)]) {
    let wrong: Vec<_> = results
        .iter()
        .filter(|(_, top, expected)| *top != Some(*expected))
        .collect();
    assert!(
        wrong.is_empty(),
        "wrong top hits (query, top, expected): {wrong:?}"
    );
}

#[test]
fn portuguese_questions_find_their_articles() {
    assert_top(&top_hits("pt_BR", &PT_ARTICLES, &PT_QUERIES));
}

/// A known miss, kept: "where is my order?" shares only "pedido" with the tracking
/// article, which never says "onde", while the invoice article's description does ("Onde
/// encontrar a nota fiscal"), so that one ranks first. Only synonyms (or the article's
/// author using the customers' words) would answer it; the tracking article still comes in
/// the top three. Its confidence is high, which is why the bot's threshold is not the
/// only guard.
#[test]
fn where_is_my_order_in_portuguese_is_a_known_miss() {
    let results = top_hits("pt_BR", &PT_ARTICLES, &[("onde esta meu pedido", 1)]);
    assert_eq!(results[0].1, Some(8), "expected miss: {results:?}");
    let indexed = corpus("pt_BR", &PT_ARTICLES);
    let candidates: Vec<Candidate<'_>> = indexed
        .iter()
        .map(|(id, indexed)| Candidate {
            id: *id,
            indexed,
            views: 0,
        })
        .collect();
    let hits = rank("pt_BR", "onde esta meu pedido", &candidates, 3);
    assert!(hits.iter().any(|h| h.id == 1), "{hits:?}");
}

#[test]
fn polish_questions_find_their_articles() {
    assert_top(&top_hits("pl", &PL_ARTICLES, &PL_QUERIES));
}
