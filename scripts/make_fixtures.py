"""Build real Keras/TensorFlow test environments and save fixture models.

Standard library only; runs on Python 3.9+.  Environments are created from
pyenv interpreters with ``uv`` and cached under ``$ENVDOCTOR_TEST_ENVS``
(default ``~/.cache/envdoctor/test-envs``), one directory per environment.

Commands::

    python scripts/make_fixtures.py envs  [--extra] [--names a,b] [--rebuild]
    python scripts/make_fixtures.py save  [--extra] [--names a,b] [--rebuild]
    python scripts/make_fixtures.py truth [--extra] [--names a,b] [--isolation fork|subprocess]

``envs``  builds (or reuses) the environments and prints ``name<TAB>python``.
``save``  also runs ``scripts/fixture_saver.py`` inside every environment,
          writing ``tests/fixtures/<name>/`` (models + ``SAVED_WITH.json``).
``truth`` runs ``scripts/real_load.py`` in every environment against every
          saved fixture, writes ``tests/live/ground_truth_<name>.json`` and
          prints a Markdown table (fixture x env).

Tests can import :func:`ensure_envs` from this file, e.g.::

    spec = importlib.util.spec_from_file_location("make_fixtures", path)
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    pythons = module.ensure_envs(["tf215"], extra=False)  # {"tf215": Path(...)}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO_ROOT / "tests" / "fixtures"
CUSTOM_LAYERS_DIR = FIXTURES_DIR / "custom_layers"
LIVE_DIR = REPO_ROOT / "tests" / "live"
SAVER_SCRIPT = REPO_ROOT / "scripts" / "fixture_saver.py"
REAL_LOAD_SCRIPT = REPO_ROOT / "scripts" / "real_load.py"
SPEC_FILE_NAME = ".envdoctor-spec.json"
#: One committed lock per environment: the exact ``name==version`` set that
#: environment had when it was last built and proven (``uv pip freeze``).  Builds
#: install with ``--constraint`` on it, so a new upstream release cannot change a
#: test environment.  ``python scripts/make_fixtures.py lock --names X`` rewrites it.
LOCKS_DIR = REPO_ROOT / "tests" / "live" / "locks"

#: Bump to force every cached environment to be rebuilt.
CACHE_SCHEMA = 1

#: Environment specs.  ``tier`` is ``"core"`` (built by default) or ``"extra"``
#: (built with ``--extra`` or when named explicitly).  ``env`` holds extra
#: environment variables used whenever the environment's Python is run.
ENV_SPECS: dict[str, dict[str, Any]] = {
    "tf215": {
        "name": "tf215",
        "python": "3.10",
        "requirements": ["tensorflow-cpu==2.15.1"],
        "env": {},
        "tier": "core",
    },
    "tf216-keras33": {
        "name": "tf216-keras33",
        "python": "3.11",
        "requirements": ["tensorflow-cpu==2.16.2", "keras==3.3.3"],
        "env": {},
        "tier": "core",
    },
    "tf221": {
        "name": "tf221",
        "python": "3.11",
        "requirements": ["tensorflow-cpu==2.21.0", "keras==3.15.1"],
        "env": {},
        "tier": "core",
    },
    "tf220": {
        "name": "tf220",
        "python": "3.11",
        "requirements": ["tensorflow-cpu==2.20.0", "keras==3.15.1"],
        "env": {},
        "tier": "core",
    },
    "jax": {
        "name": "jax",
        "python": "3.12",
        "requirements": ["keras==3.15.1", "jax[cpu]==0.12.0.1"],
        "env": {"KERAS_BACKEND": "jax"},
        "tier": "core",
    },
    "tf213": {
        "name": "tf213",
        "python": "3.9",
        "requirements": ["tensorflow-cpu==2.13.1"],
        "env": {},
        "tier": "core",
    },
    "tf221-tfkeras": {
        "name": "tf221-tfkeras",
        "python": "3.12",
        "requirements": ["tensorflow-cpu==2.21.0", "tf-keras==2.21.0"],
        "env": {"TF_USE_LEGACY_KERAS": "1"},
        "tier": "core",
    },
}

#: Variables set for every subprocess run inside a test environment.
BASE_CHILD_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONDONTWRITEBYTECODE": "1",
    "CUDA_VISIBLE_DEVICES": "",
}


class FixtureError(RuntimeError):
    """Raised for any user-facing failure (missing interpreter, failed install...)."""


def log(message: str) -> None:
    """Print a progress message to stderr."""
    print(f"[make_fixtures] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- interpreters


def _version_key(text: str) -> tuple[int, ...]:
    """Return a sortable tuple for a dotted version string like ``3.10.13``."""
    return tuple(int(part) for part in text.split("."))


def find_interpreter(minor: str) -> Path:
    """Return a Python interpreter for ``minor`` (e.g. ``"3.10"``).

    Looks for the newest ``$PYENV_ROOT/versions/<minor>.<patch>/bin/python3``
    (``PYENV_ROOT`` defaults to ``~/.pyenv``), then ``python<minor>`` on PATH.

    Raises:
        FixtureError: If no interpreter is found.
    """
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions_dir = pyenv_root / "versions"
    pattern = re.compile(rf"^{re.escape(minor)}\.\d+$")
    candidates: list[tuple[tuple[int, ...], Path]] = []
    if versions_dir.is_dir():
        for entry in versions_dir.iterdir():
            python = entry / "bin" / "python3"
            if pattern.match(entry.name) and python.exists():
                candidates.append((_version_key(entry.name), python))
    if candidates:
        return max(candidates)[1]
    on_path = shutil.which(f"python{minor}")
    if on_path:
        return Path(on_path)
    raise FixtureError(
        f"no Python {minor} interpreter found: looked for "
        f"{versions_dir}/{minor}.*/bin/python3 and python{minor} on PATH "
        f"(install it with e.g. `pyenv install {minor}`)"
    )


def uv_command() -> list[str]:
    """Return the command prefix that runs uv (``uv`` or ``python -m uv``)."""
    found = shutil.which("uv")
    if found:
        return [found]
    return [sys.executable, "-m", "uv"]


# ---------------------------------------------------------------- environments


def envs_root() -> Path:
    """Return the cache directory holding all test environments."""
    configured = os.environ.get("ENVDOCTOR_TEST_ENVS")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "envdoctor" / "test-envs"


def lock_path(spec: dict[str, Any]) -> Path:
    """Return the committed lock file of ``spec`` (it may not exist yet)."""
    return LOCKS_DIR / f"{spec['name']}.txt"


def read_lock(spec: dict[str, Any]) -> str:
    """Return the text of ``spec``'s lock file, or ``""`` when there is none."""
    try:
        return lock_path(spec).read_text(encoding="utf-8")
    except OSError:
        return ""


