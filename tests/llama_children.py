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
        ``out`` (completions of ``requests``) and ``again`` (of the first request, rerun).
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
    again = backend.generate(requests[:1], sampling)
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
