//! Contacts as CSV: an import file read row by row in Chatwoot's columns, and an export written
//! so that a spreadsheet shows it as text and the same file imports back.
//!
//! Chatwoot's import (`POST …/contacts/import`, `import_file`) takes `name`, `email`,
//! `phone_number` and `identifier`, keeps `company_name`, `city` and `country` in the contact's
//! additional attributes and every other column as a custom attribute. A row finds its contact
//! by identifier, then email, then phone (`find_order`), so importing the same file twice
//! changes nothing. Here each bad row is reported with its spreadsheet row number (the header is
//! row 1) and the field at fault, and the good rows are imported regardless.

use serde_json::{Map, Value};

use crate::identity::{ContactPhone, normalize_email};
use crate::validate::{FieldError, optional_text};

/// Rows a single file may hold; larger lists are split (the app sends chunks of this size or
/// less, so it can show progress).
pub const MAX_ROWS: usize = 5_000;
/// Columns a file may have (the four keys, three places and custom attributes).
pub const MAX_COLUMNS: usize = 64;
/// Characters one cell may hold.
const MAX_CELL: usize = 2_000;

/// Columns kept in `additional_attributes` rather than as custom attributes.
const PLACE_COLUMNS: [&str; 3] = ["company_name", "city", "country"];

/// Why a whole file cannot be read (as opposed to one bad row).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not UTF-8 text; save it as \"CSV UTF-8\"")]
    NotUtf8,
    #[error(
        "the header names no column Throughline can import (name, email, phone_number, identifier)"
    )]
    NoKnownColumn,
    #[error("the column `{0}` appears twice in the header")]
    DuplicateColumn(String),
    #[error("the file has more than {MAX_COLUMNS} columns")]
    TooManyColumns,
    #[error("the file has more than {MAX_ROWS} rows; split it")]
    TooManyRows,
    #[error("the file is not valid CSV: {0}")]
    Malformed(String),
}

/// One good row: addresses normalised, attributes only where the cell had a value (an empty
/// cell never erases what a contact already has).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportRow {
    /// The spreadsheet's row number (header = 1).
    pub row: u64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    pub additional_attributes: Map<String, Value>,
    pub custom_attributes: Map<String, Value>,
}

/// A row that was not imported, with why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub row: u64,
    #[serde(flatten)]
    pub error: FieldError,
}

/// A contact key, in the order a row looks for its contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'a> {
    Identifier(&'a str),
    Email(&'a str),
    Phone(&'a str),
}

impl ImportRow {
    /// The keys this row has, identifier first (the business's own id is the strongest), then
    /// email, then phone.
    pub fn find_order(&self) -> Vec<Key<'_>> {
        let mut keys = Vec::with_capacity(3);
        if let Some(v) = &self.identifier {
            keys.push(Key::Identifier(v));
        }
        if let Some(v) = &self.email {
            keys.push(Key::Email(v));
        }
        if let Some(v) = &self.phone_number {
            keys.push(Key::Phone(v));
        }
        keys
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Column {
    Name,
    Email,
    Phone,
    Identifier,
    Place(String),
    Custom(String),
    Ignored,
}

fn column_of(header: &str) -> Column {
    let key = header.trim().to_lowercase().replace([' ', '-'], "_");
    match key.as_str() {
        "" | "id" => Column::Ignored,
        "name" => Column::Name,
        "email" => Column::Email,
        "phone_number" | "phone" => Column::Phone,
        "identifier" => Column::Identifier,
        "company" => Column::Place("company_name".to_owned()),
        k if PLACE_COLUMNS.contains(&k) => Column::Place(key),
        // Export's own columns: read back as nothing rather than as custom attributes.
        "created_at" | "last_activity_at" | "labels" => Column::Ignored,
        _ => Column::Custom(header.trim().to_owned()),
    }
}

/// A file's rows: each good or with its error. Blank rows (every cell empty) are skipped.
pub fn read(bytes: &[u8]) -> Result<Vec<Result<ImportRow, RowError>>, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|_| FileError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or(FileError::Empty)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter_of(first_line))
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| FileError::Malformed(e.to_string()))?
        .clone();
    if headers.len() > MAX_COLUMNS {
        return Err(FileError::TooManyColumns);
    }
    let columns: Vec<Column> = headers.iter().map(column_of).collect();
    for (i, c) in columns.iter().enumerate() {
        if *c != Column::Ignored && columns[..i].contains(c) {
            return Err(FileError::DuplicateColumn(headers[i].trim().to_owned()));
        }
    }
    if !columns.iter().any(|c| {
        matches!(
            c,
            Column::Name | Column::Email | Column::Phone | Column::Identifier
        )
    }) {
        return Err(FileError::NoKnownColumn);
    }
    let mut rows = Vec::new();
    let mut lines = LineCounter::new(text);
    for record in reader.records() {
        let record = record.map_err(|e| FileError::Malformed(e.to_string()))?;
        let row = lines.line_at(record.position().map_or(0, |p| p.byte()));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(FileError::TooManyRows);
        }
        let parsed = if record.len() != columns.len() {
            Err(FieldError::new(
                "row",
                "columns",
                format!(
                    "the row has {} cells where the header has {}",
                    record.len(),
                    columns.len()
                ),
            ))
        } else {
            parse_row(row, &columns, record.iter())
        };
        rows.push(parsed.map_err(|error| RowError { row, error }));
    }
    Ok(rows)
}

