//! The embedded web UI: the app's page for client routes, hashed assets cached for ever,
//! `/widget.js` loadable from any site, and API paths still answering JSON 404s.

use throughline_testkit::{Backend, TestApp, http_client, on_both_databases};

on_both_databases!(the_app_and_the_widget_are_served_with_the_right_types);

async fn the_app_and_the_widget_are_served_with_the_right_types(b: Backend) {
    let t = TestApp::start(b).await;
    let client = http_client();
    let get = |path: &str| client.get(t.url(path)).send();
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };

    // Client routes of the single-page app all get its index.
    for path in ["/", "/app/accounts/1/conversations/7", "/login"] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&r, "cache-control"), "no-cache");
        assert!(header(&r, "content-security-policy").contains("script-src 'self'"));
        let body = r.text().await.unwrap();
        if throughline_web::is_built() {
            assert!(body.contains("<div id=\"app\">"), "{body}");
        } else {
            assert!(body.contains("UI not built"), "{body}");
        }
    }

    // API paths keep their JSON errors; unknown files are not answered with HTML.
    for path in [
        "/api/v1/nothing-here",
        "/public/api/v1/nope",
        "/assets/missing-0000.js",
    ] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert!(
            header(&r, "content-type").starts_with("application/json"),
            "{path}"
        );
    }
    let r = client.post(t.url("/nowhere")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    if !throughline_web::is_built() {
        return;
    }
    let widget = get("/widget.js").await.unwrap();
    assert_eq!(widget.status(), 200);
    assert_eq!(
        header(&widget, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(header(&widget, "access-control-allow-origin"), "*");
    assert!(widget.text().await.unwrap().contains("$throughline"));

    // The index references hashed assets, which are cached for a year.
    let index = get("/").await.unwrap().text().await.unwrap();
    let script = index
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the index loads a script");
    assert!(script.starts_with("/assets/"), "{script}");
    let r = get(script).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(
        header(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
}
