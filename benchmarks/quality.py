"""Does specialization help, and which parts of the method matter?

For each BEIR folder given: run the pipeline up to the label stage
(`benchmarks/quality.yaml`: generate, mine, label; resumable), then train every
arm on the same lists and evaluate it on the folder's test queries:

- base student (zero-shot), BM25, RRF(BM25, base);
- `st-mnrl`: sentence-transformers' own trainer + MultipleNegativesRankingLoss
  (query, source passage, one mined hard negative), see `st_baseline.py`;
- corpusfit objectives on the same lists, TrainConfig defaults (on a CPU: full mode on
  each list's top 4 passages, 3 epochs) unless the arm says otherwise:
  listwise + 0.1 InfoNCE (default), listwise only, InfoNCE only, MarginMSE, and the
  default with the paper's teacher temperature 0.3 (`cf-tt0.3`, against `--set`);
- `cf-full`: the default objective in full mode (passages trained too) with a 10-minute
  budget; not in the default arms: on 2 CPU cores one epoch takes longer than that;
- one query type at a time vs all types mixed, the same number of training lists.

nDCG@10, R@100, MRR@10 (ir-measures); paired t-test and permutation test of
per-query nDCG@10 against the base model (per-query values averaged over seeds).
Every trained model and its metrics are kept under --workdir: reruns only do what
is missing.

    make bench-quality    # = the command at the top of results/quality.md (3.5 h from nothing)
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# arm -> (kind, train overrides); kind "cf" = corpusfit trainer, "st" = sentence-transformers.
OLD_DEFAULT = {"listwise": 1.0, "infonce": 0.1}  # the objective until 2026-11-30 (at t 0.01)
ARMS: dict[str, tuple[str, dict]] = {
    "st-mnrl": ("st", {}),
    # Today's TrainConfig defaults, changed only by --set (a sweep point, with --tag).
    "cf-default": ("cf", {}),
    # The CPU default until 2026-11-30: queries only, against frozen base passage vectors.
    "cf-query-only": ("cf", {"objective": OLD_DEFAULT, "mode": "query_only",
                             "passages_per_query": None, "epochs": 10}),
    "cf-listwise": ("cf", {"objective": {"listwise": 1.0}}),
    "cf-infonce": ("cf", {"objective": {"infonce": 1.0}}),
    "cf-marginmse": ("cf", {"objective": {"marginmse": 1.0}}),
    "cf-tt0.3": ("cf", {"loss": {"teacher_temperature": 0.3}}),
    # Full mode on CPU only fits a time budget (the lr schedule then follows time).
    "cf-full": ("cf", {"objective": OLD_DEFAULT, "mode": "full", "max_minutes": 10}),
    # The CPU default of the morning of 2026-11-30 (full mode, each list's top 4 passages,
    # 3 epochs, 64 queries per step, listwise + 0.1 InfoNCE at temperature 0.01).
    "cf-full-l4": ("cf", {"objective": OLD_DEFAULT, "mode": "full", "passages_per_query": 4,
                          "epochs": 3, "queries_per_step": 64,
                          "loss": {"infonce_temperature": 0.01}}),
}
CPU_ARMS = [a for a in ARMS if not a.startswith("cf-full")]  # cf-full: a 10-minute budget each
TYPES = ["question", "claim", "keywords", "title", "natural"]
TYPE_ARMS = [f"type-{t}" for t in TYPES] + ["type-mixed"]
METRICS = ["nDCG@10", "R@100", "MRR@10"]
NOTES = [
    "- Test queries and qrels of each collection; metrics by ir-measures. `Δ vs base` is the "
    "nDCG@10 difference; `p (t)` / `p (perm)`: paired t-test / permutation test of per-query "
    "nDCG@10 (averaged over seeds) against `base`. `nDCG@10 sd`: spread over seeds.",
    "- Arms: `st-mnrl` = sentence-transformers' SentenceTransformerTrainer + "
    "MultipleNegativesRankingLoss (query, source passage, 1 mined hard negative; 3 epochs, "
    "batch 32, lr 2e-5, whole model). `cf-default` = corpusfit's trainer with today's "
    "TrainConfig defaults (changed only by the train overrides above): listwise KL + 1.0 "
    "InfoNCE at temperature 0.05, full mode (both towers), on a CPU each list's top 4 "
    "passages for 3 epochs (the top 3 plus the best passage below the false-negative "
    "threshold when the top 4 hold none), 16 queries per optimizer step at lr 2e-5 (the "
    "paper's 2e-4 at 4096 scaled by sqrt, floored at 2e-5), "
    "warmup from 0 over max(10 steps, half an epoch), decay to 0.1, dropout 0, "
    "early stopping on dev loss, the base model kept when no checkpoint beats its dev loss. "
    "`cf-query-only` = the query side against frozen base-model passage vectors, whole "
    "lists, 10 epochs (the CPU default before 2026-11-30); `cf-full-l4` = full mode, top 4, "
    "3 epochs at 64 queries/step, listwise + 0.1 InfoNCE at temperature 0.01; "
    "`cf-listwise` / `cf-infonce` / `cf-marginmse` = one loss alone; `cf-tt0.3` = the "
    "paper's teacher temperature; `type-*` = one query type's train "
    "lists, `type-mixed` the same number drawn from all types (dev lists: all).",
    "- Labels (the reference's rules, `label` defaults): the fused top 100 scored, queries "
    "with fewer than 20 candidates dropped, source passage first, per-type top-score filter, "
    "min-max over the 1st/99th percentiles of all scored candidates, 20 kept.",
    "- Tuning: **Cranfield only** (the sweep is in the README's results section): the "
    "teacher temperature 0.1 (an earlier session), full mode on the top 4 passages for 3 "
    "epochs, 16 queries per step, 140 sampled passages and InfoNCE weight 1 at temperature "
    "0.05, then lr 2e-5 and the hard-negative slot (2026-11-30). One caveat: these were "
    "tried after MNRL had beaten the default of the morning on CISI's test queries; they "
    "were chosen on Cranfield, but CISI is not an untouched collection for them.",
    "- Queries are encoded with up to the model's max_seq_length tokens (256 for MiniLM), "
    "as sentence-transformers encodes them, for every model (before 2026-11-30b: 64; that "
    "cut 37 of CISI's 76 test queries and 7 of CACM's 52).",
    "- `train+eval s`: wall seconds to train one arm and evaluate it on the test queries "
    "(blank where an earlier invocation trained the arm and its time was not kept). Runs "
    "that shared the 2 cores with another job are named in the README; their seconds are "
    "inflated.",
]


def prepare(data_dir: Path, args) -> Path:
    """Generate, mine and label for one collection (skipped when done); its run dir."""
    from corpusfit import load_config
    from corpusfit.pipeline import run_pipeline

    run_dir = args.workdir / data_dir.name
    cfg = load_config(args.config, [f"corpus={data_dir}", *args.pipeline_set])
    run_pipeline(cfg, run_dir, until="label")
    return run_dir


def train_config(overrides: dict, args, seed: int):
    from corpusfit.config import apply_overrides
    from corpusfit.train.config import TrainConfig

    raw = {"max_minutes": None, "seed": seed,
           "cache_dir": str(args.workdir / "emb")}
    apply_overrides(raw, args.set)
    for key, value in overrides.items():  # the arm's own settings win over --set
        raw[key] = {**raw.get(key, {}), **value} if key == "loss" else value
    return TrainConfig.model_validate(raw)


def type_subset(lists, arm: str, seed: int) -> list:
    """Train lists of one type (or all types, stratified) cut to the smallest type's count."""
    train = [tl for tl in lists if tl.split == "train"]
    by_type = {t: [tl for tl in train if tl.type == t] for t in TYPES}
    n = min(len(v) for v in by_type.values())
    rng = random.Random(f"{arm}:{seed}")
    if arm != "type-mixed":
        return rng.sample(by_type[arm[len("type-"):]], n)
    pools = [rng.sample(v, len(v)) for v in by_type.values()]
    return [pool[i] for i in range(n) for pool in pools][:n]


