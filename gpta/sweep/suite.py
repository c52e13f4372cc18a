"""Suite files: which cells a sweep runs, as data (lm-evaluation-harness style).

A suite is a YAML mapping::

    name: quick
    description: what it is for
    cost: "about 12 minutes on 2 CPU cores"      # free text, shown by --dry-run
    datasets: [tweets, bbc-news]
    fractions: [0.02]
    seeds: [13, 21]
    methods: [finetune, manual-prefix, gpta]
    model: embedded:all-MiniLM-L6-v2            # optional (default: the embedded encoder)
    llm: embedded                               # optional (default: the embedded LLM)
    llms: [embedded, openai:smollm2]            # optional: several LLMs; each LLM method runs once per LLM
    settings: {train.epochs: 4}                 # the `--set` overrides; nested mappings also work
    grid: {gpta.rounds: [2, 3]}                 # optional extra axes (cartesian product)
    per_dataset: {yelp: {fractions: [1.0], settings: {...}}}   # optional, merged over the above
    per_method: {gpta: {settings: {...}, grid: {...}}}         # optional, merged over the above
    after: ["gpta report {out}"]                # optional: printed as the next step, never run

or, for work in steps, a list of ``stages`` that each take the keys above (inheriting the
top level), and a ``note`` of their own: what a reader of the results must know that the results
cannot say (e.g. "seeds added after a look at the data"); it is in no cell's config, the sweep
writes it into its plan and the report prints it under the scorecard (gpta/sweep/plan.py). A stage with ``transfer_from: STAGE`` is a transfer stage: every finished cell of
that stage whose method is in ``source_methods`` (default ``[gpta]``) gives its learned prefix to
the ``transfer`` method on each other dataset of the same domain in this stage's ``datasets``,
at the source cell's fraction and seed. Those cells can only be named once their source has a
result, so the runner expands them after the source stage; ``--dry-run`` counts them.

Precedence of settings, lowest first: suite ``settings``, stage ``settings``, ``per_dataset``,
``per_method``, the ``grid`` point, and the command line's ``--set``.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gpta.config import DEFAULT_LLM, DEFAULT_MODEL, RunConfig, apply_overrides, check_fraction, check_seed
from gpta.errors import UserError
from gpta.results import cell_id, device_spec, planning

SUITES_DIR = Path(__file__).resolve().parent.parent.parent / "suites"
_AXES = ("datasets", "fractions", "seeds", "methods", "model", "llm", "llms", "settings", "grid",
         "per_dataset", "per_method")
_TOP_KEYS = {"name", "description", "cost", "after", "stages", *_AXES}
_STAGE_KEYS = {"name", "note", "transfer_from", "source_methods", "targets", *_AXES}
_PER_DATASET_KEYS = {"fractions", "seeds", "methods", "settings", "grid"}
_PER_METHOD_KEYS = {"settings", "grid"}
TRANSFER_METHOD = "transfer"


@dataclass
class Cell:
    """One run: a resolved config plus the stage it belongs to."""

    cfg: RunConfig
    stage: str
    _id: tuple[str, str] | None = field(default=None, repr=False, compare=False)  # (inputs key, id)

    @property
    def id(self) -> str:
        """The cell id, computed once; again only when ``cfg.inputs`` changes (the values a
        dependent cell is given before it runs: nothing else of a planned config changes) or the
        device ids are planned for (a sweep learns it from its executor: gpta.results.device_spec)."""
        key = json.dumps(self.cfg.inputs, sort_keys=True, default=str) if self.cfg.inputs else ""
        key += "|" + device_spec()
        if self._id is None or self._id[0] != key:
            self._id = (key, cell_id(self.cfg.to_dict()))
        return self._id[1]

    def label(self) -> str:
        c = self.cfg
        return f"{c.dataset} {c.method} f={c.fraction:g} seed={c.seed}"


@dataclass
class Stage:
    name: str
    datasets: list[str]
    fractions: list[float]
    seeds: list[int]
    methods: list[str]
    model: str = DEFAULT_MODEL
    llm: str = DEFAULT_LLM
    settings: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    per_dataset: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_method: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfer_from: str | None = None
    source_methods: list[str] = field(default_factory=lambda: ["gpta"])
    targets: str = "same-domain"
    cli_settings: dict[str, Any] = field(default_factory=dict)  # --set: wins over everything
    # ``llms:``: methods that use an LLM run once per entry (the LLM is part of the cell's config,
    # hence of its id); methods that use none run once, with the first. Empty: ``llm`` alone.
    llms: list[str] = field(default_factory=list)
    # ``note:``: what a reader of the results must know about the stage (e.g. seeds added after a
    # look at the data); not part of any cell's config. The sweep writes it into its plan and the
    # report prints it beside the scorecard (gpta/sweep/plan.py).
    note: str = ""
    # where ``model`` came from, for a refusal's wording: the suite file ("model") or "--model"
    model_from: str = "model"

    @property
    def is_transfer(self) -> bool:
        return self.transfer_from is not None


@dataclass
class Suite:
    name: str
    path: Path
    stages: list[Stage]
    description: str = ""
    cost: str = ""
    after: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # cells dropped while checking, in words
    # stage name -> its cells, named once by check_suite (ordinary stages; transfer stages are
    # named after their sources ran): the dry run and the sweep take them from here
    planned: dict[str, list[Cell]] = field(default_factory=dict)


@dataclass
class Overrides:
    """The command line's say over a suite (None = keep the suite's)."""

    datasets: list[str] | None = None
    methods: list[str] | None = None
    seeds: list[int] | None = None
    fractions: list[float] | None = None
    llm: str | None = None
    model: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def planned(fn):
    """Run ``fn`` inside ``gpta.results.planning()``: the cell ids it computes share one data
    fingerprint per dataset instead of hashing the files again for every cell."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with planning():
            return fn(*args, **kwargs)
    return wrapper


