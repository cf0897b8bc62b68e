"""run_in_child: values, exceptions, native crashes and timeouts come back as clear results."""

from __future__ import annotations

import os
import signal

import isolation_children as children
import pytest

from corpusfit.errors import ChildError, ChildTimeout, CorpusfitError, NativeCrash
from corpusfit.isolation import describe_signal, run_in_child


def test_value_comes_back_from_another_process():
    out = run_in_child(children.add, 2, 3, what="adder")
    assert out["sum"] == 5 and out["pid"] != os.getpid()


def test_segfault_is_a_native_crash_naming_signal_cause_and_fix(capfd):
    with pytest.raises(NativeCrash) as info:
        run_in_child(children.die_on, signal.SIGSEGV,
                     what="llama-cpp generator (qwen2.5-coder-0.5b)")
    err = info.value
    assert err.signal_name == "SIGSEGV" and isinstance(err, CorpusfitError)
    text = str(err)
    assert text.startswith("llama-cpp generator (qwen2.5-coder-0.5b) crashed")
    assert "SIGSEGV" in text and "CPU kernel variant" in text and "AMX" in text
    assert "make install" in text and "CORPUSFIT_GGML_CPU=haswell" in text
    assert "Fatal Python error: Segmentation fault" in capfd.readouterr().err  # faulthandler
    # This process survived and still runs children.
    assert run_in_child(children.add, 1, 1, what="adder")["sum"] == 2


def test_illegal_instruction_names_the_cpu_mismatch():
    with pytest.raises(NativeCrash, match="SIGILL") as info:
        run_in_child(children.die_on, signal.SIGILL, what="native thing")
    assert "instruction this CPU lacks" in info.value.cause


def test_exception_in_child_keeps_type_and_message():
    with pytest.raises(ChildError, match="teacher: ValueError: bad tokenizer") as info:
        run_in_child(children.fail, "bad tokenizer", what="teacher")
    assert info.value.type_name == "ValueError"
    assert "in fail" in info.value.child_traceback


def test_timeout_kills_the_child():
    with pytest.raises(ChildTimeout, match=r"sleeper: no result after 0.5 s; .* killed"):
        run_in_child(children.nap, 30, what="sleeper", timeout=0.5)


def test_exit_without_result_and_unpicklable_result_are_errors():
    with pytest.raises(CorpusfitError, match="exited with code 3 without a result"):
        run_in_child(children.exit_quietly, 3, what="quitter")
    with pytest.raises(ChildError, match="cannot send the result back"):
        run_in_child(children.unpicklable_result, what="lambda maker")


def test_describe_signal_unknown_and_oom():
    assert describe_signal(signal.SIGKILL)[1].startswith("killed from outside")
    assert "free memory" in describe_signal(signal.SIGKILL)[2]
    assert describe_signal(99)[0] == "signal 99"
