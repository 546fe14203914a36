"""ED601: the installed Keras has published model-loading advisories.

Source: ``knowledge/advisories.json`` (compat-facts §3.1), each advisory with its record.
The fix names a concrete hardened release that runs on this Python (and with this
TensorFlow), e.g. ``keras==3.15.1`` on Python >= 3.11, ``keras==3.12.4`` on 3.10.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor import fixes
from envdoctor.checks.runtime import finding as make_finding
from envdoctor.checks.runtime import tensorflow_version
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import major, satisfies
from envdoctor.types import Environment, Finding, Fix, ModelInfo, Severity


def _target(env: Environment) -> Optional[str]:
    """Return the hardened Keras release to install here.

    The first recommended release (3.15.1, then 3.12.4) whose Requires-Python holds, else the
    newest release that runs on this Python.
    """
    for row in tables.recommended_keras():
        if env.python_version and satisfies(env.python_version, row["python"]) is False:
            continue
        return str(row["version"])
    return fixes.keras_target(env, None, tensorflow_version(env))


def check_advisories(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED601: list the model-loading advisories of the installed keras, with the upgrade.

    Yields:
        ED601 finding(s) for this pair, if any.
    """
    version = env.version_of("keras")
    if not version:
        return
    hits = tables.advisories(version)
    if not hits:
        return
    fix_list: list[Fix] = []
    if major(version) == 3:
        target = _target(env)
        if target:
            fix_list.append(fixes.install_command(env, f"keras=={target}"))
            still = [h["id"] for h in tables.advisories(target)]
            if still:
                fix_list.append(
                    fixes.note(
                        f"keras {target} is the newest release for Python "
                        f"{env.python_version}; still affected: {', '.join(still)}"
                    )
                )
        else:
            fix_list.append(
                fixes.note(f"no fixed Keras release supports Python {env.python_version}")
            )
    else:
        rel = fixes.tensorflow_target(env, keras3=False)
        fix_list.append(
            fixes.note(
                "Keras 2 has no safe_mode for .h5/SavedModel; tf.keras >= 2.13 adds it for .keras"
                + (f" (e.g. {fixes.tensorflow_dist(env)}=={rel.minor}.*)" if rel else "")
            )
        )
    lines = [
        f"{h['id']} ({h['summary']}; fixed in {', '.join(h['fixed']) or 'no release'})"
        for h in hits
    ]
    yield make_finding(
        "ED601",
        Severity.WARNING,
        f"keras {version} is affected by {len(hits)} published model-loading advisor"
        f"{'y' if len(hits) == 1 else 'ies'}: " + "; ".join(lines) + ". Load only trusted files.",
        evidence=tuple((h["id"], ", ".join(h["affected"])) for h in hits),
        fixes=fix_list,
        source="; ".join(h["source"] for h in hits),
    )