def spec_hash(spec: dict[str, Any]) -> str:
    """Return a stable hash of everything that defines an environment (lock included)."""
    payload = {
        "schema": CACHE_SCHEMA,
        "python": spec["python"],
        "requirements": sorted(spec["requirements"]),
        "env": dict(sorted(spec["env"].items())),
        "lock": hashlib.sha256(read_lock(spec).encode("utf-8")).hexdigest(),
    }
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def env_python(env_dir: Path) -> Path:
    """Return the interpreter path inside a virtual environment."""
    return env_dir / "bin" / "python"


def select_specs(names: Iterable[str] | None, extra: bool) -> list[dict[str, Any]]:
    """Return the specs to act on.

    Args:
        names: Explicit environment names (any tier); ``None`` or empty means
            every core environment, plus the extra tier when ``extra``.
        extra: Include the extra tier when no names are given.

    Raises:
        FixtureError: On an unknown name.
    """
    wanted = [n for n in (names or []) if n]
    if wanted:
        unknown = [n for n in wanted if n not in ENV_SPECS]
        if unknown:
            raise FixtureError(
                f"unknown environment(s) {', '.join(unknown)}; known: {', '.join(ENV_SPECS)}"
            )
        return [ENV_SPECS[n] for n in wanted]
    tiers = {"core", "extra"} if extra else {"core"}
    return [spec for spec in ENV_SPECS.values() if spec["tier"] in tiers]


