"""Schemathesis hooks for `npm run fuzz` (scripts/fuzz.ts), loaded through SCHEMATHESIS_HOOKS.

The API document states, per operation, the rules JSON Schema cannot (`x-rules`, see
api/schemas.ts `RequestRule`): a range whose low end must not pass its high end, a time within
a window from now, a key unique per request, files judged by their bytes. Schemathesis
generates from JSON Schema alone, so a "positive" (schema-valid) case may break such a rule and
be refused as the document says, which its positive_data_acceptance check would report. These
hooks make each positive case keep the operation's rules, the way a client that read the
document would; negative cases are left as generated. Where no case can keep a rule (a code
only the server issues, a kind of record the run made none of, a file type no sample here is
made for), the refusal the document announces for it, naming that field alone, is not
reported; nor is a resource read after a DELETE the document marks `x-keeps-resource` (a
cancel, not a removal). The rules come from the document itself, so nothing here repeats them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import struct
from collections.abc import Mapping, MutableMapping
from typing import Any

import schemathesis
from schemathesis.core.file_samples import FILE_SAMPLES
from schemathesis.transport.serialization import Binary

# The configuration the stack was started with (scripts/fuzz.ts FUZZ_SETTINGS), for rules
# that name a setting.
SETTINGS: dict[str, str] = json.loads(os.environ.get("RFY_FUZZ_SETTINGS", "{}"))
# Ids of records the fuzz run made, and names the server always knows, by kind ("realtor": 2,
# "iana_time_zone": "America/New_York"), for rules that refer to one.
KNOWN_IDS: dict[str, int | str] = json.loads(os.environ.get("RFY_FUZZ_IDS", "{}"))


def _rules(case: Any) -> list[dict[str, Any]]:
    raw = getattr(case.operation.definition, "raw", None)
    rules = raw.get("x-rules") if isinstance(raw, dict) else None
    return rules if isinstance(rules, list) else []


def _containers(case: Any) -> list[dict[str, Any]]:
    return [c for c in (case.query, case.body) if isinstance(c, dict)]


def _instant(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _keep_ordered(case: Any, rule: dict[str, Any]) -> None:
    low, high = rule["fields"]
    for container in _containers(case):
        if low not in container or high not in container:
            continue
        a, b = _instant(container[low]), _instant(container[high])
        if a is None or b is None:
            # Not comparable here: drop the upper bound rather than guess.
            del container[high]
        elif a > b:
            container[low], container[high] = container[high], container[low]


def _setting(case: Any, name: str) -> int:
    # A guessed default could be wider than the stack's window and make valid cases invalid.
    if name not in SETTINGS:
        raise ValueError(f"{case.operation.label}: x-rules names the setting {name}; add it to FUZZ_SETTINGS in scripts/fuzz.ts")
    return int(SETTINGS[name])


def _keep_from_now(case: Any, rule: dict[str, Any]) -> None:
    field = rule["field"]
    min_minutes = _setting(case, rule["min_minutes_setting"])
    max_days = _setting(case, rule["max_days_setting"])
    for container in _containers(case):
        value = container.get(field)
        if not isinstance(value, str):
            continue
        # A time well inside the window, picked by the generated value so cases still differ;
        # whole minutes, so the write is exactly the value sent.
        low = min_minutes + 60
        high = max(low + 1, max_days * 1440 - 1440)
        pick = int(hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest(), 16) % (high - low)
        now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
        container[field] = (now + dt.timedelta(minutes=low + pick)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cannot_keep(case: Any, rule: dict[str, Any]) -> None:
    """Nothing to do before sending: see filter_failure."""


def _keep_refers(case: Any, rule: dict[str, Any]) -> None:
    known = KNOWN_IDS.get(rule.get("to", ""))
    if known is None:
        return
    for container in _containers(case):
        if rule["field"] in container:
            container[rule["field"]] = known


def _keep_unique_per_request(case: Any, rule: dict[str, Any]) -> None:
    # Headers come as a case-insensitive mapping, not a dict.
    headers = case.headers
    if not isinstance(headers, MutableMapping) or rule["field"] not in headers:
        return
    # One key per distinct request, so a key is never sent again with another one: the server
    # keeps one set of keys per user, whatever operation each was used for (api/idempotency.ts),
    # so the operation is part of what is hashed, with everything the request sends.
    payload = json.dumps([case.operation.label, case.path_parameters, case.query, case.body], sort_keys=True, default=repr)
    headers[rule["field"]] = "fuzz-" + hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _silent_wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    frames = int(seconds * rate)
    data = b"\x00\x00" * frames
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data


def _file_sample(media_types: list[str]) -> bytes | None:
    """A small, whole file of the first of `media_types` this module can make."""
    samples = {
        "image/png": FILE_SAMPLES["png"],
        "image/jpeg": FILE_SAMPLES["jpg"],
        "image/webp": FILE_SAMPLES["webp"],
        "audio/wav": _silent_wav(),
        "audio/x-wav": _silent_wav(),
    }
    for media_type in media_types:
        if media_type in samples:
            return samples[media_type]
    return None


def _keep_file_content(case: Any, rule: dict[str, Any]) -> None:
    sample = _file_sample(rule.get("media_types") or [])
    if sample is None or not isinstance(case.body, dict) or rule["field"] not in case.body:
        return
    value = case.body[rule["field"]]
    case.body[rule["field"]] = [Binary(sample) for _ in value] if isinstance(value, list) else Binary(sample)


KEEPERS = {
    "ordered": _keep_ordered,
    "from-now": _keep_from_now,
    "issued": _cannot_keep,
    "refers": _keep_refers,
    "unique-per-request": _keep_unique_per_request,
    "file-content": _keep_file_content,
}


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    # A key is made from the request as sent, so after every other rule has had its say.
    rules = sorted(_rules(case), key=lambda rule: rule.get("rule") == "unique-per-request")
    for rule in rules:
        keeper = KEEPERS.get(rule.get("rule"))
        if keeper is None:
            raise ValueError(f"{case.operation.label}: unknown x-rules entry {rule!r}; teach scripts/toolchain/schemathesis_hooks.py")
        keeper(case, rule)
    return case


def _error_fields(response: Any) -> set[Any]:
    """The fields the error envelope names, by their top-level name (`images.0` is `images`)."""
    try:
        errors = json.loads(response.content).get("errors")
    except (ValueError, AttributeError):
        return set()
    if not isinstance(errors, list):
        return set()
    return {e.get("field").split(".")[0] if isinstance(e.get("field"), str) else e.get("field") for e in errors}


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """Drops negative cases whose only trace of an undeclared parameter is one that cannot be
    sent (an empty list or None as its value: the query string and headers carry nothing for
    it), so the request that goes out is not the invalid one the case claims to be."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return True
    declared = {(p.get("in"), p.get("name")) for p in (case.operation.definition.raw or {}).get("parameters", []) if isinstance(p, dict)}
    for location, values in (("query", case.query), ("header", case.headers)):
        if not isinstance(values, Mapping):
            continue
        for name, value in values.items():
            if (location, name) not in declared and (value is None or value == []):
                return False
    return True


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keeps every failure but the refusals the document announces for values no generator can
    make: a value the server never issued (an `issued` rule, e.g. a reset code) refused with 400,
    and file bytes of a type or shape refused (a `file-content` rule) with 415 or 422, each
    naming that field only; and the refusal of a path that a stateful link filled with null."""
    code = getattr(failure, "code", None)
    if code == "ST301":
        # A DELETE the document says leaves the resource readable (x-keeps-resource: a booking
        # cancelled, not removed): reading it afterwards is what the document promises.
        method, _, path = str(getattr(failure, "operation", "")).partition(" ")
        raw = getattr(case.operation.schema, "raw_schema", {}) or {}
        deleting = raw.get("paths", {}).get(path, {}).get(method.lower(), {})
        return not (isinstance(deleting, dict) and deleting.get("x-keeps-resource") is True)
    if code != "ST202":
        return True
    if any(value is None for value in (case.path_parameters or {}).values()):
        # A stateful step whose link took a path parameter from a response field that was null
        # (an availability exception of the realtor's, not of a listing, has no property_id):
        # `/properties/None/...` is no schema-valid request, and a 400 is the right answer.
        return False
    fields = _error_fields(response)
    if response.status_code == 400:
        # A code only the server issues, or a reference to a kind of record this run knows none of.
        announced = {r.get("field") for r in _rules(case) if r.get("rule") == "issued" or (r.get("rule") == "refers" and r.get("to") not in KNOWN_IDS)}
    elif response.status_code in (415, 422):
        # Bytes this module could not make whole files of (no sample for the types accepted).
        announced = {r.get("field") for r in _rules(case) if r.get("rule") == "file-content"}
    else:
        return True
    return not (announced and fields and fields <= announced)
