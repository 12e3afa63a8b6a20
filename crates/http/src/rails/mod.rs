//! What Rails accepts that Chatwoot's clients rely on, in one place.
//!
//! - **Paths** (`RailsRoutes::normalize`, applied by `normalized` before routing): duplicate
//!   and trailing slashes are dropped as Rails's router drops them (`/contacts/search/`,
//!   `//api/v1/…`), and a `.json` format suffix on an API path is dropped as Rails's
//!   `(.:format)` does (`/conversations.json`, `/conversations/5.json`). A path is rewritten
//!   only into one the API serves (the OpenAPI document's templates), so the web app's own
//!   paths, and paths nothing serves, reach the fallback as they came. `.json` is dropped only
//!   under `/api/`, `/public/api/`, `/platform/api/` and `/auth/`: an attachment's or a provider
//!   webhook's last segment is a name that may end in `.json` (and `/api/openapi.json`, which
//!   matches a route as it is, is kept).
//! - **Parameters** (`params`): query strings and form bodies read with Rack's nested keys.
//! - **Casting** (`cast`): numbers and flags sent as strings, read as the field asks.
//! - **Wrapped bodies** (`RailsRoutes::wrappers`, `unwrap`): Rails's `ParamsWrapper` lets a
//!   Chatwoot controller read `{"team": {"name": …}}` (or the form `team[name]=…`) and
//!   `{"name": …}` alike; the resource's key is opened into the body here.

pub(crate) mod cast;
pub(crate) mod params;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::Uri;
use axum::http::uri::PathAndQuery;
use serde_json::Value;

/// Path prefixes whose last segment may carry Rails's `.json` format.
const FORMAT_PREFIXES: &[&str] = &["/api/", "/public/api/", "/platform/api/", "/auth/"];

/// Path segments that never name a resource (no wrapper key comes from them).
const NOT_RESOURCES: &[&str] = &["api", "v1", "v2", "public", "platform"];

#[derive(Debug)]
enum Segment {
    Literal(String),
    Param,
}

/// The served routes, as the OpenAPI document lists them.
#[derive(Debug, Default)]
pub(crate) struct RailsRoutes {
    templates: Vec<Vec<Segment>>,
    /// (method, template) → the keys a body may be wrapped in.
    wrappers: HashMap<(String, String), Vec<String>>,
}

impl RailsRoutes {
    pub(crate) fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        let doc = serde_json::to_value(spec).unwrap_or(Value::Null);
        let mut routes = RailsRoutes::default();
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            return routes;
        };
        for (template, item) in paths {
            let segments: Vec<Segment> = template
                .trim_start_matches('/')
                .split('/')
                .map(|s| {
                    if s.starts_with('{') && s.ends_with('}') {
                        Segment::Param
                    } else {
                        Segment::Literal(s.to_owned())
                    }
                })
                .collect();
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, operation) in item {
                let Some(schema) = operation
                    .pointer("/requestBody/content/application~1json/schema")
                    .map(|s| resolve(&doc, s))
                else {
                    continue;
                };
                let mut own = Vec::new();
                properties(&doc, schema, &mut own, 0);
                let keys: Vec<String> = segments
                    .iter()
                    .rev()
                    .filter_map(|s| match s {
                        Segment::Literal(l) if !NOT_RESOURCES.contains(&l.as_str()) => {
                            Some(singular(l))
                        }
                        _ => None,
                    })
                    .filter(|k| !own.contains(k))
                    .collect();
                routes
                    .wrappers
                    .insert((method.to_uppercase(), template.clone()), keys);
            }
            routes.templates.push(segments);
        }
        routes
    }

    /// Whether some route serves this path (any method).
    fn serves(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.templates.iter().any(|t| {
            t.len() == parts.len()
                && t.iter().zip(&parts).all(|(seg, part)| match seg {
                    Segment::Literal(l) => l == part,
                    Segment::Param => !part.is_empty(),
                })
        })
    }

    /// The path a request is served as, when it differs from the one it came with.
    pub(crate) fn normalize(&self, path: &str) -> Option<String> {
        let mut clean = path.to_owned();
        if clean.contains("//") || (clean.len() > 1 && clean.ends_with('/')) {
            let mut squeezed = String::with_capacity(clean.len());
            for c in clean.chars() {
                if !(c == '/' && squeezed.ends_with('/')) {
                    squeezed.push(c);
                }
            }
            while squeezed.len() > 1 && squeezed.ends_with('/') {
                squeezed.pop();
            }
            clean = squeezed;
        }
        if FORMAT_PREFIXES.iter().any(|p| clean.starts_with(p))
            && let Some(bare) = clean.strip_suffix(".json")
            && !bare.ends_with('/')
            && self.serves(bare)
        {
            return Some(bare.to_owned());
        }
        (clean != path && self.serves(&clean)).then_some(clean)
    }

    /// The keys a body of this route may be wrapped in (most specific first).
    pub(crate) fn wrappers(&self, method: &str, template: &str) -> &[String] {
        self.wrappers
            .get(&(method.to_owned(), template.to_owned()))
            .map_or(&[], Vec::as_slice)
    }
}