# -- reading -------------------------------------------------------------------------------------

def resolve_path(name_or_path: str) -> Path:
    """A path to a YAML file, or the name of a shipped suite (``quick`` -> suites/quick.yaml)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.is_dir():
        raise UserError(f"suite {name_or_path!r}: is a folder; pass a suite YAML file or a shipped suite's name")
    shipped = SUITES_DIR / f"{name_or_path}.yaml"
    if not path.suffix and shipped.is_file():
        return shipped
    known = ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.yaml")))
    raise UserError(f"suite {name_or_path!r}: no such file (shipped suites: {known})")


def load_suite(name_or_path: str, overrides: Overrides | None = None) -> Suite:
    path = resolve_path(name_or_path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except _DuplicateKey as exc:
        raise UserError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        first = str(exc).replace("\n", " ")
        raise UserError(f"{path}: not valid YAML ({first})") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: a suite is a YAML mapping (name, datasets, fractions, seeds, methods...)")
    _check_keys(path, "suite", raw, _TOP_KEYS)
    if "name" in raw and not isinstance(raw["name"], str):
        raise UserError(f"{path}: 'name' is {raw['name']!r} ({type(raw['name']).__name__}), not text; quote it "
                        f"(name: \"{raw['name']}\")")
    if not isinstance(raw.get("name"), str):
        raise UserError(f"{path}: 'name' is missing (a short name for the suite)")
    _check_name(path, raw["name"])
    top = {k: raw[k] for k in _AXES if k in raw}
    stage_dicts = raw.get("stages") or [{"name": "main"}]
    if not isinstance(stage_dicts, list) or not all(isinstance(s, dict) for s in stage_dicts):
        raise UserError(f"{path}: 'stages' must be a list of mappings")
    stages = [_read_stage(path, i, top, s, overrides or Overrides()) for i, s in enumerate(stage_dicts)]
    names = [s.name for s in stages]
    for s in stages:
        if s.transfer_from is not None and s.transfer_from not in names[: names.index(s.name)]:
            raise UserError(f"{path}: stage {s.name!r}: transfer_from {s.transfer_from!r} is not an earlier stage")
    after = raw.get("after") or []
    return Suite(name=raw["name"], path=path, stages=stages, description=str(raw.get("description") or ""),
                 cost=str(raw.get("cost") or ""), after=[str(a) for a in (after if isinstance(after, list) else [after])])


def _check_name(path: Path, name: str) -> None:
    """The name is the default output folder's last part (``results/<name>``): a plain folder name,
    not a path that would put the results somewhere else (``/tmp/x``, ``../../etc``)."""
    if not name.strip():
        raise UserError(f"{path}: 'name' is empty; give the suite a short name (it names the default "
                        f"output folder results/<name>)")
    if "/" in name or "\\" in name or ".." in name or name.strip() == ".":
        raise UserError(f"{path}: 'name' {name!r} is not a plain folder name (it names the default output "
                        f"folder results/<name>); use a name without '/', '\\' or '..', and --out to write "
                        f"elsewhere")


class _DuplicateKey(Exception):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(f"line {key_node.start_mark.line + 1}: key {key!r} is given twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _check_keys(path: Path, where: str, d: dict, allowed: set[str]) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise UserError(f"{path}: {where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")


def flatten_settings(path: Path, where: str, settings: Any, what: str = "settings") -> dict[str, Any]:
    """``{train: {epochs: 4}}`` and ``{train.epochs: 4}`` both become ``{"train.epochs": 4}``.

    One setting spelled both ways in the same mapping is refused: YAML order would pick the
    winner silently. ``what``: the mapping's name in that message (settings, grid)."""
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        example = "{gpta.rounds: [2, 3]}" if what == "grid" else "{train.epochs: 4}"
        raise UserError(f"{path}: {where}: {what} must be a mapping like {example}")
    out: dict[str, Any] = {}
    spelled: dict[str, str] = {}  # flat key -> how this mapping wrote it

    def put(flat: str, value: Any, spelling: str) -> None:
        if flat in out:
            raise UserError(f"{path}: {where}: {what}: {flat} is given twice (as {spelled[flat]} and {spelling}); "
                            f"keep one")
        out[flat] = value
        spelled[flat] = spelling

    for key, value in settings.items():
        if isinstance(value, dict) and "." not in str(key):  # a section (options too): {train: {epochs: 4}}
            for k, v in value.items():
                put(f"{key}.{k}", v, f"{key}: {{{k}}}")
        else:
            put(str(key), value, str(key))
    return out


