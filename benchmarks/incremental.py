"""Benchmark a corpus that grows: an incremental run against a fresh run on the whole corpus.

Cranfield's passages are split by a seeded shuffle: 80% are there first, 20% come later.

- ``incremental``: `corpusfit run` on the first 80% (up to the label stage, untimed), then
  `corpusfit run` again in the same run directory on the whole corpus (timed): ingest keeps
  the earlier sample and samples the new passages at the same rate, the completion store
  answers every earlier request, the LLM is asked only for the new passages' pairs; mining,
  labeling (scores come from the score cache where the pair is unchanged) and training rerun.
- ``fresh``: `corpusfit run` on the whole corpus in a new run directory with an empty
  completion store (timed).

With ``--init previous`` the incremental arm trains with ``--set train.init=previous``:
its run on the first 80% goes through training (untimed), and the timed run starts from
that model on the new or changed lists plus the replayed share of the others. Each seed's
incremental run then starts from a copy of the run directory as the first run left it.

Both arms then train with seeds 2 and 3 on their own lists (`--set train.seed=N`, only the
train and evaluate stages rerun) and report test nDCG@10 of the specialized model per seed
on Cranfield's test queries, the same 1,400-passage corpus for both. The timed run is two
calls: `corpusfit run --until train` (the cost of a new model) and then `corpusfit run`
(evaluate and report); the table gives both, without and with the evaluate stage. Seconds
are wall time and CPU time (user + system of the child processes); LLM requests are the
generate manifest's ``asked`` (sent to the model) and ``stored`` (answered by the store).

    .venv/bin/python benchmarks/incremental.py ../shared/datasets/cranfield \\
        --sample 10 --types question keywords --threads 1 --init previous
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from corpusfit.evaluate.significance import paired_test
from corpusfit.evaluate.tables import markdown_table
from corpusfit.generate.store import CompletionStore
from corpusfit.workspace import read_json, write_text

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (1, 2, 3)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="BEIR folder (Cranfield)")
    p.add_argument("--sample", type=int, default=80, help="passages sampled of the first 80%%")
    p.add_argument("--later", type=float, default=0.2, help="share of passages added later")
    p.add_argument("--types", nargs="+", default=["question", "keywords"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--probe-passages", type=int, default=0,
                   help="evaluate.labelfree.passages of both arms (0: no label-free probes; "
                        "the comparison is then the training pipeline's alone)")
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    p.add_argument("--init", choices=["base", "previous"], default="base",
                   help="train.init of the incremental arm (previous: warm start)")
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-incremental")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/incremental.md")
    p.add_argument("--fresh-state", type=Path, default=None,
                   help="state.json of an earlier invocation whose fresh arm is taken as it "
                        "is (not rerun): only the incremental arm runs")
    p.add_argument("--first-set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="--set options of the untimed first run only (e.g. "
                        "train.keep_base_if_better=false, so that the warm start has a "
                        "trained model to start from)")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite the report from --work's state.json (its fresh arm replaced "
                        "by --fresh-state's when given) and exit")
    p.add_argument("--list-changes", action="store_true",
                   help="print only how the label stage's lists moved between the first and "
                        "the grown corpus (the run directories of an earlier --init previous "
                        "run under --work) and exit")
    return p.parse_args(argv)


def _label_lists(path: Path) -> dict[str, dict]:
    return {str(r["qid"]): r for r in map(json.loads, path.read_text().splitlines())}


def list_changes(work: Path, depths=(1, 2, 3, 4, 10)) -> str:
    """Markdown: of the queries with a list before and after the corpus grew, how many
    keep their teacher-ordered top k passages (and their raw teacher scores)."""
    before = _label_lists(work / "incremental-first" / "04-label" / "lists.jsonl")
    after = _label_lists(work / "incremental" / "04-label" / "lists.jsonl")
    common = sorted(set(before) & set(after))
    rows = [{"top k": k, "same passages, same order":
             sum(before[q]["doc_ids"][:k] == after[q]["doc_ids"][:k] for q in common)}
            for k in depths]
    same_raw = sum(before[q]["raw_scores"] == after[q]["raw_scores"] for q in common)
    return (f"Lists before / after the corpus grew: {len(before)} / {len(after)}, "
            f"{len(common)} queries in both, {len(after) - len(common)} new; raw teacher "
            f"scores unchanged in {same_raw} of {len(common)}.\n\n"
            + markdown_table(rows, ["top k", "same passages, same order"]))


def split_corpus(data: Path, work: Path, later: float) -> tuple[Path, Path, int, int]:
    """(first corpus.jsonl, whole corpus.jsonl, passages first, passages added)."""
    lines = (data / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    order = list(range(len(lines)))
    random.Random("incremental:13").shuffle(order)
    first = sorted(order[: round(len(lines) * (1 - later))])
    paths = work / "first.jsonl", work / "whole.jsonl"
    work.mkdir(parents=True, exist_ok=True)
    paths[0].write_text("".join(lines[i] + "\n" for i in first), encoding="utf-8")
    paths[1].write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return paths[0], paths[1], len(first), len(lines) - len(first)


def write_config(path: Path, corpus: Path, run_dir: Path, store: Path, args, sample: int):
    cfg = {"corpus": str(corpus), "test_data": str(args.data.resolve()),
           "run_dir": str(run_dir),
           "ingest": {"sample": sample},
           "generate": {"types": args.types, "store": str(store),
                        "backend": {"n_threads": args.threads}},
           "label": {"score_depth": 100, "min_candidates": 20},
           "evaluate": {"labelfree": {"passages": args.probe_passages}}}
    path.write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    return path


def run(config: Path, *extra: str) -> dict:
    """`corpusfit run` in a child process; its wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # One thread per library: on a machine shared with other jobs, lock-step thread pools
    # (llama.cpp, torch) spin while their partner thread waits for a core.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "corpusfit.cli", "run", str(config), *extra],
                   check=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": time.perf_counter() - t0, "cpu": cpu}


