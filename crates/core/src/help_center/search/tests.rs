//! Unit and property tests of analysis, ranking, confidence and snippets (the relevance
//! set is in `corpus`).

use super::analyze::Language;
use super::*;
use proptest::prelude::*;

fn stem(locale: &str, word: &str) -> String {
    let terms = analyze(locale, word);
    assert_eq!(terms.len(), 1, "{word} is one term: {terms:?}");
    terms.into_iter().next().unwrap_or_default()
}

/// Every word of `words` gets the same term.
fn meet(locale: &str, words: &[&str]) {
    let first = stem(locale, words[0]);
    for word in words {
        assert_eq!(stem(locale, word), first, "{word} meets {}", words[0]);
    }
}

#[test]
fn folding_tables_pair_each_letter() {
    assert_eq!(FOLD_FROM.chars().count(), FOLD_TO.chars().count());
    for (from, to) in FOLD_FROM.chars().zip(FOLD_TO.chars()) {
        assert!(to.is_ascii_lowercase(), "{from} → {to}");
        assert_eq!(fold_char(from), to);
        assert_eq!(from.to_lowercase().next().map(fold_char), Some(to));
    }
    assert_eq!(fold("Żółć łódź zamówienie NÃO"), "zolc lodz zamowienie NaO");
    assert_eq!(fold("devoluções ação"), "devolucoes acao");
    assert_eq!(fold_char('ß'), 'ß');
    assert_eq!(fold_char('x'), 'x');
}

#[test]
fn locales_choose_the_language() {
    assert_eq!(Language::of("pt_BR"), Language::Portuguese);
    assert_eq!(Language::of("pt-PT"), Language::Portuguese);
    assert_eq!(Language::of("PL"), Language::Polish);
    assert_eq!(Language::of("en_US"), Language::English);
    assert_eq!(Language::of("de"), Language::Other);
    assert_eq!(Language::of(""), Language::Other);
}

#[test]
fn words_are_split_lowered_folded_and_stopwords_dropped() {
    assert_eq!(
        analyze("pt_BR", "Como faço para DEVOLVER o pedido #4521?"),
        ["devolv", "ped", "4521"]
    );
    assert_eq!(analyze("pl", "Jak zgłosić zwrot?"), ["zglos", "zwrot"]);
    assert_eq!(analyze("pl", "Gdzie jest moja paczka"), ["gdz", "paczk"]);
    assert_eq!(
        analyze("en", "How do I track my order?"),
        ["track", "order"]
    );
    // The content of questions stays: "pedido", "zwrot", "onde", "kiedy".
    assert_eq!(analyze("pt_BR", "onde está o pedido"), ["onde", "ped"]);
    assert_eq!(analyze("pl", "kiedy zwrot"), ["kied", "zwrot"]);
    assert!(analyze("pt_BR", "como o a de do da em na que").is_empty());
    assert!(analyze("pl", "jak w z na do o się nie czy").is_empty());
    assert!(analyze("en", "how do i do it").is_empty());
    assert!(analyze("pt_BR", " ¿¡!  ").is_empty());
    // Stopwords are one language's: "do" is a Portuguese one, "na" a Polish one.
    assert_eq!(analyze("pl", "do"), Vec::<String>::new());
    assert_eq!(analyze("en", "na"), ["na"]);
}

#[test]
fn unknown_locales_fold_without_stemming() {
    assert_eq!(
        analyze("de", "The Bestellungen, Rückgabe und Zahlungen"),
        ["bestellungen", "ruckgabe", "und", "zahlungen"]
    );
}

#[test]
fn english_stems_with_snowball() {
    meet("en", &["refund", "refunds", "refunded", "refunding"]);
    meet("en", &["track", "tracking", "tracked"]);
    meet("en", &["delivery", "deliveries"]);
    meet("en", &["cancel", "cancelled", "canceling", "cancels"]);
    meet("en", &["password", "passwords"]);
}