def _list(path: Path, where: str, key: str, value: Any, kind: type) -> list:
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        if kind is int and (isinstance(v, bool) or not isinstance(v, int)):  # 13.7 and true are not seeds
            raise UserError(f"{path}: {where}: {key}: {v!r} is not an integer")
        if kind is float and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise UserError(f"{path}: {where}: {key}: {v!r} is not a number")
        try:
            out.append(kind(v) if kind is not str else str(v))
        except (TypeError, ValueError):
            raise UserError(f"{path}: {where}: {key}: cannot read {v!r} as {kind.__name__}") from None
    if not out:
        raise UserError(f"{path}: {where}: {key} is empty")
    return out


def _read_grid(path: Path, where: str, grid: Any) -> dict[str, list[Any]]:
    """A grid's axes, each a list of values; an empty list is refused (the product over it would
    drop the axis silently, not run zero cells)."""
    flat = flatten_settings(path, where, grid, "grid")
    for key, values in flat.items():
        if isinstance(values, list) and not values:
            raise UserError(f"{path}: {where}: grid {key} is empty: give at least one value, or drop the axis")
    return {k: (v if isinstance(v, list) else [v]) for k, v in flat.items()}


def _note(path: Path, where: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{path}: {where}: note must be text (one paragraph for the report), got {value!r}")
    return " ".join(value.split())


def _read_stage(path: Path, index: int, top: dict, raw: dict, ov: Overrides) -> Stage:
    name = str(raw.get("name") or f"stage{index + 1}")
    where = f"stage {name!r}"
    _check_keys(path, where, raw, _STAGE_KEYS)
    merged = {**top, **{k: v for k, v in raw.items() if k in _AXES}}
    is_transfer = raw.get("transfer_from") is not None
    for key in ("datasets", "fractions", "seeds", "methods"):
        if key not in merged and not (is_transfer and key != "datasets"):
            raise UserError(f"{path}: {where}: {key!r} is missing")
    per_dataset = merged.get("per_dataset") or {}
    per_method = merged.get("per_method") or {}
    for label, table, allowed in (("per_dataset", per_dataset, _PER_DATASET_KEYS),
                                  ("per_method", per_method, _PER_METHOD_KEYS)):
        if not isinstance(table, dict):
            raise UserError(f"{path}: {where}: {label} must be a mapping of name -> overrides")
        for k, v in table.items():
            if not isinstance(v, dict):
                raise UserError(f"{path}: {where}: {label}.{k} must be a mapping")
            _check_keys(path, f"{where} {label}.{k}", v, allowed)
            _read_grid(path, f"{where} {label}.{k}", v.get("grid"))  # an empty axis: refused here, not at expansion
            flatten_settings(path, f"{where} {label}.{k}", v.get("settings"))  # a setting given twice: here too
    model = merged.get("model")
    if model is not None and not isinstance(model, str):
        raise UserError(f"{path}: {where}: model {model!r} is a {type(model).__name__}, not text; give one encoder "
                        f"(a Hugging Face name, a local path or embedded:NAME)")
    stage = Stage(
        name=name,
        datasets=_list(path, where, "datasets", merged["datasets"], str),
        fractions=_list(path, where, "fractions", merged.get("fractions", [0.0]), float),
        seeds=_list(path, where, "seeds", merged.get("seeds", [0]), int),
        methods=_list(path, where, "methods", merged.get("methods", [TRANSFER_METHOD]), str),
        model=model or DEFAULT_MODEL,
        llm=str(merged.get("llm") or DEFAULT_LLM),
        # settings add up (suite, then the stage's own): a stage's settings override, not replace
        settings={**flatten_settings(path, "suite", top.get("settings")),
                  **flatten_settings(path, where, raw.get("settings"))},
        grid=_read_grid(path, where, merged.get("grid")),
        per_dataset={str(k): dict(v) for k, v in per_dataset.items()},
        per_method={str(k): dict(v) for k, v in per_method.items()},
        transfer_from=raw.get("transfer_from"),
        source_methods=_list(path, where, "source_methods", raw.get("source_methods", ["gpta"]), str),
        targets=str(raw.get("targets", "same-domain")),
        note=_note(path, where, raw.get("note")),
    )
    per_dataset_methods = [str(m) for d in stage.per_dataset.values() for m in (d.get("methods") or [])]
    for label, table, names in (("per_dataset", stage.per_dataset, stage.datasets),
                                ("per_method", stage.per_method, stage.methods + per_dataset_methods)):
        unknown = sorted(set(table) - set(names))
        if unknown:
            raise UserError(f"{path}: {where}: {label}: {unknown[0]!r} is not one of this stage's {label[4:]}s "
                            f"({', '.join(names)})")
    if stage.targets != "same-domain":
        raise UserError(f"{path}: {where}: targets {stage.targets!r}: only 'same-domain' is supported")
    # The command line wins over the file.
    if ov.datasets:
        stage.datasets = list(ov.datasets)
    if ov.methods and not stage.is_transfer:
        stage.methods = list(ov.methods)
    if ov.seeds:
        stage.seeds = list(ov.seeds)
    if ov.fractions:
        stage.fractions = list(ov.fractions)
        for d in stage.per_dataset.values():
            d.pop("fractions", None)
    if "llms" in merged and not ("llm" in raw and "llms" not in raw):  # a stage's own llm: wins over inherited llms
        stage.llms = list(dict.fromkeys(_list(path, where, "llms", merged["llms"], str)))
        stage.llm = stage.llms[0]
    if ov.llm:
        stage.llm = ov.llm
        stage.llms = []
    if ov.model:
        stage.model = ov.model
        stage.model_from = "--model"
    stage.cli_settings = dict(ov.settings)
    return stage


# -- checking ------------------------------------------------------------------------------------

@planned
def check_suite(suite: Suite, data_dir: str | None, need_data: bool = True) -> str | None:
    """Unknown datasets or methods, bad settings or missing data: one line, before any cell runs.

    (method, dataset) pairs that cannot go together (a classifier-only method on SQuAD) are
    dropped from the plan and noted in ``suite.notes``; the rest is an error. A missing data
    directory is an error when ``need_data``; otherwise (a dry run) its message is returned.
    """
    from gpta.data.spec import get_dataset
    from gpta.registry import get_method

    datasets = sorted({d for s in suite.stages for d in s.datasets})
    methods = sorted({m for s in suite.stages for m in s.methods} | {m for s in suite.stages if s.is_transfer
                                                                      for m in s.source_methods})
    for d in datasets:
        try:
            get_dataset(d)
        except UserError as exc:
            raise UserError(f"{suite.path}: {exc}") from None
    for m in methods:
        try:
            get_method(m)
        except UserError as exc:
            raise UserError(f"{suite.path}: {exc}") from None
    from gpta.llm import check_spec

    for llm in sorted({x for s in suite.stages for x in (s.llms or [s.llm])}):
        try:
            check_spec(llm)
        except UserError as exc:
            raise UserError(f"{suite.path}: {exc}") from None
    from gpta.registry import needs_of

    checked = bool(suite.planned)  # a second check (the sweep's own) names no cell again
    for stage in suite.stages:
        for m in stage.methods if not stage.is_transfer and not checked else []:
            for need in needs_of(m):
                if need.method not in stage.methods:
                    suite.notes.append(f"stage {stage.name!r}: {m} needs {need.method}'s {need.value} of the same cell, "
                                       f"but {need.method} is not in the stage: its result is read from the output directory if "
                                       f"there, else {m} uses its own fallback")
        if not stage.is_transfer and stage.name not in suite.planned:
            try:  # applies every setting: a bad key or value fails here, before any cell runs
                suite.planned[stage.name] = expand_stage(stage, suite.notes)
            except UserError as exc:
                raise UserError(f"{suite.path}: stage {stage.name!r}: {exc}") from None
    for f in {f for s in suite.stages for f in s.fractions if not s.is_transfer}:
        if not 0 < f <= 1:
            raise UserError(f"{suite.path}: fraction {f}: must be in (0, 1]")
    check_models(suite)
    missing = missing_data_dir(suite, datasets, data_dir)
    if missing and need_data:
        raise UserError(missing)
    return missing


def check_models(suite: Suite) -> None:
    """Each stage's encoder, as ``gpta run`` checks its own (gpta/cell.py ``validate``): an unknown
    embedded model or a local path without config.json is refused before anything is written,
    not once per cell. Runs after the settings checks: gpta.model imports torch."""
    from gpta.cell import check_sequence_length
    from gpta.data.spec import get_dataset
    from gpta.model import max_positions, resolve_model_path

    limits: dict[str, int | None] = {}
    for stage in suite.stages:
        if stage.model not in limits:
            try:
                limits[stage.model] = max_positions(resolve_model_path(stage.model))
            except UserError as exc:
                if stage.model_from == "--model":  # worded as `gpta run --model` words it
                    raise
                why = str(exc).removeprefix("--model ")
                raise UserError(f"{suite.path}: stage {stage.name!r}: model {why}") from None
        seen: set[tuple] = set()  # the longest input must fit the encoder (as `gpta run` checks it)
        for cell in suite.planned.get(stage.name, []):
            t = cell.cfg.train
            key = (cell.cfg.dataset, t.max_text_tokens, t.max_prefix_tokens)
            if key in seen:  # one check per distinct (dataset, lengths), not per cell
                continue
            seen.add(key)
            task = get_dataset(cell.cfg.dataset, **cell.cfg.dataset_options).task
            try:
                check_sequence_length(cell.cfg, task, limits[stage.model])
            except UserError as exc:
                raise UserError(f"{suite.path}: stage {stage.name!r}: {exc}") from None


def stage_cells(suite: Suite, stage: Stage) -> list[Cell]:
    """The cells of an ordinary stage: as check_suite named them, else named now."""
    if stage.name not in suite.planned:
        suite.planned[stage.name] = expand_stage(stage)
    return suite.planned[stage.name]


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def missing_data_dir(suite: Suite, datasets: list[str], data_dir: str | None) -> str | None:
    """The six benchmarks read GPTA_DATA_DIR; offline (or with no Hub copy) they cannot run without it."""
    from gpta.data.spec import get_dataset

    if data_dir or os.environ.get("GPTA_DATA_DIR"):
        return None
    specs = [get_dataset(d) for d in datasets]
    need = [s.name for s in specs if s.needs_data_dir and (_offline() or not s.hub_id)]
    if need:
        why = "offline (HF_HUB_OFFLINE)" if _offline() else "they have no Hub copy"
        return (f"{suite.path}: datasets {', '.join(need)} need GPTA_DATA_DIR (or --data-dir) "
                f"set to the benchmark data folder ({why}); e.g. GPTA_DATA_DIR=../shared/data")
    return None


# -- expanding -----------------------------------------------------------------------------------

def _grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))] or [{}]


