//! Public links the server hands out: attachment downloads.
//!
//! An attachment URL carries an HMAC of the attachment id under the server key. Like a signed
//! storage URL it is a capability: whoever was shown the message (agent, customer, webhook
//! receiver) can fetch the file, and nobody can guess another file's URL.

use throughline_core::crypto::{ServerKey, constant_time_eq, hmac_sha256};
use throughline_core::model::Attachment;

#[derive(Clone, Debug)]
pub struct Links {
    public_url: String,
    key: ServerKey,
}

impl Links {
    pub fn new(public_url: &str, key: ServerKey) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            key,
        }
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    fn attachment_token(&self, id: i64) -> String {
        let mac = hmac_sha256(&self.key_bytes(), format!("attachment/{id}").as_bytes());
        hex_prefix(&mac)
    }

    fn key_bytes(&self) -> Vec<u8> {
        self.key.access_token("links").into_bytes()
    }

    /// Where a signed attachment is served: Active Storage's path, as Chatwoot's `data_url`
    /// is, since integrations rebuild URLs from its `rails/` part.
    pub fn attachment_url(&self, a: &Attachment) -> String {
        let name = a
            .file_name
            .as_deref()
            .map(sanitize_file_name)
            .unwrap_or_else(|| "file".into());
        format!(
            "{}/rails/active_storage/blobs/{}/{}/{}",
            self.public_url,
            a.id,
            self.attachment_token(a.id),
            name
        )
    }

    pub fn verify_attachment(&self, id: i64, token: &str) -> bool {
        constant_time_eq(self.attachment_token(id).as_bytes(), token.as_bytes())
    }
}

fn hex_prefix(mac: &[u8]) -> String {
    mac.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Keeps a file name usable in a URL path segment.
fn sanitize_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if cleaned.trim_matches('.').is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(id: i64, name: &str) -> Attachment {
        Attachment {
            id,
            account_id: 1,
            message_id: 1,
            file_type: "file".into(),
            content_type: None,
            file_name: Some(name.into()),
            byte_size: 1,
            blob_key: None,
            external_url: None,
            created_at: 0,
        }
    }

    #[test]
    fn attachment_links_are_capabilities() {
        let links = Links::new("http://localhost:3000/", ServerKey::generate());
        let url = links.attachment_url(&attachment(7, "fatura março.pdf"));
        assert!(
            url.starts_with("http://localhost:3000/rails/active_storage/blobs/7/"),
            "{url}"
        );
        assert!(url.ends_with("/fatura_mar_o.pdf"), "{url}");
        let token = url.split('/').nth(7).unwrap();
        assert!(links.verify_attachment(7, token));
        assert!(!links.verify_attachment(8, token));
        let other = Links::new("http://localhost:3000", ServerKey::generate());
        assert!(!other.verify_attachment(7, token));
    }

    #[test]
    fn file_names_cannot_escape_the_path() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(sanitize_file_name(".."), "file");
    }
}
