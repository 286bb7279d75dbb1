"""``make bench`` runs every benchmark, says how each did, and fails when one missed a target
(README, docs/benchmarks.md).

The Makefile's own ``bench`` recipe runs here on stand-in benchmarks that meet or miss their
targets (exit 0 or not) and leave a mark when they run; ``install`` and ``bench-npm`` are
taken as done.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_BENCHMARKS = {"__init__", "common"}


def listed() -> list[str]:
    """The benchmarks ``make bench`` runs (``BENCHES`` in the Makefile)."""
    found = re.search(r"^BENCHES := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert found is not None
    return found[1].split()


def make_bench(workdir: Path, exits: dict[str, int]) -> subprocess.CompletedProcess[str]:
    """``make bench`` on stand-ins: each named benchmark marks that it ran, then exits so."""
    (workdir / "bench").mkdir()
    for name, status in exits.items():
        script = (
            f"open({str(workdir / f'ran-{name}')!r}, 'w').close()\nraise SystemExit({status})\n"
        )
        (workdir / "bench" / f"{name}.py").write_text(script)
    (workdir / "bin").mkdir()
    (workdir / "bin" / "python").symlink_to(sys.executable)
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-o", "install",
         "-o", "bench-npm", "bench", f"BENCHES={' '.join(exits)}", f"BIN={workdir / 'bin'}"],
        cwd=workdir, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def statuses(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith("bench ")]


def test_make_bench_runs_every_benchmark_script() -> None:
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py")} - NOT_BENCHMARKS
    assert sorted(listed()) == sorted(scripts)


def test_a_missed_target_fails_make_bench_once_every_benchmark_ran(tmp_path: Path) -> None:
    done = make_bench(tmp_path, {"first": 1, "second": 0, "third": 3})
    assert done.returncode != 0, done.stdout
    assert statuses(done) == [
        "bench first: MISSED a target",
        "bench second: met its targets",
        "bench third: MISSED a target",
    ]
    assert all((tmp_path / f"ran-{name}").exists() for name in ("first", "second", "third"))


def test_make_bench_passes_when_every_target_is_met(tmp_path: Path) -> None:
    done = make_bench(tmp_path, {"first": 0, "second": 0})
    assert done.returncode == 0, done.stdout + done.stderr
    assert statuses(done) == ["bench first: met its targets", "bench second: met its targets"]