def make_config(stage: Stage, dataset: str, fraction: float, seed: int, method: str,
                settings: dict[str, Any], llm: str | None = None, settings_key: str | None = None) -> RunConfig:
    """A cell's config: the settings applied and checked against the table (gpta.config) once per
    (method, encoder, LLM, settings), then copied for each dataset, fraction and seed.
    ``settings_key``: ``settings_key(settings)``, when the caller has it already."""
    template = _checked_template(method, stage.model, llm or stage.llm, settings_key or settings_key_of(settings))
    check_seed("seed", seed)
    check_fraction(fraction)
    return dataclasses.replace(template, dataset=dataset, fraction=fraction, seed=seed,
                               train=copy.copy(template.train), gpta=copy.copy(template.gpta),
                               generation=copy.copy(template.generation), options=copy.deepcopy(template.options),
                               inputs={})


def settings_key_of(settings: dict[str, Any]) -> str:
    return json.dumps(settings, sort_keys=True, default=str)


@functools.lru_cache(maxsize=4096)
def _checked_template(method: str, model: str, llm: str, settings_json: str) -> RunConfig:
    """The settings applied to a placeholder cell and checked: every cell with these settings
    differs from it only in dataset, fraction and seed (a refusal is not cached: it raises)."""
    cfg = RunConfig(dataset="", fraction=1.0, seed=0, method=method, model=model, llm=llm)
    return apply_overrides(cfg, json.loads(settings_json))


