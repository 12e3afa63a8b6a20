//! Message search: the user's words turned into each database's full-text query, and the
//! messages it finds.
//!
//! Both indexes (SQLite FTS5, PostgreSQL GIN over `to_tsvector('simple', …)`, see migration
//! 0006) split text into words; a search matches messages containing every word given, each
//! as a word prefix ("pedi" finds "pedido"). Only letters and digits reach the query
//! languages, so nothing a user types can change the query's structure.

use std::collections::BTreeSet;

use crate::rows::RowExt;
use crate::sql::SqlBuilder;
use crate::{Conn, Result};

/// The folding table and functions live with the help center's search, so there is one table;
/// the message and contact indexes use the same (migration 0019 repeats it for PostgreSQL).
pub use throughline_core::help_center::search::{FOLD_FROM, FOLD_TO, fold, fold_char};

/// The PostgreSQL expression the message index is built on (and searches must repeat exactly,
/// so the planner uses the index).
pub const PG_MESSAGE_VECTOR: &str = "to_tsvector('simple', translate(COALESCE(content, ''), \
'áàâãäåąćçčďéèêëęěíìîïłńňñóòôõöøřśšťúùûüůýÿźżžÁÀÂÃÄÅĄĆÇČĎÉÈÊËĘĚÍÌÎÏŁŃŇÑÓÒÔÕÖØŘŚŠŤÚÙÛÜŮÝŸŹŻŽ', \
'aaaaaaacccdeeeeeeiiiilnnnoooooorsstuuuuuyyzzzaaaaaaacccdeeeeeeiiiilnnnoooooorsstuuuuuyyzzz'))";

/// A contact search shorter than this many characters cannot use the trigram indexes and
/// reads the account's contacts instead.
const TRIGRAM: usize = 3;

/// At most this many words take part in one search.
const MAX_WORDS: usize = 8;
/// Words longer than this are cut (no real word is; the limit bounds the query).
const MAX_WORD_CHARS: usize = 64;

/// Runs of letters and digits, lower-cased, folded and cut to [`MAX_WORD_CHARS`].
fn split_words(input: &str) -> impl Iterator<Item = String> + '_ {
    input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            // Lower-casing may add a combining mark ("İ" becomes "i" + U+0307): only letters
            // and digits are kept of what it gives.
            w.chars()
                .take(MAX_WORD_CHARS)
                .flat_map(char::to_lowercase)
                .filter(|c| c.is_alphanumeric())
                .map(fold_char)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
}

/// The searchable words of `input`: runs of letters and digits, lower-cased.
pub fn words(input: &str) -> Vec<String> {
    split_words(input).take(MAX_WORDS).collect()
}

/// Every distinct word of a message's text, as the conversation index holds them (the same
/// splitting and folding as a search's [`words`], so each word typed is a prefix of a term).
pub fn terms(text: &str) -> BTreeSet<String> {
    split_words(text).collect()
}

/// The upper bound of the terms that start with `prefix`: in byte order (SQLite's BINARY and
/// PostgreSQL's "C" collation) every such term sorts below it, since no term holds the last
/// code point.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