#[test]
fn portuguese_stems_meet_with_or_without_accents() {
    meet("pt_BR", &["pedido", "pedidos", "Pedido"]);
    meet(
        "pt_BR",
        &[
            "devolução",
            "devolucao",
            "devoluções",
            "devolucoes",
            "devoluçao",
            "DEVOLUÇÃO",
        ],
    );
    meet("pt_BR", &["cartão", "cartao", "cartões", "cartoes"]);
    meet(
        "pt_BR",
        &["cancelar", "cancelamento", "cancela", "cancelado"],
    );
    meet("pt_BR", &["endereço", "endereco", "endereços"]);
    meet("pt_BR", &["alteração", "alteracao", "alterar"]);
    meet("pt_BR", &["reembolso", "reembolsar", "reembolsos"]);
    meet("pt_BR", &["experiência", "experiencia"]);
    meet("pt_BR", &["disponível", "disponivel"]);
    meet("pt_BR", &["entrega", "entregas", "entregue"]);
    meet("pt_BR", &["número", "numero", "números"]);
    // Snowball leaves the nouns of these verbs apart; the analyzer brings them together.
    meet(
        "pt_BR",
        &[
            "rastrear",
            "rastreamento",
            "rastreio",
            "rastreado",
            "rastreios",
        ],
    );
    meet("pt_BR", &["pagar", "pagamento", "pagamentos", "pago"]);
    meet("pt_BR", &["bloquear", "bloqueio", "bloqueado"]);
    meet("pt_BR", &["receber", "recebimento"]);
    meet("pt_BR", &["opção", "opções", "opcoes", "opcao"]);
    // …keeping three letters at least.
    assert_eq!(stem("pt_BR", "alimento"), "aliment");
    assert_eq!(stem("pt_BR", "meio"), "mei");
}

#[test]
fn polish_stems_meet_across_cases_and_folding() {
    meet(
        "pl",
        &[
            "zamówienie",
            "zamówienia",
            "zamówieniu",
            "zamowieniem",
            "zamówień",
        ],
    );
    meet("pl", &["zamówić", "zamowilem", "zamówiłam", "zamówienie"]);
    meet("pl", &["zwrot", "zwrotu", "zwroty", "zwrotem", "zwrotów"]);
    meet(
        "pl",
        &["dostawa", "dostawy", "dostawie", "dostawę", "dostawą"],
    );
    meet(
        "pl",
        &[
            "płatność",
            "płatności",
            "platnosci",
            "płatnością",
            "platnosciami",
        ],
    );
    meet("pl", &["anulowanie", "anulowania", "anulować", "anuluję"]);
    meet(
        "pl",
        &["faktura", "faktury", "fakturę", "fakturze", "faktur"],
    );
    meet("pl", &["karta", "kartą", "karty", "karcie"]);
    meet("pl", &["paczka", "paczki", "paczkę", "paczce"]);
    meet("pl", &["przesyłka", "przesyłki", "przesylke", "przesyłce"]);
    meet("pl", &["hasło", "hasła", "haslo", "hasłem"]);
    meet("pl", &["adres", "adresu", "adresie", "adresem"]);
    meet("pl", &["śledzenie", "śledzić", "sledzenia"]);
    meet("pl", &["zapłacić", "zapłacisz", "zaplacilem"]);
    meet("pl", &["wymiana", "wymianie", "wymiany"]);
    meet("pl", &["problem", "problemu", "problemy", "problemem"]);
    meet("pl", &["zdjęcie", "zdjęcia"]);
    // Short words are kept whole; stems keep at least three letters.
    assert_eq!(polish_stem("kod"), "kod");
    assert_eq!(polish_stem("blik"), "blik");
    assert_eq!(polish_stem("kodu"), "kod");
    assert_eq!(polish_stem("kody"), "kod");
    assert_eq!(polish_stem("hasla"), "hasl");
    assert_eq!(polish_stem("zmianie"), "zmian");
    // Vowel changes inside the stem are not undone.
    assert_ne!(stem("pl", "pieniądze"), stem("pl", "pieniędzy"));
}

#[test]
fn stored_index_round_trips() {
    let indexed = index(
        "pt_BR",
        "Como rastrear meu pedido",
        "Acompanhe a entrega",
        "O código de rastreamento chega por e-mail.",
    );
    assert_eq!(indexed.title, ["rastr", "ped"]);
    assert_eq!(indexed.description, ["acompanh", "entreg"]);
    let stored = indexed.to_stored();
    assert!(
        stored.starts_with("{\"title\":[\"rastr\",\"ped\"]"),
        "{stored}"
    );
    assert_eq!(Indexed::from_stored(&stored), Some(indexed));
    assert_eq!(Indexed::from_stored(""), None);
    assert_eq!(Indexed::from_stored("{\"title\":1}"), None);
}

#[test]
fn bodies_are_capped() {
    let body = "palavra ".repeat(MAX_BODY_TERMS + 100);
    assert_eq!(index("pt_BR", "", "", &body).body.len(), MAX_BODY_TERMS);
}