def _run(cmd: Sequence[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; raise FixtureError with its output if it fails."""
    result = subprocess.run(
        list(cmd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if result.returncode != 0:
        raise FixtureError(
            f"command failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout[-4000:]}"
        )
    return result


def _read_spec_file(env_dir: Path) -> dict[str, Any] | None:
    """Return the cached spec record of ``env_dir``, or None if absent/corrupt."""
    try:
        return json.loads((env_dir / SPEC_FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ensure_env(spec: dict[str, Any], rebuild: bool = False) -> Path:
    """Build (or reuse) one environment; return its Python interpreter.

    A cached environment is reused when its ``.envdoctor-spec.json`` holds the
    same spec hash and its interpreter exists; otherwise it is recreated with
    ``uv venv`` + ``uv pip install``.  The spec file, written only after a
    successful install, also records the resolved package list and timings.
    """
    env_dir = envs_root() / spec["name"]
    python = env_python(env_dir)
    digest = spec_hash(spec)
    cached = _read_spec_file(env_dir)
    if not rebuild and cached and cached.get("hash") == digest and python.exists():
        return python

    if env_dir.exists():
        if not (env_dir / "pyvenv.cfg").exists() and any(env_dir.iterdir()):
            raise FixtureError(f"refusing to replace {env_dir}: not a virtual environment")
        shutil.rmtree(env_dir)
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    interpreter = find_interpreter(spec["python"])
    uv = uv_command()
    log(f"building {spec['name']} (Python {spec['python']}: {interpreter}) in {env_dir}")
    started = time.monotonic()
    _run([*uv, "venv", "--quiet", "--python", str(interpreter), str(env_dir)])
    lock = lock_path(spec)
    constraint = ["--constraint", str(lock)] if lock.is_file() else []
    _run([*uv, "pip", "install", "--python", str(python), *constraint, *spec["requirements"]])
    seconds = round(time.monotonic() - started, 1)
    freeze = _run([*uv, "pip", "freeze", "--python", str(python)]).stdout.split()
    if not constraint:
        # First build of a new environment: record what it got, to be committed.
        write_lock(spec, freeze)
        digest = spec_hash(spec)
    record = {
        "hash": digest,
        "spec": spec,
        "interpreter": str(interpreter),
        "install_seconds": seconds,
        "installed": freeze,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (env_dir / SPEC_FILE_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log(f"built {spec['name']} in {seconds}s")
    return python


def write_lock(spec: dict[str, Any], freeze: list[str]) -> Path:
    """Write ``spec``'s lock file from a ``uv pip freeze`` listing; return its path."""
    LOCKS_DIR.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Lock of the test environment {spec['name']!r} (Python {spec['python']}):"
        " uv pip freeze of the built environment.\n"
        "# Regenerate: python scripts/make_fixtures.py lock --names "
        f"{spec['name']}\n"
    )
    pins = sorted((line for line in freeze if "==" in line), key=str.lower)
    path = lock_path(spec)
    path.write_text(header + "\n".join(pins) + "\n", encoding="utf-8")
    return path


def relock(spec: dict[str, Any]) -> Path:
    """Rewrite ``spec``'s lock from its built environment (built first if absent).

    The cached environment stays valid: its spec record gets the new hash.
    """
    env_dir = envs_root() / spec["name"]
    python = env_python(env_dir)
    if not python.exists():
        ensure_env(spec)
    freeze = _run([*uv_command(), "pip", "freeze", "--python", str(python)]).stdout.split()
    path = write_lock(spec, freeze)
    record = _read_spec_file(env_dir) or {"spec": spec}
    record["hash"] = spec_hash(spec)
    record["installed"] = freeze
    (env_dir / SPEC_FILE_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def ensure_envs(names: Iterable[str] | None = None, extra: bool = False) -> dict[str, Path]:
    """Build or reuse environments; return ``{name: python interpreter}``.

    Args:
        names: Environment names to build (any tier).  ``None``/empty selects
            every core environment (plus extra ones when ``extra``).
        extra: Include the extra tier when ``names`` is not given.
    """
    return {spec["name"]: ensure_env(spec) for spec in select_specs(names, extra)}


def child_env(spec: dict[str, Any]) -> dict[str, str]:
    """Return the process environment for running code inside ``spec``'s env.

    Starts from the current environment, drops variables that would leak the
    caller's interpreter or Keras settings, and adds the spec's variables,
    ``TF_CPP_MIN_LOG_LEVEL=3`` and ``PYTHONPATH=tests/fixtures/custom_layers``.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "KERAS_BACKEND", "TF_USE_LEGACY_KERAS"}
    }
    env.update(BASE_CHILD_ENV)
    env.update(spec["env"])
    env["PYTHONPATH"] = str(CUSTOM_LAYERS_DIR)
    return env


# ---------------------------------------------------------------- fixtures


def save_fixtures(spec: dict[str, Any], python: Path) -> Path:
    """Run the saver inside one environment; return its fixture directory.

    The directory ``tests/fixtures/<name>/`` is emptied first so stale files
    from an earlier run never survive.
    """
    outdir = FIXTURES_DIR / spec["name"]
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    log(f"saving fixtures for {spec['name']} into {outdir}")
    started = time.monotonic()
    result = subprocess.run(
        [str(python), str(SAVER_SCRIPT), str(outdir), "--env-name", spec["name"]],
        env=child_env(spec),
        cwd=str(outdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(f"[{spec['name']}]")]
    for line in lines:
        log(line)
    if result.returncode != 0:
        raise FixtureError(
            f"fixture saver failed in {spec['name']} ({result.returncode}):\n"
            f"{result.stdout[-4000:]}"
        )
    log(f"saved {spec['name']} fixtures in {time.monotonic() - started:.1f}s")
    return outdir


def fixture_models(fixture_dirs: Iterable[Path]) -> list[Path]:
    """Return every loadable fixture path (.keras, .h5, SavedModel dirs), sorted."""
    found: list[Path] = []
    for directory in fixture_dirs:
        for path in sorted(directory.iterdir()):
            if path.suffix in {".keras", ".h5"} or (
                path.is_dir() and path.name.endswith(("_savedmodel", "_tfsaved"))
            ):
                found.append(path)
    return found


def _real_load(
    python: Path, env: dict[str, str], models: list[str], extra_args: list[str]
) -> dict[str, Any]:
    """Run real_load.py once with ``python``; return its parsed JSON report."""
    result = subprocess.run(
        [str(python), str(REAL_LOAD_SCRIPT), *extra_args, *models],
        env=env,
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise FixtureError(f"real_load.py failed with {python}:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout)


def run_truth(
    specs: list[dict[str, Any]], pythons: dict[str, Path], isolation: str
) -> dict[str, dict[str, Any]]:
    """Run real_load.py in each env against all fixtures; save and return results.

    Two passes per environment, both with default ``load_model`` arguments:

    1. every fixture, with no custom-layer module importable (what a user
       without the model's code gets) -> ``tests/live/ground_truth_<env>.json``;
    2. the ``custom.*`` fixtures again with ``tests/fixtures/custom_layers``
       on ``PYTHONPATH`` and ``--preload envdoctor_fixture_layers`` (a user who
       imports the module) -> ``tests/live/ground_truth_<env>_custom_preloaded.json``;
       these rows are labelled ``[+import]`` and merged into the returned results.
    """
    fixture_dirs = [
        p for p in sorted(FIXTURES_DIR.iterdir()) if p.is_dir() and (p / "SAVED_WITH.json").exists()
    ]
    paths = fixture_models(fixture_dirs)
    models = [str(p.relative_to(REPO_ROOT)) for p in paths]
    custom = [str(p.relative_to(REPO_ROOT)) for p in paths if p.name.startswith("custom.")]
    LIVE_DIR.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, dict[str, Any]] = {}
    for spec in specs:
        name = spec["name"]
        log(f"real-load of {len(models)} fixtures in {name}")
        started = time.monotonic()
        env = child_env(spec)
        env.pop("PYTHONPATH", None)  # a plain user has no custom layer module on the path
        data = _real_load(pythons[name], env, models, ["--isolation", isolation])
        data["env_name"] = name
        (LIVE_DIR / f"ground_truth_{name}.json").write_text(
            json.dumps(data, indent=2) + "\n", encoding="utf-8"
        )
        preload_args = ["--isolation", isolation, "--preload", "envdoctor_fixture_layers"]
        extra = _real_load(pythons[name], child_env(spec), custom, preload_args)
        extra["env_name"] = name
        (LIVE_DIR / f"ground_truth_{name}_custom_preloaded.json").write_text(
            json.dumps(extra, indent=2) + "\n", encoding="utf-8"
        )
        for item in extra["results"]:
            data["results"].append({**item, "model": item["model"] + " [+import]"})
        log(f"real-load in {name} took {time.monotonic() - started:.1f}s")
        outputs[name] = data
    return outputs


def normalize_error(result: dict[str, Any]) -> str:
    """Return ``stage error_type: first line`` with run-specific details removed.

    The model path, memory addresses, layer names and appended configs are
    replaced so equal failures in different fixtures compare equal.
    """
    first = (result.get("error_head") or result.get("error") or "").strip().splitlines()
    message = first[0] if first else ""
    model = str(result.get("model") or "").replace(" [+import]", "")
    if model:
        message = message.replace(model, "<path>")
    message = re.sub(r"0x[0-9a-f]+", "0x...", message)
    message = re.sub(r"(using config=|Full object config: ).*", r"\1...", message)
    message = re.sub(r"'(dense|input_layer|input|lstm|scale|lambda)(_\d+)?'", r"'\1_N'", message)
    if len(message) > 220:
        message = message[:217] + "..."
    return f"[{result.get('stage')}] {result.get('error_type')}: {message}"


def truth_table(outputs: dict[str, dict[str, Any]]) -> str:
    """Return Markdown: a fixture x env table of codes, then the code legend.

    ``OK`` means loaded and predicted (``OK (sig)``: only through the
    SavedModel serving signature); ``E<n>`` refers to a normalised
    ``[stage] ErrorType: first line of the message`` in the legend below.
    """
    env_names = list(outputs)
    by_env: dict[str, dict[str, dict[str, Any]]] = {
        env: {r["model"]: r for r in data["results"]} for env, data in outputs.items()
    }
    models: list[str] = []
    for env in env_names:
        for model in by_env[env]:
            if model not in models:
                models.append(model)
    codes: dict[str, str] = {}
    lines = [
        "| fixture | " + " | ".join(env_names) + " |",
        "|---|" + "---|" * len(env_names),
    ]
    for model in models:
        cells = []
        for env in env_names:
            result = by_env[env].get(model)
            if result is None:
                cells.append("-")
            elif result.get("predicted"):
                via_signature = result.get("predict_via") != "model.predict"
                cells.append("OK (sig)" if via_signature else "OK")
            else:
                key = normalize_error(result)
                code = codes.setdefault(key, f"E{len(codes) + 1}")
                if result.get("loaded"):
                    code += " (loaded)"
                retry = result.get("retry_compile_false") or {}
                if retry.get("loaded"):
                    code += " (cf)"
                cells.append(code)
        label = model.replace("tests/fixtures/", "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "OK = loaded and model.predict ran; OK (sig) = load_model returned a plain"
        " SavedModel object (no .inputs), which ran only through"
        " signatures['serving_default']; E<n> (loaded) = loaded but the forward pass"
        " failed; (cf) = the default load failed but load_model(path, compile=False) works;"
        " [+import] = the custom-layer module was imported before loading"
    )
    lines.append("")
    for key, code in codes.items():
        lines.append(f"- {code}: {key.replace('|', '/')}")
    return "\n".join(lines)


# ---------------------------------------------------------------- CLI


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="Build envdoctor test environments and save real fixture models."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command, help_text in (
        ("envs", "build/reuse environments and print name<TAB>python"),
        ("save", "build environments, then save fixtures into tests/fixtures/<env>/"),
        ("truth", "load every fixture in every environment; write tests/live/"),
        ("lock", "rewrite tests/live/locks/<env>.txt from the built environments"),
    ):
        p = sub.add_parser(command, help=help_text)
        p.add_argument("--extra", action="store_true", help="include the extra tier")
        p.add_argument("--names", default="", help="comma-separated environment names")
        p.add_argument("--rebuild", action="store_true", help="rebuild even if cached")
        if command == "truth":
            p.add_argument(
                "--isolation",
                choices=("fork", "subprocess"),
                default="fork",
                help="how real_load.py isolates each model (default: fork)",
            )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    args = parse_args(argv)
    try:
        specs = select_specs(args.names.split(","), args.extra)
        if args.command == "lock":
            for spec in specs:
                print(f"{spec['name']}\t{relock(spec)}")
            return 0
        pythons: dict[str, Path] = {}
        for spec in specs:
            pythons[spec["name"]] = ensure_env(spec, rebuild=args.rebuild)
        if args.command == "envs":
            for name, python in pythons.items():
                print(f"{name}\t{python}")
        elif args.command == "save":
            for spec in specs:
                outdir = save_fixtures(spec, pythons[spec["name"]])
                print(f"{spec['name']}\t{outdir}")
        elif args.command == "truth":
            outputs = run_truth(specs, pythons, args.isolation)
            print(truth_table(outputs))
    except FixtureError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