/// Follows a `$ref` to its schema.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .unwrap_or(schema),
        None => schema,
    }
}

/// The property names a body schema documents, through `allOf`/`oneOf`/`anyOf`.
fn properties(doc: &Value, schema: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 8 {
        return;
    }
    let schema = resolve(doc, schema);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        out.extend(props.keys().cloned());
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            properties(doc, part, out, depth + 1);
        }
    }
}

/// Rails's singular of a resource name, for the names our paths use (`inboxes` → `inbox`,
/// `canned_responses` → `canned_response`, `deliveries` → `delivery`).
fn singular(plural: &str) -> String {
    if let Some(stem) = plural.strip_suffix("ies")
        && stem.chars().last().is_some_and(|c| !"aeiou".contains(c))
    {
        return format!("{stem}y");
    }
    for ending in ["xes", "ches", "shes", "sses"] {
        if plural.ends_with(ending) {
            return plural[..plural.len() - 2].to_owned();
        }
    }
    if plural.ends_with("ss") {
        return plural.to_owned();
    }
    plural.strip_suffix('s').unwrap_or(plural).to_owned()
}

/// Opens a wrapped body: `{"team": {"name": "x"}, "y": 1}` → `{"name": "x", "y": 1}`. Keys
/// already at the top win over the wrapped ones (as the flat parameters win in Rails's
/// controllers); only an object under a wrapper key is opened.
pub(crate) fn unwrap(mut body: Value, wrappers: &[String]) -> Value {
    let Value::Object(map) = &mut body else {
        return body;
    };
    for key in wrappers {
        if !map.get(key).is_some_and(Value::is_object) {
            continue;
        }
        if let Some(Value::Object(inner)) = map.remove(key) {
            for (k, v) in inner {
                map.entry(k).or_insert(v);
            }
        }
    }
    body
}

/// The wrapper keys of the route a request was routed to (none outside `app`).
pub(crate) fn wrappers_of(req: &Request) -> Vec<String> {
    let routes = req.extensions().get::<Arc<RailsRoutes>>();
    let template = req.extensions().get::<axum::extract::MatchedPath>();
    match (routes, template) {
        (Some(routes), Some(template)) => routes
            .wrappers(req.method().as_str(), template.as_str())
            .to_vec(),
        _ => Vec::new(),
    }
}

/// Serves `app` with each request's path normalized first (see the module): a rewrite before
/// routing, which a layer of the router itself could not do (its layers run after routing).
pub(crate) fn normalized(app: Router, routes: Arc<RailsRoutes>) -> Router {
    use tower::Layer;
    let rewrite = tower::util::MapRequestLayer::new(move |req: Request| rewrite(&routes, req));
    Router::new().fallback_service(rewrite.layer(app))
}