def stage_seconds(run_dir: Path) -> dict[str, float | None]:
    """Seconds of each stage's last run (a skipped stage keeps its earlier time)."""
    return {p.name: read_json(p / "manifest.json")["timings"].get("seconds")
            for p in sorted(run_dir.iterdir()) if (p / "manifest.json").exists()}


def generate_counts(run_dir: Path) -> dict:
    return read_json(run_dir / "02-generate" / "manifest.json")["counts"]


def train_counts(run_dir: Path) -> dict:
    return read_json(run_dir / "05-train" / "manifest.json")["counts"]


def timed_run(config: Path, run_dir: Path, *extra: str) -> dict:
    """The timed run in two calls: up to the trained model, then evaluate and report."""
    to_train = run(config, *extra, "--until", "train")
    rest = run(config, *extra)
    return {"to_train": to_train,
            "all": {k: to_train[k] + rest[k] for k in ("wall", "cpu")},
            "stages": stage_seconds(run_dir), "generate": generate_counts(run_dir),
            "train": train_counts(run_dir)}


def copy_dir(src: Path, dst: Path) -> None:
    """``dst`` replaced by a copy of ``src`` (the run directory as the untimed first run
    left it: each seed's warm start needs that model)."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)


def specialized(run_dir: Path) -> tuple[float, dict[str, float]]:
    """Mean test nDCG@10 of the specialized model and its per-query values."""
    folder = run_dir / "06-evaluate"
    metrics = read_json(folder / "metrics.json")
    entry = next(e for e in metrics["retrievers"].values() if e["name"] == "specialized")
    per_query = read_json(folder / "per_query.json")["retrievers"]["specialized"]
    return entry["metrics"]["nDCG@10"], per_query


def main(argv=None) -> int:
    args = parse_args(argv)
    work = args.work.resolve()
    if args.list_changes:
        print(list_changes(work))
        return 0
    first, whole, n_first, n_later = split_corpus(args.data, work, args.later)
    dirs = {"incremental": work / "incremental", "fresh": work / "fresh"}
    inc_early = write_config(work / "inc-first.json", first, dirs["incremental"],
                             work / "store-inc", args, args.sample)
    fresh_sample = round(args.sample * (n_first + n_later) / n_first)
    configs = {"incremental": write_config(work / "inc-whole.json", whole, dirs["incremental"],
                                           work / "store-inc", args, args.sample),
               "fresh": write_config(work / "fresh.json", whole, dirs["fresh"],
                                     work / "store-fresh", args, fresh_sample)}
    if args.report_only:
        return report_only(args, work, (n_first, n_later, fresh_sample))
    warm = args.init == "previous"
    sets = {"incremental": ["--set", f"train.init={args.init}"], "fresh": []}
    first_sets = [x for kv in args.first_set for x in ("--set", kv)]
    run(inc_early, "--set", f"train.seed={args.seeds[0]}", *sets["incremental"], *first_sets,
        "--until", "train" if warm else "label")
    before = len(CompletionStore(work / "store-inc"))  # answers of the run on the first part
    snapshot = work / "incremental-first"
    if warm:
        copy_dir(dirs["incremental"], snapshot)
    timed: dict[str, dict] = {}
    scores: dict[str, dict] = {"incremental": {}, "fresh": {}}
    arms = ["incremental", "fresh"]
    if args.fresh_state is not None:
        timed["fresh"], scores["fresh"] = read_state(args.fresh_state, "fresh")
        arms = ["incremental"]
    sizes = (n_first, n_later, fresh_sample)
    for seed in args.seeds:  # the report is rewritten after each run: partial results stay
        for arm in arms:
            if warm and arm == "incremental":
                copy_dir(snapshot, dirs[arm])
            extra = ["--set", f"train.seed={seed}", *sets[arm]]
            if arm not in timed:
                timed[arm] = timed_run(configs[arm], dirs[arm], *extra)
            else:
                run(configs[arm], *extra)
            scores[arm][seed] = specialized(dirs[arm])
            write_state(work / "state.json", timed, scores, before)
            if len(timed) == 2:
                write_report(args, timed, before, scores, sizes, work)
    return 0


def first_kept(work: Path) -> str:
    """What the untimed first run's train stage kept (base / trained), when it trained."""
    lineage = work / "incremental-first" / "05-train" / "lineage.json"
    return read_json(lineage).get("kept", "?") if lineage.exists() else "not trained"


