"""Issue 18: every bad input a new user can type, as one table.

Each row: the command line (and environment), the exit code, key words of the ONE line on
stderr, no traceback, and nothing left in ``--out``. Rows run in this process through
``gpta.cli.main`` (fast); the rows marked ``subprocess`` run ``python -m gpta`` to prove the real
exit code. No row may reach the tokenizer or the model: both are replaced by a tripwire, so a
check that only fires after loading fails here instead of costing a training run.

Rows of item 1 (setting validation) exercise gpta/config.py and gpta/sweep/suite.py (issue 12).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gpta.cli import main

REPO = Path(__file__).resolve().parent.parent
SUBPROCESS = "subprocess"


# -- servers that are not (good) Ollama servers ------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    mode = "html"

    def do_GET(self):  # noqa: N802
        if self.server.mode == "html":
            body, status, ctype = b"<html>hello</html>", 200, "text/html"
        else:  # 404 on everything
            body, status, ctype = b"404 page not found", 404, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _http_server(mode: str):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.mode = mode
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class _SilentHost:
    """Accepts TCP connections and never answers (a wedged proxy, a firewall that drops)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.conns = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.sock.settimeout(0.5)
        while not self._stop:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                pass

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self):
        self._stop = True
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture(scope="module")
def hosts():
    html, notfound, silent = _http_server("html"), _http_server("404"), _SilentHost()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    yield {"html": f"http://127.0.0.1:{html.server_address[1]}",
           "notfound": f"http://127.0.0.1:{notfound.server_address[1]}",
           "silent": silent.url, "dead": dead}
    html.shutdown()
    notfound.shutdown()
    silent.close()


# -- bad files ----------------------------------------------------------------------------------


def _rows(n=12, labels=("pos", "neg")) -> str:
    return "".join(f"text number {i},{labels[i % len(labels)]}\n" for i in range(n))


