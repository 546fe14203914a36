"""The output of ``envdoctor explain --error``: the ``explanation`` key of its JSON envelope.

The text report is :func:`envdoctor.render.console.render_explain` (and
:func:`~envdoctor.render.console.render_code_doc` for ``explain CODE``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from envdoctor.explain import Explanation, Match


def explanation_json(expl: Explanation) -> dict[str, Any]:
    """The ``explanation`` key: parsed error, best cause, candidates, closest causes."""
    def match(m: Match) -> dict[str, Any]:
        return {
            "id": m.cause.id, "title": m.cause.title, "score": m.score,
            "confidence": m.confidence, "codes": list(m.cause.codes),
            "matched": [{"pattern": p, "source": s, "text": line}
                        for (p, s), line in zip(m.matched, m.lines)],
            "context": [{"when": w, "weight": n} for w, n in m.context],
            "related_findings": [f.code for f in m.related],
        }

    parsed = expl.parsed
    return {
        "known": expl.known,
        "parsed": {
            "error_type": parsed.error_type, "message": parsed.message,
            "origin": parsed.origin, "chain": [list(c) for c in parsed.chain],
            "frames": list(parsed.frames),
        },
        "cause": match(expl.best) if expl.best else None,
        "candidates": [match(m) for m in expl.candidates[:5]],
        "closest": [{"id": cid, "similarity": sim} for cid, sim in expl.closest],
        "context": list(expl.context.notes),
    }
