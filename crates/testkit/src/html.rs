//! An HTML checker for the pages the server renders: [`parse`] reads a document with html5ever,
//! the parser browsers' algorithm is written from, and gives back every parse error (with its
//! line), whether the document fell into quirks mode, and its elements in document order with
//! their attributes and text. Enough to assert what a page must be without a browser.
//!
//! ```
//! let page = throughline_testkit::html::parse(
//!     "<!doctype html><html lang=\"en\"><title>Hi</title><h1>Hello <b>you</b></h1></html>",
//! );
//! assert!(page.errors.is_empty() && !page.quirks);
//! assert_eq!(page.text_of("h1"), ["Hello you"]);
//! assert_eq!(page.first("html").and_then(|e| e.attr("lang")), Some("en"));
//! ```

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tokenizer::TokenizerOpts;
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeBuilderOpts, TreeSink};
use html5ever::{Attribute, ExpandedName, LocalName, ParseOpts, QualName, ns, parse_document};

/// A parsed document.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Every parse error, as `line N: message`; a well-formed page has none.
    pub errors: Vec<String>,
    /// The document is rendered in quirks or limited-quirks mode (no or an old doctype).
    pub quirks: bool,
    /// Every element, in document order (`<html>` first).
    pub elements: Vec<Element>,
}

/// One element of a [`Page`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The local name, lowercase (`a`, `meta`, `svg`).
    pub name: String,
    /// Attributes by local name, values decoded (`&amp;` is `&`), in source order.
    pub attrs: Vec<(String, String)>,
    /// The text inside, descendants included (the DOM's `textContent`).
    pub text: String,
    /// The parent element's index in [`Page::elements`]; `None` for the root.
    pub parent: Option<usize>,
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `class` holds `class` among its space-separated names.
    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_ascii_whitespace().any(|n| n == class))
    }

    /// A short description for messages: `<a href="/x" rel="nofollow">`.
    pub fn describe(&self) -> String {
        let mut out = format!("<{}", self.name);
        for (n, v) in &self.attrs {
            out.push_str(&format!(" {n}=\"{v}\""));
        }
        out.push('>');
        out
    }
}

impl Page {
    /// The elements named `name`, in document order.
    pub fn all(&self, name: &str) -> Vec<&Element> {
        self.elements.iter().filter(|e| e.name == name).collect()
    }

    /// The first element named `name`.
    pub fn first(&self, name: &str) -> Option<&Element> {
        self.elements.iter().find(|e| e.name == name)
    }

    /// The text of each element named `name`, trimmed.
    pub fn text_of(&self, name: &str) -> Vec<&str> {
        self.elements
            .iter()
            .filter(|e| e.name == name)
            .map(|e| e.text.trim())
            .collect()
    }

    /// The `content` of the first `<meta>` whose attribute `key` is `value`:
    /// `meta("name", "description")`, `meta("property", "og:title")`.
    pub fn meta(&self, key: &str, value: &str) -> Option<&str> {
        self.all("meta")
            .into_iter()
            .find(|m| m.attr(key) == Some(value))
            .and_then(|m| m.attr("content"))
    }

    /// The `<link>` elements whose `rel` holds `rel`.
    pub fn links(&self, rel: &str) -> Vec<&Element> {
        self.all("link")
            .into_iter()
            .filter(|l| {
                l.attr("rel").is_some_and(|r| {
                    r.split_ascii_whitespace()
                        .any(|n| n.eq_ignore_ascii_case(rel))
                })
            })
            .collect()
    }

    /// The elements `i` is inside of, from its parent up to the root.
    pub fn ancestors(&self, i: usize) -> Vec<&Element> {
        let mut out = Vec::new();
        let mut at = self.elements.get(i).and_then(|e| e.parent);
        while let Some(p) = at {
            out.push(&self.elements[p]);
            at = self.elements[p].parent;
        }
        out
    }

    /// Whether element `i` is inside an element for which `pred` holds.
    pub fn is_inside(&self, i: usize, pred: impl Fn(&Element) -> bool) -> bool {
        self.ancestors(i).into_iter().any(pred)
    }