def arm_inputs(arm: str, run_dir: Path, out: Path, seed: int, *,
               write: bool) -> tuple[str, dict, Path, Path]:
    """(kind, overrides, lists path, corpus path) of one arm; a type arm's subset of the
    lists is written only with ``write`` (when it trains)."""
    from corpusfit.data.artifacts import TrainingList, load_artifact
    from corpusfit.workspace import write_jsonl

    lists_path = run_dir / "04-label" / "lists.jsonl"
    corpus_path = run_dir / "01-ingest" / "corpus.jsonl"
    if not arm.startswith("type-"):
        kind, overrides = ARMS[arm]
        return kind, overrides, lists_path, corpus_path
    subset = out.parent / f"lists-{arm}-s{seed}.jsonl"
    if write:
        lists = load_artifact(lists_path, TrainingList)
        keep = type_subset(lists, arm, seed) + [tl for tl in lists if tl.split == "dev"]
        write_jsonl(subset, (tl.model_dump() for tl in keep))
    return "cf", {}, subset, corpus_path


def st_fingerprint(arm: str, seed: int, lists_path: Path, args) -> tuple[dict, dict]:
    """Settings and fingerprint of a sentence-transformers arm (corpusfit's manifest rule)."""
    from corpusfit.workspace import stage_fingerprint

    settings = {"arm": arm, "seed": seed, "student": args.student_path}
    return settings, stage_fingerprint(settings, {"lists": lists_path})


