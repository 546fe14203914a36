"""``envdoctor fix``: turn the findings about one environment into a plan, and apply it.

The plan comes from the findings, not from shell strings: each finding at or above the
chosen severity contributes its first fix (its best).  An install command made by
:func:`envdoctor.fixes.install_command` contributes its requirements, which the fix
carries as data (``Fix.requirements``; :func:`requirements_of`); the requirements of every
finding are merged per distribution (specifiers intersected) into one install step, so that
the resolver sees them all at once.  Any other first fix (an environment variable, a line
of Python or R, a remedy in words) becomes a manual step.  The resolver's own dry run
(:mod:`envdoctor.repair.installer`) then says what each step changes, from → to, and whether it
resolves at all, before anything changes.

:func:`run_fix` applies the plan only with ``yes=True``, holding the environment's lock
(:mod:`envdoctor.repair.lock`), after a snapshot (:mod:`envdoctor.repair.snapshot`); then
it checks the environment again (and really loads the models with ``verify=True``).  A
failed step stops the run and leaves the snapshot, with the exact restore command.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from envdoctor.repair import installer
from envdoctor.repair.installer import Change, CommandResult, Tool
from envdoctor.types import Environment, Finding, Fix, ModelInfo, Report, Severity

if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    from envdoctor.repair.snapshot import Snapshot
    from envdoctor.verify import HarnessRun

Progress = Callable[[str], None]
"""Receives one line of progress text (the CLI prints it on stderr)."""


@dataclass(frozen=True)
class DryRun:
    """The resolver's dry run of one step.

    Attributes:
        argv: the command run.
        ok: True when it resolved (exit 0 and a readable answer).
        changes: what the step would change.
        output: the tool's output (the tail), to show when it did not resolve.
        seconds: how long it took, seconds.
    """

    argv: tuple[str, ...]
    ok: bool
    changes: tuple[Change, ...]
    output: str
    seconds: float


@dataclass(frozen=True)
class Step:
    """One command of the plan.

    Attributes:
        tool: the installer's name (``uv``, ``pip``, ``conda``...).
        argv: the command that applies it.
        text: the same command as a line to paste.
        requirements: the requirements it installs.
        codes: the finding codes it addresses.
        dry_run: the resolver's dry run, once :func:`resolve` ran.
    """

    tool: str
    argv: tuple[str, ...]
    text: str
    requirements: tuple[str, ...]
    codes: tuple[str, ...]
    dry_run: Optional[DryRun] = None


@dataclass(frozen=True)
class ManualStep:
    """A finding the plan cannot fix by installing: what to do by hand.

    Attributes:
        code: the finding's code.
        title: the finding's title.
        fixes: its remedies that are not install commands (environment variables, lines of
            Python or R, words), best first.
    """

    code: str
    title: str
    fixes: tuple[Fix, ...]


@dataclass(frozen=True)
class PlanItem:
    """One line of the ordered plan (:meth:`Plan.items`).

    Attributes:
        kind: ``command`` (an install command for this environment), ``env`` (a variable to
            set before Python starts), ``python`` / ``r`` (a line of code), ``note`` (words).
        text: the command or line, ready to paste.
        codes: the finding codes it addresses.
        r_text: the same remedy as a line of R, when the finding gives one ("" otherwise).
    """

    kind: str
    text: str
    codes: tuple[str, ...]
    r_text: str = ""


@dataclass(frozen=True)
class Plan:
    """What ``envdoctor fix`` would do to one environment.

    Attributes:
        env: the environment as read.
        tool: the installer (None when there is nothing to install).
        findings: the findings the plan addresses (at or above the severity).
        steps: install commands, in order.
        manual: what must be done by hand.
        warnings: e.g. a conda prefix changed with pip.
        severity: the lowest severity addressed.
    """

    env: Environment
    tool: Optional[Tool]
    findings: tuple[Finding, ...]
    steps: tuple[Step, ...]
    manual: tuple[ManualStep, ...]
    warnings: tuple[str, ...] = ()
    severity: Severity = Severity.ERROR

    def items(self) -> tuple[PlanItem, ...]:
        """The plan as one ordered list the user runs once, top to bottom.

        Order: the install step(s) (merged requirements of every finding), then the
        environment variables to set, then the lines of Python/R that change the loading
        call, then remedies in words.  Each manual finding contributes its best fix (its
        first actionable one), with the R form beside a shell or Python line when the
        finding gives one; identical lines are listed once with every code they address.
        ``envdoctor check`` (report end) and ``envdoctor fix`` print this same list.
        """
        rank = {"command": 0, "env": 1, "python": 2, "r": 2, "note": 3}
        out: list[PlanItem] = [PlanItem("command", s.text, s.codes) for s in self.steps]
        manual: dict[tuple[str, str], list[str]] = {}
        alt: dict[tuple[str, str], str] = {}
        for m in self.manual:
            best = next((f for f in m.fixes if f.kind != "note"), None)
            best = best or (m.fixes[0] if m.fixes else Fix("note", m.title))
            key_ = (best.kind, best.text)
            manual.setdefault(key_, [])
            if m.code not in manual[key_]:
                manual[key_].append(m.code)
            r_line = next((f.text for f in m.fixes if f.kind == "r"), "")
            if best.kind != "r" and r_line:
                alt.setdefault(key_, r_line)
        ordered = sorted(manual.items(), key=lambda kv: rank.get(kv[0][0], 3))
        for (kind, text), codes in ordered:
            out.append(PlanItem(kind, text, tuple(codes), alt.get((kind, text), "")))
        return tuple(out)

    @property
    def resolved(self) -> bool:
        """True when every step's dry run resolved."""
        return all(s.dry_run is not None and s.dry_run.ok for s in self.steps)

    @property
    def changes(self) -> tuple[Change, ...]:
        """Every change of every step's dry run."""
        return tuple(c for s in self.steps if s.dry_run for c in s.dry_run.changes)