def make_files(d: Path) -> None:
    d.mkdir(exist_ok=True)
    (d / "good.csv").write_text("text,label\n" + _rows())
    (d / "afile").write_text("not a folder\n")
    (d / "utf16.csv").write_bytes(("text,label\n" + _rows()).encode("utf-16"))
    (d / "quote.csv").write_text("text,label\n" + _rows(3) + '"an open quote,pos\n' + _rows(10))
    (d / "tabs.csv").write_text("text\tlabel\n" + _rows().replace(",", "\t"))
    (d / "big.csv").write_text("text,label\n" + _rows() + "x" * 5_000_000 + ",pos\n")
    (d / "nan.csv").write_text("text,label\n" + _rows() + "a text,NaN\n")
    (d / "null.jsonl").write_text("".join(json.dumps({"text": f"t{i}", "label": i % 2}) + "\n" for i in range(12))
                                  + json.dumps({"text": "x", "label": None}) + "\n")
    (d / "nanstr.jsonl").write_text("".join(json.dumps({"text": f"t{i}", "label": i % 2}) + "\n" for i in range(12))
                                    + json.dumps({"text": "x", "label": "nan"}) + "\n")
    (d / "model.gguf").write_bytes(b"PK\x03\x04 this is a zip, not a GGUF")
    (d / "cut.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + b"cut short" * 10)
    (d / "duphdr.csv").write_text("text,label,text\n" + "".join(f"t{i},{('a', 'b')[i % 2]},u{i}\n" for i in range(12)))
    (d / "listlabel.jsonl").write_text("".join(json.dumps({"text": f"t{i}", "label": [("a", "b")[i % 2]]}) + "\n"
                                               for i in range(12)))
    (d / "conflict.csv").write_text("text,label\n" + "".join(f"text {i},a\ntext {i},b\n" for i in range(12)))
    (d / "latin1.txt").write_bytes("Critiques de caf\xe9s: positive or negative.".encode("latin-1"))
    (d / "suite_name123.yaml").write_text("name: 123\ndatasets: [tweets]\nfractions: [0.01]\nseeds: [1]\n"
                                          "methods: [finetune]\n")
    (d / "cache.sqlite").write_bytes(b"this is not a database at all" * 10)
    (d / "cachedir").mkdir(exist_ok=True)
    (d / "truncated.json").write_text('{"run_id": "x", "config": {"method": "gpta"}, "prefix": "Is th')
    (d / "wrongtypes.json").write_text(json.dumps({"run_id": 5, "method": ["gpta"], "prefix": 7, "config": "x"}))
    (d / "suite_latin1.yaml").write_bytes("name: caf\xe9\ndatasets: [tweets]\nfractions: [0.1]\nseeds: [1]\n"
                                          "methods: [finetune]\n".encode("latin-1"))
    base = "name: s\ndatasets: [tweets]\nfractions: [0.01]\nmethods: [finetune]\n"
    suites = {
        "seed_neg": base + "seeds: [-1]\n",
        "seed_huge": base + f"seeds: [{2**70}]\n",
        "seed_float": base + "seeds: [13.7]\n",
        "seed_bool": base + "seeds: [true]\n",
        "dup_key": base + "seeds: [1]\nseeds: [2]\n",
        "per_dataset": base + "seeds: [1]\nper_dataset: {no-such-dataset: {fractions: [0.5]}}\n",
        "per_method": base + "seeds: [1]\nper_method: {no-such-method: {settings: {train.epochs: 2}}}\n",
        "epochs0": base + "seeds: [1]\nsettings: {train.epochs: 0}\n",
        "gpta_llm": "name: s\ndatasets: [tweets]\nfractions: [0.01]\nseeds: [1]\nmethods: [gpta]\nllm: ollama:absent\n",
        "ok": base + "seeds: [1]\n",
    }
    for name, text in suites.items():
        (d / f"suite_{name}.yaml").write_text(text)


# -- the table ----------------------------------------------------------------------------------
# (id, argv, exit code, key words of the one line, options). In argv: {f} = the folder of bad
# files, {out} = a fresh --out that must stay empty. Options: env (values may name {html},
# {404}, {silent}, {dead}), marks, SUBPROCESS, max_s (wall-clock bound), out (the folder to check).

RUN = ["run", "--dataset", "tweets", "--fraction", "0.02", "--method", "finetune", "--out", "{out}"]
GPTA = ["run", "--dataset", "tweets", "--fraction", "0.02", "--method", "gpta", "--out", "{out}"]
CSV = ["run", "--method", "finetune", "--out", "{out}", "--dataset"]
DESC = ["run", "--method", "gpta", "--out", "{out}", "--dataset", "csv:{f}/good.csv", "--description"]

ROWS = [
    # 1. settings (issue 12's validation; the CLI flags are ours)
    ("epochs 0", RUN + ["--set", "train.epochs=0"], 2, ["train.epochs"], {}),
    ("rounds 0", GPTA + ["--set", "gpta.rounds=0"], 2, ["gpta.rounds"], {}),
    ("batch 0", RUN + ["--set", "train.batch_size=0"], 2, ["train.batch_size"], {}),
    ("lr negative", RUN + ["--set", "train.learning_rate=-1"], 2, ["learning_rate"], {}),
    ("lr nan", RUN + ["--set", "train.learning_rate=nan"], 2, ["learning_rate"], {}),
    ("lr inf", RUN + ["--set", "train.learning_rate=inf"], 2, ["learning_rate"], {}),
    ("enum weights", GPTA + ["--set", "gpta.weights=sideways"], 2, ["gpta.weights", "sideways"], {}),
    ("enum precision", RUN + ["--set", "train.precision=fp8"], 2, ["train.precision", "fp8"], {}),
    ("enum history", GPTA + ["--set", "gpta.history=some"], 2, ["gpta.history"], {}),
    ("seed negative", RUN + ["--seed", "-1"], 2, ["--seed", "2**32"], {}),
    ("seed 2^70", RUN + ["--seed", str(2**70)], 2, ["--seed", "2**32"], {}),
    ("data seed negative", RUN + ["--data-seed", "-5"], 2, ["--data-seed"], {}),
    ("sweep seeds flag", ["sweep", "{f}/suite_ok.yaml", "--out", "{out}", "--seeds", "1,-2"], 2, ["--seeds"], {}),
    ("suite seed negative", ["sweep", "{f}/suite_seed_neg.yaml", "--out", "{out}"], 2, ["seed", "-1"],
     {}),
    ("suite seed 2^70", ["sweep", "{f}/suite_seed_huge.yaml", "--out", "{out}"], 2, ["seed"], {}),
    ("suite seed 13.7", ["sweep", "{f}/suite_seed_float.yaml", "--out", "{out}"], 2, ["13.7"], {}),
    ("suite seed true", ["sweep", "{f}/suite_seed_bool.yaml", "--out", "{out}"], 2, ["True"], {}),
    ("suite duplicate key", ["sweep", "{f}/suite_dup_key.yaml", "--out", "{out}"], 2, ["seeds", "duplicate"],
     {}),
    ("suite per_dataset unknown", ["sweep", "{f}/suite_per_dataset.yaml", "--out", "{out}"], 2, ["no-such-dataset"],
     {}),
    ("suite per_method unknown", ["sweep", "{f}/suite_per_method.yaml", "--out", "{out}"], 2, ["no-such-method"],
     {}),
    ("suite epochs 0", ["sweep", "{f}/suite_epochs0.yaml", "--out", "{out}"], 2, ["train.epochs"], {}),
    ("sweep --set rounds 0", ["sweep", "{f}/suite_ok.yaml", "--out", "{out}", "--set", "gpta.rounds=0"], 2,
     ["gpta.rounds"], {}),
    ("audit ngram 0", ["audit", "{f}", "--ngram", "0"], 2, ["--ngram", "> 0"], {}),
    ("audit ngram negative", ["audit", "{f}", "--ngram", "-3"], 2, ["--ngram"], {}),
    ("llm check max-tokens 0", ["llm", "check", "--max-tokens", "0"], 2, ["--max-tokens"], {}),
    ("llm check timeout negative", ["llm", "check", "--timeout", "-1"], 2, ["--timeout"], {}),
    ("llm check timeout nan", ["llm", "check", "--timeout", "nan"], 2, ["--timeout", "finite"], {}),
    # 2. output and files
    ("out is a file", RUN[:-1] + ["{f}/afile"], 2, ["--out", "afile", "is a file"], {SUBPROCESS: True, "out": None}),
    ("out under a file", RUN[:-1] + ["{f}/afile/sub"], 2, ["--out", "cannot be created"], {"out": None}),
    ("out not creatable", RUN[:-1] + ["/proc/gpta-no-such/out"], 2, ["--out", "cannot be created"], {"out": None}),
    ("out read-only", RUN[:-1] + ["/sys"], 2, ["--out /sys", "not writable"], {"out": None}),
    ("sweep out is a file", ["sweep", "{f}/suite_ok.yaml", "--out", "{f}/afile"], 2, ["--out", "is a file"],
     {"out": None}),
    ("report out is a file", ["report", "{f}", "--out", "{f}/afile"], 2, ["--out", "is a file"], {"out": None}),
    ("report dir missing", ["report", "{f}/nothing-here"], 2, ["nothing-here", "not a directory"], {"out": None}),
    ("suite not UTF-8", ["sweep", "{f}/suite_latin1.yaml", "--out", "{out}"], 2,
     ["suite_latin1.yaml", "line 1", "0xe9", "UTF-8"], {SUBPROCESS: True}),
    ("cache path is a folder", GPTA + ["--llm-cache-path", "{f}/cachedir"], 2, ["LLM cache", "cachedir", "is a folder"], {}),
    ("cache damaged", GPTA + ["--llm-cache-path", "{f}/cache.sqlite"], 2,
     ["cache.sqlite", "not an SQLite file", "pass another --llm-cache-path"], {"not": ["delete"]}),
    ("cache path /dev/null", GPTA + ["--llm-cache-path", "/dev/null"], 2,
     ["/dev/null", "not a regular file", "--llm-cache off"], {"not": ["delete", "damaged"]}),
    ("cache path is a CSV", GPTA + ["--llm-cache-path", "{f}/good.csv"], 2,
     ["good.csv", "not an SQLite file", "left as it is"], {"not": ["delete", "damaged"]}),
    ("default cache damaged", RUN[:-1] + ["{f}", "--method", "gpta"], 2,
     ["llm_cache.sqlite", "not an SQLite file", "delete it"], {"out": None, "setup": "damaged_default_cache"}),
    ("transfer truncated result", ["transfer", "--from", "{f}/truncated.json", "--dataset", "tweets", "--out", "{out}"],
     2, ["truncated.json", "not a result JSON"], {}),
    ("transfer wrong types", ["transfer", "--from", "{f}/wrongtypes.json", "--dataset", "tweets", "--out", "{out}"],
     2, ["wrongtypes.json", "no prefix"], {}),
    ("usage error one line", ["run", "--fraction", "abc", "--dataset", "tweets"], 2, ["--fraction", "--help"],
     {"out": None}),
    # 3. the LLM, reached before any work
    ("host never answers", GPTA + ["--llm", "ollama:some-model"], 2, ["no answer within 10 s", "OLLAMA_HOST"],
     {"env": {"OLLAMA_HOST": "{silent}"}, SUBPROCESS: True, "max_s": 30}),
    ("host is not ollama (html)", GPTA + ["--llm", "ollama:some-model"], 2, ["not an Ollama server at"],
     {"env": {"OLLAMA_HOST": "{html}"}}),
    ("host is not ollama (404)", GPTA + ["--llm", "ollama:some-model"], 2, ["not an Ollama server at"],
     {"env": {"OLLAMA_HOST": "{notfound}"}, SUBPROCESS: True}),
    ("host refuses", GPTA + ["--llm", "ollama:some-model"], 2, ["connection refused"], {"env": {"OLLAMA_HOST": "{dead}"}}),
    ("host URL malformed", GPTA + ["--llm", "ollama:some-model"], 2, ["OLLAMA_HOST", "not a valid URL"],
     {"env": {"OLLAMA_HOST": "ht!tp:/x"}}),
    ("host port out of range", GPTA + ["--llm", "ollama:some-model"], 2, ["OLLAMA_HOST", "not a valid URL"],
     {"env": {"OLLAMA_HOST": "http://127.0.0.1:99999"}}),
    ("sweep host never answers", ["sweep", "{f}/suite_gpta_llm.yaml", "--out", "{out}"], 2, ["no answer within"],
     {"env": {"OLLAMA_HOST": "{silent}"}, "max_s": 30}),
    ("not a GGUF", GPTA + ["--llm", "embedded:{f}/model.gguf"], 2, ["model.gguf", "not a GGUF file"], {}),
    ("GGUF missing", GPTA + ["--llm", "embedded:/no/such.gguf"], 2, ["no such GGUF"], {}),
    ("GGUF header then garbage", GPTA + ["--llm", "embedded:{f}/cut.gguf"], 2,
     ["cut.gguf", "did not answer a 1-token chat", "check the GGUF file"], {}),
    ("unknown LLM", GPTA + ["--llm", "chatgpt"], 2, ["unknown LLM"], {}),
    # 4. users' own data
    ("text col is label col", CSV + ["csv:{f}/good.csv", "--text-col", "label"], 2,
     ["good.csv", "both 'label'", "--text-col"], {}),
    ("UTF-16 file", CSV + ["csv:{f}/utf16.csv"], 2, ["utf16.csv", "UTF-16", "--encoding utf-16"], {}),
    ("unclosed quote", CSV + ["csv:{f}/quote.csv"], 2, ["quote.csv line 5", "never closed"], {}),
    ("TSV as csv:", CSV + ["csv:{f}/tabs.csv"], 2, ["tabs.csv", "use tsv:"], {}),
    ("5 MB cell", CSV + ["csv:{f}/big.csv"], 2, ["big.csv line 14", "shorten the cell"], {}),
    ("NaN label", CSV + ["csv:{f}/nan.csv"], 2, ["nan.csv line 14", "missing label"], {}),
    ("null label jsonl", CSV + ["jsonl:{f}/null.jsonl"], 2, ["null.jsonl line 13", "label"], {}),
    ("'nan' label jsonl", CSV + ["jsonl:{f}/nanstr.jsonl"], 2, ["nanstr.jsonl line 13", "missing label"], {}),
    ("description path missing", CSV + ["csv:{f}/good.csv", "--description", "docs/about-my-data.txt"], 2,
     ["--description", "no such file"], {}),
    ("text col with registered dataset", RUN + ["--text-col", "body"], 2, ["--text-col", "registered dataset"], {}),
    ("encoding with registered dataset", RUN + ["--encoding", "latin-1"], 2, ["--encoding", "registered dataset"], {}),
    # 5. workers
    ("workers 0", ["sweep", "{f}/suite_ok.yaml", "--out", "{out}", "--workers", "0"], 2, ["--workers"], {}),
    ("address without ray", ["sweep", "{f}/suite_ok.yaml", "--out", "{out}", "--address", "x:1"], 2, ["--address"], {}),
    # 7. data
    ("benchmark without data", ["run", "--dataset", "yelp", "--method", "finetune", "--out", "{out}"], 2,
     ["no data for dataset yelp", "gpta data prepare"], {"env": {"GPTA_DATA_DIR": ""}}),
    ("paper suite without data", ["sweep", "paper", "--out", "{out}"], 2,
     ["ag_news", "squad", "sst2", "trec", "twitter", "yelp", "gpta data prepare"],
     {"env": {"GPTA_DATA_DIR": ""}, SUBPROCESS: True}),
    ("data check incomplete", ["data", "check", "{f}"], 2, ["6 of 6 datasets", "gpta data prepare"], {"out": None}),
    ("data prepare unknown", ["data", "prepare", "{out}", "--datasets", "imdb"], 2, ["imdb", "not a benchmark"], {}),
    # issue 27 item 2: data verified where it is read (a copy of the benchmark files, cut short)
    # issue 27: internal errors, silent acceptance and misleading lines (items 5, 6, 8)
    ("out ~nosuchuser", RUN[:-1] + ["~nosuchuser/x"], 2, ["--out ~nosuchuser/x", "no user 'nosuchuser'", "full path"],
     {"out": None}),
    ("description 10 MB text", DESC + ["x " * 5_000_000], 2, ["--description", "9,999,999 characters", "limit is 4,000"],
     {"no_llm": True}),
    ("description 10 MB file", DESC + ["{f}/big.csv"], 2, ["--description: the file", "characters", "4,000"],
     {"no_llm": True}),
    ("description is a folder", DESC + ["{f}/cachedir"], 2, ["--description", "cachedir", "is a folder"],
     {"no_llm": True, "not": ["no such file"]}),
    ("description latin-1", DESC + ["{f}/latin1.txt"], 2,
     ["latin1.txt", "0xe9", "not UTF-8", "--encoding applies to the data file only"], {"no_llm": True}),
    ("csv is a folder", CSV + ["csv:{f}/cachedir"], 2, ["cachedir", "is a folder"], {"not": ["no such file"]}),
    ("suite is a folder", ["sweep", "{f}/cachedir", "--out", "{out}"], 2, ["cachedir", "is a folder"],
     {"not": ["no such file"]}),
    ("suite name 123", ["sweep", "{f}/suite_name123.yaml", "--out", "{out}"], 2,
     ["'name' is 123 (int), not text", "quote it"], {"not": ["missing"]}),
    ("csv header text,label,text", CSV + ["csv:{f}/duphdr.csv"], 2,
     ["duphdr.csv", "names column 'text' 2 times", "columns 1, 3"], {}),
    ("jsonl list labels", CSV + ["jsonl:{f}/listlabel.jsonl"], 2,
     ["listlabel.jsonl line 1", "label 'label' is a JSON list", "multi-label"], {}),
    ("every text with two labels", CSV + ["csv:{f}/conflict.csv"], 2,
     ["conflict.csv", "no rows left after dropping 24 row(s) whose text also appears with another label"], {}),
    ("base url ftp", GPTA + ["--llm", "openai:m", "--llm-base-url", "ftp://example.org/v1"], 2,
     ["ftp://example.org/v1", "scheme 'ftp' is not http or https"], {"not": ["timeout", "retries"]}),
    ("base url not a url", GPTA + ["--llm", "openai:m", "--llm-base-url", "not a url"], 2,
     ["'not a url'", "not an http(s) URL"], {"not": ["timeout", "retries"]}),
    ("data check on a file", ["data", "check", "{f}/good.csv"], 2, ["good.csv", "is a file", "data folder"],
     {"out": None, "not": ["prepare"]}),
    ("benchmark file cut in half", ["run", "--dataset", "trec", "--method", "finetune", "--out", "{out}"], 2,
     ["TREC.test", "damaged", "11,677 bytes, not the manifest's 23,354", "gpta data prepare"],
     {"env": {"GPTA_DATA_DIR": "{f}/data"}, "setup": "half_trec"}),
]


def _fill(value: str, f: Path, out: Path, hosts: dict) -> str:
    return value.format(f=f, out=out, **hosts)


@pytest.fixture
def no_model(monkeypatch):
    """A tripwire: loading the tokenizer or a model means a check came too late."""
    import gpta.pipeline

    def tripwire(*args, **kwargs):
        raise AssertionError("reached the tokenizer/model load: the check must come before any work")

    monkeypatch.setattr(gpta.pipeline, "load_tokenizer", tripwire)
    monkeypatch.setattr(gpta.pipeline, "load_model", tripwire)


@pytest.mark.parametrize("case, argv, code, words, opts",
                         [pytest.param(*row, marks=row[4].get("marks", []), id=row[0]) for row in ROWS])
def test_bad_input(case, argv, code, words, opts, tmp_path, hosts, monkeypatch, capsys, no_model):
    f, out = tmp_path / "f", tmp_path / "out"
    make_files(f)
    if opts.get("setup") == "damaged_default_cache":
        (f / "llm_cache.sqlite").write_bytes(b"\x00garbage" * 100)
    if opts.get("setup") == "half_trec":  # a copy of the data folder: the shared one is never touched
        from gpta.data.manifest import files_of

        shared = Path(os.environ.get("GPTA_DATA_DIR") or REPO.parent / "shared" / "data")
        if not (shared / "trec").is_dir():
            pytest.skip("needs the benchmark files (GPTA_DATA_DIR)")
        for df in files_of("trec"):
            (f / "data" / df.path).parent.mkdir(parents=True, exist_ok=True)
            data = (shared / df.path).read_bytes()
            (f / "data" / df.path).write_bytes(data[: len(data) // 2] if df.file == "TREC.test" else data)
    if opts.get("no_llm"):  # a tripwire: this row must be refused before any LLM is reached
        import gpta.context

        def no_llm(*args, **kwargs):
            raise AssertionError("reached the LLM: the check must come before any LLM call")

        monkeypatch.setattr(gpta.context, "probe_llm", no_llm)
        monkeypatch.setattr(gpta.context, "make_llm", no_llm)
    argv = [a if len(a) > 1000 else _fill(a, f, out, hosts) for a in argv]
    env = {k: _fill(v, f, out, hosts) for k, v in opts.get("env", {}).items()}
    t0 = time.monotonic()
    if opts.get(SUBPROCESS):
        full = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
        p = subprocess.run([sys.executable, "-m", "gpta", *argv], capture_output=True, text=True, env=full,
                           cwd=REPO, timeout=120)
        got, err = p.returncode, p.stderr
    else:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        try:
            got = main(argv)
        except SystemExit as exc:  # argparse
            got = exc.code
        err = capsys.readouterr().err
    seconds = time.monotonic() - t0
    lines = [line for line in err.splitlines() if line.strip()]
    assert got == code, err
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], f"{w!r} not in: {lines[0]}"
    for w in opts.get("not", []):  # e.g. never advise deleting a file that is not ours
        assert w not in lines[0], f"{w!r} in: {lines[0]}"
    if "max_s" in opts:
        assert seconds < opts["max_s"], f"took {seconds:.1f} s"
    checked = out if opts.get("out", "default") == "default" else None
    if checked is not None:
        assert not checked.exists() or not any(checked.iterdir()), sorted(p.name for p in checked.iterdir())


def test_the_table_covers_the_issue():
    assert len(ROWS) >= 48
    assert len({r[0] for r in ROWS}) == len(ROWS)


def test_debug_shows_the_traceback(tmp_path, capsys):
    make_files(tmp_path)
    assert main(["--debug", "run", "--dataset", f"csv:{tmp_path}/utf16.csv", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "UTF-16" in err.splitlines()[-1]


def test_os_and_sqlite_errors_are_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    """An OSError or sqlite3 error deep inside a command: one line, the file, what to do; exit 2."""
    import sqlite3

    from gpta.commands import report

    def boom(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "results.parquet"))

    monkeypatch.setattr(report, "cmd_report", boom)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "results.parquet: Permission denied" in err and "writable" in err

    class Cache:
        path = tmp_path / "llm_cache.sqlite"

        def get(self):
            raise sqlite3.DatabaseError("file is not a database")

    monkeypatch.setattr(report, "cmd_report", lambda args: Cache().get())
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "llm_cache.sqlite" in err and "pass another cache path" in err
    assert "delete" not in err


@pytest.fixture(scope="module")
def one_result(tmp_path_factory) -> Path:
    """One real, tiny finetune result (a few seconds)."""
    from tests.helpers import TINY_ARGS

    out = tmp_path_factory.mktemp("one")
    assert main(["run", "--dataset", "tweets", "--fraction", "0.005", "--method", "finetune", "--out", str(out),
                 *TINY_ARGS, "--set", "train.epochs=1"]) == 0
    return out


def test_report_names_damaged_files_on_the_console(one_result, tmp_path, capsys):
    import shutil

    for p in one_result.glob("*.json"):
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "truncated.json").write_text('{"run_id": "x", "config": {"a": ')
    (tmp_path / "latin.json").write_bytes('{"run_id": "caf\xe9"}'.encode("latin-1"))
    (tmp_path / "wrong.json").write_text(json.dumps({"run_id": 3, "config": {}, "metrics": "high"}))
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "rep")]) == 0
    err = capsys.readouterr().err
    assert "left out 3 files" in err and "delete" not in err
    assert "truncated.json: truncated JSON" in err and "latin.json: not UTF-8" in err
    assert "wrong.json: wrong types" in err