    /// `id` values that more than one element carries.
    pub fn duplicate_ids(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        let mut twice: Vec<&str> = Vec::new();
        for id in self.elements.iter().filter_map(|e| e.attr("id")) {
            if seen.contains(&id) {
                if !twice.contains(&id) {
                    twice.push(id);
                }
            } else {
                seen.push(id);
            }
        }
        twice
    }
}

/// Parses `html` as a whole document, the way a browser does.
pub fn parse(html: &str) -> Page {
    let sink = Sink {
        nodes: RefCell::new(vec![Slot::new(None, Vec::new())]),
        document: Rc::new(Handle {
            id: 0,
            name: QualName::new(None, ns!(), LocalName::from("#document")),
        }),
        errors: RefCell::default(),
        quirks: Cell::new(false),
        line: Cell::new(1),
    };
    let opts = ParseOpts {
        tokenizer: TokenizerOpts {
            exact_errors: true,
            ..TokenizerOpts::default()
        },
        tree_builder: TreeBuilderOpts {
            exact_errors: true,
            ..TreeBuilderOpts::default()
        },
    };
    parse_document(sink, opts).one(html)
}

// ---------------------------------------------------------------------------------------------
// The tree html5ever builds: an arena of nodes, handles pointing into it.

struct Handle {
    id: usize,
    name: QualName,
}

enum Child {
    Node(usize),
    Text(String),
}

struct Slot {
    /// The element's local name; `None` for the document, comments and instructions.
    name: Option<String>,
    attrs: Vec<(String, String)>,
    parent: Option<usize>,
    children: Vec<Child>,
}

impl Slot {
    fn new(name: Option<String>, attrs: Vec<(String, String)>) -> Self {
        Self {
            name,
            attrs,
            parent: None,
            children: Vec::new(),
        }
    }
}

struct Sink {
    nodes: RefCell<Vec<Slot>>,
    document: Rc<Handle>,
    errors: RefCell<Vec<String>>,
    quirks: Cell<bool>,
    line: Cell<u64>,
}

impl Sink {
    fn push(&self, slot: Slot, name: QualName) -> Rc<Handle> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(slot);
        Rc::new(Handle {
            id: nodes.len() - 1,
            name,
        })
    }

    fn detach(nodes: &mut [Slot], id: usize) {
        if let Some(parent) = nodes[id].parent.take() {
            nodes[parent]
                .children
                .retain(|c| !matches!(c, Child::Node(n) if *n == id));
        }
    }

    /// Inserts `child` into `parent`'s children at `at` (the end when `None`).
    fn insert(&self, parent: usize, at: Option<usize>, child: NodeOrText<Rc<Handle>>) {
        let mut nodes = self.nodes.borrow_mut();
        match child {
            NodeOrText::AppendNode(node) => {
                Self::detach(&mut nodes, node.id);
                nodes[node.id].parent = Some(parent);
                let children = &mut nodes[parent].children;
                let at = at.unwrap_or(children.len()).min(children.len());
                children.insert(at, Child::Node(node.id));
            }
            NodeOrText::AppendText(text) => {
                let children = &mut nodes[parent].children;
                let at = at.unwrap_or(children.len()).min(children.len());
                if let Some(Child::Text(before)) =
                    at.checked_sub(1).and_then(|i| children.get_mut(i))
                {
                    before.push_str(&text);
                } else {
                    children.insert(at, Child::Text(text.to_string()));
                }
            }
        }
    }

    /// The elements under `id` in document order, each with its parent's index in the output.
    fn collect(nodes: &[Slot], id: usize, parent: Option<usize>, out: &mut Vec<Element>) {
        for child in &nodes[id].children {
            let Child::Node(n) = child else { continue };
            let slot = &nodes[*n];
            if let Some(name) = &slot.name {
                let me = out.len();
                out.push(Element {
                    name: name.clone(),
                    attrs: slot.attrs.clone(),
                    text: Self::text(nodes, *n),
                    parent,
                });
                Self::collect(nodes, *n, Some(me), out);
            }
        }
    }

    fn text(nodes: &[Slot], id: usize) -> String {
        let mut out = String::new();
        for child in &nodes[id].children {
            match child {
                Child::Text(t) => out.push_str(t),
                Child::Node(n) if nodes[*n].name.is_some() => out.push_str(&Self::text(nodes, *n)),
                Child::Node(_) => {}
            }
        }
        out
    }
}

