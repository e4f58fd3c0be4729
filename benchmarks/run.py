"""Benchmarks: parse speed and memory, the corpus build at growing sizes; writes docs/benchmarks.md.

    .venv/bin/python benchmarks/run.py            # the full suite (tens of minutes: 100k-page builds)
    .venv/bin/python benchmarks/run.py --quick    # tiny sizes, a smoke test of the harness (< 1 min)

Every measurement runs in its own subprocess (`--worker KIND`), so its peak RSS is its own: the parent
reads it from os.wait4's rusage (ru_maxrss of the largest process in the child's tree) and samples the
whole process tree's RSS with psutil (worker pools). Each figure is the median of `--runs` runs (the
full builds of large corpora: `--large-build-runs`). Corpora are generated with pipeline.synth under a
temporary folder (`--work`, default under /tmp) and never inside the repository.

The results replace the block between the `bench:begin`/`bench:end` markers of the output file, so the
hand-written analysis around it stays; a missing file is created. A PNG plots build time against corpus
size.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: import the project from the checkout
    sys.path.insert(0, str(ROOT))

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
TEXT_TARGET = 5_000  # text pages per second, one process
HTML_VS_TRAFILATURA_TARGET = 10.0  # HTML parse speed as a multiple of trafilatura's extract
FULL_BUILD_PAGES, FULL_BUILD_SECONDS = 100_000, 60  # full build of 100k text pages within a minute
ADD_SHARE = 0.05  # adding 1% new pages costs at most 5% of a full build
NOOP_SECONDS = 5
MEMORY_MB = 2_000  # peak at 100k pages
LARGE_BUILD = 50_000  # builds at least this big use --large-build-runs
PACKAGES = (
    "lxml", "beautifulsoup4", "trafilatura", "charset-normalizer", "pyarrow", "pandas", "dagster",
    "great_expectations", "psutil",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# Workers: one measurement each, in a fresh process; print one JSON object.


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "_SUCCESS")


def _worker(kind: str, folder: Path) -> dict:
    if kind.startswith("steps"):  # steps[:N]: the N latest runs only
        return _step_seconds(folder, int(kind.partition(":")[2] or 0) or None)
    files = _files(folder)
    if kind.startswith("profile-"):
        return {"top": _profile(kind.removeprefix("profile-"), files)}
    if kind.startswith("manifest-"):
        return _manifest(kind.removeprefix("manifest-"), folder)
    work = _work_function(kind)
    for path in files[: min(20, len(files))]:  # warm up: imports, regex compilation, page cache
        work(path)
    start = time.perf_counter()
    for path in files:
        work(path)
    return {"pages": len(files), "seconds": time.perf_counter() - start}


def _step_seconds(dagster_home: Path, latest_runs: int | None = None) -> dict:
    """Seconds per step over the runs recorded in the instance (every run, or the latest ones; the ingest
    steps summed over batches), how many runs, and their own time: each run from its creation to its end,
    less its steps (Dagster creating, starting and ending the run, and its work between steps)."""
    import dagster as dg

    seconds: dict[str, float] = {}
    bookkeeping, runs = 0.0, 0
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for record in instance.get_run_records(limit=latest_runs):
            in_steps = 0.0
            for stat in instance.get_run_step_stats(record.dagster_run.run_id):
                if stat.start_time and stat.end_time:
                    duration = stat.end_time - stat.start_time
                    seconds[stat.step_key] = seconds.get(stat.step_key, 0.0) + duration
                    in_steps += duration
            if record.end_time is not None:
                bookkeeping += record.end_time - record.create_timestamp.timestamp() - in_steps
                runs += 1
    return {"steps": dict(sorted(seconds.items(), key=lambda item: -item[1])), "runs": runs, "bookkeeping": bookkeeping}


def _work_function(kind: str):
    from pipeline.core import page
    from pipeline.core.decode import decode_page

    if kind == "floor":  # reading and decoding: what every parser pays
        return lambda path: decode_page(path.read_bytes())
    if kind == "parse":
        return lambda path: _expect_ok(page.parse_file(path))
    if kind == "parse-bs4":  # the previous HTML reduction (beautifulsoup4), for before/after
        from benchmarks import bs4_reference

        page.html_to_text = bs4_reference.html_to_text
        return lambda path: _expect_ok(page.parse_file(path))
    if kind == "trafilatura":
        import trafilatura

        return lambda path: trafilatura.extract(decode_page(path.read_bytes()).text)
    raise SystemExit(f"unknown worker {kind!r}")


def _expect_ok(result) -> None:
    if result.status != "ok":
        raise SystemExit(f"{result.source}: {result.reject_reason}: {result.reject_detail}")


def _manifest(mode: str, raw: Path) -> dict:
    from pipeline.core import tables, workers

    manifest = tables.raw_manifest(raw)
    if mode == "parallel":
        workers.PARALLEL_MIN_PAGES = 0  # measure the pool even on the tiny corpora of --quick
    start = time.perf_counter()
    table = tables.parse_manifest(manifest, raw, workers=1 if mode == "serial" else None)
    return {"pages": table.num_rows, "seconds": time.perf_counter() - start, "workers": os.cpu_count()}


def _profile(kind: str, files: list[Path]) -> list[dict]:
    from pipeline.core.page import parse_file

    for path in files[:20]:
        parse_file(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for path in files:
        parse_file(path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:12]  # type: ignore[attr-defined]
    return [
        {"function": _function_name(key), "calls": value[1], "share": value[2] / total}
        for key, value in rows
    ]


def _function_name(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name.strip("<>")
    path = Path(filename)
    with contextlib.suppress(ValueError):
        return f"{path.relative_to(ROOT)}:{line} {name}"
    return f"{path.parent.name}/{path.name}:{line} {name}"


# ---------------------------------------------------------------------------------------------------
# Measuring a subprocess


class _TreeMemory(threading.Thread):
    """Peak memory of a process and its descendants, sampled every 50 ms: RSS summed (counts the pages that
    forked workers share with their parent once per process) and PSS summed (shares them out: what the
    tree takes from the machine)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.peak_pss, self.done = pid, 0, 0, threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.done.wait(0.05):
            rss = pss = 0
            with contextlib.suppress(psutil.Error):
                for process in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        memory = process.memory_full_info()
                        rss, pss = rss + memory.rss, pss + memory.pss
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)