def arm_is_current(arm: str, run_dir: Path, out: Path, seed: int, args) -> bool:
    """Whether ``out`` holds a model trained with today's settings and lists (--no-train)."""
    from corpusfit.stages.base import fingerprint_of, is_done
    from corpusfit.stages.train import TrainStage
    from corpusfit.workspace import manifest_matches

    kind, overrides, lists_path, corpus_path = arm_inputs(arm, run_dir, out, seed, write=False)
    if not lists_path.exists():
        return False
    if kind == "cf":
        stage = TrainStage(train_config(overrides, args, seed), lists_path, corpus_path)
        return is_done(stage, out, fingerprint_of(stage), {})
    return manifest_matches(out, st_fingerprint(arm, seed, lists_path, args)[1])


def train_arm(arm: str, run_dir: Path, out: Path, seed: int, args) -> bool:
    """Train one arm unless its model is complete; True when it (re)trained."""
    from corpusfit import run_train
    from corpusfit.data.artifacts import TrainingList, load_artifact
    from corpusfit.data.readers import load_corpus
    from corpusfit.workspace import manifest_matches, write_manifest

    kind, overrides, lists_path, corpus_path = arm_inputs(arm, run_dir, out, seed, write=True)
    if kind == "cf":
        return not run_train(train_config(overrides, args, seed), lists_path, corpus_path, out,
                             show_progress=False).skipped
    # The same manifest mechanism as corpusfit's stages: retrain when lists or settings change.
    settings, fingerprint = st_fingerprint(arm, seed, lists_path, args)
    if manifest_matches(out, fingerprint):
        return False
    from st_baseline import train_mnrl

    lists = [tl for tl in load_artifact(lists_path, TrainingList) if tl.split == "train"]
    info = train_mnrl(args.student_path, lists, load_corpus(corpus_path), out, seed=seed)
    write_manifest(out, fingerprint, settings, counts=info)
    return True


def metrics_of(harness, spec: str, cache: Path) -> dict[str, dict[str, float]]:
    """Per-query metrics of a retriever spec, memoized in ``cache`` (a JSON file)."""
    from corpusfit.evaluate.metrics import MEASURES, per_query
    from corpusfit.workspace import read_json, write_json

    if cache.exists():
        return read_json(cache)
    pq = per_query(harness.data.qrels, harness.run(spec), {m: MEASURES[m] for m in METRICS})
    write_json(cache, pq)
    return pq


def collection_rows(data_dir: Path, args) -> list[dict]:
    from corpusfit.data.readers import load_beir
    from corpusfit.evaluate.harness import Harness, spec_name
    from corpusfit.retrieve.settings import RetrievalSettings
    from corpusfit.train.session import model_dir
    from corpusfit.workspace import read_json, write_json

    run_dir = prepare(data_dir, args)
    qdir = run_dir / ("quality" + (f"-{args.tag}" if args.tag else ""))
    harness = Harness(load_beir(data_dir, "test"),
                      RetrievalSettings(cache_dir=str(args.workdir / "emb"), show_progress=False))
    base = args.student
    timings = read_json(qdir / "seconds.json") if (qdir / "seconds.json").exists() else {}
    # Cached by spec, so another --student never reuses the old base's metrics.
    rows = [{"arm": name, "seed": "-", "seconds": None,
             "pq": metrics_of(harness, spec, qdir / f"{spec_name(spec)}.metrics.json")}
            for name, spec in (("base", base), ("bm25", "bm25"),
                               ("hybrid", f"rrf:bm25+{base}"))]
    arms = [*args.arms, *(["cf-full"] if data_dir.name in args.full_mode_on else [])]
    for arm in dict.fromkeys(arms):
        seeds = args.seeds if arm in args.multi_seed else args.seeds[:1]
        for seed in seeds:
            out = qdir / f"{arm}-s{seed}"
            start = time.monotonic()
            cache = qdir / f"{arm}-s{seed}.metrics.json"
            fused = qdir / f"{arm}-s{seed}-rrf.metrics.json"
            if args.no_train and not (cache.exists()
                                      and arm_is_current(arm, run_dir, out, seed, args)):
                why = "stale: trained with other settings or lists" if cache.exists() \
                    else "not run"
                print(f"{data_dir.name} {arm} seed {seed}: {why}, left out (--no-train)",
                      file=sys.stderr, flush=True)
                continue
            trained = False if args.no_train else train_arm(arm, run_dir, out, seed, args)
            if trained:
                for stale in (cache, fused):  # metrics of an older model
                    stale.unlink(missing_ok=True)
            model = out if arm.startswith("st-") else model_dir(out)  # cf: beside its records
            pq = metrics_of(harness, str(model), cache)
            if trained:  # train + evaluation wall time, kept for reruns that skip both
                timings[out.name] = time.monotonic() - start
                write_json(qdir / "seconds.json", timings)
            rows.append({"arm": arm, "seed": seed, "pq": pq, "seconds": timings.get(out.name)})
            print(f"{data_dir.name} {arm} seed {seed}: nDCG@10 {mean(pq['nDCG@10']):.4f}",
                  file=sys.stderr, flush=True)
            if arm == "cf-default" and not any(r["arm"] == "cf-default + BM25 (RRF)"
                                               for r in rows):
                spec = f"rrf:bm25+{model}"
                rows.append({"arm": "cf-default + BM25 (RRF)", "seed": seed, "seconds": None,
                             "pq": metrics_of(harness, spec, fused)})
    return rows