impl TreeSink for Sink {
    type Handle = Rc<Handle>;
    type Output = Page;
    type ElemName<'a> = ExpandedName<'a>;

    fn finish(self) -> Page {
        let nodes = self.nodes.into_inner();
        let mut elements = Vec::new();
        Self::collect(&nodes, 0, None, &mut elements);
        Page {
            errors: self.errors.into_inner(),
            quirks: self.quirks.get(),
            elements,
        }
    }

    fn parse_error(&self, msg: Cow<'static, str>) {
        self.errors
            .borrow_mut()
            .push(format!("line {}: {msg}", self.line.get()));
    }

    fn set_current_line(&self, line: u64) {
        self.line.set(line);
    }

    fn get_document(&self) -> Rc<Handle> {
        self.document.clone()
    }

    fn elem_name<'a>(&'a self, target: &'a Rc<Handle>) -> ExpandedName<'a> {
        target.name.expanded()
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, _: ElementFlags) -> Rc<Handle> {
        let attrs = attrs
            .into_iter()
            .map(|a| (a.name.local.to_string(), a.value.to_string()))
            .collect();
        let local = name.local.to_string();
        self.push(Slot::new(Some(local), attrs), name)
    }

    fn create_comment(&self, _: StrTendril) -> Rc<Handle> {
        self.push(
            Slot::new(None, Vec::new()),
            QualName::new(None, ns!(), LocalName::from("#comment")),
        )
    }

    fn create_pi(&self, _: StrTendril, _: StrTendril) -> Rc<Handle> {
        self.push(
            Slot::new(None, Vec::new()),
            QualName::new(None, ns!(), LocalName::from("#pi")),
        )
    }

    fn append(&self, parent: &Rc<Handle>, child: NodeOrText<Rc<Handle>>) {
        self.insert(parent.id, None, child);
    }