fn article(locale: &str, title: &str, description: &str, body: &str) -> Indexed {
    index(locale, title, description, body)
}

fn cand(id: i64, indexed: &Indexed, views: i64) -> Candidate<'_> {
    Candidate { id, indexed, views }
}

fn ids(hits: &[Hit]) -> Vec<i64> {
    hits.iter().map(|h| h.id).collect()
}

#[test]
fn titles_weigh_more_than_descriptions_more_than_bodies() {
    let a = article("en", "Shipping", "", "Refund of your money after a return.");
    let b = article(
        "en",
        "Refund",
        "",
        "How the money comes back after a return.",
    );
    let c = article(
        "en",
        "Payments",
        "Refund times",
        "How the money comes back.",
    );
    let candidates = [cand(1, &a, 0), cand(2, &b, 0), cand(3, &c, 0)];
    let hits = rank("en", "refund", &candidates, 10);
    assert_eq!(ids(&hits), [2, 3, 1]);
    assert!(hits.iter().all(|h| h.score > 0.0 && h.matched_terms == 1));
    assert_eq!(ids(&rank("en", "refund", &candidates, 2)), [2, 3]);
    assert!(rank("en", "refund", &candidates, 0).is_empty());
}

#[test]
fn rare_terms_weigh_more_and_coverage_counts() {
    let a = article("en", "Order tracking", "", "Track your order.");
    let b = article("en", "Order changes", "", "Change your order.");
    let c = article("en", "Order invoice", "", "Invoices for your order.");
    let candidates = [cand(1, &a, 0), cand(2, &b, 0), cand(3, &c, 0)];
    let hits = rank("en", "invoice order", &candidates, 10);
    assert_eq!(hits[0].id, 3);
    assert_eq!((hits[0].matched_terms, hits[0].query_terms), (2, 2));
    assert_eq!((hits[1].matched_terms, hits[1].query_terms), (1, 2));
}

#[test]
fn the_last_word_is_also_a_prefix() {
    let a = article(
        "pt_BR",
        "Formas de pagamento",
        "",
        "Parcelamento no cartão.",
    );
    let b = article("pt_BR", "Trocas", "", "Troque o produto.");
    let candidates = [cand(1, &a, 0), cand(2, &b, 0)];
    assert_eq!(ids(&rank("pt_BR", "parcel", &candidates, 5)), [1]);
    assert_eq!(ids(&rank("pt_BR", "forma de pag", &candidates, 5)), [1]);
    // Only the last word, and only from three characters.
    assert!(
        rank("pt_BR", "parc trocas", &candidates, 5)
            .iter()
            .all(|h| h.id == 2)
    );
    assert!(rank("pt_BR", "pa", &candidates, 5).is_empty());
    // Polish: a word being typed meets the stems it begins.
    let c = article("pl", "Anulowanie zamówienia", "", "");
    let pl = [cand(3, &c, 0)];
    assert_eq!(ids(&rank("pl", "zamowie", &pl, 5)), [3]);
}

#[test]
fn views_break_ties_and_then_ids() {
    let a = article("en", "Refunds", "", "");
    let candidates = [
        cand(7, &a, 10),
        cand(5, &a, 10),
        cand(9, &a, 500),
        cand(3, &a, 0),
    ];
    let hits = rank("en", "refund", &candidates, 10);
    assert_eq!(ids(&hits), [9, 5, 7, 3]);
    // The boost stays small.
    assert!(hits[0].score / hits[3].score <= 1.0 + VIEWS_BOOST + 1e-9);
    // Negative views (bad data) count as none.
    let odd = [cand(2, &a, -40), cand(1, &a, 0)];
    assert_eq!(ids(&rank("en", "refund", &odd, 10)), [1, 2]);
}

#[test]
fn empty_and_stopword_queries_find_nothing() {
    let a = article("pt_BR", "Como rastrear o pedido", "", "Como e onde.");
    let candidates = [cand(1, &a, 3)];
    assert!(rank("pt_BR", "", &candidates, 5).is_empty());
    assert!(rank("pt_BR", "como o de", &candidates, 5).is_empty());
    assert!(rank("pt_BR", "?!", &candidates, 5).is_empty());
    assert!(rank("pt_BR", "pedido", &[], 5).is_empty());
    assert!(rank("pt_BR", "boleto", &candidates, 5).is_empty());
}