def _settings_for(stage: Stage, dataset: str, method: str) -> list[dict[str, Any]]:
    """Every settings dict (one per grid point) for this dataset and method, by precedence."""
    pd, pm = stage.per_dataset.get(dataset, {}), stage.per_method.get(method, {})
    base = {**stage.settings, **flatten_settings(Path("."), dataset, pd.get("settings")),
            **flatten_settings(Path("."), method, pm.get("settings"))}
    grid = {**stage.grid, **_read_grid(Path("."), dataset, pd.get("grid")), **_read_grid(Path("."), method, pm.get("grid"))}
    return [{**base, **point, **stage.cli_settings} for point in _grid_points(grid)]


@planned
def expand_stage(stage: Stage, notes: list[str] | None = None) -> list[Cell]:
    """The cells of an ordinary stage, in a stable order: dataset, fraction, seed, method, grid;
    cells that need another method's result of the same cell (``MethodInfo.needs``) come after
    every cell they may need, whatever order the suite lists the methods in."""
    from gpta.data.spec import get_dataset
    from gpta.registry import get_method

    cells: list[Cell] = []
    seen: set[str] = set()
    bar = progress_bar(_most_cells(stage), f"naming the cells of stage {stage.name}")
    for dataset in stage.datasets:
        pd = stage.per_dataset.get(dataset, {})
        task = get_dataset(dataset).task
        fractions = [float(f) for f in pd.get("fractions", stage.fractions)]
        seeds = [int(s) for s in pd.get("seeds", stage.seeds)]
        methods = [str(m) for m in pd.get("methods", stage.methods)]
        for method in methods:
            if task not in get_method(method).tasks:
                if notes is not None:
                    notes.append(f"stage {stage.name!r}: {method} does not apply to {task} dataset {dataset}: "
                                 f"{len(fractions) * len(seeds)} cells left out")
        once = [m for m in methods if get_method(m).once_per_dataset and task in get_method(m).tasks]
        if once and notes is not None and len(fractions) * len(seeds) > 1:
            notes.append(f"stage {stage.name!r}: {', '.join(once)} on {dataset}: one cell (fraction "
                         f"{min(fractions):g}, seed {seeds[0]}) instead of {len(fractions) * len(seeds)}: "
                         "fraction and train seed do not apply")
        points = {m: [(s, settings_key_of(s)) for s in _settings_for(stage, dataset, m)] for m in methods}
        for fraction, seed, method in itertools.product(fractions, seeds, methods):
            if task not in get_method(method).tasks:
                continue
            if method in once and (fraction != min(fractions) or seed != seeds[0]):
                continue  # once per dataset and LLM: the smallest fraction, the first seed
            llms = stage.llms if stage.llms and get_method(method).uses_llm else [stage.llm]
            for llm, (settings, key) in itertools.product(llms, points[method]):
                cell = Cell(make_config(stage, dataset, fraction, seed, method, settings, llm, key), stage.name)
                bar.update(1)
                if cell.id not in seen:  # a grid axis a method ignores can still name one cell twice
                    seen.add(cell.id)
                    cells.append(cell)
    bar.close()
    return [c for wave in dependency_waves(cells) for c in wave]