/// The line a record starts on. The reader's own line number counts from before the blank
/// lines it skipped; a spreadsheet's row number is where the record's text begins.
struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// Offsets must not go backwards (records come in order), so the text is scanned once.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        let from = self.offset.min(start);
        self.line += self.text[from..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.offset = start;
        self.line
    }
}

/// Spreadsheets in Brazil and Poland write `;` where the decimal separator is `,`.
fn delimiter_of(header: &str) -> u8 {
    if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    }
}

fn parse_row<'a>(
    row: u64,
    columns: &[Column],
    cells: impl Iterator<Item = &'a str>,
) -> Result<ImportRow, FieldError> {
    let mut out = ImportRow {
        row,
        ..Default::default()
    };
    for (column, raw) in columns.iter().zip(cells) {
        let cell = unescape(raw.trim());
        if cell.is_empty() || *column == Column::Ignored {
            continue;
        }
        if cell.chars().count() > MAX_CELL {
            return Err(FieldError::new(
                field_name(column),
                "too_long",
                format!("the cell is longer than {MAX_CELL} characters"),
            ));
        }
        match column {
            Column::Name => out.name = optional_text("name", cell, 255)?,
            Column::Email => {
                out.email = Some(
                    normalize_email(cell)
                        .map_err(|e| FieldError::new("email", "invalid", e.to_string()))?,
                );
            }
            Column::Phone => {
                let phone = ContactPhone::parse(cell).map_err(|_| {
                    FieldError::new(
                        "phone_number",
                        "invalid",
                        "Phone number should be in e164 format",
                    )
                })?;
                out.phone_number = Some(phone.into_string());
            }
            Column::Identifier => out.identifier = optional_text("identifier", cell, 255)?,
            Column::Place(key) => {
                out.additional_attributes
                    .insert(key.clone(), Value::String(cell.to_owned()));
            }
            Column::Custom(key) => {
                out.custom_attributes
                    .insert(key.clone(), Value::String(cell.to_owned()));
            }
            Column::Ignored => {}
        }
    }
    if out.find_order().is_empty() {
        return Err(FieldError::new(
            "row",
            "no_key",
            "the row has no email, phone_number or identifier to find or create its contact by",
        ));
    }
    Ok(out)
}

fn field_name(column: &Column) -> &str {
    match column {
        Column::Name => "name",
        Column::Email => "email",
        Column::Phone => "phone_number",
        Column::Identifier => "identifier",
        Column::Place(k) | Column::Custom(k) => k,
        Column::Ignored => "row",
    }
}

/// Cells a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return at the
/// start) are exported behind a `'`; reading drops that `'` again, so `+5511…` round-trips.
fn is_formula_start(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// A `'` before such a sign, or before another `'`, is the export's escape.
fn unescape(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(|c| is_formula_start(c) || c == '\'') => rest,
        _ => cell,
    }
}

