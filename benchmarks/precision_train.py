"""Does bf16 autocast training change the trained model? One query-only training run per
precision on the same lists (seed 1), encoded and evaluated in that precision on the
collection's test queries.

    .venv/bin/python benchmarks/precision_train.py --run-dir runs/quality/cranfield \
        --data ../shared/datasets/cranfield --out /tmp/precision-train fp32 bf16

``--run-dir`` is a run directory whose label stage is done (benchmarks/quality.py makes
them); prints nDCG@10 and wall seconds per precision (training includes encoding the
frozen passage bank, so the cache is cold for each precision) and writes result.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(argv=None) -> int:
    from corpusfit import run_train
    from corpusfit.data.readers import load_beir
    from corpusfit.evaluate.harness import Harness
    from corpusfit.evaluate.metrics import evaluate
    from corpusfit.retrieve.settings import RetrievalSettings
    from corpusfit.train.config import TrainConfig
    from corpusfit.train.session import model_dir

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("precisions", nargs="+", choices=["fp32", "bf16"])
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    data = load_beir(args.data, "test")
    results = {}
    for prec in args.precisions:
        start = time.perf_counter()
        cfg = TrainConfig(mode="query_only", passages_per_query=None, epochs=10,
                          max_minutes=None, seed=1, precision=prec,
                          cache_dir=str(args.out / "emb"))
        run_train(cfg, args.run_dir / "04-label" / "lists.jsonl",
                  args.run_dir / "01-ingest" / "corpus.jsonl", args.out / prec,
                  show_progress=False)
        seconds = time.perf_counter() - start
        harness = Harness(data, RetrievalSettings(cache_dir=str(args.out / "emb"),
                                                  show_progress=False, precision=prec))
        metrics = evaluate(data.qrels, harness.run(str(model_dir(args.out / prec))))
        results[prec] = {"nDCG@10": metrics["nDCG@10"], "train s": seconds}
        print(prec, results[prec], flush=True)
    (args.out / "result.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