def mean(values: dict[str, float]) -> float:
    return sum(values.values()) / max(len(values), 1)


def summarize(rows: list[dict]) -> list[dict]:
    """One row per arm: metric means over seeds, nDCG@10 seed spread, test vs base."""
    from corpusfit.evaluate.significance import paired_test

    base = next(r["pq"]["nDCG@10"] for r in rows if r["arm"] == "base")
    out = []
    for arm in dict.fromkeys(r["arm"] for r in rows):
        runs = [r for r in rows if r["arm"] == arm]
        row = {"arm": arm, "seeds": len(runs) if runs[0]["seed"] != "-" else "-"}
        for m in METRICS:
            row[m] = statistics.fmean(mean(r["pq"][m]) for r in runs)
        nd = [mean(r["pq"]["nDCG@10"]) for r in runs]
        row["nDCG@10 sd"] = statistics.stdev(nd) if len(nd) > 1 else ""
        if arm != "base":
            avg = {q: statistics.fmean(r["pq"]["nDCG@10"][q] for r in runs) for q in base}
            test = paired_test(base, avg)
            row["Δ vs base"] = test.delta
            row["p (t)"], row["p (perm)"] = test.p_ttest, test.p_permutation
        secs = [r["seconds"] for r in runs if r["seconds"] is not None]
        row["train+eval s"] = statistics.fmean(secs) if secs else ""
        out.append(row)
    return out


def stage_seconds(run_dir: Path) -> dict[str, float]:
    """Wall seconds of the pipeline stages that made the lists (each stage's own record)."""
    from corpusfit.pipeline import FOLDERS, STATE_FILE
    from corpusfit.workspace import read_json

    out = {}
    for stage in ("ingest", "generate", "mine", "label"):
        state = run_dir / FOLDERS[stage] / STATE_FILE
        if state.exists():
            out[stage] = float(read_json(state).get("seconds", 0.0))
    return out


def generate_note(run_dir: Path) -> str:
    """How much of the generate stage its recorded seconds cover (it resumes: a larger
    sample only generates the new pairs), and the whole stage at that rate."""
    from corpusfit.workspace import read_json

    manifest = run_dir / "02-generate" / "manifest.json"
    if not manifest.exists():
        return ""
    counts = read_json(manifest).get("counts", {})
    total = counts.get("accepted", 0) + counts.get("rejected", 0)
    new, rate = counts.get("new_records", total), counts.get("queries_per_second", 0.0)
    if not new or new >= total or not rate:
        return ""
    return (f" (generate resumed: its minutes are the last {new} of {total} (passage, type) "
            f"pairs; all {total} at that rate, {rate:.2f}/s: {total / rate / 60:.1f})")


def budget(run_dir: Path, rows: list[dict]) -> str:
    """The CPU budget line: stage times and the default arm's mean train+eval time."""
    secs = stage_seconds(run_dir)
    train = [r["seconds"] for r in rows if r["arm"] == "cf-default" and r["seconds"]]
    per = ", ".join(f"{k} {v / 60:.1f}" for k, v in secs.items())
    line = f"Budget (wall minutes on 2 cores, nothing else running): {per}{generate_note(run_dir)}"
    if train:
        mean_train = statistics.fmean(train) / 60
        line += f"; cf-default train+eval {mean_train:.1f} per seed"
    return line + "."