@dataclass(frozen=True)
class FixOutcome:
    """The result of :func:`run_fix`.

    Attributes:
        status: ``nothing-to-do`` (no finding at the severity), ``planned`` (shown, not
            applied), ``manual-only`` (nothing to install; manual steps remain),
            ``unresolvable`` (a dry run failed; nothing changed), ``applied`` or ``failed``
            (a step failed; the snapshot restores).
        plan: the plan.
        before: the check before.
        after: the check after applying (None when nothing was applied).
        snapshot: the snapshot taken before applying.
        restore: commands that restore the snapshot (envdoctor's first).
        runs: the steps run, in order (the last one failed when ``status == "failed"``).
        changes: versions that changed, from the environment read before and after.
        verify: the real load of the models after applying (``verify=True``); run with
            ``settings`` when they clear every remaining finding.
        settings: environment variables the remaining findings' own fixes set (a value) or
            remove (None) before Python starts, e.g. ``{"TF_USE_LEGACY_KERAS": "1"}``.
        with_settings: the findings at the severity that remain with ``settings`` applied
            (None when there are no settings to try).
    """

    status: str
    plan: Plan
    before: Report
    after: Optional[Report] = None
    snapshot: Optional[Snapshot] = None
    restore: tuple[str, ...] = ()
    runs: tuple[CommandResult, ...] = ()
    changes: tuple[Change, ...] = ()
    verify: Optional[HarnessRun] = None
    settings: dict[str, Optional[str]] = dataclasses.field(default_factory=dict)
    with_settings: Optional[tuple[Finding, ...]] = None

    @property
    def remaining(self) -> tuple[Finding, ...]:
        """Findings at or above the severity still present (after, else before)."""
        report = self.after or self.before
        return tuple(f for f in report.findings if f.severity.rank >= self.plan.severity.rank)

    @property
    def success(self) -> bool:
        """True when nothing at the severity remains and every verified model loaded and ran."""
        if self.status not in ("nothing-to-do", "applied"):
            return False
        if self.remaining:
            return False
        return self.verify is None or all(m.outcome == "ok" for m in self.verify.models)


# ---------------------------------------------------------------- the plan


_NAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
"""A PEP 508 distribution name at the start of a requirement."""