    fn append_based_on_parent_node(
        &self,
        element: &Rc<Handle>,
        prev_element: &Rc<Handle>,
        child: NodeOrText<Rc<Handle>>,
    ) {
        let has_parent = self.nodes.borrow()[element.id].parent.is_some();
        if has_parent {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {}

    fn get_template_contents(&self, target: &Rc<Handle>) -> Rc<Handle> {
        target.clone()
    }

    fn same_node(&self, x: &Rc<Handle>, y: &Rc<Handle>) -> bool {
        x.id == y.id
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.quirks.set(mode != QuirksMode::NoQuirks);
    }

    fn append_before_sibling(&self, sibling: &Rc<Handle>, child: NodeOrText<Rc<Handle>>) {
        let place = {
            let nodes = self.nodes.borrow();
            nodes[sibling.id].parent.map(|parent| {
                let at = nodes[parent]
                    .children
                    .iter()
                    .position(|c| matches!(c, Child::Node(n) if *n == sibling.id));
                (parent, at)
            })
        };
        if let Some((parent, at)) = place {
            self.insert(parent, at, child);
        }
    }

    fn add_attrs_if_missing(&self, target: &Rc<Handle>, attrs: Vec<Attribute>) {
        let mut nodes = self.nodes.borrow_mut();
        let have = &mut nodes[target.id].attrs;
        for a in attrs {
            let name = a.name.local.to_string();
            if !have.iter().any(|(n, _)| *n == name) {
                have.push((name, a.value.to_string()));
            }
        }
    }

    fn remove_from_parent(&self, target: &Rc<Handle>) {
        Self::detach(&mut self.nodes.borrow_mut(), target.id);
    }

    fn reparent_children(&self, node: &Rc<Handle>, new_parent: &Rc<Handle>) {
        let mut nodes = self.nodes.borrow_mut();
        let moved = std::mem::take(&mut nodes[node.id].children);
        for child in &moved {
            if let Child::Node(n) = child {
                nodes[*n].parent = Some(new_parent.id);
            }
        }
        nodes[new_parent.id].children.extend(moved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "<!doctype html>\n<html lang=\"pt-BR\"><head><meta charset=\"utf-8\">\
        <title>Ajuda &amp; mais</title></head><body><main id=\"m\"><h1>Olá <b>mundo</b></h1>\
        <p>um<a href=\"/x?a=1&amp;b=2\" class=\"big link\">dois</a>três</p></main></body></html>";

    #[test]
    fn a_well_formed_page_reads_back_as_written() {
        let page = parse(OK);
        assert!(page.errors.is_empty(), "{:?}", page.errors);
        assert!(!page.quirks);
        let names: Vec<&str> = page.elements.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "html", "head", "meta", "title", "body", "main", "h1", "b", "p", "a"
            ]
        );
        assert_eq!(
            page.first("html").and_then(|e| e.attr("lang")),
            Some("pt-BR")
        );
        assert_eq!(page.text_of("title"), ["Ajuda & mais"]);
        assert_eq!(page.text_of("h1"), ["Olá mundo"]);
        assert_eq!(page.text_of("p"), ["umdoistrês"]);
        let a = page.first("a").unwrap();
        assert_eq!(a.attr("href"), Some("/x?a=1&b=2"), "values are decoded");
        assert!(a.has_class("link") && !a.has_class("bi"));
        let i = page.elements.iter().position(|e| e.name == "b").unwrap();
        assert!(page.is_inside(i, |e| e.name == "main"));
        assert_eq!(page.ancestors(i).len(), 4, "h1, main, body, html");
        assert!(page.duplicate_ids().is_empty());
    }

    #[test]
    fn the_checker_sees_broken_html() {
        for broken in [
            // No doctype (quirks), and a stray </p>.
            "<p><div></p>",
            // A duplicate attribute and misnested formatting.
            "<!doctype html><html lang=\"en\"><body><p a=1 a=2><b><i></b></i></body>",
            // An unclosed element at the end, an unescaped < in text.
            "<!doctype html><html lang=\"en\"><body><div>1 < 2 <span>",
            // A table with content where it cannot be (fostered out).
            "<!doctype html><title>t</title><table>text<tr><td>x</td></tr></table>",
            // A character reference without its semicolon, a bare end tag.
            "<!doctype html><title>t</title><p>&amp x</p></span>",
            // An attribute outside quotes holding a quote.
            "<!doctype html><title>t</title><a href=x\"y>z</a>",
        ] {
            let page = parse(broken);
            assert!(!page.errors.is_empty(), "no error found in {broken}");
            assert!(page.errors.iter().all(|e| e.starts_with("line ")));
        }
        assert!(parse("<html></html>").quirks, "no doctype");
        assert!(
            parse("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\"><title>t</title>")
                .quirks
        );
        let dup = parse("<!doctype html><title>t</title><p id=a></p><p id=a></p><p id=b>");
        assert_eq!(dup.duplicate_ids(), ["a"]);
        // Misnested formatting is repaired as a browser would: text stays where it is read.
        let repaired = parse("<!doctype html><title>t</title><p>1<b>2<i>3</b>4</i>5</p>");
        assert_eq!(repaired.text_of("p"), ["12345"]);
        // Fostered text ends up before the table, in the body.
        let fostered = parse("<!doctype html><title>t</title><table>x<tr><td>y</td></tr></table>");
        assert_eq!(fostered.text_of("body"), ["xy"]);
        assert_eq!(fostered.text_of("table"), ["y"]);
    }

    #[test]
    fn meta_and_links_are_found_by_their_keys() {
        let page = parse(
            "<!doctype html><html lang=\"en\"><head><title>t</title>\
             <meta name=\"description\" content=\"d\"><meta property=\"og:title\" content=\"o\">\
             <link rel=\"canonical\" href=\"/c\"><link rel=\"alternate\" hreflang=\"pl\" href=\"/pl\">\
             <link rel=\"Alternate\" hreflang=\"en\" href=\"/en\"></head><body></body></html>",
        );
        assert!(page.errors.is_empty(), "{:?}", page.errors);
        assert_eq!(page.meta("name", "description"), Some("d"));
        assert_eq!(page.meta("property", "og:title"), Some("o"));
        assert_eq!(page.meta("property", "og:url"), None);
        assert_eq!(page.links("canonical")[0].attr("href"), Some("/c"));
        assert_eq!(page.links("alternate").len(), 2);
        assert_eq!(
            page.links("canonical")[0].describe(),
            "<link rel=\"canonical\" href=\"/c\">"
        );
    }
}