/// A cell as exported (trimmed, as every stored value is): text a spreadsheet will not
/// evaluate, which `unescape` turns back into exactly this text.
pub fn escape(cell: &str) -> String {
    let cell = cell.trim();
    if cell.starts_with(is_formula_start) || unescape(cell) != cell {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// Writes the export: a header, then one row per contact. Each row's cells follow `header`.
pub struct Export {
    writer: csv::Writer<Vec<u8>>,
}

impl Export {
    pub fn new(header: &[&str]) -> Self {
        let mut writer = csv::Writer::from_writer(Vec::new());
        // Writing into memory cannot fail.
        let _ = writer.write_record(header);
        Self { writer }
    }

    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) {
        let _ = self
            .writer
            .write_record(cells.into_iter().map(escape).collect::<Vec<_>>());
    }

    /// The file so far (UTF-8 with a byte-order mark, which spreadsheets need to read the
    /// accents in ç, ã and ł correctly).
    pub fn finish(self) -> Vec<u8> {
        let body = self.writer.into_inner().unwrap_or_default();
        let mut out = Vec::with_capacity(body.len() + 3);
        out.extend_from_slice("\u{feff}".as_bytes());
        out.extend_from_slice(&body);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(rows: Vec<Result<ImportRow, RowError>>) -> Vec<ImportRow> {
        rows.into_iter().map(|r| r.expect("row reads")).collect()
    }

    #[test]
    fn reads_chatwoots_columns_and_keeps_the_rest_as_attributes() {
        let file = "name,email,phone_number,identifier,company,city,plan\n\
                    Ana Souza,ANA@Example.com, +55 11 91234-5678 ,crm-1,Loja Ana,São Paulo,gold\n";
        let rows = ok(read(file.as_bytes()).unwrap());
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.row, 2);
        assert_eq!(r.name.as_deref(), Some("Ana Souza"));
        assert_eq!(r.email.as_deref(), Some("ana@example.com"));
        assert_eq!(r.phone_number.as_deref(), Some("+5511912345678"));
        assert_eq!(r.identifier.as_deref(), Some("crm-1"));
        assert_eq!(r.additional_attributes["company_name"], "Loja Ana");
        assert_eq!(r.additional_attributes["city"], "São Paulo");
        assert_eq!(r.custom_attributes["plan"], "gold");
        assert_eq!(
            r.find_order(),
            vec![
                Key::Identifier("crm-1"),
                Key::Email("ana@example.com"),
                Key::Phone("+5511912345678")
            ]
        );
    }

    #[test]
    fn each_bad_row_is_reported_with_its_spreadsheet_row_and_field() {
        let file = "name;email;phone_number\n\
                    Jan Kowalski;jan@example.pl;+48 601 234 567\n\
                    Zła;not-an-email;\n\
                    \n\
                    Anna;;12345\n\
                    Tylko imię;;\n\
                    Krótki;a@b.pl\n";
        let rows = read(file.as_bytes()).unwrap();
        let errors: Vec<(u64, String, &str)> = rows
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| (e.row, e.error.field.clone(), e.error.code))
            .collect();
        assert_eq!(
            errors,
            vec![
                (3, "email".to_owned(), "invalid"),
                (5, "phone_number".to_owned(), "invalid"),
                (6, "row".to_owned(), "no_key"),
                (7, "row".to_owned(), "columns"),
            ]
        );
        assert_eq!(rows.iter().filter(|r| r.is_ok()).count(), 1);
    }

    #[test]
    fn whole_file_errors() {
        assert_eq!(read(b""), Err(FileError::Empty));
        assert_eq!(read(b"\xff\xfe n\x00a"), Err(FileError::NotUtf8));
        assert_eq!(read(b"plan,tier\ngold,1\n"), Err(FileError::NoKnownColumn));
        assert_eq!(
            read(b"email,Email\na@b.co,c@d.co\n"),
            Err(FileError::DuplicateColumn("Email".to_owned()))
        );
        let wide = (0..=MAX_COLUMNS)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>();
        assert_eq!(
            read(format!("email,{}\n", wide.join(",")).as_bytes()),
            Err(FileError::TooManyColumns)
        );
        let long = format!("email\n{}", "a@b.co\n".repeat(MAX_ROWS + 1));
        assert_eq!(read(long.as_bytes()), Err(FileError::TooManyRows));
    }

    #[test]
    fn a_byte_order_mark_and_the_exports_own_columns_are_understood() {
        let file =
            "\u{feff}id,name,email,labels,created_at\n7,Ana,ana@example.com,vip,2026-01-01\n";
        let r = &ok(read(file.as_bytes()).unwrap())[0];
        assert_eq!(r.email.as_deref(), Some("ana@example.com"));
        assert!(r.custom_attributes.is_empty());
    }

    #[test]
    fn formulas_are_escaped_on_export_and_read_back_as_typed() {
        assert_eq!(escape("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(escape("+5511912345678"), "'+5511912345678");
        assert_eq!(escape("Ana"), "Ana");
        let mut export = Export::new(&["name", "email", "phone_number"]);
        export.row(["=cmd|' /C calc'!A0", "ana@example.com", "+5511912345678"]);
        let file = export.finish();
        let r = &ok(read(&file).unwrap())[0];
        assert_eq!(r.name.as_deref(), Some("=cmd|' /C calc'!A0"));
        assert_eq!(r.phone_number.as_deref(), Some("+5511912345678"));
    }

    proptest! {
        /// Whatever a name holds (quotes, separators, new lines, formula signs), an exported
        /// contact reads back as the same contact.
        #[test]
        fn export_then_import_round_trips(name in "\\PC{0,40}", user in "[a-z]{1,12}") {
            let email = format!("{user}@example.com");
            let mut export = Export::new(&["name", "email"]);
            export.row([name.as_str(), email.as_str()]);
            // A leading `'` the name really has survives too.
            let quoted = format!("'{}", name.trim());
            let escaped = escape(&quoted);
            prop_assert_eq!(unescape(&escaped), quoted.as_str());
            let rows = read(&export.finish()).unwrap();
            let r = rows[0].as_ref().unwrap();
            let expected = name.trim();
            prop_assert_eq!(r.name.as_deref().unwrap_or(""), expected);
            prop_assert_eq!(r.email.as_deref(), Some(email.as_str()));
        }

        /// No file makes the reader panic.
        #[test]
        fn any_bytes_read_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = read(&bytes);
        }
    }
}
