"""A newer release of a dependency cannot change what ``make install`` installs (README, "The
lock").

A copy of the project's files gets a fresh ``.venv`` holding only the pinned uv, and a
package index of one wheel: a newer minor release of a locked dependency (Redis's client,
whose drift once broke ``make lint``). ``make install`` runs offline, from uv's cache (which
the project's own ``make install`` filled) plus that index. The drifted release is what an
install from ``pyproject.toml``'s ranges picks from the same index, yet the ``.venv`` holds
exactly the lock.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.procs import base_env

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "dev.lock"
DRIFTING = "redis"
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "var", "node_modules", "__pycache__", "*.egg-info", ".*_cache", ".hypothesis"
)
VERSIONS_JS = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


def locked() -> dict[str, str]:
    """The dev lock's pins that apply to this interpreter, by canonical name."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if not line or not line[0].isalnum():
            continue
        requirement = Requirement(line.rstrip(" \\"))
        if requirement.marker is not None and not Marker(str(requirement.marker)).evaluate():
            continue
        (version,) = (spec.version for spec in requirement.specifier)
        pins[canonicalize_name(requirement.name)] = version
    return pins


def newer_minor(version: str) -> str:
    major, minor = version.split(".")[:2]
    return f"{major}.{int(minor) + 1}.0"


def write_wheel(folder: Path, name: str, version: str) -> None:
    """A pure-Python wheel of ``name`` ``version`` whose module says it is the drifted one."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "DRIFTED = True\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)


def fresh_venv(path: Path) -> Path:
    """A new virtual environment; its interpreter."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def run_in(python: Path, code: str) -> str:
    """What ``code`` prints, run by ``python`` away from any checkout of the project."""
    env = {k: v for k, v in base_env().items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    done = subprocess.run(
        [python, "-c", code], cwd=python.parent, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return done.stdout


def installed(python: Path) -> dict[str, str]:
    """The distributions ``python`` sees, by canonical name."""
    return {canonicalize_name(k): v for k, v in json.loads(run_in(python, VERSIONS_JS)).items()}


def ranged_requirement(name: str) -> str:
    """``name``'s requirement as ``pyproject.toml`` states it (a range)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (found,) = (d for d in project["dependencies"] if Requirement(d).name == name)
    return str(found)


def test_a_newer_release_cannot_change_what_make_install_installs(tmp_path: Path) -> None:
    pins = locked()
    drifted = newer_minor(pins[DRIFTING])
    index = tmp_path / "index"
    index.mkdir()
    write_wheel(index, DRIFTING, drifted)
    uv = Path(sys.executable).parent / "uv"
    env = {k: v for k, v in base_env().items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(UV_OFFLINE="1", UV_FIND_LINKS=str(index))

    # The drift is real: an install from the project's range takes the newer release.
    ranged = fresh_venv(tmp_path / "ranged")
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", ranged, "--no-deps",
         ranged_requirement(DRIFTING)],
        env=env, check=True, timeout=60,
    )  # fmt: skip
    assert installed(ranged)[DRIFTING] == drifted

    # make install with the same index: the .venv is the lock, the drift left out.
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=NOT_COPIED)
    python = fresh_venv(clone / ".venv")
    shutil.copy2(uv, clone / ".venv" / "bin" / "uv")
    pinned_uv = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert pinned_uv is not None
    version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.split()[1] == pinned_uv[1], "the uv make install would put there"
    made = subprocess.run(
        ["make", "install", "DEBIAN_PACKAGES="],  # the Debian packages are not the point here
        cwd=clone, env=env, capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-3000:]
    found = installed(python)
    assert {name: found.get(name) for name in pins} == pins
    assert found["sessionshot"] and found["sessionshot-client"], "the project, editable"
    drift_seen = run_in(python, f"import {DRIFTING}; print(hasattr({DRIFTING}, 'DRIFTED'))")
    assert drift_seen.strip() == "False"
