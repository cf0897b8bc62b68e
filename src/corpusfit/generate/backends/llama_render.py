"""The prompt tokens and stop strings ``Llama.create_chat_completion`` would decode.

The chat handler ``Llama`` chose for its GGUF (the file's template, or the named format
llama-cpp-python recognises it as) renders the messages with the generation prompt,
tokenizes them and adds the template's own stop strings; :func:`render_chat` runs that
same handler against a stand-in that hands the result back instead of generating, so the
batched decoder sees exactly today's prompt.
"""

from __future__ import annotations


class _Rendered(Exception):  # noqa: N818 - a control-flow signal, not an error
    def __init__(self, tokens: list[int], stop: list[str]):
        super().__init__("rendered")
        self.tokens, self.stop = tokens, stop


class _RenderOnly:
    """Stands in for ``Llama`` inside a chat handler: tokenizes, never generates."""

    def __init__(self, llm):
        self._llm = llm
        self.verbose = False

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return self._llm.tokenize(text, add_bos=add_bos, special=special)

    def create_completion(self, *, prompt, stop=None, **_unused):
        if isinstance(prompt, str):  # handlers that pass text: tokenized as create_completion
            prompt = self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        stop = [stop] if isinstance(stop, str) else list(stop or [])
        raise _Rendered(list(prompt), stop)


def render_chat(llm, messages: list[dict[str, str]],
                stop: list[str]) -> tuple[list[int], list[str]]:
    """``(prompt tokens, stop strings)`` of ``messages`` for the loaded ``llm``."""
    from llama_cpp import llama_chat_format

    handler = (llm.chat_handler or llm._chat_handlers.get(llm.chat_format)
               or llama_chat_format.get_chat_completion_handler(llm.chat_format))
    try:
        handler(llama=_RenderOnly(llm), messages=messages, stop=list(stop) or None)
    except _Rendered as r:
        return r.tokens, r.stop
    raise RuntimeError("the chat handler returned without asking for a completion")
