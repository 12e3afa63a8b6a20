"""Reads the NDJSON event stream of one schemathesis pass and says what it found.

Usage: verdict.py PASS EVENTS.ndjson [--cross-tenant-ids IDS.json] [--log SCHEMATHESIS.log]

Prints, per operation, how many requests got each status class (how deep the run reached),
then every response schema mismatch as a report (not a failure), then every server error
(a 5xx, or a request the server did not answer) with a curl line to reproduce it, and, with
--log, schemathesis' own account of each (its curl line and `st replay` id). Exits 1 when
there is a server error or, with --cross-tenant-ids, when the second account's token got a 2xx
from an operation on one of the first account's resources. Standard library only.
"""

import base64
import json
import re
import shlex
import sys
from collections import Counter, defaultdict

pass_name, events_path = sys.argv[1], sys.argv[2]
cross_tenant = None
if "--cross-tenant-ids" in sys.argv:
    with open(sys.argv[sys.argv.index("--cross-tenant-ids") + 1]) as f:
        cross_tenant = json.load(f)
log_path = sys.argv[sys.argv.index("--log") + 1] if "--log" in sys.argv else None


def schemathesis_server_errors(path):
    """The blocks of schemathesis' FAILURES section that report a server error."""
    with open(path, errors="replace") as f:
        text = f.read()
    if "= FAILURES =" not in text:
        return []
    section = re.split(r"^=+ [A-Z]+ =+$", text.split("= FAILURES =", 1)[1], flags=re.M)[0]
    blocks = re.split(r"^(?=_{3,} .+ _{3,}$)", section, flags=re.M)
    return [b.strip() for b in blocks if "Server error" in b]


def body_text(message):
    content = (message or {}).get("content") or (message or {}).get("body")
    if content is None:
        return ""
    if isinstance(content, dict) and "$base64" in content:
        raw = base64.b64decode(content["$base64"])
    elif isinstance(content, dict) and "string" in content:
        raw = content["string"].encode()
    elif isinstance(content, str):
        raw = content.encode()
    else:
        raw = json.dumps(content).encode()
    return raw.decode("utf-8", "replace")


def curl(request):
    parts = ["curl", "-sS", "-X", request["method"]]
    for name, values in (request.get("headers") or {}).items():
        for value in values if isinstance(values, list) else [values]:
            if name.lower() in ("content-length", "user-agent", "accept-encoding", "connection"):
                continue
            parts += ["-H", f"{name}: {value}"]
    body = body_text(request)
    if body:
        parts += ["--data-binary", body]
    parts.append(request["uri"])
    return " ".join(shlex.quote(p) for p in parts)


statuses = defaultdict(Counter)
server_errors = {}  # (operation, status, first line of the answer) -> curl
no_answer = {}
schema_mismatches = defaultdict(set)
leaks = {}
other_failures = defaultdict(set)
tool_errors = set()

with open(events_path) as f:
    for line in f:
        event = json.loads(line)
        if "NonFatalError" in event:
            error = event["NonFatalError"]
            value = error.get("value") or {}
            message = str(value.get("message") or "").strip().splitlines()
            tool_errors.add(
                f"{error.get('label', '?')} ({error.get('phase', '?')}): "
                f"{value.get('type', 'error')}: {message[0][:160] if message else ''}"
            )
            continue
        finished = event.get("ScenarioFinished")
        if finished is None:
            continue
        recorder = finished["recorder"]
        label = recorder["label"]
        for case_id, interaction in (recorder.get("interactions") or {}).items():
            request, response = interaction.get("request"), interaction.get("response")
            # A case may use another method than its operation's (the coverage phase tries
            # unexpected ones); it is counted under its operation. Stateful scenarios chain
            # several operations under one label.
            case = (recorder.get("cases") or {}).get(case_id, {}).get("value", {})
            op = label
            if label == "Stateful tests" and case.get("method"):
                op = f"{case['method']} {case['path']}"
            if response is None:
                no_answer.setdefault(op, curl(request))
                continue
            status = response["status_code"]
            statuses[op][f"{status // 100}xx"] += 1
            if status >= 500:
                answer = body_text(response).splitlines()[0][:200] if body_text(response) else ""
                server_errors.setdefault((op, status, answer), curl(request))
            if cross_tenant is not None and 200 <= status < 300 and case:
                params = case.get("path_parameters") or {}
                foreign = {
                    k: v
                    for k, v in params.items()
                    if k != "account_id" and k != "conversation_id" and k != "message_id"
                }
                # Conversation display ids (and so their messages' paths) are per account: the
                # same number names another account's own conversation, so they prove nothing.
                if foreign and "conversation_id" not in params:
                    leaks.setdefault(op, (status, curl(request)))
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                name = check.get("name")
                case = (recorder.get("cases") or {}).get(case_id, {}).get("value", {})
                op = label
                if label == "Stateful tests" and case.get("method"):
                    op = f"{case['method']} {case['path']}"
                failure = check.get("failure_info") or {}
                title = (failure.get("failure") or {}).get("title") or failure.get("title") or ""
                if name == "response_schema_conformance":
                    message = (failure.get("failure") or {}).get("message") or title
                    where = [m for m in message.splitlines() if m.startswith("Schema at ")]
                    summary = message.splitlines()[0][:160] if message else ""
                    schema_mismatches[op].add(f"{where[0][10:].rstrip(':') if where else summary}")
                elif name != "not_a_server_error":
                    other_failures[op].add(f"{name}: {title}")

print(f"\n--- {pass_name}: responses per operation (2xx means the request reached the operation's work)")
for op in sorted(statuses):
    counts = statuses[op]
    print(f"  {op}: " + ", ".join(f"{k} {counts[k]}" for k in sorted(counts)))
total = sum(sum(c.values()) for c in statuses.values())
reached = sum(c["2xx"] for c in statuses.values())
print(f"  {total} requests, {reached} answered 2xx, over {len(statuses)} operations")

if schema_mismatches:
    print(f"\n--- {pass_name}: answers that do not match /api/openapi.json (a report, not a failure)")
    for op in sorted(schema_mismatches):
        for message in sorted(schema_mismatches[op])[:3]:
            print(f"  {op}: {message}")

failed = False
if total == 0:
    failed = True
    print(f"\n--- {pass_name}: NOTHING WAS TESTED (see schemathesis' log)")
if server_errors or no_answer:
    failed = True
    print(f"\n--- {pass_name}: SERVER ERRORS (the token shown as [Filtered] is in ids.json beside the report)")
    for (op, status, answer), command in sorted(server_errors.items()):
        print(f"  {op} answered {status} {answer}\n    {command}")
    for op, command in sorted(no_answer.items()):
        print(f"  {op} got no answer (connection closed or timed out)\n    {command}")
    if log_path:
        for block in schemathesis_server_errors(log_path):
            print("\n" + block)
if leaks:
    failed = True
    print(f"\n--- {pass_name}: THE SECOND ACCOUNT REACHED THE FIRST ACCOUNT'S RESOURCES")
    for op, (status, command) in sorted(leaks.items()):
        print(f"  {op} answered {status}\n    {command}")
if other_failures:
    print(f"\n--- {pass_name}: other checks (a report)")
    for op in sorted(other_failures):
        for message in sorted(other_failures[op])[:3]:
            print(f"  {op}: {message}")
if tool_errors:
    print(f"\n--- {pass_name}: what schemathesis itself could not do (not the server's fault)")
    for line in sorted(tool_errors):
        print(f"  {line}")
if not failed:
    print(f"\n--- {pass_name}: no server error")
sys.exit(1 if failed else 0)