PROGRESS_FROM = 5000  # a plan of at least this many cells shows a progress bar on stderr while named


def progress_bar(total: int, what: str) -> Any:
    """A tqdm bar on stderr for a long plan (none below PROGRESS_FROM cells); erased when done."""
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit="cell", file=sys.stderr, leave=False, mininterval=0.5,
                disable=total < PROGRESS_FROM)


def _most_cells(stage: Stage) -> int:
    """How many configs expand_stage will make at most (before merging duplicates)."""
    n = 0
    for dataset in stage.datasets:
        pd = stage.per_dataset.get(dataset, {})
        points = sum(len(_settings_for(stage, dataset, str(m))) * max(1, len(stage.llms))
                     for m in pd.get("methods", stage.methods))
        n += len(pd.get("fractions", stage.fractions)) * len(pd.get("seeds", stage.seeds)) * points
    return n


# -- dependencies between cells: MethodInfo.needs ------------------------------------------------

def need_depth(method: str, _seen: tuple[str, ...] = ()) -> int:
    """0 for a method that needs nothing; else 1 + the depth of what it needs."""
    from gpta.registry import needs_of

    if method in _seen:
        raise UserError(f"method {method!r}: its declared needs form a cycle ({' -> '.join(_seen + (method,))})")
    return max((1 + need_depth(n.method, _seen + (method,)) for n in needs_of(method)), default=0)