/// An FTS5 MATCH expression: every word as a quoted prefix.
pub fn fts5_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A PostgreSQL `to_tsquery('simple', …)` expression: every word as a prefix, all required.
pub fn tsquery(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("{w}:*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// A message found by its words, with where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundMessage {
    pub id: i64,
    pub content: Option<String>,
    pub message_type: i64,
    pub content_type: String,
    pub source_id: Option<String>,
    pub private: bool,
    pub sender_type: Option<String>,
    pub sender_id: Option<i64>,
    pub created_at: i64,
    pub conversation_display_id: i64,
    pub inbox_id: i64,
    pub inbox_name: String,
    pub channel_type: String,
}

/// The newest messages (customers' and agents', notes included; not activity lines) whose text
/// has every word of `text` as a word prefix, in the conversations the scope may see.
pub async fn messages(
    conn: &mut crate::Conn,
    scope: &crate::AccountScope,
    text: &str,
    limit: i64,
) -> crate::Result<Vec<FoundMessage>> {
    let words = words(text);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = SqlBuilder::new(
        "SELECT m.id, m.content, m.message_type, m.content_type, m.source_id, m.private, \
           m.sender_type, m.sender_id, m.created_at, c.display_id, m.inbox_id, \
           i.name AS inbox_name, i.channel_type \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         JOIN inboxes i ON i.id = m.inbox_id WHERE m.account_id = ",
    );
    q.bind(scope.account_id())
        .push(" AND m.message_type IN (0, 1)");
    if let crate::scope::InboxVisibility::Only(ids) = scope.inboxes() {
        q.push(" AND c.inbox_id IN ").bind_list(ids);
    }
    if crate::filters::is_postgres(conn) {
        q.push(" AND ")
            .push(PG_MESSAGE_VECTOR)
            .push(" @@ to_tsquery('simple', ")
            .bind(tsquery(&words))
            .push(")");
    } else {
        q.push(" AND m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ")
            .bind(fts5_query(&words))
            .push(")");
    }
    q.push(" ORDER BY m.id DESC LIMIT ")
        .bind(limit.clamp(1, 100));
    let rows = q.build().fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(FoundMessage {
                id: r.int("id")?,
                content: r.opt_text("content")?,
                message_type: r.int("message_type")?,
                content_type: r.text("content_type")?,
                source_id: r.opt_text("source_id")?,
                private: r.flag("private")?,
                sender_type: r.opt_text("sender_type")?,
                sender_id: r.opt_int("sender_id")?,
                created_at: r.int("created_at")?,
                conversation_display_id: r.int("display_id")?,
                inbox_id: r.int("inbox_id")?,
                inbox_name: r.text("inbox_name")?,
                channel_type: r.text("channel_type")?,
            })
        })
        .collect()
}

/// Adds the words of `texts` to the conversation's terms (those it has already are left).
pub(crate) async fn add_terms<'a>(
    conn: &mut Conn,
    account_id: i64,
    conversation_id: i64,
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let mut all = BTreeSet::new();
    for text in texts {
        all.extend(terms(text));
    }
    if all.is_empty() {
        return Ok(());
    }
    // One statement whatever the number of words: they travel as one JSON array.
    let list = serde_json::Value::from_iter(all).to_string();
    let sql = if crate::filters::is_postgres(conn) {
        "INSERT INTO conversation_terms (account_id, term, conversation_id) \
         SELECT $1, value, $2 FROM json_array_elements_text($3::json) ON CONFLICT DO NOTHING"
    } else {
        "INSERT INTO conversation_terms (account_id, term, conversation_id) \
         SELECT $1, value, $2 FROM json_each($3) WHERE true ON CONFLICT DO NOTHING"
    };
    sqlx::query(sql)
        .bind(account_id)
        .bind(conversation_id)
        .bind(list)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets each conversation's terms to the words of the messages it holds now: after a
/// message's text was removed or replaced, or messages moved to another conversation.
pub(crate) async fn rebuild_terms(
    conn: &mut Conn,
    account_id: i64,
    conversation_ids: &[i64],
) -> Result<()> {
    if conversation_ids.is_empty() {
        return Ok(());
    }
    let mut q = SqlBuilder::new("DELETE FROM conversation_terms WHERE account_id = ");
    q.bind(account_id)
        .push(" AND conversation_id IN ")
        .bind_list(conversation_ids);
    q.build().execute(&mut *conn).await?;
    for &conversation_id in conversation_ids {
        let texts: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT content FROM messages WHERE account_id = $1 AND conversation_id = $2",
        )
        .bind(account_id)
        .bind(conversation_id)
        .fetch_all(&mut *conn)
        .await?;
        add_terms(
            conn,
            account_id,
            conversation_id,
            texts.iter().flatten().map(String::as_str),
        )
        .await?;
    }
    Ok(())
}

/// `conversations.id` matches `search`: a message of it holds every word (each as a word
/// prefix), or its contact's name, email or phone contains the text, or it is the display id
/// typed ("#12"). The caller has restricted the rows to one account.
///
/// One `id IN (…)` over the union of the three sets, so the database builds the set once and
/// visits only its conversations (an `OR` of three conditions read every conversation).
pub(crate) fn push_conversation_match(
    q: &mut SqlBuilder,
    conn: &Conn,
    account_id: i64,
    search: &str,
) {
    q.push(" AND id IN (");
    // Every word's conversations (SQLite reads compounds left to right, PostgreSQL puts
    // INTERSECT before UNION: both read this as (w1 ∩ w2 …) ∪ contacts ∪ id). A search without
    // words ("+55", "@") looks at contacts and ids only.
    let words = words(search);
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            q.push(" INTERSECT ");
        }
        q.push("SELECT conversation_id FROM conversation_terms WHERE account_id = ")
            .bind(account_id)
            .push(" AND term >= ")
            .bind(word.clone())
            .push(" AND term < ")
            .bind(prefix_end(word));
    }
    if !words.is_empty() {
        q.push(" UNION ");
    }
    q.push("SELECT id FROM conversations WHERE account_id = ")
        .bind(account_id)
        .push(" AND contact_id IN (SELECT id FROM contacts WHERE account_id = ")
        .bind(account_id)
        .push(" AND ");
    push_contact_match(q, conn, search);
    q.push(")");
    if let Ok(display_id) = search.trim_start_matches('#').parse::<i64>() {
        q.push(" UNION SELECT id FROM conversations WHERE account_id = ")
            .bind(account_id)
            .push(" AND display_id = ")
            .bind(display_id);
    }
    q.push(")");
}

