//! Splits what the customer wrote now from quoted history and signatures.
//!
//! Agents read the new part; the quoted part is collapsed behind "show quoted text". Nothing is
//! thrown away: `visible + quoted` is the whole body, and the raw message stays in the blob
//! store. When in doubt the split errs towards showing more: a body that would become empty is
//! returned whole, and interleaved (inline) answers between quoted lines stay visible.

/// A body split at the start of its quoted history or signature.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuoteSplit {
    /// What to show by default.
    pub visible: String,
    /// Quoted history and signature (empty when nothing was found); concatenated after
    /// `visible` it gives back the original body.
    pub quoted: String,
}

impl QuoteSplit {
    fn whole(body: &str) -> Self {
        Self {
            visible: body.to_owned(),
            quoted: String::new(),
        }
    }

    /// Whether anything was collapsed.
    pub fn has_quoted(&self) -> bool {
        !self.quoted.is_empty()
    }
}

/// Splits a text/plain body.
///
/// The quoted part starts at the first of:
/// - a signature separator (`-- `, also `--` as many clients trim the space);
/// - a reply header: "On … wrote:", "Em … escreveu:", "W dniu … pisze:", "Le … a écrit :",
///   "Am … schrieb:", "El … escribió:" (possibly wrapped over up to three lines);
/// - an "-----Original Message-----" line (and its Portuguese/Polish variants);
/// - an Outlook header block: `From:`/`De:`/`Od:` followed by `Sent:`/`Enviado:`/`Enviada em:`/
///   `Wysłane:`/`Date:`/`Data:` (a `____` rule right above is included);
/// - a block of `>` lines that runs to the end of the text (or to one of the markers above).
///
/// A header block right after a "Forwarded message" line (in the languages of
/// [`FORWARD_MARKERS`]) is not a marker: forwarded mail is the content.
pub fn split_text(body: &str) -> QuoteSplit {
    let lines: Vec<&str> = body.split_inclusive('\n').collect();
    let marker = (0..lines.len())
        .find(|&i| is_text_marker(&lines, i) && !follows_forward_marker(&lines, i))
        .map(|i| include_rule_above(&lines, i))
        .unwrap_or(lines.len());
    let cut = trailing_quote_start(&lines[..marker]).unwrap_or(marker);

    let offset: usize = lines[..cut].iter().map(|l| l.len()).sum();
    let (visible, quoted) = body.split_at(offset);
    if cut == lines.len() || visible.trim().is_empty() {
        return QuoteSplit::whole(body);
    }
    QuoteSplit {
        visible: visible.to_owned(),
        quoted: quoted.to_owned(),
    }
}

/// Forwarded mail is what the customer wants us to read, not history: its header block must
/// not start the collapsed part.
pub const FORWARD_MARKERS: &[&str] = &[
    "forwarded message",
    "begin forwarded message",
    "mensagem encaminhada",
    "mensaje reenviado",
    "wiadomość przekazana",
    "przekazana wiadomość",
    "message transféré",
    "weitergeleitete nachricht",
];

fn is_forward_marker(text: &str) -> bool {
    let text = lower(text);
    FORWARD_MARKERS.iter().any(|m| text.contains(m))
}

/// Whether one of the two lines above line `i` announces a forwarded message.
fn follows_forward_marker(lines: &[&str], i: usize) -> bool {
    lines[i.saturating_sub(2)..i]
        .iter()
        .any(|line| is_forward_marker(line_text(line)))
}