def _norm_name(name: str) -> str:
    """PEP 503 normalized name (what ``packaging.utils.canonicalize_name`` returns)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def merge_requirements(requirements: Sequence[str]) -> tuple[str, ...]:
    """Merge requirement strings per distribution (specifiers intersected, extras joined).

    Args:
        requirements: PEP 508 strings, e.g. ``["numpy<2", "numpy>=1.23.5", "keras==3.6.*"]``.

    Returns:
        One requirement per distribution, in first-seen order, e.g.
        ``("numpy<2,>=1.23.5", "keras==3.6.*")``.  Strings that do not parse are kept
        as they are (the resolver will say what is wrong).
    """
    names = [_NAME_RE.match(r) for r in requirements]
    keys = [_norm_name(m.group(0)) if m else r for m, r in zip(names, requirements)]
    if len(set(keys)) == len(keys):
        return tuple(requirements)  # one requirement per distribution: nothing to merge
    # packaging is imported here, not at start-up: check renders plans without it
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    order: list[str] = []
    merged: dict[str, tuple[str, set[str], SpecifierSet, str]] = {}
    key: str
    raw: dict[str, str] = {}
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            raw.setdefault(text, text)
            if text not in order:
                order.append(text)
            continue
        key = canonicalize_name(req.name)
        marker = f"; {req.marker}" if req.marker else ""
        if key not in merged:
            order.append(key)
            merged[key] = (req.name, set(req.extras), req.specifier, marker)
            continue
        name, extras, spec, old_marker = merged[key]
        merged[key] = (name, extras | set(req.extras), spec & req.specifier, old_marker or marker)
    out = []
    for key in order:
        if key in raw:
            out.append(raw[key])
            continue
        name, extras, spec, marker = merged[key]
        extra = f"[{','.join(sorted(extras))}]" if extras else ""
        specs = ",".join(sorted(str(s) for s in spec))
        out.append(f"{name}{extra}{specs}{marker}")
    return tuple(out)


def fold_tensorflow(env: Environment, requirements: Sequence[str]) -> list[str]:
    """Name one TensorFlow distribution in every requirement on TensorFlow.

    ``tensorflow``, ``tensorflow-cpu``, ``tensorflow-gpu``, ``tensorflow-intel``... all install
    the same ``tensorflow`` package directory, so ``"tensorflow==2.21.*"`` from one finding
    and ``"tensorflow-cpu==2.21.0"`` from another (a pinned requirements file beside the
    model) are one requirement: both are renamed to the distribution installed in ``env``
    (else the first one named) and then merged by :func:`merge_requirements`
    (``tensorflow-cpu==2.21.*,==2.21.0``).

    Args:
        env: the environment (its installed TensorFlow distribution wins).
        requirements: PEP 508 strings.

    Returns:
        The requirements, TensorFlow distributions renamed; others unchanged.
    """
    from envdoctor.fixes import tensorflow_dist
    from envdoctor.knowledge import tables

    names = {_norm_name(n) for n in tables.tf_distributions()} | {"tensorflow"}
    found = {_norm_name(m.group(0)) for m in map(_NAME_RE.match, requirements) if m}
    if len(found & names) < 2:
        return list(requirements)
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    parsed: list[tuple[str, Optional[Requirement]]] = []
    for text in requirements:
        try:
            parsed.append((text, Requirement(text)))
        except InvalidRequirement:
            parsed.append((text, None))
    tf_reqs = [r for _, r in parsed if r is not None and canonicalize_name(r.name) in names]
    if len({canonicalize_name(r.name) for r in tf_reqs}) < 2:
        return list(requirements)
    installed = tensorflow_dist(env)
    target = installed if env.version_of(installed) else tf_reqs[0].name
    out: list[str] = []
    for text, req in parsed:
        if req is not None and canonicalize_name(req.name) in names:
            req.name = target
            out.append(str(req))
        else:
            out.append(text)
    return out


def report_plans(report: Report, severity: Severity = Severity.ERROR) -> tuple[Plan, ...]:
    """Return one plan per environment of a check report (no dry run, nothing is run).

    The same plan ``envdoctor fix --python ENV MODEL...`` builds for that environment from the
    same findings (:func:`build_plan`, the installer :func:`envdoctor.repair.installer.choose_tool`
    picks); an environment without findings at ``severity`` has none.  When no installer
    can change the environment, its install commands stay manual steps.

    Args:
        report: the report of ``check`` (one or more environments; not ``check --all``).
        severity: address findings at or above this severity (``fix``'s default: error).

    Returns:
        The plans, in the report's environment order.
    """
    plans: list[Plan] = []
    if report.candidates:
        return ()
    uv = installer.find_uv()
    conda = installer.find_conda()
    for env in report.environments:
        findings = [f for f in report.findings if not f.python or f.python == env.python]
        if not any(f.severity.rank >= severity.rank for f in findings):
            continue
        try:
            choice: Optional[installer.ToolChoice] = installer.choose_tool(env, uv=uv,
                                                                          conda=conda)
        except installer.InstallerMissing:
            choice = None
        try:
            plans.append(build_plan(env, findings, severity=severity, choice=choice))
        except installer.InstallerMissing:
            plans.append(_manual_plan(env, findings, severity))
    return tuple(plans)


def _manual_plan(env: Environment, findings: Sequence[Finding], severity: Severity) -> Plan:
    targeted = tuple(f for f in findings if f.severity.rank >= severity.rank)
    manual = tuple(ManualStep(f.code, f.title, f.fixes) for f in targeted)
    return Plan(env, None, targeted, (), manual,
                ("no installer can change this environment (no pip in it, no uv found)",),
                severity)


def requirements_of(env: Environment, fix: Fix) -> Optional[tuple[str, ...]]:
    """The requirements an install fix installs into ``env``, or None (not an install of it).

    A fix made by :func:`envdoctor.fixes.install_command` carries them as data
    (``Fix.requirements``, ``Fix.target``); the command text is only the user's form of it.
    A command fix without that data (built elsewhere, e.g. by explain from a cause's text) is
    read back from its text by :func:`envdoctor.fixes.install_requirements`.
    """
    if fix.kind != "command":
        return None
    if fix.requirements:
        return fix.requirements if fix.target == env.prefix else None
    from envdoctor.fixes import install_requirements

    return install_requirements(env, fix)


def _first_fix(finding: Finding) -> Optional[Fix]:
    """The best actionable fix: the first one, skipping remedies in words."""
    for fix in finding.fixes:
        if fix.kind != "note":
            return fix
    return None


def build_plan(
    env: Environment,
    findings: Sequence[Finding],
    *,
    severity: Severity = Severity.ERROR,
    choice: Optional[installer.ToolChoice] = None,
) -> Plan:
    """Build the plan for ``env`` from its findings (nothing is run).

    Args:
        env: the environment.
        findings: the findings of a check of ``env`` (any models).
        severity: address findings at or above this severity.
        choice: the installer (see :func:`envdoctor.repair.installer.choose_tool`); needed when a
            finding's best fix installs something.

    Returns:
        The :class:`Plan`: at most one install step holding the merged requirements of
        every finding whose best fix is an install command, and one manual step per other
        finding.

    Raises:
        InstallerMissing: something must be installed and ``choice`` is None.
    """
    targeted: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for f in findings:
        if f.severity.rank < severity.rank or (f.code, f.title) in seen:
            continue
        seen.add((f.code, f.title))
        targeted.append(f)
    requirements: list[str] = []
    codes: list[str] = []
    manual: list[ManualStep] = []
    for f in targeted:
        best = _first_fix(f)
        reqs = requirements_of(env, best) if best is not None else None
        if reqs:
            requirements += reqs
            if f.code not in codes:
                codes.append(f.code)
            continue
        others = tuple(x for x in f.fixes if requirements_of(env, x) is None)
        manual.append(ManualStep(f.code, f.title, others))
    steps: list[Step] = []
    warnings: list[str] = []
    tool: Optional[Tool] = None
    if requirements:
        if choice is None:
            raise installer.InstallerMissing(f"{env.python}: no installer was given")
        tool = choice.tool
        if choice.warning:
            warnings.append(choice.warning)
        merged = merge_requirements(fold_tensorflow(env, requirements))
        argv = installer.install_argv(tool, env, merged)
        steps.append(
            Step(tool.name, tuple(argv), installer.display(argv, _uv_of(tool)), merged,
                 tuple(codes))
        )
    return Plan(env, tool, tuple(targeted), tuple(steps), tuple(manual), tuple(warnings),
                severity)


def _uv_of(tool: Tool) -> Optional[tuple[str, ...]]:
    return tool.argv if tool.name == "uv" else None


def dry_run_step(step: Step, env: Environment, tool: Tool) -> DryRun:
    """Run the resolver's dry run of one step (nothing is changed).

    Args:
        step: the step.
        env: the environment (its installed versions are the "from" of pip's report).
        tool: the installer.

    Returns:
        The :class:`DryRun`.
    """
    argv = installer.install_argv(tool, env, step.requirements, dry_run=True)
    json_out = tool.name == "pip" or tool.is_conda
    result = installer.run(argv, timeout=installer.DRY_RUN_TIMEOUT, stdout_only=json_out,
                           max_chars=installer.MAX_REPORT_CHARS)
    changes: Optional[tuple[Change, ...]]
    if tool.name == "uv":
        changes = installer.parse_uv_changes(result.output)
    elif tool.is_conda:
        changes = installer.parse_conda_json(result.output)
    else:
        changes = installer.parse_pip_report(result.output, installer.installed_versions(env))
    ok = result.ok and changes is not None
    output = "" if ok else result.error or result.output
    if result.ok and changes is None:
        output = f"could not read the dry run's answer:\n{result.output[:2000]}"
    if tool.name == "pip" and not ok and "no such option" in result.output:
        output = (f"this pip is too old for --dry-run --report (pip >= 22.2 is needed): "
                  f"upgrade it with `{env.python} -m pip install -U pip`, or install uv")
    changes = tuple(c for c in changes or () if c.action != "reinstall" or tool.name != "pip")
    return DryRun(tuple(argv), ok, changes, installer.tail(output, 25), result.seconds)


def resolve(plan: Plan) -> Plan:
    """Run every step's dry run and return the plan with their answers.

    A dry run that adds a TensorFlow distribution beside another one (``tensorflow`` beside
    ``tensorflow-cpu``: tf-keras requires the former) adds a warning: both write the same
    ``tensorflow`` package directory.
    """
    if plan.tool is None:
        return plan
    tool = plan.tool
    steps = tuple(
        dataclasses.replace(s, dry_run=dry_run_step(s, plan.env, tool)) for s in plan.steps
    )
    resolved = dataclasses.replace(plan, steps=steps)
    warnings = list(plan.warnings) + tf_duplicate_warnings(plan.env, resolved.changes)
    return dataclasses.replace(resolved, warnings=tuple(warnings))


def tf_duplicate_warnings(env: Environment, changes: Sequence[Change]) -> list[str]:
    """Warn when ``changes`` install a TensorFlow distribution beside another one."""
    from envdoctor.knowledge import tables

    dists = tables.tf_distributions()
    installed = [d for d in dists if env.version_of(d)]
    out = []
    for change in changes:
        if change.name in dists and change.before is None and change.after is not None:
            others = [d for d in installed if d != change.name]
            if others:
                out.append(
                    f"the plan installs {change.name} {change.after} beside "
                    f"{', '.join(others)}: both provide the `tensorflow` module and overwrite "
                    "each other's files"
                )
    return out


_EXPORT = re.compile(r"^export\s+([A-Za-z_][A-Za-z0-9_]*)=(\S*)$")
_UNSET = re.compile(r"^unset\s+([A-Za-z_][A-Za-z0-9_]*)$")


def env_settings(findings: Sequence[Finding]) -> dict[str, Optional[str]]:
    """Return the variables the findings' own ``env`` fixes set (value) or remove (None)."""
    out: dict[str, Optional[str]] = {}
    for f in findings:
        for fix in f.fixes:
            if fix.kind != "env":
                continue
            text = fix.text.strip()
            match = _EXPORT.match(text)
            if match:
                out.setdefault(match.group(1), match.group(2).strip("'\""))
                continue
            match = _UNSET.match(text)
            if match:
                out.setdefault(match.group(1), None)
    return out


def check_with_settings(
    models: Sequence[ModelInfo], python: str, settings: Mapping[str, Optional[str]]
) -> tuple[Finding, ...]:
    """Check the environment again as it would be read with ``settings`` applied."""
    from envdoctor import app
    from envdoctor.inventory import read_environment

    environ = {k: v for k, v in os.environ.items() if settings.get(k, "") is not None}
    environ.update({k: v for k, v in settings.items() if v is not None})
    env = read_environment(python, environ=environ)
    found: list[Finding] = []
    targets: Sequence[Optional[ModelInfo]] = models if models else [None]
    for model in targets:
        found += app.check_pair(model, env)
    return tuple(found)


# ---------------------------------------------------------------- running it


def _check(models: Sequence[str], python: Optional[str]) -> Report:
    from envdoctor import app

    return app.run(app.Options(models=tuple(models), python=python))


def _noop(_: str) -> None:
    return None


def run_fix(
    models: Sequence[str],
    python: Optional[str],
    *,
    yes: bool = False,
    severity: Severity = Severity.ERROR,
    verify: bool = False,
    wait: float = 0.0,
    verify_timeout: float = 300.0,
    progress: Optional[Progress] = None,
    on_line: Optional[Progress] = None,
) -> FixOutcome:
    """Plan the fixes for ``models`` in the environment of ``python``; apply them with ``yes``.

    Without ``yes`` nothing is changed and no lock is taken: the environment is read and
    checked, the plan built and the resolver's dry run run.  With ``yes``: the
    environment's lock is taken first (another run's changes are then read, not
    overwritten), a snapshot saved, the steps run in order (stopping at the first failure),
    and the environment read and checked again (and the models really loaded with
    ``verify``).

    Args:
        models: model paths (may be empty: environment findings only).
        python: the interpreter or prefix (None: the one running envdoctor).
        yes: apply the plan.
        severity: address findings at or above this severity.
        verify: with ``yes``, really load each model and run a forward pass afterwards.
        wait: seconds to wait for another run's lock (0: refuse at once).
        verify_timeout: seconds allowed per model for ``verify``.
        progress: receives progress lines (what is being done).
        on_line: receives the installers' output lines.

    Returns:
        The :class:`FixOutcome`.

    Raises:
        LockBusy: another envdoctor run is changing this environment (``yes`` only).
        ModelFileError: a model cannot be read.
        EnvironmentReadError: the interpreter cannot be read.
        InstallerMissing: something must be installed and no installer can.
        SnapshotError: the snapshot cannot be taken (nothing was changed).
    """
    from envdoctor import app
    from envdoctor.repair.lock import environment_lock

    say = progress or _noop
    if not yes:
        return _plan_only(models, python, severity)
    env0 = app.read_env(python)
    with environment_lock(env0.prefix, wait=wait, command="envdoctor fix"):
        say(f"holding the lock of {env0.prefix}")
        return _apply(models, env0.python, severity=severity, verify=verify,
                      verify_timeout=verify_timeout, say=say, on_line=on_line or _noop)


def _plan_for(models: Sequence[str], python: Optional[str],
              severity: Severity) -> tuple[Report, Plan, Optional[Sequence[str]]]:
    before = _check(models, python)
    env = before.environments[0]
    uv = installer.find_uv()
    choice = None
    missing: Optional[installer.InstallerMissing] = None
    try:
        choice = installer.choose_tool(env, uv=uv, conda=installer.find_conda())
    except installer.InstallerMissing as exc:
        missing = exc
    try:
        plan = build_plan(env, before.findings, severity=severity, choice=choice)
    except installer.InstallerMissing:
        if missing is not None:
            raise missing from None
        raise
    return before, resolve(plan), uv


def _plan_only(models: Sequence[str], python: Optional[str], severity: Severity) -> FixOutcome:
    before, plan, _ = _plan_for(models, python, severity)
    return FixOutcome(_status_before(plan), plan, before)


def _status_before(plan: Plan) -> str:
    if not plan.findings:
        return "nothing-to-do"
    if not plan.steps:
        return "manual-only"
    if not plan.resolved:
        return "unresolvable"
    return "planned"


def _apply(
    models: Sequence[str],
    python: str,
    *,
    severity: Severity,
    verify: bool,
    verify_timeout: float,
    say: Progress,
    on_line: Progress,
) -> FixOutcome:
    from envdoctor.repair.snapshot import restore_commands, take_snapshot

    before, plan, uv = _plan_for(models, python, severity)
    status = _status_before(plan)
    if status != "planned":
        return FixOutcome(status, plan, before)
    env = plan.env
    snap = take_snapshot(env, uv=uv)
    added = [c.name for c in plan.changes if c.before is None]
    conda = plan.tool if plan.tool is not None and plan.tool.is_conda else None
    restore = tuple(restore_commands(snap, uv=uv, conda=conda, extras=added))
    say(f"snapshot: {snap.path}")
    say(f"to restore it: {restore[0]}")
    runs: list[CommandResult] = []
    for number, step in enumerate(plan.steps, 1):
        say(f"step {number}/{len(plan.steps)}: {step.text}")
        result = installer.run(step.argv, on_line=on_line)
        runs.append(result)
        if not result.ok:
            return _failed(plan, before, snap, tuple(runs), uv=uv, conda=conda)
    from envdoctor.repair.snapshot import damaged, repair_argv

    broken = damaged(env.python)
    repair = repair_argv(env.python, broken, uv, conda=installer.is_conda_env(env))
    if repair:
        say(f"repairing distributions whose files the steps removed: {', '.join(broken)}")
        runs.append(installer.run(repair, on_line=on_line))
        if not runs[-1].ok:
            return _failed(plan, before, snap, tuple(runs), uv=uv, conda=conda)
    after = _check(models, env.python)
    changes = installer.diff_versions(
        installer.installed_versions(env), installer.installed_versions(after.environments[0])
    )
    left = [f for f in after.findings if f.severity.rank >= severity.rank]
    settings = env_settings(left)
    with_settings = None
    if left and settings:
        found = check_with_settings(after.models, env.python, settings)
        with_settings = tuple(f for f in found if f.severity.rank >= severity.rank)
    harness = None
    if verify and after.models:
        from envdoctor import verify as verify_mod

        extra = {}
        if with_settings == () and all(v is not None for v in settings.values()):
            extra = {k: v for k, v in settings.items() if v is not None}
        say("verifying: loading each model and running a forward pass")
        harness = verify_mod.run_harness(
            env.python, after.models, verify_mod.Options(timeout=verify_timeout, extra_env=extra)
        )
    return FixOutcome("applied", plan, before, after, snap, restore, tuple(runs), changes,
                      harness, settings, with_settings)


def _failed(
    plan: Plan,
    before: Report,
    snap: Snapshot,
    runs: tuple[CommandResult, ...],
    *,
    uv: Optional[Sequence[str]],
    conda: Optional[Tool],
) -> FixOutcome:
    """A step failed: read what is installed now, so the restore commands are exact."""
    from envdoctor import app
    from envdoctor.repair.snapshot import by_name, freeze, freeze_tool, restore_commands

    extras: list[str] = []
    changes: tuple[Change, ...] = ()
    try:
        now_env = app.read_env(plan.env.python)
        changes = installer.diff_versions(
            installer.installed_versions(plan.env), installer.installed_versions(now_env)
        )
        current = freeze(freeze_tool(now_env, uv), now_env.python)
        old = by_name(snap.freeze)
        extras = sorted(n for n in by_name(current) if n not in old)
    except Exception:
        extras = [c.name for c in plan.changes if c.before is None]
    restore = tuple(restore_commands(snap, uv=uv, conda=conda, extras=extras))
    return FixOutcome("failed", plan, before, None, snap, restore, runs, changes)
