"""Plain-language explanations of a finding: what its flow means and the likely fix.

These only interpret what the compiler already said (its flow reasons, its subjects); they never
decide on their own whether something escapes.
"""

from __future__ import annotations

import re

from escape_lsp.findings.model import DERIVED_KINDS, Finding, Kind

#: The escape analyser's flow reasons (cmd/compile/internal/escape), in a user's words.
REASONS: dict[str, str] = {
    "address-of": "its address is taken",
    "return": "it is returned",
    "assign": "it is assigned",
    "assign-pair": "it is assigned (parameter passing of an inlined call)",
    "spill": "it needs storage",
    "interface-converted": "it is converted to an interface",
    "call parameter": "it is passed to a function that keeps it",
    "captured by a closure": "a closure captures it",
    "reference": "it is referenced",
    "too large for stack": "it is too large for the stack",
    "non-constant size": "its size is not a compile-time constant",
    "slice-literal-element": "it is stored in a slice literal",
    "struct literal element": "it is stored in a struct literal",
    "map literal element": "it is stored in a map literal",
    "send": "it is sent on a channel",
    "indirection": "it is dereferenced",
    "dot of pointer": "a field is read through it",
    "dot": "a field of it is used",
    "key of map put": "it is stored as a map key",
    "value of map put": "it is stored as a map value",
    "range": "it is ranged over",
    "defer func": "a deferred call uses it",
    "go func": "a goroutine uses it",
}


def describe_reason(reason: str) -> str:
    return REASONS.get(reason, reason)


def _reasons(finding: Finding) -> set[str]:
    return {step.reason for step in finding.flow}


def _subjects(finding: Finding) -> str:
    return " ".join(step.subject for step in finding.flow)


_PUT = re.compile(r"^\(\*sync\.Pool\)\.Put\([^,]+, (?P<arg>.+)\)$")


def _put_argument(finding: Finding) -> bool:
    """Whether the finding is about the value passed to a sync.Pool's Put (not the pool)."""
    return any(
        (m := _PUT.match(step.subject)) is not None and m["arg"] == finding.subject
        for step in finding.flow
    )


def likely_fix(finding: Finding) -> str | None:
    """One sentence naming the usual remedy for the pattern the flow shows, when there is one."""
    if finding.kind in DERIVED_KINDS:  # derived findings carry their fix
        return finding.detail.get("fix")
    if finding.inlined_from:
        return (
            f"The allocation is in the body of {finding.inlined_from}, inlined here: change "
            "that function, or avoid the call on hot paths (no edit at this call removes it)."
        )
    reasons = _reasons(finding)
    subjects = _subjects(finding)
    if finding.kind in (Kind.LEAKING_PARAM, Kind.LEAKING_PARAM_CONTENT):
        if finding.leak_to and finding.leak_to != "{heap}":
            return (
                f"The pointer flows to the result {finding.leak_to}; callers keep their "
                "argument on the stack only if they do not let that result escape."
            )
        return (
            "The function stores this pointer somewhere that outlives the call, so callers' "
            "arguments must live on the heap; copy the value instead of keeping the pointer."
        )
    if finding.kind not in (Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP):
        return None
    if _put_argument(finding):
        return (
            "sync.Pool.Put takes an interface: a non-pointer value (slice, string, struct) is "
            "boxed on every call (staticcheck SA6002); store a pointer such as *[]byte instead."
        )
    if "too large for stack" in reasons:
        return "Too large for the stack: allocate it once and reuse it (e.g. via sync.Pool)."
    if "non-constant size" in reasons:
        return (
            "The size is not a compile-time constant: when it is bounded, use a constant "
            "capacity (make([]T, n, C)) so the backing array can stay on the stack."
        )
    if finding.subject == "func literal":
        return (
            "The closure outlives the call (returned, stored or run as a goroutine); "
            "pass what it needs as arguments, or keep it from escaping."
        )
    if "captured by a closure" in reasons:
        return (
            "An escaping closure captures it by reference: pass it as an argument, or capture "
            "a copy that is never reassigned."
        )
    if "return" in reasons and ("address-of" in reasons or finding.subject.startswith("&")):
        return "Its address is returned: return the value instead of a pointer."
    if "interface-converted" in reasons or "... argument" in subjects:
        return (
            "It is boxed in an interface (e.g. an fmt or log argument): use a typed "
            "alternative (strconv, a typed method) on hot paths."
        )
    if "send" in reasons:
        return "Values sent on channels live on the heap: send a value type, or reuse buffers."
    if "key of map put" in reasons or "value of map put" in reasons:
        return "Stored in a map: keys and values reachable from a map live on the heap."
    if any(step.edge.startswith("{heap}") for step in finding.flow) and "assign" in reasons:
        return "Stored where the heap can reach it (a global or a long-lived structure)."
    return None