fn rewrite(routes: &RailsRoutes, mut req: Request) -> Request {
    let Some(path) = routes.normalize(req.uri().path()) else {
        return req;
    };
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = PathAndQuery::try_from(path_and_query) {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn routes(templates: &[&str]) -> RailsRoutes {
        let mut r = RailsRoutes::default();
        for t in templates {
            r.templates.push(
                t.trim_start_matches('/')
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') {
                            Segment::Param
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect(),
            );
        }
        r
    }

    #[test]
    fn slashes_and_formats() {
        let r = routes(&[
            "/api/v1/accounts/{account_id}/contacts",
            "/api/v1/accounts/{account_id}/contacts/search",
            "/api/v1/accounts/{account_id}/contacts/{id}",
            "/api/openapi.json",
            "/attachments/{id}/{token}/{file_name}",
            "/auth/sign_in",
            "/public/api/v1/inboxes/{inbox_identifier}",
        ]);
        let n = |p: &str| r.normalize(p);
        assert_eq!(n("/api/v1/accounts/1/contacts"), None);
        assert_eq!(
            n("/api/v1/accounts/1/contacts/search/").as_deref(),
            Some("/api/v1/accounts/1/contacts/search")
        );
        assert_eq!(
            n("//api/v1//accounts/1/contacts//").as_deref(),
            Some("/api/v1/accounts/1/contacts")
        );
        assert_eq!(
            n("/api/v1/accounts/1/contacts.json").as_deref(),
            Some("/api/v1/accounts/1/contacts")
        );
        assert_eq!(
            n("/api/v1/accounts/1/contacts/5.json").as_deref(),
            Some("/api/v1/accounts/1/contacts/5")
        );
        assert_eq!(
            n("/api/v1/accounts/1/contacts.json/").as_deref(),
            Some("/api/v1/accounts/1/contacts")
        );
        assert_eq!(n("/auth/sign_in.json").as_deref(), Some("/auth/sign_in"));
        assert_eq!(
            n("/public/api/v1/inboxes/abc.json").as_deref(),
            Some("/public/api/v1/inboxes/abc")
        );
        // Served as they are.
        assert_eq!(n("/api/openapi.json"), None);
        assert_eq!(
            n("/api/openapi.json/").as_deref(),
            Some("/api/openapi.json")
        );
        assert_eq!(n("/attachments/1/abc/report.json"), None);
        assert_eq!(
            n("/attachments/1/abc/report.json/").as_deref(),
            Some("/attachments/1/abc/report.json")
        );
        // Nothing serves them: left to the fallback (the web app, or a 404).
        assert_eq!(n("/conversations/12/"), None);
        assert_eq!(n("/settings.json"), None);
        assert_eq!(n("/api/v1/accounts/1/nothing/"), None);
        assert_eq!(n("/api/v1/accounts/1/contacts/.json"), None);
        assert_eq!(n("/"), None);
    }

    #[test]
    fn from_the_served_routes() {
        let spec = crate::openapi();
        let r = RailsRoutes::from_spec(&spec);
        assert!(r.templates.len() > 50);
        let teams = "/api/v1/accounts/{account_id}/teams";
        assert_eq!(
            r.wrappers("POST", teams).first().map(String::as_str),
            Some("team")
        );
        let members = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members";
        assert_eq!(r.wrappers("POST", members)[..2], ["team_member", "team"]);
        // `profile` is a field of the profile's own body: never opened.
        assert!(
            !r.wrappers("PUT", "/api/v1/profile")
                .contains(&"profile".to_owned())
        );
        assert!(r.wrappers("GET", teams).is_empty());
        assert_eq!(
            r.normalize("/api/v1/accounts/1/inboxes/").as_deref(),
            Some("/api/v1/accounts/1/inboxes")
        );
    }

    #[test]
    fn singular_names() {
        for (plural, want) in [
            ("teams", "team"),
            ("inboxes", "inbox"),
            ("canned_responses", "canned_response"),
            (
                "custom_attribute_definitions",
                "custom_attribute_definition",
            ),
            ("deliveries", "delivery"),
            ("contact_inboxes", "contact_inbox"),
            ("profile", "profile"),
            ("access", "access"),
        ] {
            assert_eq!(singular(plural), want);
        }
    }

    #[test]
    fn wrapped_bodies_open_without_overriding() {
        let keys = vec!["team".to_owned()];
        assert_eq!(
            unwrap(
                json!({"team": {"name": "x", "description": "d"}, "description": "top"}),
                &keys
            ),
            json!({"name": "x", "description": "top"})
        );
        assert_eq!(unwrap(json!({"team": "x"}), &keys), json!({"team": "x"}));
        assert_eq!(unwrap(json!([1]), &keys), json!([1]));
    }
}
