//! The help center's files through the real API: Chatwoot's `POST …/upload` (images only, by
//! their bytes, at most 5 MB), their public URL (no sign-in, the token is the credential, headers
//! that keep a file from ever being a page), a portal's logo (`blob_id`, `logo`, `DELETE …/logo`)
//! on the public pages and in the widget, and images in articles.

use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, html, on_both_databases};

use crate::platform::second_account;

on_both_databases!(
    an_agent_uploads_an_image_that_anyone_may_fetch,
    what_is_not_a_small_image_is_refused_and_nothing_is_stored,
    a_portal_shows_its_logo_and_only_its_accounts_images_may_be_one,
    articles_show_uploaded_images,
);

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A real 1×1 PNG of one RGBA colour (zlib with one stored block), which any decoder reads.
pub(crate) fn png(rgba: [u8; 4]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8 bits, RGBA, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    let raw = [0, rgba[0], rgba[1], rgba[2], rgba[3]]; // filter "none", one pixel
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    let len = u16::try_from(raw.len()).unwrap();
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&len.to_le_bytes());
    zlib.extend_from_slice(&(!len).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// The start of a JPEG (SOI and a JFIF APP0 segment): enough to be recognised as one.
fn jpeg() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    v.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

/// A fresh client per call: the server may close a connection after refusing a body.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// `POST …/upload` with `bytes` as `attachment` (or under `field`), as `token`.
pub(crate) async fn upload_as(
    t: &TestApp,
    account_id: i64,
    token: &str,
    field: &str,
    bytes: Vec<u8>,
    name: &str,
    content_type: &str,
) -> throughline_testkit::Answer {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(content_type)
        .unwrap();
    let form = reqwest::multipart::Form::new().part(field.to_owned(), part);
    let resp = client()
        .post(t.url(&format!("/api/v1/accounts/{account_id}/upload")))
        .header("api_access_token", token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    throughline_testkit::read(resp).await
}

pub(crate) async fn upload(t: &TestApp, bytes: Vec<u8>, name: &str, ct: &str) -> Value {
    upload_as(t, t.account_id, &t.token, "attachment", bytes, name, ct)
        .await
        .expect(200)
}

/// How many uploads are recorded, and how many files the account holds in the blob store.
async fn stored(t: &TestApp) -> (i64, usize) {
    let mut conn = t.app.store.read().await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM uploads")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let dir = t.app.blobs.root().join(t.account_id.to_string());
    let files = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    (rows, files)
}

/// GETs `url` without any credential.
async fn fetch(url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = client().get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn an_agent_uploads_an_image_that_anyone_may_fetch(b: Backend) {
    let t = TestApp::start(b).await;
    let (_, agent) = t.agent("writer@acme.test", "agent").await;
    let image = png([200, 30, 30, 255]);
    let up = upload_as(
        &t,
        t.account_id,
        &agent,
        "attachment",
        image.clone(),
        "Instalação da impressora.png",
        "image/png",
    )
    .await
    .expect(200);
    let url = up["file_url"].as_str().unwrap().to_owned();
    assert!(up["blob_id"].is_i64(), "{up}");
    assert!(
        up["blob_key"].as_str().is_some_and(|k| !k.is_empty()),
        "{up}"
    );
    let prefix = format!("{}/uploads/{}/", t.base, up["blob_id"]);
    assert!(url.starts_with(&prefix), "{url}");
    assert!(
        url.ends_with("/Instalacao_da_impressora.png"),
        "a safe name: {url}"
    );

    // Anyone fetches it, with headers that keep it an image.
    let (status, h, body) = fetch(&url).await;
    assert_eq!(status, 200);
    assert_eq!(body, image);
    assert_eq!(header(&h, "content-type"), "image/png");
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    assert_eq!(header(&h, "content-security-policy"), "default-src 'none'");
    let cache = header(&h, "cache-control");
    assert!(
        cache.contains("immutable") && cache.contains("max-age=31536000"),
        "{cache}"
    );

    // The token is the credential: one character off, another id or none at all is not found.
    let token = url[prefix.len()..].split('/').next().unwrap().to_owned();
    let mut wrong = token.clone().into_bytes();
    wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
    let wrong = String::from_utf8(wrong).unwrap();
    for bad in [
        url.replacen(&token, &wrong, 1),
        url.replacen(&token, "short", 1),
        url.replacen(
            &format!("/uploads/{}/", up["blob_id"]),
            &format!("/uploads/{}/", up["blob_id"].as_i64().unwrap() + 1000),
            1,
        ),
    ] {
        let (status, _, body) = fetch(&bad).await;
        assert_eq!(status, 404, "{bad}");
        assert_ne!(body, image);
    }
    // Never the web app's page: /uploads/ is not a route of the single-page app.
    let (status, h, _) = fetch(&t.url("/uploads/x")).await;
    assert_eq!(status, 404);
    assert!(header(&h, "content-type").starts_with("application/json"));

    // The bytes decide the type, not the name or the declared type.
    let up = upload(&t, jpeg(), "foto.png", "image/png").await;
    let url = up["file_url"].as_str().unwrap();
    assert!(url.ends_with("/foto.jpg"), "{url}");
    let (status, h, _) = fetch(url).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "image/jpeg");

    // Someone from outside the account cannot upload to it.
    let none = client()
        .post(t.url(&t.acc("/upload")))
        .multipart(reqwest::multipart::Form::new().part(
            "attachment",
            reqwest::multipart::Part::bytes(png([0, 0, 0, 255])).file_name("a.png"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status().as_u16(), 401);
    let beta = second_account(&t, "Beta", "admin@beta.test").await;
    let refused = upload_as(
        &t,
        t.account_id,
        &beta.token,
        "attachment",
        png([0, 0, 0, 255]),
        "a.png",
        "image/png",
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
}

async fn what_is_not_a_small_image_is_refused_and_nothing_is_stored(b: Backend) {
    let t = TestApp::start(b).await;
    let before = stored(&t).await;
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>";
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("an SVG", svg.to_vec(), "logo.svg", "image/svg+xml"),
        (
            "HTML named and declared as a PNG",
            b"<!doctype html><script>alert(document.cookie)</script>".to_vec(),
            "page.png",
            "image/png",
        ),
        (
            "a PDF",
            b"%PDF-1.7\n1 0 obj\n".to_vec(),
            "manual.pdf",
            "application/pdf",
        ),
        ("nothing", Vec::new(), "empty.png", "image/png"),
    ];
    for (what, bytes, name, ct) in cases {
        let got = upload_as(&t, t.account_id, &t.token, "attachment", bytes, name, ct).await;
        assert_eq!(got.status, 422, "{what}: {}", got.body);
        assert_eq!(got.body["errors"][0]["field"], "attachment", "{what}");
    }
    let svg = upload_as(
        &t,
        t.account_id,
        &t.token,
        "attachment",
        svg.to_vec(),
        "logo.svg",
        "image/svg+xml",
    )
    .await;
    let message = svg.body["message"].as_str().unwrap();
    assert!(
        message.contains("PNG, JPEG, GIF or WebP") && message.contains("SVG"),
        "a clear message: {message}"
    );

    // Over 5 MB: refused, even as a real image's start.
    let mut big = png([1, 2, 3, 255]);
    big.resize(5 * 1024 * 1024 + 1, 0);
    let got = upload_as(
        &t,
        t.account_id,
        &t.token,
        "attachment",
        big,
        "big.png",
        "image/png",
    )
    .await;
    assert_eq!(got.status, 413, "{}", got.body);
    assert_eq!(got.body["error"], "too_large");
    assert!(
        got.body["message"].as_str().unwrap().contains("5 MB"),
        "{}",
        got.body
    );
    // Exactly 5 MB is taken.
    let mut max = png([1, 2, 3, 255]);
    max.resize(5 * 1024 * 1024, 0);
    upload(&t, max, "max.png", "image/png").await;
    let after_max = stored(&t).await;
    assert_eq!(after_max, (before.0 + 1, before.1 + 1));

    // The file under another field, or no form at all.
    let got = upload_as(
        &t,
        t.account_id,
        &t.token,
        "file",
        png([0, 0, 0, 255]),
        "a.png",
        "image/png",
    )
    .await;
    assert_eq!(got.status, 422, "{}", got.body);
    let got = t
        .admin("POST", &t.acc("/upload"), Some(json!({"attachment": "x"})))
        .await;
    assert_eq!(got.status, 400, "{}", got.body);

    assert_eq!(stored(&t).await, after_max, "nothing refused was kept");
}

/// A portal in en and pl with one published article.
async fn portal(t: &TestApp, slug: &str, extra: Value) -> Value {
    let mut body = json!({"portal": {"name": "Acme Help", "slug": slug,
        "config": {"default_locale": "en", "allowed_locales": ["en", "pl"]}}});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    t.post(&t.acc("/portals"), body).await
}

async fn a_portal_shows_its_logo_and_only_its_accounts_images_may_be_one(b: Backend) {
    let t = TestApp::start(b).await;
    let logo = upload(&t, png([31, 147, 255, 255]), "Acme logo.png", "image/png").await;
    let logo_url = logo["file_url"].as_str().unwrap().to_owned();
    let site = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://acme.test"}}),
        )
        .await;
    // Chatwoot's form: the portal wrapped, `blob_id` beside it.
    let created = portal(
        &t,
        "acme",
        json!({"blob_id": logo["blob_id"], "portal": {"name": "Acme Help", "slug": "acme",
               "inbox_id": site["id"], "config": {"default_locale": "en", "allowed_locales": ["en", "pl"]}}}),
    )
    .await;
    assert_eq!(
        created["logo"],
        json!({"id": logo["blob_id"], "portal_id": created["id"], "file_type": "image/png",
               "account_id": t.account_id, "file_url": logo_url, "blob_id": logo["blob_id"],
               "filename": "Acme_logo.png"}),
        "{created}"
    );
    let shown = t.get(&t.acc("/portals/acme")).await;
    assert_eq!(shown["logo"]["file_url"], logo_url);
    let listed = t.get(&t.acc("/portals")).await;
    assert_eq!(listed["payload"][0]["logo"]["file_url"], logo_url);

    // The public page shows it in the header, named, and as the page's image.
    let page = |path: &'static str| {
        let url = t.url(path);
        async move {
            let (status, _, body) = fetch(&url).await;
            assert_eq!(status, 200, "{path}");
            html::parse(&String::from_utf8(body).unwrap())
        }
    };
    for path in ["/hc/acme/en", "/hc/acme/pl/articles?query=x"] {
        let p = page(path).await;
        assert!(p.errors.is_empty(), "{path}: {:?}", p.errors);
        let (i, img) = p
            .elements
            .iter()
            .enumerate()
            .find(|(_, e)| e.name == "img")
            .expect("a logo");
        assert_eq!(img.attr("src"), Some(logo_url.as_str()), "{path}");
        assert_eq!(img.attr("alt"), Some("Acme Help"), "{path}");
        assert!(p.is_inside(i, |e| e.name == "a" && e.has_class("brand")));
        assert_eq!(
            p.meta("property", "og:image"),
            Some(logo_url.as_str()),
            "{path}"
        );
    }
    // The widget's help tab gets it too.
    let ident = site["inbox_identifier"].as_str().unwrap();
    let widget = t
        .call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(widget["help_center"]["logo_url"], logo_url, "{widget}");

    // Another account's image is not this account's to show, either way round.
    let beta = second_account(&t, "Beta", "admin@beta.test").await;
    let theirs = upload_as(
        &t,
        beta.id,
        &beta.token,
        "attachment",
        png([0, 0, 0, 255]),
        "theirs.png",
        "image/png",
    )
    .await
    .expect(200);
    for body in [
        json!({"blob_id": theirs["blob_id"]}),
        json!({"blob_id": theirs["blob_id"].to_string()}),
    ] {
        let refused = t.admin("PATCH", &t.acc("/portals/acme"), Some(body)).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert_eq!(refused.body["errors"][0]["field"], "blob_id");
    }
    let refused = t
        .call(
            "POST",
            &format!("/api/v1/accounts/{}/portals", beta.id),
            Some(&beta.token),
            Some(json!({"name": "Beta", "slug": "beta", "blob_id": logo["blob_id"]})),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        t.get(&t.acc("/portals/acme")).await["logo"]["file_url"],
        logo_url,
        "unchanged"
    );

    // A new logo replaces it; an id sent as a string (a Rails form) is read as a number.
    let second = upload(&t, png([0, 200, 0, 255]), "novo.png", "image/png").await;
    let changed = t
        .admin(
            "PATCH",
            &t.acc("/portals/acme"),
            Some(json!({"blob_id": second["blob_id"].to_string()})),
        )
        .await
        .expect(200);
    assert_eq!(changed["logo"]["file_url"], second["file_url"]);

    // Agents do not own portals; administrators remove the logo.
    let (_, agent) = t.agent("writer@acme.test", "agent").await;
    let denied = t
        .call("DELETE", &t.acc("/portals/acme/logo"), Some(&agent), None)
        .await;
    assert_eq!(denied.status, 403);
    t.admin("DELETE", &t.acc("/portals/acme/logo"), None)
        .await
        .expect(200);
    let shown = t.get(&t.acc("/portals/acme")).await;
    assert!(shown.get("logo").is_none(), "{shown}");
    let p = page("/hc/acme/en").await;
    assert!(p.first("img").is_none(), "no logo in the header");
    assert_eq!(p.meta("property", "og:image"), None);
    let brand = p
        .elements
        .iter()
        .find(|e| e.name == "a" && e.has_class("brand"))
        .unwrap();
    assert_eq!(brand.text.trim(), "Acme Help");
    let widget = t
        .call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert!(widget["help_center"].get("logo_url").is_none(), "{widget}");
    // The file stays: an article may show it.
    let (status, _, _) = fetch(second["file_url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    // Removing again is harmless.
    t.admin("DELETE", &t.acc("/portals/acme/logo"), None)
        .await
        .expect(200);
}

async fn articles_show_uploaded_images(b: Backend) {
    let t = TestApp::start(b).await;
    portal(&t, "docs", json!({})).await;
    let (_, agent) = t.agent("writer@acme.test", "agent").await;
    let image = upload_as(
        &t,
        t.account_id,
        &agent,
        "attachment",
        png([10, 20, 30, 255]),
        "mapa.png",
        "image/png",
    )
    .await
    .expect(200);
    let url = image["file_url"].as_str().unwrap().to_owned();
    let content = format!(
        "Open the map:\n\n![mapa.png]({url})\n\n![x](javascript:alert(1)) \
         <img src=\"{url}\" onerror=\"alert(2)\">"
    );
    // The editor's preview renders it as the public page will.
    let preview = t
        .call(
            "POST",
            &t.acc("/portals/docs/articles/preview"),
            Some(&agent),
            Some(json!({"content": content})),
        )
        .await
        .expect(200);
    let html_preview = preview["content_html"].as_str().unwrap();
    assert!(
        html_preview.contains(&format!("<img src=\"{url}\" alt=\"mapa.png\">")),
        "{html_preview}"
    );
    let created = t
        .call(
            "POST",
            &t.acc("/portals/docs/articles"),
            Some(&agent),
            Some(json!({"title": "Where we are", "content": content, "status": "published"})),
        )
        .await
        .expect(200);
    let slug = created["payload"]["slug"].as_str().unwrap();
    let (status, _, body) = fetch(&t.url(&format!("/hc/docs/articles/{slug}"))).await;
    assert_eq!(status, 200);
    let raw = String::from_utf8(body).unwrap();
    let p = html::parse(&raw);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let images: Vec<_> = p.all("img");
    assert!(
        images
            .iter()
            .any(|i| i.attr("src") == Some(url.as_str()) && i.attr("alt") == Some("mapa.png")),
        "{raw}"
    );
    for img in &images {
        for (name, value) in &img.attrs {
            assert!(
                ["src", "alt", "title", "height"].contains(&name.as_str()),
                "{}",
                img.describe()
            );
            assert!(
                !value.to_ascii_lowercase().contains("javascript"),
                "{}",
                img.describe()
            );
        }
    }
    // And the image itself answers, to a reader who never signed in.
    let (status, h, _) = fetch(&url).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "image/png");
}
