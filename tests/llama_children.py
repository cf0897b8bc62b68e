"""The llama.cpp work of the slow tests, run in a child process through corpusfit.isolation.

A crash in llama.cpp's native code (issue #11: SIGSEGV in ``decode`` on an AMX CPU) then
fails only the test that ran it, with a message naming the signal, cause and fix, instead
of ending the whole test run. The child imports this module by name (tests/ is on
``sys.path``, which spawn passes on); functions return plain data and the tests assert.
"""

from __future__ import annotations


def smollm2_generation(prompt_messages: list[dict], requests: list, max_new_tokens: int) -> dict:
    """Load the bundled SmolLM2 with llama-cpp, render its chat template, generate twice.

    Returns:
        ``model_name``, ``rendered`` (``prompt_messages`` through the GGUF's template),
        ``out`` (completions of ``requests``) and ``again`` (the same call, rerun).
    """
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from corpusfit.generate.backends.base import create_backend
    from corpusfit.generate.config import SamplingConfig, backend_config

    backend = create_backend(backend_config(name="llama-cpp", model="smollm2", n_threads=1,
                                           n_ctx=2048))
    template = backend._llm.metadata["tokenizer.chat_template"]
    rendered = Jinja2ChatFormatter(template, eos_token="<|im_end|>", bos_token="")(
        messages=prompt_messages).prompt
    sampling = SamplingConfig(max_new_tokens=max_new_tokens)
    out = backend.generate(requests, sampling)
    # The same call from the same (empty) cache: other batches of the same tokens round
    # differently in llama.cpp, so reproducing means the same call from the same state.
    backend._decoder.reset()
    again = backend.generate(requests, sampling)
    backend.close()
    return {"model_name": backend.model_name, "rendered": rendered, "out": out, "again": again}


def smollm2_teacher_scores(kind: str, pairs: list[tuple[str, str]]) -> tuple[list, list]:
    """Scores of ``pairs`` by the bundled SmolLM2 teacher with and without KV-cache reuse."""
    from corpusfit.teach.base import build_teacher
    from corpusfit.teach.config import teacher_config

    cfg = dict(kind=kind, model="smollm2", n_threads=1)
    reused = build_teacher(teacher_config(**cfg)).score_pairs(pairs)
    scratch = build_teacher(teacher_config(**cfg, kv_reuse=False)).score_pairs(pairs)
    return [float(x) for x in reused], [float(x) for x in scratch]


def smollm2_batched(requests: list, parallel: int) -> dict:
    """The bundled SmolLM2 through both decode paths of the llama-cpp backend.

    Returns:
        ``batched`` / ``again`` (the batched path twice from an empty cache), ``warm``
        (once more, reusing the prefix the previous call kept), ``sequential`` (one request after
        another), ``greedy_batched`` / ``greedy_sequential`` (temperature 0), ``short``
        (3 new tokens, no stop string) with ``short_tokens`` (their token counts),
        ``stopped`` (stop string "e"), and ``rendered_matches``: whether the batched path's
        prompt tokens are the ones ``create_chat_completion`` evaluated.
    """
    from corpusfit.generate.backends.base import create_backend
    from corpusfit.generate.backends.llama_render import render_chat
    from corpusfit.generate.config import SamplingConfig, backend_config

    cfg = dict(name="llama-cpp", model="smollm2", n_threads=1, n_ctx=1024)
    batched = create_backend(backend_config(**cfg, parallel=parallel))
    seq = create_backend(backend_config(**cfg, decode="sequential"))
    sampling, greedy = SamplingConfig(max_new_tokens=16), SamplingConfig(temperature=0.0,
                                                                          max_new_tokens=12)
    got = {"batched": batched.generate(requests, sampling)}
    batched._decoder.reset()  # the same requests from the same (empty) cache
    got["again"] = batched.generate(requests, sampling)
    got["warm"] = batched.generate(requests, sampling)  # from the prefix the last call kept
    got.update({
           "sequential": seq.generate(requests, sampling),
           "greedy_batched": batched.generate(requests, greedy),
           "greedy_sequential": seq.generate(requests, greedy)})
    short = SamplingConfig(max_new_tokens=3, stop=[], per_type_budget=False)
    got["short"] = batched.generate(requests, short)
    got["short_tokens"] = [len(batched._llm.tokenize(c.text.encode(), add_bos=False))
                           for c in got["short"] if c.text is not None]
    got["stopped"] = batched.generate(requests, SamplingConfig(max_new_tokens=16, stop=["e"]))
    matches = []
    for r in requests[:2]:
        tokens, _ = render_chat(batched._llm, r.messages, [])
        seq._one(r, SamplingConfig(max_new_tokens=2))
        matches.append(list(seq._llm._input_ids[:len(tokens)]) == tokens)
    got["rendered_matches"] = matches
    batched.close()
    seq.close()
    return got