def test_users_data_protocol(tmp_path):
    """Duplicates are dropped and counted before splitting; 1, "1" and 1.0 are one JSONL label."""
    from gpta.data import get_dataset

    rows = "".join(f"text number {i},{('pos', 'neg')[i % 2]}\n" for i in range(30))
    (tmp_path / "thrice.csv").write_text("text,label\n" + rows * 3)
    splits = get_dataset(f"csv:{tmp_path}/thrice.csv").load()
    assert sum(splits.sizes().values()) == 30 and splits.extra["skipped_empty_text"] == 0
    assert "(60 rows dropped)" in splits.protocol
    texts = [e.text for s in (splits.pool, splits.dev, splits.test) for e in s]
    assert len(texts) == len(set(texts))  # no test text is also in the pool

    lines = [{"text": f"t{i}", "label": [1, "1", 1.0, 0, "0", 0.0][i % 6]} for i in range(24)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    spec = get_dataset(f"jsonl:{tmp_path}/d.jsonl")
    assert spec.label_names == ["0", "1"]


def test_cache_and_ledger_only_after_a_reply(tmp_path, dead_host, monkeypatch):
    """A run whose LLM never answers leaves neither a cache file nor a ledger."""
    from gpta.config import RunConfig
    from gpta.context import RunContext
    from gpta.errors import LLMUnavailable

    monkeypatch.setenv("OLLAMA_HOST", dead_host)
    cfg = RunConfig(dataset="tweets", fraction=0.02, seed=1, method="gpta", llm="ollama:some-model")
    ctx = RunContext(out_dir=tmp_path, run_id="r", cfg=cfg)
    llm = ctx.llm()
    with pytest.raises(LLMUnavailable):
        llm.chat([{"role": "user", "content": "hello"}])
    assert list(tmp_path.iterdir()) == []


def test_cache_and_ledger_written_at_the_first_reply(tmp_path):
    from gpta.config import RunConfig, apply_overrides
    from gpta.context import RunContext

    cfg = apply_overrides(RunConfig(dataset="tweets", fraction=0.02, seed=1, method="gpta"),
                          {"generation.max_tokens": 4})
    ctx = RunContext(out_dir=tmp_path, run_id="r", cfg=cfg)
    llm = ctx.llm()
    assert list(tmp_path.iterdir()) == []
    llm.chat([{"role": "user", "content": "Say hi."}])
    assert ctx.llm_cache_file.is_file() and ctx.ledger_path.is_file()
    assert json.loads(ctx.ledger_path.read_text().splitlines()[0])["text"] == "Say hi."
    hit = llm.chat([{"role": "user", "content": "Say hi."}])
    assert hit.cached


def test_a_sweep_that_fails_validation_releases_its_lock(tmp_path, monkeypatch, capsys):
    """A check that fails inside the lock (here: the executor) leaves the folder free and clean."""
    from gpta.sweep import executors

    make_files(tmp_path)
    out = tmp_path / "out"

    def refuse(*args, **kwargs):
        from gpta.errors import UserError

        raise UserError("no executor today")

    monkeypatch.setattr(executors, "make_executor", refuse)
    assert main(["sweep", str(tmp_path / "suite_ok.yaml"), "--out", str(out), "--no-progress"]) == 2
    assert "no executor today" in capsys.readouterr().err
    assert not (out / ".sweep.owner").exists()
    from filelock import FileLock

    lock = FileLock(str(out / ".sweep.lock"), timeout=0)
    lock.acquire()  # free: raises Timeout if a sweep still held it
    lock.release()


def test_results_folder_copies_unknown_schema_and_nan_metrics_are_named(tmp_path, capsys):
    """Issue 27 item 5: a stray copy of a result, schema_version 99 and a NaN accuracy: the report
    is written from the other results, each file is named on the console, no "nan points"."""
    from tests.report_synth import write_folder

    res = write_folder(tmp_path / "res", seeds=(1, 2), fractions=(0.01, 0.05), zero_shot=False)
    files = sorted(res.glob("*.json"))
    gpta = [p for p in files if "__gpta__" in p.name]
    (res / "copy of a result.json").write_text(gpta[0].read_text())
    future = json.loads(files[0].read_text())
    future["schema_version"] = 99
    files[0].write_text(json.dumps(future))
    nan_files = [p for p in gpta if "__f0.05__" in p.name]  # every GPTA run of one cell: its gain was "+nan"
    for p in nan_files:
        nan = json.loads(p.read_text())
        nan["metrics"]["test"]["accuracy"] = float("nan")
        p.write_text(json.dumps(nan))  # Python writes NaN, as a failed evaluation would
    assert main(["report", str(res), "--out", str(tmp_path / "rep")]) == 0
    err = capsys.readouterr().err
    assert f"left out {2 + len(nan_files)} files" in err
    assert f"copy of a result.json: run_id {json.loads(gpta[0].read_text())['run_id']!r} is also in {gpta[0].name}" in err
    assert f"{files[0].name}: schema_version 99 is not one this build reads" in err
    assert all(f"{p.name}: test accuracy is nan, not a finite number" in err for p in nan_files)
    assert "delete" not in err
    for written in ("index.md", "tables.md"):
        text = (tmp_path / "rep" / written).read_text().lower()
        assert "nan points" not in text and "+nan" not in text, written
