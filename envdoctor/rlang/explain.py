"""What an error caught in R means: match it against known signatures, give the fix.

R users see reticulate's and Keras' errors through ``tryCatch()`` (``conditionMessage``)
or ``reticulate::py_last_error()`` (type, value, traceback).  The signatures live in
``knowledge/r.json`` (``error_signatures``, each with its source); each names a finding
code documented in ``codes.json``.  With the model and the interpreter at hand the real
check runs too, so "Graph execution error" comes back with the R code that builds a
correctly shaped input for that model.
"""

from __future__ import annotations

import re
from typing import Optional

from envdoctor.fixes import lit
from envdoctor.knowledge import tables
from envdoctor.rlang import facts
from envdoctor.rlang.reticulate import probe_bug_applies
from envdoctor.types import Finding, Fix, Severity

MAX_TEXT = 200_000
"""Characters of the error text that are read."""


def _severity(code: str) -> Severity:
    word = str(tables.code_doc(code)["severity"]).split()[0].strip(",")
    return Severity(word) if word in ("error", "warning", "info") else Severity.ERROR


def _python_version(python: str) -> str:
    try:
        from envdoctor.inventory import read_environment

        return read_environment(python, timeout=15.0).python_version
    except Exception:
        return ""


def match_signatures(text: str) -> list[tuple[dict[str, object], re.Match[str]]]:
    """Return the signatures of ``knowledge/r.json`` that ``text`` matches, in table order."""
    text = text[:MAX_TEXT]
    out = []
    for sig in facts.error_signatures():
        m = re.search(str(sig["pattern"]), text, re.IGNORECASE | re.MULTILINE)
        if m:
            out.append((sig, m))
    return out


def explain_error(
    text: str,
    *,
    model: Optional[str] = None,
    python: Optional[str] = None,
    reticulate_version: str = "",
) -> list[Finding]:
    """Explain an error message caught in R.

    Args:
        text: the error text (``conditionMessage(e)``, or ``py_last_error()``'s type,
            value and traceback).
        model: the model being loaded, when known (adds R input code for shape errors).
        python: the interpreter R is bound to, when known.
        reticulate_version: the reticulate in use ("" = assume 1.28).

    Returns:
        One finding per distinct code matched, most specific first; empty when the text
        matches no known signature.
    """
    from envdoctor.checks.r_session import already_initialized_finding

    found: list[Finding] = []
    seen: set[str] = set()
    for sig, m in match_signatures(text):
        code = str(sig["code"])
        if code in seen:
            continue
        seen.add(code)
        if code == "ED909":
            bound = re.search(r"another version of Python \('([^']+)'\)", text)
            found.append(
                already_initialized_finding(
                    bound.group(1) if bound else (python or "another Python"), "", model or ""
                )
            )
            continue
        doc = tables.code_doc(code)
        detail = str(sig["explanation"])
        evidence: list[tuple[str, str]] = [("matched", m.group(0)[:200])]
        if code == "ED901":
            path = next((g for g in m.groups() if g), "") if m.groups() else ""
            path = path.rstrip(":")
            version = _python_version(path) if path else ""
            if path:
                evidence.append(("interpreter", f"{path} (Python {version or '?'})"))
            if version and not probe_bug_applies(reticulate_version, version):
                detail = (
                    f"reticulate's probe script failed in {path} (Python {version}); this "
                    "is not the Python 3.12 probe bug. Run the interpreter by hand from a "
                    "shell to see its error; under R, R's LD_LIBRARY_PATH can make it load "
                    "another libpython."
                )
        fixes = [Fix("note", str(sig["fix"]))]
        if code == "ED701" and model:
            fixes.append(
                Fix("note", f'envdoctor_check({lit(model)}) prints the R code for its inputs')
            )
        found.append(
            Finding(
                code=code,
                severity=_severity(code),
                title=str(doc["title"]),
                detail=detail,
                evidence=tuple(evidence),
                source=str(sig["source"]),
                fixes=tuple(fixes),
                model=model or "",
                python=python or "",
            )
        )
    return found