def data_counts(run_dir: Path) -> str:
    from corpusfit.data.artifacts import TrainingList, load_artifact

    lists = load_artifact(run_dir / "04-label" / "lists.jsonl", TrainingList)
    with open(run_dir / "02-generate" / "queries.jsonl", encoding="utf-8") as f:
        queries = sum(1 for _ in f)
    per_type = {t: sum(tl.type == t and tl.split == "train" for tl in lists) for t in TYPES}
    return (f"{queries} generated queries → {len(lists)} lists "
            f"({sum(tl.split == 'train' for tl in lists)} train, "
            f"{sum(tl.split == 'dev' for tl in lists)} dev); train lists per type: "
            + ", ".join(f"{t} {n}" for t, n in per_type.items()))


def write_markdown(path: Path, tables: dict[str, tuple[str, list[dict]]], args,
                   argv: list[str]) -> None:
    from corpusfit.evaluate.tables import markdown_table

    cols = ["arm", "seeds", *METRICS, "nDCG@10 sd", "Δ vs base", "p (t)", "p (perm)",
            "train+eval s"]
    lines = ["# Quality benchmark (generated by benchmarks/quality.py)", "",
             f"Date {date.today()}, {platform.node()} ({platform.machine()}, "
             f"{_cpus()} CPUs, no GPU). Command:", "", f"    {' '.join(argv)}", "",
             f"Student `{args.student}`; pipeline config `{_relative(args.config)}` "
             f"({' '.join(args.pipeline_set) or 'no overrides'}); train overrides: "
             f"{' '.join(args.set) or 'none'}; seeds {args.seeds} "
             f"(only {', '.join(args.multi_seed)} with every seed, the other arms with the first"
             + ("; --no-train: only what had been run, the `seeds` column counts it" if
                args.no_train else "") + ").",
             "", *NOTES, ""]
    summary: dict[str, dict[str, float]] = {}
    for name, (counts, rows) in tables.items():
        lines += [f"## {name}", "", counts, "", markdown_table(rows, cols), ""]
        for r in rows:
            summary.setdefault(r["arm"], {})[name] = r["nDCG@10"]
    names = list(tables)
    srows = [{"arm": a, **v, "mean": statistics.fmean(v.values())}
             for a, v in summary.items() if len(v) == len(names)]
    lines += ["## nDCG@10 across collections", "", markdown_table(srows, ["arm", *names, "mean"]),
              ""]
    from corpusfit.workspace import write_text

    write_text(path, "\n".join(lines))


def _relative(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", nargs="+", type=Path, help="BEIR folders (corpus, queries, qrels)")
    p.add_argument("--config", default=str(HERE / "quality.yaml"),
                   help="pipeline config for generation, mining and labeling")
    p.add_argument("--pipeline-set", action="append", default=[], metavar="KEY=VALUE",
                   help="override of the pipeline config, e.g. ingest.sample=24")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="train config override for every corpusfit arm, e.g. lr=1e-5")
    p.add_argument("--arms", nargs="+", default=[*CPU_ARMS, *TYPE_ARMS],
                   choices=[*ARMS, *TYPE_ARMS])
    p.add_argument("--full-mode-on", nargs="*", default=[], metavar="NAME",
                   help="collections (folder names) that also get the cf-full arm")
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--multi-seed", nargs="*",
                   default=["cf-default", "cf-listwise", "cf-infonce", "cf-marginmse"],
                   help="arms run with every seed; the others with the first only (CPU cost)")
    p.add_argument("--student", default="minilm")
    p.add_argument("--workdir", type=Path, default=Path("runs/quality"))
    p.add_argument("--tag", default="", help="name of this set of trained arms (a sweep "
                   "point): models go to RUN_DIR/quality-TAG")
    p.add_argument("--no-train", action="store_true",
                   help="only report arms already trained and evaluated under --workdir "
                        "(their stored metrics); never train (the rest is named and left out)")
    p.add_argument("--out", type=Path, default=HERE / "results" / "quality.md")
    return p.parse_args(argv)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    from corpusfit.models import resolve_model

    args.student_path = str(resolve_model(args.student))
    tables = {}
    for data_dir in args.data:
        rows = collection_rows(data_dir, args)
        run_dir = args.workdir / data_dir.name
        tables[data_dir.name] = (data_counts(run_dir) + "\n\n" + budget(run_dir, rows),
                                 summarize(rows))
        write_markdown(args.out, tables, args, ["python", "benchmarks/quality.py", *sys.argv[1:]])
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