def measure(command: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT, sample: bool = True) -> dict:
    """Run a command; its wall time, stdout, peak RSS of its largest process and, when `sample`, of its whole tree
    (RSS and PSS). Sampling reads every process's smaps each 50 ms: on two cores that takes ≈ 7% of a build's wall
    time, so the timed builds run without it and their memory comes from runs of their own."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    sampler = _TreeMemory(process.pid)
    if sample:
        sampler.start()
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []
    readers = [
        threading.Thread(target=lambda: out_chunks.append(process.stdout.read()), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=lambda: err_chunks.append(process.stderr.read()), daemon=True),  # type: ignore[union-attr]
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    sampler.done.set()
    for reader in readers:
        reader.join()
    stdout, stderr = b"".join(out_chunks).decode(), b"".join(err_chunks).decode()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} exited {process.returncode}:\n{stderr[-3000:]}")
    return {
        "wall": wall,
        "stdout": stdout,
        "maxrss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "cpu_s": usage.ru_utime + usage.ru_stime,  # the child and its waited-for descendants
        "tree_rss_mb": max(sampler.peak_rss / 2**20, usage.ru_maxrss / 1024) if sample else None,
        "tree_pss_mb": sampler.peak_pss / 2**20 if sample else None,
    }


def worker_json(kind: str, folder: Path) -> dict:
    """`--worker KIND FOLDER` in a fresh process: its measurement, with the JSON it printed last merged in."""
    result = measure([sys.executable, str(Path(__file__).resolve()), "--worker", kind, str(folder)])
    return result | json.loads(result["stdout"].strip().splitlines()[-1])


def worker_run(kind: str, folder: Path) -> dict:
    """One measurement in a fresh process."""
    result = worker_json(kind, folder)
    result["rate"] = result["pages"] / result["seconds"]
    return result


def worker_figures(jobs: list[tuple[str, str, Path]], runs: int, log) -> dict[str, dict]:
    """Medians over `runs` rounds; each round runs every job once, so load changes hit them all alike."""
    results: dict[str, list[dict]] = {name: [] for name, _, _ in jobs}
    for round_ in range(runs):
        for name, kind, folder in jobs:
            results[name].append(worker_run(kind, folder))
            log(f"round {round_ + 1}/{runs} {name}: {results[name][-1]['rate']:,.0f} pages/s")
    figures = {}
    for name, kind, _ in jobs:
        rows = results[name]
        figures[name] = {
            "kind": kind,
            "pages": rows[0]["pages"],
            "rate": statistics.median(r["rate"] for r in rows),
            "rates": sorted(r["rate"] for r in rows),
            "round_rates": [r["rate"] for r in rows],  # in round order: pairs with other jobs' same round
            "maxrss_mb": statistics.median(r["maxrss_mb"] for r in rows),
            "tree_rss_mb": statistics.median(r["tree_rss_mb"] for r in rows),
            "cpu_s": statistics.median(r["cpu_s"] for r in rows),
            "runs": runs,
            "workers": rows[0].get("workers"),
        }
    return figures


# ---------------------------------------------------------------------------------------------------
# Corpora and builds


def synth(out: Path, pages: int, batches: int | list[int], *, html_share: float, seed: int, **kwargs) -> Path:
    from pipeline import synth as synth_module

    if not out.exists():
        synth_module.generate(out, pages, batches, html_share=html_share, seed=seed, **kwargs)
    return out


def build_command(raw: Path, processed: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", "build", "--raw", str(raw), "--processed", str(processed)]


# What `python -m pipeline build` imports before it looks at anything (Dagster, pandas, pyarrow, the code location).
_BUILD_IMPORTS = "import pipeline.build"


def start_command() -> list[str]:
    """The build's process start and nothing more: the interpreter and the build's imports."""
    return [sys.executable, "-c", _BUILD_IMPORTS]


def start_with_gx_command() -> list[str]:
    """The same, then Great Expectations imported as a build that validates imports it (`import_gx`): less the
    process start, its import's cost in a build."""
    return [sys.executable, "-c", f"{_BUILD_IMPORTS}; from pipeline.core.validation import import_gx; import_gx()"]