def dependency_waves(cells: list[Cell]) -> list[list[Cell]]:
    """The cells in waves: each wave only needs results of earlier waves (order kept within one)."""
    waves: dict[int, list[Cell]] = {}
    depth: dict[str, int] = {}
    for cell in cells:
        m = cell.cfg.method
        if m not in depth:
            depth[m] = need_depth(m)
        waves.setdefault(depth[m], []).append(cell)
    return [waves[k] for k in sorted(waves)]


def _same_cell_key(cfg: RunConfig) -> str:
    from gpta.registry import SAME_CELL_KEYS

    d = cfg.to_dict()
    return json.dumps([d.get(k) for k in SAME_CELL_KEYS], sort_keys=True, default=str)


def same_cell_index(cells: list[Cell]) -> dict[tuple[str, str], list[Cell]]:
    """(method, same-cell key) -> the plan's cells, in plan order: each source is found in one
    look-up instead of a scan of the plan (a scan per dependent cell was quadratic)."""
    index: dict[tuple[str, str], list[Cell]] = {}
    for c in cells:
        index.setdefault((c.cfg.method, _same_cell_key(c.cfg)), []).append(c)
    return index


def find_source(cell: Cell, need: Any, cells: list[Cell] | dict[tuple[str, str], list[Cell]]) -> Cell | None:
    """The cell of this plan whose result ``cell`` needs: same cell (``SAME_CELL_KEYS``), the
    needed method; among several (a grid over gpta.rounds) the one with this cell's gpta and
    generation settings, else the first. ``cells``: the plan, or its ``same_cell_index``."""
    index = cells if isinstance(cells, dict) else same_cell_index(cells)
    found = index.get((need.method, _same_cell_key(cell.cfg)), [])
    for c in found:
        if c.cfg.gpta == cell.cfg.gpta and c.cfg.generation == cell.cfg.generation:
            return c
    return found[0] if found else None