#[test]
fn queries_are_bounded() {
    let analyzer = Analyzer::new("en");
    let many: Vec<String> = (0..20).map(|i| format!("word{i}")).collect();
    let query = Query::parse(&analyzer, &many.join(" "));
    assert_eq!(query.terms.len(), MAX_QUERY_TERMS);
    // The words past the limit, the last among them, are not read.
    assert!(query.prefix.is_none());
    let long = format!("{} refund", "x".repeat(MAX_QUERY_CHARS));
    let query = Query::parse(&analyzer, &long);
    assert_eq!(query.terms.len(), 1);
    // Repeated words count once.
    let query = Query::parse(&analyzer, "refund refunds refunded");
    assert_eq!(query.terms, ["refund"]);
    assert_eq!(query.prefix, Some((0, "refunded".to_owned())));
}

/// Whether the fragments, without a "…" fragment at either end, are a piece of `text`.
fn is_piece_of(fragments: &[(String, bool)], text: &str) -> bool {
    let ellipsis = |f: Option<&(String, bool)>| f.is_some_and(|(t, m)| t == "…" && !m);
    let lead = usize::from(ellipsis(fragments.first()));
    let trail = usize::from(fragments.len() > lead && ellipsis(fragments.last()));
    // An input holding "…" itself may end a fragment list with one: try each reading.
    [(lead, trail), (0, trail), (lead, 0), (0, 0)]
        .into_iter()
        .any(|(lead, trail)| {
            let inner: String = fragments[lead..fragments.len() - trail]
                .iter()
                .map(|(t, _)| t.as_str())
                .collect();
            text.contains(&inner)
        })
}

fn locale() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("en"), Just("pt_BR"), Just("pl"), Just("xx")]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    let regex =
        |pattern: String| prop::string::string_regex(&pattern).expect("the test's own pattern");
    prop_oneof![
        regex(format!(".{{0,{max}}}")),
        regex(format!("[a-zA-Z0-9ãçéóąęłśżźİ …,.!?<>&\"']{{0,{max}}}")),
        prop::collection::vec(
            prop_oneof![
                Just("pedido"),
                Just("devoluções"),
                Just("zamówienia"),
                Just("zwrot"),
                Just("refunds"),
                Just("pix"),
                Just(" "),
                Just(", "),
                Just("…"),
            ],
            0..40
        )
        .prop_map(|words| words.concat()),
    ]
}

proptest! {
    #[test]
    fn analysis_ranking_and_snippets_never_panic(
        locale in locale(),
        body in text(300),
        query in text(80),
        max_chars in 0usize..120,
    ) {
        for term in analyze(locale, &body) {
            prop_assert!(!term.is_empty());
        }
        // Snippets rely on it: a term begins as its word does.
        let analyzer = Analyzer::new(locale);
        for (start, end) in word_spans(&body) {
            let word = &body[start..end];
            if let Some(term) = analyzer.term(word) {
                let word_head = head(&fold(&lower_word(first_chars(word, HEAD_CHARS))));
                prop_assert!(term.starts_with(&word_head), "{} → {}", word, term);
            }
        }
        let a = index(locale, &query, "", &body);
        let b = index(locale, &body, &query, "");
        let candidates = [
            cand(1, &a, 0),
            cand(2, &b, 5),
        ];
        let hits = rank(locale, &query, &candidates, 10);
        prop_assert_eq!(&hits, &rank(locale, &query, &candidates, 10));
        for hit in &hits {
            prop_assert!(hit.score > 0.0 && hit.score.is_finite());
            prop_assert!(hit.matched_terms >= 1 && hit.matched_terms <= hit.query_terms);
            prop_assert!(hit.query_terms <= MAX_QUERY_TERMS);
            let c = confidence(hit, &hits);
            prop_assert!((0.0..=1.0).contains(&c), "{}", c);
        }
        prop_assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));

        let fragments = snippet(locale, &query, &body, max_chars);
        prop_assert!(is_piece_of(&fragments, &body), "{:?} of {:?}", fragments, body);
        let shown: usize = fragments
            .iter()
            .filter(|(t, m)| *m || t != "…")
            .map(|(t, _)| t.chars().count())
            .sum();
        prop_assert!(shown <= max_chars, "{:?}", fragments);
        for (fragment, _) in &fragments {
            prop_assert!(!fragment.is_empty());
        }
        let html = snippet_html(locale, &query, &body, max_chars);
        let bare = html.replace("<mark>", "").replace("</mark>", "");
        prop_assert!(!bare.contains(['<', '>', '"', '\'']), "{}", html);
    }

    #[test]
    fn stored_indexes_read_back(locale in locale(), body in text(200)) {
        let indexed = index(locale, &body, &body, &body);
        prop_assert_eq!(Indexed::from_stored(&indexed.to_stored()), Some(indexed));
    }
}