def write_state(path: Path, timed: dict, scores: dict, before: int) -> None:
    """Both arms' timings and per-seed scores (per query) and the store's answers before
    the timed run, for a later ``--fresh-state`` or ``--report-only``."""
    write_text(path, json.dumps({"timed": timed, "before": before, "scores": {
        arm: {str(seed): list(v) for seed, v in by_seed.items()}
        for arm, by_seed in scores.items()}}, indent=1))


def report_only(args, work: Path, sizes: tuple[int, int, int]) -> int:
    state = read_json(work / "state.json")
    arms = [a for a in ("incremental", "fresh") if a in state["timed"]]
    loaded = {arm: read_state(work / "state.json", arm) for arm in arms}
    if args.fresh_state is not None:
        loaded["fresh"] = read_state(args.fresh_state, "fresh")
    timed = {arm: v[0] for arm, v in loaded.items()}
    scores = {arm: v[1] for arm, v in loaded.items()}
    write_report(args, timed, state["before"], scores, sizes, work)
    return 0


def read_state(path: Path, arm: str) -> tuple[dict, dict[int, tuple[float, dict]]]:
    """(timing, {seed: (nDCG@10, per query)}) of ``arm`` in a :func:`write_state` file."""
    state = read_json(path)
    return state["timed"][arm], {int(seed): (v[0], v[1])
                                 for seed, v in state["scores"][arm].items()}


def _lists(train: dict) -> str:
    if train.get("init") == "previous":
        moved = train.get("lists_changed")
        moved = f" ({moved} of the others moved)" if moved is not None else ""
        return (f"previous: {train.get('lists_new', 0)} new + "
                f"{train.get('lists_replayed', 0)} replayed{moved}")
    return f"base: {train.get('train_queries', '?')}"


def _rows(timed, scores, seeds) -> list[dict]:
    rows = []
    for arm in ("incremental", "fresh"):
        c, t = timed[arm]["generate"], timed[arm]
        row = {"arm": arm, "wall s to train": f"{t['to_train']['wall']:.0f}",
               "wall s with eval": f"{t['all']['wall']:.0f}",
               "CPU s to train": f"{t['to_train']['cpu']:.0f}",
               "CPU s with eval": f"{t['all']['cpu']:.0f}",
               "LLM requests": c.get("asked", "?"),
               "answered by store": c.get("stored", 0), "new pairs": c["new_records"],
               "queries": c["accepted"], "train init: lists": _lists(t["train"])}
        done = [s for s in seeds if s in scores[arm]]
        for seed in seeds:
            row[f"nDCG@10 s{seed}"] = f"{scores[arm][seed][0]:.4f}" if seed in done else "not run"
        row["mean"] = f"{sum(scores[arm][s][0] for s in done) / len(done):.4f}"
        rows.append(row)
    return rows