@planned
def give_stage_inputs(wave: list[Cell], cells: list[Cell], read_result: Any) -> tuple[list[Cell], list[str]]:
    """Pass each cell of ``wave`` the values it needs from its source cell's result.

    ``read_result(run_id)`` returns a finished result or None (the driver reads its own results
    directory; a worker or Ray task is handed the values in its config and searches nothing).
    Returns the cells ready to run and a line for each cell whose source has no result yet (it
    does not run: its numbers would silently use a fallback). A source the plan lacks is read by
    its exact id (an earlier sweep's result in the same directory), else the method's fallback
    applies, recorded as ``inputs[<value>_from] = None``.
    """
    from gpta.registry import give_inputs, needs_of, source_config

    sources = {n.method for c in wave for n in needs_of(c.cfg.method)}
    index = same_cell_index([c for c in cells if c.cfg.method in sources])
    ready, waiting = [], []
    for cell in wave:
        ok = True
        for need in needs_of(cell.cfg.method):
            src = find_source(cell, need, index)
            if src is None:  # not in this plan: the cell it would be, if an earlier sweep left its result
                give_inputs(cell.cfg, need, read_result(cell_id(source_config(cell.cfg, need).to_dict())))
                continue
            result = read_result(src.id)
            if result is None:
                waiting.append(f"{cell.label()} waits for {need.method} cell {src.id} (no result)")
                ok = False
                break
            give_inputs(cell.cfg, need, result)
        if ok:
            ready.append(cell)
    return ready, waiting


def transfer_targets(stage: Stage, source_dataset: str) -> list[str]:
    """The stage's other datasets of the source's domain and task."""
    from gpta.data.spec import get_dataset

    src = get_dataset(source_dataset)
    return [d for d in stage.datasets if d != source_dataset and get_dataset(d).domain == src.domain
            and get_dataset(d).task == src.task]


def planned_transfer_count(stage: Stage, source_cells: list[Cell]) -> int:
    """How many cells a transfer stage will have, before its sources have run (for --dry-run)."""
    return sum(len(transfer_targets(stage, c.cfg.dataset)) for c in source_cells
               if c.cfg.method in stage.source_methods)


@planned
def expand_transfer(stage: Stage, source_cells: list[Cell], out_dir: Path) -> tuple[list[Cell], list[str]]:
    """Transfer cells for every source cell with a result; the rest are returned as 'waiting' lines."""
    from gpta.registry import options_from_result

    cells, waiting = [], []
    for src in source_cells:
        if src.cfg.method not in stage.source_methods:
            continue
        targets = transfer_targets(stage, src.cfg.dataset)
        path = out_dir / f"{src.id}.json"
        if not targets:
            continue
        if not path.is_file():
            waiting.append(f"{len(targets)} transfer cells wait for {src.id} (no result)")
            continue
        options = options_from_result(TRANSFER_METHOD, path)  # the method's reader (its registry row)
        for target in targets:
            for settings in _settings_for(stage, target, TRANSFER_METHOD):
                cfg = make_config(stage, target, src.cfg.fraction, src.cfg.seed, TRANSFER_METHOD, settings)
                cfg.options.update(copy.deepcopy(options))
                cells.append(Cell(cfg, stage.name))
    return cells, waiting
