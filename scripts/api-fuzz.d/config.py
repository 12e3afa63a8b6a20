"""Writes the schemathesis.toml of one pass of scripts/api-fuzz.

Usage: config.py IDS.json PASS OUT.toml [EXCLUDED OPERATION…]

PASS is `main` or `destructive` (the administrator's token, their account's ids) or
`cross-tenant` (the second account's token and account id, the first account's resource ids).
Every path parameter takes the seeded id, so that each generated query and body reaches past
"not found" (a first run with generated path parameters answered 400/403/404 and nothing else). Every EXCLUDED OPERATION ("METHOD /path") is turned
off. Standard library only.
"""

import json
import sys

ids_path, pass_name, out_path, *excluded = sys.argv[1:]
with open(ids_path) as f:
    ids = json.load(f)

def toml(value):
    # JSON strings and numbers are valid TOML.
    return json.dumps(value)


if pass_name == "cross-tenant":
    token = ids["second_token"]
    account_id = ids["second_account_id"]
else:
    token = ids["token"]
    account_id = ids["account_id"]

# Path parameters named alike everywhere.
by_name = {
    "account_id": account_id,
    "conversation_id": ids["conversation_id"],
    "message_id": ids["message_id"],
    "inbox_identifier": ids["inbox_identifier"],
    "contact_identifier": ids["contact_identifier"],
    "inbox_id": ids["inbox_id"],
    "team_id": ids["team_id"],
    "webhook_id": ids["webhook_id"],
    "delivery_id": ids["delivery_id"],
    "note_id": ids["note_id"],
    "export_id": ids["export_id"],
    "custom_filter_id": ids["custom_filter_id"],
    "automation_rule_id": ids["automation_rule_id"],
    "conversation_uuid": ids["conversation_uuid"],
    "portal_slug": ids["portal_slug"],
    "hook_id": ids["hook_id"],
    "category_slug": ids["category_slug"],
    "article_slug": ids["article_slug"],
    "locale": "en",
    "phone": "14155550000",
    # /uploads/{id}/{token}/{file_name}: the seeded image's public URL.
    "token": ids["upload_token"],
    "file_name": ids["upload_file_name"],
}
# `{id}` names a different resource on each path.
by_path = [
    (r"^/api/v1/accounts/\{account_id\}/contacts/\{id\}", "id", ids["contact_id"]),
    (r"^/api/v1/accounts/\{account_id\}/agent_bots/\{id\}", "id", ids["bot_id"]),
    (r"^/api/v1/accounts/\{account_id\}/agents/\{id\}", "id", ids["agent_id"]),
    (r"^/api/v1/accounts/\{account_id\}/routing/agents/\{id\}", "id", ids["agent_id"]),
    (r"^/api/v1/accounts/\{account_id\}/canned_responses/\{id\}", "id", ids["canned_id"]),
    (r"^/api/v1/accounts/\{account_id\}/custom_attribute_definitions/\{id\}", "id", ids["attribute_id"]),
    (r"^/api/v1/accounts/\{account_id\}/inboxes/\{id\}", "id", ids["inbox_id"]),
    (r"^/api/v1/accounts/\{account_id\}/labels/\{id\}", "id", ids["label_id"]),
    (r"^/api/v1/accounts/\{account_id\}/automation_rules/\{id\}", "id", ids["automation_rule_id"]),
    (r"^/api/v1/accounts/\{account_id\}/macros/\{id\}", "id", ids["macro_id"]),
    (r"^/api/v1/accounts/\{account_id\}/sla_policies/\{id\}", "id", ids["sla_policy_id"]),
    (r"^/api/v1/accounts/\{account_id\}/journey_campaigns/\{id\}", "id", ids["journey_campaign_id"]),
    (r"^/api/v1/accounts/\{account_id\}/notifications/\{id\}", "id", ids["notification_id"]),
    (r"^/api/v1/accounts/\{account_id\}/portals/\{portal_slug\}/categories/\{id\}", "id", ids["category_id"]),
    (r"^/api/v1/accounts/\{account_id\}/portals/\{portal_slug\}/articles/\{id\}", "id", ids["article_id"]),
    (r"^/uploads/\{id\}", "id", ids["upload_id"]),
    (r"^/platform/api/v1/users/\{id\}", "id", ids["platform_user_id"]),
    (r"^/platform/api/v1/accounts/\{account_id\}", "account_id", ids["platform_account_id"]),
]

lines = [
    "# Written by scripts/api-fuzz.d/config.py for one pass of scripts/api-fuzz.",
    f"headers = {{ api_access_token = {toml(token)} }}",
    "",
    "[parameters]",
]
lines += [f'"path.{name}" = {toml(value)}' for name, value in by_name.items()]
lines.append("")
for regex, name, value in by_path:
    lines += [
        "[[operations]]",
        f"include-path-regex = {toml(regex)}",
        f'parameters = {{ "path.{name}" = {toml(value)} }}',
        "",
    ]
if pass_name != "cross-tenant":
    # The Platform API takes the platform app's token; it manages only what that app created.
    lines += [
        "[[operations]]",
        'include-path-regex = "^/platform/"',
        f"headers = {{ api_access_token = {toml(ids['platform_token'])} }}",
        "",
    ]
for name in excluded:
    lines += ["[[operations]]", f"include-name = {toml(name)}", "enabled = false", ""]

with open(out_path, "w") as f:
    f.write("\n".join(lines))
