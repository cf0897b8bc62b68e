"""The machine's llama.cpp rates for one GGUF, llama-bench style (pp512, tg128, batched tg).

``pp``: prompt processing, tokens/s of one 512-token batch from an empty cache;
``tg``: single-sequence generation, tokens/s of 128 one-token decodes;
``tg_batch``: ``{B: tokens/s}`` of B sequences advancing together (one decode of B tokens
per step, 32 steps, after a 64-token prompt each), what batched generation can reach.
Each rate is the best of ``reps`` runs, at the given threads, in the process that calls
:func:`measure` (run it in a child: it loads the model).

    .venv/bin/python benchmarks/llama_rates.py qwen2.5-coder-0.5b --threads 2
"""

from __future__ import annotations

import argparse
import json
import time


def _decode(lib, ctx, batch, tokens: list[tuple[int, int, int]], logits_last: bool) -> None:
    for i, (tok, pos, seq) in enumerate(tokens):
        batch.token[i], batch.pos[i], batch.n_seq_id[i] = tok, pos, 1
        batch.seq_id[i][0] = seq
        batch.logits[i] = logits_last and i == len(tokens) - 1
    batch.n_tokens = len(tokens)
    if lib.llama_decode(ctx, batch) != 0:
        raise RuntimeError("llama_decode failed")


def measure(model: str, threads: int, batches: tuple[int, ...] = (10, 20),
            reps: int = 2) -> dict:
    """``{"pp", "tg", "tg_batch", "threads", "variant"}`` for the GGUF ``model``."""
    from corpusfit.models import resolve_gguf
    from corpusfit.native import cpu_backend, load_llama_cpp

    lib = load_llama_cpp()
    llm = lib.Llama(model_path=str(resolve_gguf(model)), n_ctx=256, n_threads=threads,
                    verbose=False)
    params = lib.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_ubatch = 8192, 512, 512
    params.n_seq_max, params.kv_unified = max(batches) + 1, True
    params.n_threads = params.n_threads_batch = threads
    ctx = lib.llama_init_from_model(llm.model, params)
    mem = lib.llama_get_memory(ctx)
    batch = lib.llama_batch_init(512, 0, 1)
    n_vocab = llm.n_vocab()

    def tok(i: int) -> int:
        return 1000 + (i * 7919) % (n_vocab - 2000)

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(reps):
            lib.llama_memory_clear(mem, True)
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        return best

    pp = 512 / timed(lambda: _decode(lib, ctx, batch, [(tok(i), i, 0) for i in range(512)],
                                     True))

    def tg_run(b: int, steps: int, prompt: int) -> None:
        for s in range(b):
            _decode(lib, ctx, batch, [(tok(i + s), i, s) for i in range(prompt)], True)
        for step in range(steps):
            _decode(lib, ctx, batch, [(tok(step + s), prompt + step, s) for s in range(b)],
                    True)

    def tg_single() -> None:
        for i in range(128):
            _decode(lib, ctx, batch, [(tok(i), i, 0)], True)

    tg = 128 / timed(tg_single)
    tg_batch = {}
    for b in batches:
        prefill = timed(lambda b=b: tg_run(b, 0, 64))
        total = timed(lambda b=b: tg_run(b, 32, 64))
        tg_batch[b] = round(b * 32 / max(total - prefill, 1e-9), 1)
    lib.llama_batch_free(batch)
    lib.llama_free(ctx)
    llm.close()
    return {"pp": round(pp, 1), "tg": round(tg, 1), "tg_batch": tg_batch, "threads": threads,
            "variant": cpu_backend().variant}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    print(json.dumps(measure(args.model, args.threads)))


if __name__ == "__main__":
    main()