/// `contacts` rows whose name, email or phone contains `search` (lower case, and without
/// diacritics once it is long enough for the trigram indexes).
pub(crate) fn push_contact_match(q: &mut SqlBuilder, conn: &Conn, search: &str) {
    let lowered = search.to_lowercase();
    if lowered.chars().count() < TRIGRAM {
        let pattern = format!("%{}%", crate::like_escape(&lowered));
        q.push("(LOWER(name) LIKE ")
            .bind(pattern.clone())
            .push(" ESCAPE '\\' OR LOWER(email) LIKE ")
            .bind(pattern.clone())
            .push(" ESCAPE '\\' OR phone_number LIKE ")
            .bind(pattern)
            .push(" ESCAPE '\\')");
    } else if crate::filters::is_postgres(conn) {
        // `contact_search` (migration 0022) holds name, email and phone lower-cased and folded.
        q.push("id IN (SELECT contact_id FROM contact_search WHERE text LIKE ")
            .bind(format!("%{}%", crate::like_escape(&fold(&lowered))))
            .push(" ESCAPE '\\')");
    } else {
        // The trigram tokenizer reads a quoted phrase as a substring to find in any column.
        q.push("id IN (SELECT rowid FROM contacts_trgm WHERE contacts_trgm MATCH ")
            .bind(format!("\"{}\"", fold(&lowered).replace('"', "\"\"")))
            .push(")");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folding_tables_pair_each_letter_and_match_the_index_expression() {
        assert_eq!(FOLD_FROM.chars().count(), FOLD_TO.chars().count());
        for (from, to) in FOLD_FROM.chars().zip(FOLD_TO.chars()) {
            assert!(to.is_ascii_lowercase(), "{from} → {to}");
            assert_eq!(
                from.to_lowercase().next().map(fold_char),
                Some(to),
                "{from} folds like its lower case"
            );
        }
        assert!(PG_MESSAGE_VECTOR.contains(FOLD_FROM));
        assert!(PG_MESSAGE_VECTOR.contains(FOLD_TO));
        // An upper-case letter with a diacritic folds to the plain lower-case one (the
        // indexes lower-case everything else themselves).
        assert_eq!(fold("Żółć łódź zamówienie NÃO"), "zolc lodz zamowienie NaO");
    }

    #[test]
    fn words_are_letters_and_digits_lower_cased() {
        assert_eq!(
            words("Pedido #4521, não chegou!"),
            ["pedido", "4521", "nao", "chegou"]
        );
        assert_eq!(words("  \"*'() & | ! :"), Vec::<String>::new());
        // Found by the property test: a Turkish dotted capital I.
        assert_eq!(words("İstanbul"), ["istanbul"]);
        assert_eq!(fts5_query(&words("Gdzie PACZKA")), "\"gdzie\"* \"paczka\"*");
        assert_eq!(tsquery(&words("Gdzie PACZKA")), "gdzie:* & paczka:*");
    }

    proptest! {
        /// Whatever is typed, the query holds only quoted words, prefix stars and joins.
        #[test]
        fn no_input_escapes_the_query_syntax(input in ".{0,200}") {
            let w = words(&input);
            prop_assert!(w.len() <= MAX_WORDS);
            for word in &w {
                prop_assert!(word.chars().all(char::is_alphanumeric));
                prop_assert!(!word.is_empty());
            }
            let fts = fts5_query(&w);
            prop_assert_eq!(fts.matches('"').count(), 2 * w.len());
            let ts = tsquery(&w);
            prop_assert!(!ts.contains(['\'', '(', ')', '|', '!']));
        }
    }
}
