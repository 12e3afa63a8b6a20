"""Creates, through the API, what the fuzzed operations need to reach past "not found".

Usage: seed.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD PLATFORM_TOKEN HOOK_URL OUT.json

Signs the administrator in (their `api_access_token` is what the run uses) and creates, in
their account: an API inbox, a visitor (contact, contact inbox, conversation, message) through
the Client API, an agent's reply, a private note, a label, a team, a canned response, a custom
attribute definition, a webhook to HOOK_URL (a closed port: deliveries fail and can be
retried), an agent bot, a contact note, a contact event, a contact export, a second contact and
an agent that the run may demote or remove instead of the administrator, and an image
uploaded for the help center (the portal's logo). With the platform
app's token, through the Platform API: an account and a user for the Platform API's operations,
and a second account with its own administrator, whose token the cross-tenant pass uses. Prints
nothing but errors; writes every id to OUT.json for config.py. Standard library only.
"""

import json
import struct
import sys
import time
import urllib.error
import urllib.request
import zlib

base, email, password, platform_token, hook_url, out_path = sys.argv[1:7]


def call(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("api_access_token", token)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if not 200 <= status < 300:
        sys.exit(f"seed: {method} {path} answered {status}: {raw[:500]!r}")
    return json.loads(raw) if raw else None


signed = call("POST", "/auth/sign_in", {"email": email, "password": password})["data"]
token, account = signed["access_token"], signed["account_id"]
acc = f"/api/v1/accounts/{account}"


def admin(method, path, body=None):
    return call(method, acc + path, body, token)


def upload(name, content_type, data):
    """POSTs `data` as the multipart field `attachment` to the account's upload endpoint."""
    boundary = "fuzz-seed-boundary-7d1f"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(base + acc + "/upload", data=body, method="POST")
    req.add_header("content-type", f"multipart/form-data; boundary={boundary}")
    req.add_header("api_access_token", token)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        sys.exit(f"seed: POST {acc}/upload answered {e.code}: {e.read()[:500]!r}")


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


inbox = admin("POST", "/inboxes", {"name": "Fuzz API inbox", "channel": {"type": "api"}})
identifier = inbox["inbox_identifier"]
public = f"/public/api/v1/inboxes/{identifier}"
visitor = call("POST", public + "/contacts", {"name": "Fuzz Visitor", "email": "visitor@fuzz.test"})
source_id = visitor["source_id"]
conversation = call("POST", f"{public}/contacts/{source_id}/conversations", {})
conversation_id = conversation["id"]
visitor_message = call(
    "POST",
    f"{public}/contacts/{source_id}/conversations/{conversation_id}/messages",
    {"content": "Hello, my order has not arrived."},
)
webhook = admin(
    "POST", "/webhooks", {"url": hook_url, "subscriptions": ["message_created", "conversation_updated"]}
)
reply = admin(
    "POST", f"/conversations/{conversation_id}/messages", {"content": "Sorry to hear that, looking now."}
)
admin("POST", f"/conversations/{conversation_id}/messages", {"content": "Internal note", "private": True})
contact_id = visitor["id"]
label = admin("POST", "/labels", {"title": "fuzz-label"})
admin("POST", f"/conversations/{conversation_id}/labels", {"labels": ["fuzz-label"]})
team = admin("POST", "/teams", {"name": "Fuzz team"})
canned = admin("POST", "/canned_responses", {"short_code": "fuzz", "content": "Thanks for writing"})
attribute = admin(
    "POST",
    "/custom_attribute_definitions",
    {
        "attribute_display_name": "Plan",
        "attribute_key": "plan",
        "attribute_display_type": "text",
        "attribute_model": "contact_attribute",
    },
)
bot = admin("POST", "/agent_bots", {"name": "Fuzz bot"})
# A help center with a category and a published article, for the portal paths.
admin("POST", "/portals", {"name": "Fuzz help", "slug": "fuzz-help", "config": {"allowed_locales": ["en", "pl"]}})
hc_category = admin("POST", "/portals/fuzz-help/categories", {"name": "Orders", "locale": "en"})["payload"]
hc_article = admin(
    "POST",
    "/portals/fuzz-help/articles",
    {"title": "Track an order", "content": "Open **My orders**.", "status": "published", "category_id": hc_category["id"]},
)["payload"]

# An image for the help center (a 1x1 PNG), the portal's logo, for the /uploads/ path.
PNG = (
    b"\x89PNG\r\n\x1a\n"
    + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
    + png_chunk(b"IDAT", zlib.compress(b"\x00\x1f\x93\xff\xff"))
    + png_chunk(b"IEND", b"")
)
image = upload("logo.png", "image/png", PNG)
admin("PATCH", "/portals/fuzz-help", {"blob_id": image["blob_id"]})
# The AI assistant's hook, pointed at a name that never resolves (.invalid): its actions answer
# 422 `unreachable` at once instead of waiting on a model.
ai_hook = admin(
    "POST",
    "/integrations/hooks",
    {"app_id": "openai", "settings": {"base_url": "https://models.fuzz.invalid/v1", "timeout_seconds": 5}},
)
note = admin("POST", f"/contacts/{contact_id}/notes", {"content": "Prefers email"})
admin("POST", f"/contacts/{contact_id}/events", {"event_id": "fuzz-1", "type": "order_placed"})
export = admin("POST", f"/contacts/{contact_id}/export")
other_contact = admin("POST", "/contacts", {"name": "Other Person", "email": "other@fuzz.test"})
other_contact = other_contact.get("payload", {}).get("contact", other_contact)
agent = admin(
    "POST",
    "/agents",
    {"name": "Fuzz Agent", "email": "agent@fuzz.test", "role": "agent", "password": "fuzz-agent-password-1"},
)


def platform(method, path, body=None):
    return call(method, "/platform/api/v1" + path, body, platform_token)


platform_account = platform("POST", "/accounts", {"name": "Fuzz platform account"})
platform_user = platform("POST", "/users", {"name": "Platform User", "email": "platform-user@fuzz.test"})
platform("POST", f"/accounts/{platform_account['id']}/account_users", {"user_id": platform_user["id"]})
second_account = platform("POST", "/accounts", {"name": "Fuzz second account"})
second_admin = platform("POST", "/users", {"name": "Second Admin", "email": "second-admin@fuzz.test"})
platform(
    "POST",
    f"/accounts/{second_account['id']}/account_users",
    {"user_id": second_admin["id"], "role": "administrator"},
)

# A saved filter of the first administrator's, so the cross-tenant pass aims at a real one.
custom_filter = admin(
    "POST",
    "/custom_filters",
    {
        "name": "Open ones",
        "filter_type": "conversation",
        "query": {"payload": [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"]}]},
    },
)

# An automation rule of the first administrator's, for the cross-tenant pass.
automation_rule = admin(
    "POST",
    "/automation_rules",
    {
        "name": "Tag refunds",
        "event_name": "message_created",
        "conditions": [{"attribute_key": "content", "filter_operator": "contains", "values": ["refund"]}],
        "actions": [{"action_name": "add_label", "action_params": ["refund"]}],
    },
)

# A global macro of the first administrator's, for the cross-tenant pass.
global_macro = admin(
    "POST",
    "/macros",
    {"name": "Close", "visibility": "global", "actions": [{"action_name": "resolve_conversation"}]},
)

# An SLA policy of the first administrator's, for the cross-tenant pass.
sla_policy = admin(
    "POST",
    "/sla_policies",
    {"name": "Standard", "first_response_time_threshold": 3600, "resolution_time_threshold": 86400},
)
# A journey campaign of the first administrator's, for the cross-tenant pass.
campaign = admin(
    "POST",
    "/journey_campaigns",
    {"name": "Delivery survey", "trigger_event_type": "order_delivered", "delay_minutes": 4320, "kind": "survey"},
)
# The conversation's uuid names its survey page.
conversation_uuid = admin("GET", f"/conversations/{conversation_id}")["uuid"]

# A notification of the first administrator's (a participant told of the customer's message),
# for the cross-tenant pass; the automation consumer writes it after the commit.
me = call("GET", "/api/v1/profile", None, token)
admin("POST", f"/conversations/{conversation_id}/participants", {"user_ids": [me["id"]]})
call(
    "POST",
    f"{public}/contacts/{source_id}/conversations/{conversation_id}/messages",
    {"content": "Anyone there?"},
)
notification_id = None
for _ in range(100):
    page = admin("GET", "/notifications")["data"]["payload"]
    if page:
        notification_id = page[0]["id"]
        break
    time.sleep(0.1)
if notification_id is None:
    sys.exit("seed: the participant got no notification")

# The webhook's deliveries are written by a background consumer after the commit.
delivery_id = None
for _ in range(100):
    deliveries = admin("GET", f"/webhooks/{webhook['id']}/deliveries")
    items = deliveries.get("payload", deliveries) if isinstance(deliveries, dict) else deliveries
    if items:
        delivery_id = items[0]["id"]
        break
    time.sleep(0.1)
if delivery_id is None:
    sys.exit("seed: the webhook got no delivery")

ids = {
    "token": token,
    "account_id": account,
    "inbox_id": inbox["id"],
    "inbox_identifier": identifier,
    "contact_id": contact_id,
    "contact_identifier": source_id,
    "other_contact_id": other_contact["id"],
    "conversation_id": conversation_id,
    "message_id": visitor_message["id"],
    "reply_id": reply["id"],
    "label_id": label["id"],
    "team_id": team["id"],
    "canned_id": canned["id"],
    "attribute_id": attribute["id"],
    "webhook_id": webhook["id"],
    "delivery_id": delivery_id,
    "bot_id": bot["id"],
    "portal_slug": "fuzz-help",
    "hook_id": ai_hook["id"],
    "upload_id": image["blob_id"],
    "upload_token": image["file_url"].rsplit("/", 2)[1],
    "upload_file_name": image["file_url"].rsplit("/", 1)[1],
    "category_id": hc_category["id"],
    "category_slug": hc_category["slug"],
    "article_id": hc_article["id"],
    "article_slug": hc_article["slug"],
    "note_id": note["id"],
    "export_id": export["id"],
    "custom_filter_id": custom_filter["id"],
    "automation_rule_id": automation_rule["id"],
    "macro_id": global_macro["payload"]["id"],
    "sla_policy_id": sla_policy["payload"]["id"],
    "journey_campaign_id": campaign["payload"]["id"],
    "notification_id": notification_id,
    "conversation_uuid": conversation_uuid,
    "agent_id": agent["id"],
    "platform_token": platform_token,
    "platform_account_id": platform_account["id"],
    "platform_user_id": platform_user["id"],
    "second_account_id": second_account["id"],
    "second_token": second_admin["access_token"],
}
with open(out_path, "w") as f:
    json.dump(ids, f, indent=1)