def fresh_build(raw: Path, state: Path, *, sample: bool) -> dict:
    """A build from nothing: empty processed/ and a new DAGSTER_HOME."""
    shutil.rmtree(state, ignore_errors=True)
    (state / "dagster_home").mkdir(parents=True)
    return measure(build_command(raw, state / "processed"), env=_build_env(state), sample=sample)


def _build_env(state: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(state / "dagster_home"), "PYTHONWARNINGS": "ignore"}


def build_figures(work: Path, sizes: list[int], batches: int, runs: int, large_runs: int, log) -> dict:
    figures: dict = {"sizes": [], "add_batch": None, "noop": None}
    for size in sizes:
        raw = synth(work / f"build-{size}" / "raw", size, batches, html_share=0.0, seed=size)
        n_runs = large_runs if size >= LARGE_BUILD else runs
        timed, sampled = [], []
        for _ in range(n_runs):  # in turn, so that a change in load hits both alike
            sampled.append(fresh_build(raw, work / f"build-{size}" / "state", sample=True))
            log(f"  build {size:>7} pages, memory sampled: {sampled[-1]['wall']:.1f} s, {sampled[-1]['tree_pss_mb']:.0f} MB")
            timed.append(fresh_build(raw, work / f"build-{size}" / "state", sample=False))
            log(f"  build {size:>7} pages: {timed[-1]['wall']:.1f} s")
        label = f"full build, {size:,} text pages in {batches} batches"
        figures["sizes"].append(_build_row(label, size, timed, sampled))
    # Where the last (timed) full build of the largest corpus spent its time, with its own wall time.
    figures["steps"] = worker_json("steps", work / f"build-{sizes[-1]}" / "state" / "dagster_home") | {"wall": timed[-1]["wall"]}

    # Incremental: one more batch of 1% new pages onto the largest corpus, then a rerun with nothing new.
    largest = sizes[-1]
    base = work / f"build-{largest}"
    new_pages = max(1, largest // 100)
    extra = synth(  # the same site's next pages: they recommend corpus pages, and corpus pages recommended them
        base / "extra", new_pages, 1, html_share=0.0, seed=largest, first_batch=batches,
        first_serial=largest, rescrape_share=0.0, changed_share=0.0,
    )  # fmt: skip
    snapshot = base / "state"  # the fresh build of the largest corpus, kept as it ended
    add_runs, noop_runs, start_runs, gx_runs = [], [], [], []
    # seconds each, not a full build's minute: as many runs as the small builds, each timed run after a sampled one
    for sample in [True, False] * runs:
        state = base / "state-add"
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(snapshot, state, symlinks=True)
        batch_dir = next(extra.iterdir())
        target = base / "raw" / batch_dir.name
        shutil.copytree(batch_dir, target)
        try:
            add_runs.append(measure(build_command(base / "raw", state / "processed"), env=_build_env(state), sample=sample))
            log(f"  add batch of {new_pages} pages{', memory sampled' if sample else ''}: {add_runs[-1]['wall']:.1f} s")
            noop_runs.append(measure(build_command(base / "raw", state / "processed"), env=_build_env(state), sample=sample))
            log(f"  no-op rerun{', memory sampled' if sample else ''}: {noop_runs[-1]['wall']:.1f} s")
            if not sample:  # right after the timed no-op, under the same load: what of it is process start
                start_runs.append(measure(start_command(), env=_build_env(state), sample=False))
                log(f"  process start: {start_runs[-1]['wall']:.1f} s")
                gx_runs.append(measure(start_with_gx_command(), env=_build_env(state), sample=False))
                log(f"  process start and Great Expectations' import: {gx_runs[-1]['wall']:.1f} s")
        finally:
            shutil.rmtree(target)
    add_sampled, add_runs = add_runs[::2], add_runs[1::2]
    noop_sampled, noop_runs = noop_runs[::2], noop_runs[1::2]
    # Where the last (timed) add run spent its time (its ingest and corpus runs), with its own wall time.
    figures["add_steps"] = worker_json("steps:2", base / "state-add" / "dagster_home") | {"wall": add_runs[-1]["wall"]}
    label = f"add a batch of {new_pages:,} new pages (1%) to {largest:,}"
    figures["add_batch"] = _build_row(label, new_pages, add_runs, add_sampled)
    figures["noop"] = _build_row(f"no-op rerun of {largest + new_pages:,} pages (nothing new)", 0, noop_runs, noop_sampled)
    starts = sorted(run["wall"] for run in start_runs)
    figures["start"] = {"seconds": statistics.median(starts), "walls": starts}
    gx_imports = sorted(gx["wall"] - start["wall"] for gx, start in zip(gx_runs, start_runs))  # each pair back to back
    figures["gx_import"] = {"seconds": statistics.median(gx_imports), "walls": gx_imports}
    return figures


def _build_row(label: str, pages: int, timed: list[dict], sampled: list[dict]) -> dict:
    """A build's figures: the median wall time of the `timed` runs, the median peaks of the `sampled` runs."""
    walls = sorted(r["wall"] for r in timed)
    return {
        "label": label,
        "pages": pages,
        "seconds": walls[len(walls) // 2],
        "walls": walls,
        **{name: statistics.median(r[name] for r in sampled) for name in ("maxrss_mb", "tree_rss_mb", "tree_pss_mb")},
        "runs": len(timed),
    }


# ---------------------------------------------------------------------------------------------------
# Report


def machine() -> dict:
    cpu_lines = [line for line in _read("/proc/cpuinfo").splitlines() if line.startswith("model name")]
    cpu = cpu_lines[0].split(":", 1)[1].strip() if cpu_lines else platform.processor()
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal")), 0)
    versions = {}
    for name in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    from lxml import etree

    versions["libxml2"] = ".".join(map(str, etree.LIBXML_VERSION))
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem_kb / 2**20,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def render_block(info: dict, parse: dict, manifest: dict, builds: dict | None, profiles: dict, args, loads) -> str:
    m = info
    lines = [
        BEGIN,
        f"_Generated by `benchmarks/run.py{' --quick' if args.quick else ''}` "
        f"on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC._",
        "",
        "| machine | |",
        "| --- | --- |",
        f"| cores | {m['cores']} ({m['cpu']}) |",
        f"| memory | {m['memory_gb']:.1f} GB |",
        f"| Python | {m['python']} on {m['platform']} |",
        f"| packages | {', '.join(f'{k} {v}' for k, v in m['versions'].items())} |",
        f"| load average (1 min) before / after | {loads[0]:.2f} / {loads[1]:.2f} "
        "(above ~0.5 the machine was shared: figures are noisy) |",
        "",
        f"Parse speed: one process, files read from the page cache, each figure the median of {args.runs} runs "
        f"(separate processes); peak RSS is the process's own (ru_maxrss).",
        "",
        "| measurement | pages | pages/s (median) | runs (pages/s) | peak RSS |",
        "| --- | ---: | ---: | --- | ---: |",
    ]
    labels = {
        "floor-text": "floor: read + decode, text pages",
        "parse-text": "**text parse** (`parse_file`)",
        "floor-html": "floor: read + decode, HTML pages",
        "parse-html": "**HTML parse** (`parse_file`, lxml)",
        "parse-bs4-html": "HTML parse with the previous bs4 reduction",
        "trafilatura-html": "trafilatura `extract`, same HTML",
    }
    for key, label in labels.items():
        if key in parse:
            f = parse[key]
            runs = ", ".join(f"{r:,.0f}" for r in f["rates"])
            lines.append(f"| {label} | {f['pages']:,} | {f['rate']:,.0f} | {runs} | {f['maxrss_mb']:.0f} MB |")
    lines += ["", "| ratio | value |", "| --- | ---: |"]
    ratios = []
    if {"parse-html", "trafilatura-html"} <= parse.keys():
        ratios.append(("HTML parse / trafilatura (medians)", parse["parse-html"]["rate"] / parse["trafilatura-html"]["rate"]))
        ratios.append(("HTML parse / trafilatura (median of the per-round ratios)", _round_ratio(parse)))
    if {"parse-html", "parse-bs4-html"} <= parse.keys():
        ratios.append(("HTML parse lxml / previous bs4", parse["parse-html"]["rate"] / parse["parse-bs4-html"]["rate"]))
    if {"parse-html", "parse-text"} <= parse.keys():
        ratios.append(("HTML parse / text parse", parse["parse-html"]["rate"] / parse["parse-text"]["rate"]))
    lines += [f"| {name} | {value:.2f}× |" for name, value in ratios]
    for fmt in ("text", "html"):
        if {f"parse-{fmt}", f"floor-{fmt}"} <= parse.keys():
            share = parse[f"parse-{fmt}"]["rate"] / parse[f"floor-{fmt}"]["rate"]
            lines.append(f"| reading + decoding, share of the {fmt} parse time | {share:.0%} |")

    lines += ["", "Targets on this machine:", "", "| target | measured | met |", "| --- | ---: | :---: |"]
    if "parse-text" in parse:
        rate = parse["parse-text"]["rate"]
        lines.append(f"| text parse ≥ {TEXT_TARGET:,} pages/s, one process | {rate:,.0f} | {_met(rate >= TEXT_TARGET)} |")
    if {"parse-html", "trafilatura-html"} <= parse.keys():
        # Per round: the two measurements ran back to back, so a change in load hits both.
        ratio = _round_ratio(parse)
        per_round = ", ".join(
            f"{a / b:.1f}" for a, b in zip(parse["parse-html"]["round_rates"], parse["trafilatura-html"]["round_rates"])
        )
        met = _met(ratio >= HTML_VS_TRAFILATURA_TARGET)
        lines.append(
            f"| HTML parse ≥ {HTML_VS_TRAFILATURA_TARGET:.0f}× trafilatura (median of rounds: {per_round}) | {ratio:.1f}× | {met} |"
        )

    if manifest:
        serial, parallel = manifest["serial"], manifest["parallel"]
        lines += [
            "",
            f"`parse_manifest` on {serial['pages']:,} text pages (parse + the parsed_pages table), "
            f"median of {serial['runs']} runs:",
            "",
            "| mode | pages/s (runs) | wall | peak RSS, largest process | peak RSS, whole tree |",
            "| --- | ---: | ---: | ---: | ---: |",
            _manifest_row("serial (`workers=1`)", serial),
            _manifest_row(f"process pool ({parallel['workers']} workers)", parallel),
            f"| speed-up | {parallel['rate'] / serial['rate']:.2f}× | | | |",
        ]
    if builds:
        lines += [
            "",
            "`python -m pipeline build --raw R --processed P` (fresh DAGSTER_HOME per corpus; wall time includes "
            "interpreter, Dagster and GX start-up; the timed runs are not sampled: the memory columns are the medians of "
            "as many more runs, each sampling the process tree every 50 ms):",
            "",
            "| build | pages/s | wall (median) | runs (wall) | peak RSS, largest process | peak RSS, whole tree | peak PSS, whole tree |",
            "| --- | ---: | ---: | --- | ---: | ---: | ---: |",
        ]
        for row in [*builds["sizes"], builds["add_batch"], builds["noop"]]:
            rate = f"{row['pages'] / row['seconds']:,.0f}" if row["pages"] else "–"
            walls = _seconds_list(row["walls"])
            lines.append(
                f"| {row['label']} | {rate} | {row['seconds']:.1f} s | {row['runs']}: {walls} | "
                f"{row['maxrss_mb']:.0f} MB | {row['tree_rss_mb']:.0f} MB | {row['tree_pss_mb']:.0f} MB |"
            )
        lines += [
            "",
            f"Process start, `python -c \"{_BUILD_IMPORTS}\"` (the interpreter and the modules the build imports "
            f"before it looks at anything, nothing run), each right after a timed no-op rerun: "
            f"{builds['start']['seconds']:.1f} s (runs: {_seconds_list(builds['start']['walls'])}). Great Expectations' "
            f"import on top of it (the same command then `import_gx()`, run right after it, less its time): "
            f"{builds['gx_import']['seconds']:.1f} s (runs: {_seconds_list(builds['gx_import']['walls'])}).",
        ]
        if args.plot:
            lines += ["", f"![build time against corpus size]({Path(args.plot).name})"]
        lines += _build_targets(builds)
        imports = {"start": builds["start"]["seconds"], "gx_import": builds["gx_import"]["seconds"]}
        lines += _time_table(builds["sizes"][-1]["label"], builds["steps"], **imports)
        lines += _time_table(builds["add_batch"]["label"], builds["add_steps"], **imports)
    for kind, top in profiles.items():
        lines += [
            "",
            f"Profile of `parse_file` on {kind} pages now (cProfile, top functions by own time):",
            "",
            "| function | calls | share of time |",
            "| --- | ---: | ---: |",
            *(f"| `{row['function']}` | {row['calls']:,} | {row['share']:.0%} |" for row in top),
        ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def _seconds_list(walls: list[float]) -> str:
    return ", ".join(f"{wall:.1f} s" for wall in walls)


def _time_table(label: str, spent: dict, *, start: float, gx_import: float) -> list[str]:
    """Where a build's time went: its runs' steps (the ingest steps summed over batches), the runs' own
    bookkeeping, the process start and Great Expectations' import (each timed on its own) and the rest, each
    against that build's wall time."""
    wall, steps = spent["wall"], spent["steps"]
    rest = wall - sum(steps.values()) - spent["bookkeeping"] - start - gx_import
    return [
        "",
        f"Where the time of the last {label} went ({wall:.1f} s; Dagster's step durations, then what the build "
        "spent outside the steps):",
        "",
        "| where | seconds | share of the wall time |",
        "| --- | ---: | ---: |",
        *(f"| `{step}` | {sec:.2f} | {sec / wall:.0%} |" for step, sec in steps.items()),
        f"| the {spent['runs']} runs' own bookkeeping (Dagster creating, starting and ending each run, between its steps) "
        f"| {spent['bookkeeping']:.2f} | {spent['bookkeeping'] / wall:.0%} |",
        f"| process start (the median timed alone, above) | {start:.2f} | {start / wall:.0%} |",
        f"| Great Expectations' import (the median timed alone, above) | {gx_import:.2f} | {gx_import / wall:.0%} |",
        f"| the rest: opening the instance, listing raw/, choosing what to run, the summary | {rest:.2f} | {rest / wall:.0%} |",
    ]


def _build_targets(builds: dict) -> list[str]:
    """The build targets of this machine, judged on the rows above (at 100k pages when that size was built)."""
    by_size = {row["pages"]: row for row in builds["sizes"]}
    largest = builds["sizes"][-1]
    add, noop = builds["add_batch"], builds["noop"]
    add_share = add["seconds"] / largest["seconds"]
    beyond_noop = (add["seconds"] - noop["seconds"]) / largest["seconds"]
    lines = ["", "Build targets:", "", "| target | measured | met |", "| --- | ---: | :---: |"]
    if FULL_BUILD_PAGES in by_size:
        full = by_size[FULL_BUILD_PAGES]["seconds"]
        lines.append(f"| full build of {FULL_BUILD_PAGES:,} text pages ≤ {FULL_BUILD_SECONDS} s | {full:.1f} s | {_met(full <= FULL_BUILD_SECONDS)} |")
    lines.append(
        f"| adding 1% new pages ≤ {ADD_SHARE:.0%} of a full build ({largest['pages']:,} pages) | {add_share:.0%} of the wall time "
        f"({beyond_noop:.0%} beyond what a no-op rerun costs) | {_met(add_share <= ADD_SHARE)} |"
    )
    # The target counts the work beyond process start; the process start is timed on its own (`start_command`).
    start = builds["start"]["seconds"]
    work = noop["seconds"] - start
    lines.append(
        f"| no-op rerun ≤ {NOOP_SECONDS} s of work beyond process start | {work:.1f} s ({noop['seconds']:.1f} s in all, "
        f"less the process start's {start:.1f} s) | {_met(work <= NOOP_SECONDS)} |"
    )
    if FULL_BUILD_PAGES in by_size:
        peak = by_size[FULL_BUILD_PAGES]["tree_pss_mb"]
        lines.append(
            f"| peak memory ≤ {MEMORY_MB:,} MB at {FULL_BUILD_PAGES:,} pages (PSS of every process of the build) | "
            f"{peak:,.0f} MB | {_met(peak <= MEMORY_MB)} |"
        )
    if len(builds["sizes"]) >= 3:
        # Sub-linear: each added page costs clearly less memory at the large end than at the small end (a fixed
        # start-up cost alone would make any peak/size ratio fall, so the ratio is not the test).
        sizes = builds["sizes"]
        first, second, before_last, last = sizes[0], sizes[1], sizes[-2], sizes[-1]
        small_end = _mb_per_thousand(first, second)
        large_end = _mb_per_thousand(before_last, last)
        lines.append(
            f"| memory grows sub-linearly ({first['pages']:,} → {last['pages']:,} pages) | {small_end:.0f} MB per 1,000 "
            f"pages added at the small end, {large_end:.0f} at the large end | {_met(large_end < 0.9 * small_end)} |"
        )
    return lines


def _mb_per_thousand(smaller: dict, larger: dict) -> float:
    """Memory (PSS of the build's processes) each 1,000 more pages cost."""
    return (larger["tree_pss_mb"] - smaller["tree_pss_mb"]) / (larger["pages"] - smaller["pages"]) * 1000


def _round_ratio(parse: dict) -> float:
    html, trafilatura = parse["parse-html"]["round_rates"], parse["trafilatura-html"]["round_rates"]
    return statistics.median(a / b for a, b in zip(html, trafilatura))


def _manifest_row(label: str, f: dict) -> str:
    runs = ", ".join(f"{r:,.0f}" for r in f["rates"])
    return (
        f"| {label} | {f['rate']:,.0f} ({runs}) | {f['pages'] / f['rate']:.2f} s | {f['maxrss_mb']:.0f} MB | "
        f"{f['tree_rss_mb']:.0f} MB |"
    )


def _met(ok: bool) -> str:
    return "✅ met" if ok else "❌ not met"


def write_report(out: Path, block: str) -> None:
    if out.exists():
        text = out.read_text("utf-8")
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1].lstrip("\n")
            out.write_text(head + block + ("\n" + tail if tail else ""), "utf-8")
            return
        out.write_text(text.rstrip("\n") + "\n\n" + block, "utf-8")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Benchmarks\n\n" + block, "utf-8")


def plot(path: Path, builds: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [row["pages"] for row in builds["sizes"]]
    seconds = [row["seconds"] for row in builds["sizes"]]
    figure, axis = plt.subplots(figsize=(6, 4), dpi=100)
    axis.plot(sizes, seconds, marker="o", label="full build (fresh)")
    if builds["add_batch"]:
        axis.scatter([sizes[-1]], [builds["add_batch"]["seconds"]], marker="s", color="tab:green", label="add 1% batch")
    if builds["noop"]:
        axis.scatter([sizes[-1]], [builds["noop"]["seconds"]], marker="x", color="tab:red", label="no-op rerun")
    for x, y in zip(sizes, seconds):
        axis.annotate(f"{y:.0f} s", (x, y), textcoords="offset points", xytext=(4, 6), fontsize=8)
    axis.set_xlabel("corpus size (text pages)")
    axis.set_ylabel("wall time (s)")
    axis.set_title("python -m pipeline build")
    axis.set_xlim(left=0)
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


# ---------------------------------------------------------------------------------------------------
# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run each: a smoke test of the harness")
    parser.add_argument("--work", type=Path, help="folder for corpora and build state (default: a new one under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep --work afterwards")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "benchmarks_build.png")
    parser.add_argument("--runs", type=int, help="runs per parse figure (default 3; --quick 1)")
    parser.add_argument("--text-pages", type=int, help="text pages for the parse figures (default 3000)")
    parser.add_argument("--html-pages", type=int, help="HTML pages for the parse figures (default 1000)")
    parser.add_argument("--manifest-pages", type=int, help="pages for serial vs parallel parse_manifest (default 10000)")
    parser.add_argument("--build-sizes", help="comma-separated corpus sizes for the builds (default 10000,30000,100000)")
    parser.add_argument("--build-batches", type=int, default=10, help="batches per build corpus (default 10)")
    parser.add_argument("--build-runs", type=int, help="runs per build below 50k pages, and of the 1%% and no-op reruns (default 3; --quick 1)")
    parser.add_argument("--large-build-runs", type=int, default=3, help="runs per build of 50k pages or more (default 3)")
    parser.add_argument("--skip-build", action="store_true", help="parse figures only")
    parser.add_argument("--skip-trafilatura", action="store_true", help="no trafilatura figure (not installed)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("folder", nargs="?", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.folder)))
        return 0
    quick = args.quick
    args.runs = args.runs or (1 if quick else 3)
    build_runs = args.build_runs or (1 if quick else 3)
    text_pages = args.text_pages or (120 if quick else 3000)
    html_pages = args.html_pages or (60 if quick else 1000)
    manifest_pages = args.manifest_pages or (300 if quick else 10_000)
    sizes = [int(s) for s in (args.build_sizes or ("40,80" if quick else "10000,30000,100000")).split(",")]
    batches = min(args.build_batches, 2) if quick else args.build_batches
    trafilatura = not args.skip_trafilatura and importlib.util.find_spec("trafilatura") is not None

    work = args.work or Path(tempfile.mkdtemp(prefix="pipeline-bench-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", flush=True)

    loads = [os.getloadavg()[0]]
    try:
        text_dir = synth(work / "parse-text", text_pages, 1, html_share=0.0, seed=11, rescrape_share=0.0, changed_share=0.0)
        html_dir = synth(work / "parse-html", html_pages, 1, html_share=1.0, seed=12, rescrape_share=0.0, changed_share=0.0)
        jobs = [("floor-text", "floor", text_dir), ("parse-text", "parse", text_dir), ("floor-html", "floor", html_dir),
                ("parse-html", "parse", html_dir)]  # fmt: skip
        if trafilatura:  # right after the HTML parse: the pair sees the same load
            jobs.append(("trafilatura-html", "trafilatura", html_dir))
        jobs.append(("parse-bs4-html", "parse-bs4", html_dir))
        parse = worker_figures(jobs, args.runs, log)

        profiles = {}
        for fmt, folder in (("text", text_dir), ("HTML", html_dir)):
            profiles[fmt] = worker_json(f"profile-{fmt}", folder)["top"]

        manifest_dir = synth(
            work / "manifest", manifest_pages, 1, html_share=0.0, seed=13, rescrape_share=0.0, changed_share=0.0
        )
        manifest = worker_figures(
            [("serial", "manifest-serial", manifest_dir), ("parallel", "manifest-parallel", manifest_dir)], args.runs, log
        )

        builds = None
        if not args.skip_build:
            builds = build_figures(work, sizes, batches, build_runs, args.large_build_runs, log)
            if args.plot:
                plot(args.plot, builds)
        loads.append(os.getloadavg()[0])
        block = render_block(machine(), parse, manifest, builds, profiles, args, loads)
        write_report(args.out, block)
        log(f"wrote {args.out}" + (f" and {args.plot}" if builds and args.plot else ""))
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
