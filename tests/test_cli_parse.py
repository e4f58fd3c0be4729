"""`python -m pipeline parse`: the stable JSON-lines interface."""

import json
import os
import subprocess
import sys

import pytest

from tests.pages import make_page

KEYS = [
    "source", "status", "page_id", "url", "category", "title", "question", "background", "answer", "headings",
    "sections", "related", "warnings", "sha256", "encoding", "format", "parser_version", "reject_reason", "reject_detail",
]  # fmt: skip


def run_parse(*args):
    return subprocess.run([sys.executable, "-m", "pipeline", "parse", *map(str, args)], capture_output=True, env={"PYTHONIOENCODING": "ascii", "PATH": ""})


def test_one_json_line_per_input_in_order(tmp_path):
    good, empty = tmp_path / "good.txt", tmp_path / "empty.txt"
    good.write_text(make_page(), encoding="utf-8")
    empty.write_bytes(b"")
    result = run_parse(empty, good, tmp_path / "missing.txt")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert [r["source"] for r in records] == [str(empty), str(good), str(tmp_path / "missing.txt")]
    assert all(list(r) == KEYS for r in records)
    assert [r["status"] for r in records] == ["rejected", "ok", "rejected"]
    assert [r["reject_reason"] for r in records] == ["empty_file", None, "unreadable"]
    assert records[1]["category"] == "不動産・賃貸"


def test_output_is_utf8_without_ascii_escapes_whatever_the_locale(tmp_path):
    page = tmp_path / "p.txt"
    page.write_text(make_page(), encoding="utf-8")
    stdout = run_parse(page).stdout
    assert "不動産・賃貸".encode("utf-8") in stdout
    assert b"\\u" not in stdout


def test_a_path_that_is_not_utf8_is_parsed_and_shown_escaped(tmp_path):
    # A page saved under a Shift_JIS name: the JSON line (UTF-8) shows the name's other bytes as \\xNN.
    page = os.fsencode(tmp_path) + b"/" + "相談.txt".encode("cp932")
    with open(page, "wb") as handle:
        handle.write(make_page().encode("utf-8"))
    result = subprocess.run([sys.executable, "-m", "pipeline", "parse", page], capture_output=True)
    assert result.returncode == 0, result.stderr
    [record] = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert record["source"] == f"{tmp_path}/\\x91\\x8a\\x92k.txt" and record["status"] == "ok"


def test_usage_errors_exit_2():
    assert run_parse().returncode == 2
    assert subprocess.run([sys.executable, "-m", "pipeline", "nonsense"], capture_output=True).returncode == 2


def test_max_bytes_rejects_larger_files(tmp_path):
    page = tmp_path / "p.txt"
    page.write_text(make_page(), encoding="utf-8")
    result = run_parse("--max-bytes", 100, page)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reject_reason"] == "too_large"


@pytest.mark.parametrize("max_bytes", ["0", "-5", "many"])
def test_a_byte_limit_that_is_not_a_positive_integer_is_a_usage_error(tmp_path, max_bytes):
    page = tmp_path / "p.txt"
    page.write_text(make_page(), encoding="utf-8")
    result = run_parse("--max-bytes", max_bytes, page)
    assert result.returncode == 2
    assert b"--max-bytes" in result.stderr
    assert result.stdout == b""
