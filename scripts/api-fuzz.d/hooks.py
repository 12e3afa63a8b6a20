"""schemathesis hooks for scripts/api-fuzz (loaded through SCHEMATHESIS_HOOKS).

The email relay (`POST /webhooks/inboxes/{inbox_identifier}`) takes `message/rfc822`, which
schemathesis has no serializer for: without one the operation is reported as an error and never
called. Its generated string bodies are sent as UTF-8 bytes.
"""

import schemathesis


@schemathesis.serializer("message/rfc822")
def rfc822(ctx, value):
    if isinstance(value, bytes):
        return {"data": value}
    if not isinstance(value, str):
        value = str(value)
    return {"data": value.encode("utf-8", "surrogatepass")}