def _mean_per_query(found: dict[int, tuple[float, dict]]) -> dict[str, float]:
    qids = set.intersection(*(set(pq) for _, pq in found.values()))
    return {q: sum(pq[q] for _, pq in found.values()) / len(found) for q in qids}


def _ratio(timed: dict, part: str, key: str) -> float:
    return timed["incremental"][part][key] / max(timed["fresh"][part][key], 1e-9)


def write_report(args, timed, before, scores, sizes, work: Path) -> None:
    n_first, n_later, fresh_sample = sizes
    rows = _rows(timed, scores, args.seeds)
    test = paired_test(_mean_per_query(scores["fresh"]), _mean_per_query(scores["incremental"]))
    ratio = {f"{k} {part}": _ratio(timed, part, k) for part in ("to_train", "all")
             for k in ("wall", "cpu")}
    counts = {arm: timed[arm]["generate"] for arm in timed}
    asked = counts["incremental"].get("asked", 0) / max(counts["fresh"].get("asked", 1), 1)
    stage_s = {arm: timed[arm]["stages"] for arm in timed}
    first_from = f" \\\n        --first-set {' '.join(args.first_set)}" if args.first_set else ""
    fresh_from = ""
    if args.fresh_state is not None:
        fresh_from = (f" \\\n        --fresh-state {args.fresh_state}\n\nThe fresh arm was not "
                      f"rerun: its timings and scores are those of `{args.fresh_state}`, "
                      "an earlier invocation on the same corpus split.")
    text = f"""# A corpus that grows: incremental run vs fresh run

Cranfield (tuning collection), {n_first} passages first and {n_later} ({args.later:.0%}) added
later (seeded shuffle). Generator: the bundled Qwen2.5-Coder-0.5B (llama.cpp,
{args.threads} threads), types {", ".join(args.types)}; teacher: the default offline
ensemble; student: all-MiniLM-L6-v2, default training; test: Cranfield's test queries on
all {n_first + n_later} passages. Sample: {args.sample} passages of the first
{n_first} (the incremental run adds the new passages at the same rate), {fresh_sample} of
{n_first + n_later} in the fresh run. Before the timed incremental run, the run on the
first {n_first} passages (up to {'train' if args.init == 'previous' else 'label'}, not timed)
left {before} answers in the store.
Label-free probe passages (`evaluate.labelfree.passages`): {args.probe_passages} in both arms.
First run's own settings: {" ".join(args.first_set) or "none"} (kept model: {first_kept(work)}).
Seeds {", ".join(map(str, args.seeds))} are train seeds; seconds are those of the seed-{
args.seeds[0]} run (wall and CPU of all its processes, "to train": `corpusfit run --until
train`, "with eval": plus the evaluate and report stages; on a shared machine CPU seconds
are the steadier measure).

{markdown_table(rows, list(rows[0]))}

Incremental / fresh, up to the trained model (without the evaluate stage): wall
{ratio['wall to_train']:.0%}, CPU {ratio['cpu to_train']:.0%}; with evaluate and report: wall
{ratio['wall all']:.0%}, CPU {ratio['cpu all']:.0%}; LLM requests {asked:.0%}. Incremental
arm: `train.init={args.init}`. nDCG@10 (mean over seeds per query, paired test): incremental -
fresh =
{test.delta:+.4f}, p = {test.p_permutation:.3g} (permutation), {test.p_ttest:.3g} (t-test).

Seconds per stage (seed-{args.seeds[0]} run; a skipped stage keeps its earlier time):

```
{json.dumps(stage_s, indent=1)}
```

Command:

    flock -s /tmp/corpusfit-heavy.lock .venv/bin/python benchmarks/incremental.py \\
        {args.data} --sample {args.sample} --types {" ".join(args.types)} \\
        --threads {args.threads} --seeds {" ".join(map(str, args.seeds))} --init {args.init} \\
        --probe-passages {args.probe_passages}{first_from}{fresh_from}
"""
    write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