fn line_text(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

fn is_text_marker(lines: &[&str], i: usize) -> bool {
    let line = line_text(lines[i]);
    let trimmed = line.trim();
    if line == "-- " || line == "--" {
        return true;
    }
    if is_original_message_rule(trimmed) {
        return true;
    }
    if is_reply_header_start(trimmed) {
        // Clients wrap long attribution lines; look at most three lines ahead for the verb.
        let mut joined = String::new();
        for next in lines.iter().skip(i).take(3) {
            joined.push_str(line_text(next).trim());
            joined.push(' ');
            if is_reply_header_end(joined.trim_end()) {
                return true;
            }
        }
        return false;
    }
    is_outlook_header(lines, i)
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn is_original_message_rule(line: &str) -> bool {
    let l = lower(line);
    let core = l.trim_matches(|c: char| c == '-' || c.is_whitespace());
    l.starts_with("-----")
        && matches!(
            core,
            "original message"
                | "mensagem original"
                | "mensaje original"
                | "wiadomość oryginalna"
                | "oryginalna wiadomość"
                | "ursprüngliche nachricht"
                | "message d'origine"
        )
}

/// Attribution openings: "On", "Em" (pt), "W dniu" (pl), "Le" (fr), "Am" (de), "El" (es).
fn is_reply_header_start(line: &str) -> bool {
    ["On ", "Em ", "W dniu ", "Le ", "Am ", "El "]
        .iter()
        .any(|p| line.starts_with(p))
}

fn is_reply_header_end(joined: &str) -> bool {
    let l = lower(joined);
    [
        "wrote:",
        "escreveu:",
        "pisze:",
        "napisał:",
        "napisała:",
        "a écrit :",
        "a écrit:",
        "schrieb:",
        "escribió:",
    ]
    .iter()
    .any(|verb| l.ends_with(verb))
}

const FROM_FIELDS: &[&str] = &["from:", "de:", "od:", "von:", "de :"];
const SENT_FIELDS: &[&str] = &[
    "sent:",
    "enviado:",
    "enviada:",
    "enviado em:",
    "enviada em:",
    "wysłane:",
    "wysłano:",
    "data:",
    "date:",
    "gesendet:",
    "envoyé :",
    "envoyé:",
];

/// An Outlook-style header block: a `From:` line followed within two lines by a sent/date line.
fn is_outlook_header(lines: &[&str], i: usize) -> bool {
    let starts_with_any = |line: &str, fields: &[&str]| {
        let l = lower(line_text(line).trim_start_matches(['*', ' ']));
        fields.iter().any(|f| l.starts_with(f))
    };
    starts_with_any(lines[i], FROM_FIELDS)
        && lines
            .iter()
            .skip(i + 1)
            .take(2)
            .any(|next| starts_with_any(next, SENT_FIELDS))
}

/// Outlook puts a `____…` rule (or a blank line then the rule) right above its header block.
fn include_rule_above(lines: &[&str], i: usize) -> usize {
    let is_rule = |line: &str| {
        let t = line_text(line).trim();
        t.len() >= 10 && t.chars().all(|c| c == '_' || c == '-')
    };
    match i.checked_sub(1) {
        Some(above) if is_rule(lines[above]) => above,
        _ => i,
    }
}

/// The start of a block of `>` lines (blank lines allowed inside) that runs to the end of
/// `lines`. Interleaved answers after a quoted block mean the block is not history: `None`.
fn trailing_quote_start(lines: &[&str]) -> Option<usize> {
    let mut start = None;
    for (i, line) in lines.iter().enumerate().rev() {
        let t = line_text(line).trim_start();
        if t.starts_with('>') {
            start = Some(i);
        } else if t.is_empty() {
            continue;
        } else {
            break;
        }
    }
    let start = start?;
    // Include the blank lines right before the block in the quoted part.
    let mut cut = start;
    while cut > 0 && line_text(lines[cut - 1]).trim().is_empty() {
        cut -= 1;
    }
    Some(cut)
}

/// Splits an HTML body at the first quote container:
/// `<blockquote type="cite">` (Apple Mail, Thunderbird), `div.gmail_quote` (Gmail),
/// `#divRplyFwdMsg` / `#appendonsend` (Outlook), `div.moz-cite-prefix` (Thunderbird),
/// `div.yahoo_quoted` (Yahoo), and signature containers `div.gmail_signature` /
/// `div.moz-signature`. A container whose text starts with a forward marker is skipped, as in
/// [`split_text`].
///
/// The split is a plain cut in the source at the container's start tag: both halves are
/// fragments with unbalanced tags, which is fine because both go through
/// [`crate::email::sanitize::sanitize_html`] (an HTML5 parser) before anyone sees them.
pub fn split_html(html: &str) -> QuoteSplit {
    let Some(cut) = first_quote_container(html) else {
        return QuoteSplit::whole(html);
    };
    let (visible, quoted) = html.split_at(cut);
    if !has_visible_text(visible) {
        return QuoteSplit::whole(html);
    }
    QuoteSplit {
        visible: visible.to_owned(),
        quoted: quoted.to_owned(),
    }
}

/// The start of the first quote container that is not a forwarded message (Gmail wraps
/// forwards in the same `gmail_quote` div as replies).
fn first_quote_container(html: &str) -> Option<usize> {
    let mut pos = 0;
    while let Some(rel) = html[pos..].find('<') {
        let start = pos + rel;
        let rest = &html[start..];
        if rest.starts_with("<!--") {
            pos = start + rest.find("-->").map_or(rest.len(), |e| e + 3);
            continue;
        }
        let Some(tag) = StartTag::parse(rest) else {
            pos = start + 1;
            continue;
        };
        if tag.is_quote_container() && !starts_with_forward(&html[start..]) {
            return Some(start);
        }
        pos = start + tag.len;
    }
    None
}

/// Whether the first words of an HTML fragment announce a forwarded message.
fn starts_with_forward(html: &str) -> bool {
    let mut end = html.len().min(1500);
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    is_forward_marker(&visible_text(&html[..end]))
}

/// Whether an HTML fragment has any text outside tags and comments (entities like `&nbsp;`
/// count as blank).
fn has_visible_text(html: &str) -> bool {
    visible_text(html)
        .chars()
        .any(|c| !c.is_whitespace() && c != '\u{a0}' && c != '\u{200b}')
}

/// The text of an HTML fragment outside tags, comments and non-rendered elements, with
/// non-breaking-space entities as spaces. Rough, but enough to judge emptiness and markers.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut pos = 0;
    while pos < html.len() {
        let rest = &html[pos..];
        let Some(rel) = rest.find('<') else {
            text.push_str(rest);
            break;
        };
        text.push_str(&rest[..rel]);
        let tag_src = &rest[rel..];
        pos += rel;
        if tag_src.starts_with("<!--") {
            pos += tag_src.find("-->").map_or(tag_src.len(), |e| e + 3);
        } else if let Some(tag) = StartTag::parse(tag_src) {
            pos += tag.len;
            // The text of these elements is never rendered.
            if matches!(tag.name.as_str(), "style" | "script" | "title") {
                let close = format!("</{}", tag.name);
                let after = &html[pos..];
                pos += after
                    .to_ascii_lowercase()
                    .find(&close)
                    .map_or(after.len(), |e| e);
            }
        } else {
            // An end tag, doctype or stray `<`: skip to the closing `>`.
            pos += tag_src.find('>').map_or(tag_src.len(), |e| e + 1);
        }
        text.push(' ');
    }
    text.replace("&nbsp;", " ").replace("&#160;", " ")
}

/// The parts of an HTML start tag this module cares about.
struct StartTag {
    name: String,
    attrs: Vec<(String, String)>,
    /// Bytes from `<` to `>` inclusive.
    len: usize,
}

impl StartTag {
    /// Parses `<name attr="v" attr2='v' attr3=v attr4>`; `None` for end tags, doctypes and
    /// text that is not a tag.
    fn parse(s: &str) -> Option<Self> {
        let bytes = s.as_bytes();
        if bytes.first() != Some(&b'<') || !bytes.get(1)?.is_ascii_alphabetic() {
            return None;
        }
        let mut i = 1;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
            i += 1;
        }
        let name = s[1..i].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                i += 1;
            }
            match bytes.get(i) {
                None => return None,
                Some(b'>') => {
                    return Some(Self {
                        name,
                        attrs,
                        len: i + 1,
                    });
                }
                Some(_) => {}
            }
            let name_start = i;
            while i < bytes.len()
                && !bytes[i].is_ascii_whitespace()
                && !matches!(bytes[i], b'=' | b'>' | b'/')
            {
                i += 1;
            }
            let attr_name = s[name_start..i].to_ascii_lowercase();
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let mut value = String::new();
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                match bytes.get(i) {
                    Some(&q @ (b'"' | b'\'')) => {
                        let close = s[i + 1..].find(q as char)? + i + 1;
                        value = s[i + 1..close].to_owned();
                        i = close + 1;
                    }
                    Some(_) => {
                        let start = i;
                        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>'
                        {
                            i += 1;
                        }
                        value = s[start..i].to_owned();
                    }
                    None => return None,
                }
            }
            if !attr_name.is_empty() {
                attrs.push((attr_name, value));
            }
        }
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|c| c.eq_ignore_ascii_case(class)))
    }

    fn is_quote_container(&self) -> bool {
        if self.name == "blockquote"
            && self
                .attr("type")
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("cite"))
        {
            return true;
        }
        if self.attr("id").is_some_and(|id| {
            let id = id.trim();
            id.eq_ignore_ascii_case("divRplyFwdMsg") || id.eq_ignore_ascii_case("appendonsend")
        }) {
            return true;
        }
        [
            "gmail_quote",
            "gmail_quote_container",
            "moz-cite-prefix",
            "yahoo_quoted",
            "gmail_signature",
            "moz-signature",
        ]
        .iter()
        .any(|class| self.has_class(class))
    }
}
