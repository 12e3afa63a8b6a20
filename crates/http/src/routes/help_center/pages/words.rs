//! Every word a visitor reads, in English, Portuguese (Brazil) and Polish: the [`Words`]
//! tables, counted phrases with each language's plural forms, and dates as each writes them.

use chrono::{DateTime, Datelike};
use throughline_core::Millis;
use throughline_core::help_center::normalise_locale;

/// Every word a visitor reads, in one language. Counted phrases are `[one, few, many]` picked
/// by `plural`; templates hold `{n}` (a count), `{q}` (the escaped query or portal name) and,
/// for `date`, `{d}` `{m}` `{y}`.
pub(crate) struct Words {
    pub language_name: &'static str,
    pub og_locale: &'static str,
    pub plural: fn(usize) -> usize,
    pub months: [&'static str; 12],
    pub date: &'static str,
    pub skip_to_content: &'static str,
    pub help_center: &'static str,
    pub hero: &'static str,
    pub home_description: &'static str,
    pub home: &'static str,
    pub go_to_website: &'static str,
    pub search: &'static str,
    pub search_articles: &'static str,
    pub search_placeholder: &'static str,
    pub search_results: &'static str,
    pub search_hint: &'static str,
    pub results: [&'static str; 3],
    pub no_results: &'static str,
    pub categories: &'static str,
    pub articles: &'static str,
    pub other_articles: &'static str,
    pub article_count: [&'static str; 3],
    pub see_all: [&'static str; 3],
    pub no_articles: &'static str,
    pub empty_category: &'static str,
    pub updated: &'static str,
    pub was_helpful: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub thanks: &'static str,
    pub back_home: &'static str,
    pub page_not_found: &'static str,
    pub not_found_text: &'static str,
    pub breadcrumb: &'static str,
    pub language: &'static str,
    pub powered_by: &'static str,
}

/// English and Portuguese: 1 is singular, everything else plural.
fn plural_one_other(n: usize) -> usize {
    if n == 1 { 0 } else { 2 }
}

/// Polish: 1 wynik; 2–4, 22–24… wyniki (but 12–14 wyników); otherwise wyników.
fn plural_polish(n: usize) -> usize {
    if n == 1 {
        0
    } else if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) {
        1
    } else {
        2
    }
}

impl Words {
    pub const EN: Words = Words {
        language_name: "English",
        og_locale: "en_US",
        plural: plural_one_other,
        months: [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ],
        date: "{m} {d}, {y}",
        skip_to_content: "Skip to content",
        help_center: "Help Center",
        hero: "How can we help?",
        home_description: "{q}: answers to common questions and step-by-step guides.",
        home: "Home",
        go_to_website: "Go to website",
        search: "Search",
        search_articles: "Search articles",
        search_placeholder: "Search for articles…",
        search_results: "Search results",
        search_hint: "Type a word or a question to search the articles.",
        results: [
            "{n} result for “{q}”",
            "{n} results for “{q}”",
            "{n} results for “{q}”",
        ],
        no_results: "No articles match “{q}”.",
        categories: "Categories",
        articles: "Articles",
        other_articles: "Other articles",
        article_count: ["{n} article", "{n} articles", "{n} articles"],
        see_all: [
            "See the article",
            "See all {n} articles",
            "See all {n} articles",
        ],
        no_articles: "No articles have been published yet.",
        empty_category: "There are no articles in this category yet.",
        updated: "Updated",
        was_helpful: "Was this article helpful?",
        yes: "Yes",
        no: "No",
        thanks: "Thanks for your feedback!",
        back_home: "Back to the help center",
        page_not_found: "Page not found",
        not_found_text: "The page you are looking for does not exist or has been moved.",
        breadcrumb: "Breadcrumb",
        language: "Language",
        powered_by: "Powered by Throughline",
    };

    pub const PT_BR: Words = Words {
        language_name: "Português (Brasil)",
        og_locale: "pt_BR",
        plural: plural_one_other,
        months: [
            "jan.", "fev.", "mar.", "abr.", "mai.", "jun.", "jul.", "ago.", "set.", "out.", "nov.",
            "dez.",
        ],
        date: "{d} de {m} de {y}",
        skip_to_content: "Pular para o conteúdo",
        help_center: "Central de Ajuda",
        hero: "Como podemos ajudar?",
        home_description: "{q}: respostas para dúvidas frequentes e guias passo a passo.",
        home: "Início",
        go_to_website: "Ir para o site",
        search: "Pesquisar",
        search_articles: "Pesquisar artigos",
        search_placeholder: "Pesquise nos artigos…",
        search_results: "Resultados da pesquisa",
        search_hint: "Digite uma palavra ou uma pergunta para pesquisar nos artigos.",
        results: [
            "{n} resultado para “{q}”",
            "{n} resultados para “{q}”",
            "{n} resultados para “{q}”",
        ],
        no_results: "Nenhum artigo encontrado para “{q}”.",
        categories: "Categorias",
        articles: "Artigos",
        other_articles: "Outros artigos",
        article_count: ["{n} artigo", "{n} artigos", "{n} artigos"],
        see_all: [
            "Ver o artigo",
            "Ver todos os {n} artigos",
            "Ver todos os {n} artigos",
        ],
        no_articles: "Nenhum artigo foi publicado ainda.",
        empty_category: "Ainda não há artigos nesta categoria.",
        updated: "Atualizado em",
        was_helpful: "Este artigo foi útil?",
        yes: "Sim",
        no: "Não",
        thanks: "Obrigado pelo seu feedback!",
        back_home: "Voltar para a Central de Ajuda",
        page_not_found: "Página não encontrada",
        not_found_text: "A página que você procura não existe ou foi movida.",
        breadcrumb: "Navegação estrutural",
        language: "Idioma",
        powered_by: "Desenvolvido com Throughline",
    };

    pub const PL: Words = Words {
        language_name: "Polski",
        og_locale: "pl_PL",
        plural: plural_polish,
        months: [
            "sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru",
        ],
        date: "{d} {m} {y}",
        skip_to_content: "Przejdź do treści",
        help_center: "Centrum pomocy",
        hero: "W czym możemy pomóc?",
        home_description: "{q}: odpowiedzi na najczęstsze pytania i poradniki krok po kroku.",
        home: "Strona główna",
        go_to_website: "Przejdź do witryny",
        search: "Szukaj",
        search_articles: "Szukaj artykułów",
        search_placeholder: "Wyszukaj artykuły…",
        search_results: "Wyniki wyszukiwania",
        search_hint: "Wpisz słowo lub pytanie, aby przeszukać artykuły.",
        results: [
            "{n} wynik dla „{q}”",
            "{n} wyniki dla „{q}”",
            "{n} wyników dla „{q}”",
        ],
        no_results: "Brak artykułów pasujących do „{q}”.",
        categories: "Kategorie",
        articles: "Artykuły",
        other_articles: "Pozostałe artykuły",
        article_count: ["{n} artykuł", "{n} artykuły", "{n} artykułów"],
        see_all: [
            "Zobacz artykuł",
            "Zobacz wszystkie {n} artykuły",
            "Zobacz wszystkie {n} artykułów",
        ],
        no_articles: "Nie opublikowano jeszcze żadnych artykułów.",
        empty_category: "W tej kategorii nie ma jeszcze artykułów.",
        updated: "Zaktualizowano",
        was_helpful: "Czy ten artykuł był pomocny?",
        yes: "Tak",
        no: "Nie",
        thanks: "Dziękujemy za opinię!",
        back_home: "Wróć do centrum pomocy",
        page_not_found: "Nie znaleziono strony",
        not_found_text: "Strona, której szukasz, nie istnieje lub została przeniesiona.",
        breadcrumb: "Ścieżka nawigacji",
        language: "Język",
        powered_by: "Działa dzięki Throughline",
    };

    /// The counted phrase of `forms` for `n`, with `{n}` and `{q}` (already escaped) filled.
    pub(super) fn count(&self, forms: &[&'static str; 3], n: usize, q: &str) -> String {
        let form = forms[(self.plural)(n).min(2)];
        fill(form, &[("n", &n.to_string()), ("q", q)])
    }
}

/// The words of `locale` (`pt-BR` and `pt_BR` alike); English for anything unknown.
pub(crate) fn words(locale: &str) -> &'static Words {
    match normalise_locale(locale) {
        Some("pt_BR") => &Words::PT_BR,
        Some("pl") => &Words::PL,
        _ => &Words::EN,
    }
}

/// `template` with each `{name}` replaced in one pass, so a value is never filled again.
pub(super) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (close, *v))
        }) {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A date as the locale writes it: "Dec 6, 2026", "6 de dez. de 2026", "6 gru 2026" (UTC).
pub(crate) fn format_date(locale: &str, ms: Millis) -> String {
    let words = words(locale);
    let Some(at) = DateTime::from_timestamp_millis(ms) else {
        return String::new();
    };
    let month = words.months[at.month0() as usize % 12];
    fill(
        words.date,
        &[
            ("d", &at.day().to_string()),
            ("m", month),
            ("y", &at.year().to_string()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_use_each_languages_plural_forms() {
        let cases = [
            ("pl", 1, "1 wynik dla „q”"),
            ("pl", 2, "2 wyniki dla „q”"),
            ("pl", 4, "4 wyniki dla „q”"),
            ("pl", 5, "5 wyników dla „q”"),
            ("pl", 12, "12 wyników dla „q”"),
            ("pl", 22, "22 wyniki dla „q”"),
            ("pl", 25, "25 wyników dla „q”"),
            ("pt_BR", 1, "1 resultado para “q”"),
            ("pt_BR", 3, "3 resultados para “q”"),
            ("en", 1, "1 result for “q”"),
            ("en", 11, "11 results for “q”"),
        ];
        for (locale, n, expected) in cases {
            let w = words(locale);
            assert_eq!(w.count(&w.results, n, "q"), expected);
        }
        assert_eq!(
            Words::PL.count(&Words::PL.see_all, 3, ""),
            "Zobacz wszystkie 3 artykuły"
        );
        assert_eq!(words("de").search, "Search");
        assert_eq!(words("pt-BR").search, "Pesquisar");
        // A query holding a placeholder is not filled again.
        assert_eq!(
            fill("{n} for {q}", &[("n", "2"), ("q", "{n}")]),
            "2 for {n}"
        );
    }
}