fn hit(id: i64, score: f64, matched_terms: usize, query_terms: usize) -> Hit {
    Hit {
        id,
        score,
        matched_terms,
        query_terms,
    }
}

#[test]
fn confidence_is_coverage_and_lead() {
    let alone = [hit(1, 4.0, 2, 2)];
    assert_eq!(confidence(&alone[0], &alone), 1.0);
    let tied = [hit(1, 4.0, 2, 2), hit(2, 4.0, 2, 2)];
    assert_eq!(confidence(&tied[0], &tied), 0.5);
    let ahead = [hit(1, 4.0, 2, 2), hit(2, 2.0, 1, 2)];
    assert_eq!(confidence(&ahead[0], &ahead), 0.75);
    // The runner-up has no lead at all.
    assert_eq!(confidence(&ahead[1], &ahead), 0.25);
    let partial = [hit(1, 4.0, 1, 3)];
    assert!((confidence(&partial[0], &partial) - 1.0 / 3.0).abs() < 1e-9);
    for odd in [hit(1, 0.0, 1, 1), hit(1, f64::NAN, 1, 1), hit(1, 2.0, 1, 0)] {
        assert_eq!(confidence(&odd, &[]), 0.0);
    }
    let weird = [hit(1, 4.0, 5, 2), hit(2, f64::INFINITY, 1, 1)];
    assert_eq!(confidence(&weird[0], &weird), 1.0);
}

fn joined(fragments: &[(String, bool)]) -> String {
    fragments
        .iter()
        .map(|(text, matched)| {
            if *matched {
                format!("[{text}]")
            } else {
                text.clone()
            }
        })
        .collect()
}

#[test]
fn snippets_show_the_densest_matches() {
    let plain = "Aceitamos cartões de crédito em até 10 parcelas. O boleto bancário vence em \
                 3 dias úteis. No PIX, o pagamento é aprovado em poucos minutos e você ganha \
                 desconto. Depois da confirmação do pagamento o pedido é separado.";
    let fragments = snippet("pt_BR", "pagamento pix", plain, 60);
    assert_eq!(
        joined(&fragments),
        "…úteis. No [PIX], o [pagamento] é aprovado em poucos minutos e…"
    );
    assert!(fragments.first().is_some_and(|(t, m)| t == "…" && !m));
    // Without diacritics, in another form.
    assert_eq!(
        joined(&snippet("pt_BR", "cartao credito", plain, 40)),
        "Aceitamos [cartões] de [crédito] em até 10…"
    );
    // Short text: all of it.
    assert_eq!(
        joined(&snippet("pl", "zwrot", "Zwrot towaru w 30 dni.", 200)),
        "[Zwrot] towaru w 30 dni."
    );
    // No match: the beginning.
    assert_eq!(
        joined(&snippet("pt_BR", "senha", plain, 30)),
        "Aceitamos cartões de crédito…"
    );
    // The query's last word is a prefix here too.
    assert_eq!(
        joined(&snippet("pl", "zamowie", "Jak anulować zamówienie?", 100)),
        "Jak anulować [zamówienie]?"
    );
    assert!(snippet("pt_BR", "pix", "", 50).is_empty());
    assert!(snippet("pt_BR", "pix", plain, 0).is_empty());
    // A word longer than the passage is cut inside.
    assert_eq!(joined(&snippet("en", "x", "abcdefghij klm", 4)), "abcd…");
}

#[test]
fn snippet_html_escapes_and_marks() {
    let html = snippet_html("en", "refund", "Refunds <b>\"fast\"</b> & 'easy'", 100);
    assert_eq!(
        html,
        "<mark>Refunds</mark> &lt;b&gt;&quot;fast&quot;&lt;/b&gt; &amp; &#39;easy&#39;"
    );
}

/// Found by the property test: accents put back on a nonsense word gave a stem that did not
/// begin as its word, which the snippet relies on.
#[test]
fn a_stem_always_begins_as_its_word() {
    let analyzer = Analyzer::new("pt_BR");
    let term = analyzer.term("ęóęś").unwrap();
    assert!(term.starts_with("eo"), "{term}");
    let parts = snippet("pt_BR", "ęóęś", "x ęóęś, y", 40);
    assert!(
        parts
            .iter()
            .any(|(text, hit)| *hit && text.contains("ęóęś")),
        "{parts:?}"
    );
}
