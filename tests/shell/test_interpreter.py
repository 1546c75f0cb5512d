"""The interpreter in-process: statements, pipes, redirections, errors, set -e, aliases."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmsh.commands import Arg, Args, Command, Context, Registry
from llmsh.commands.registry import BUILTIN_MODULES
from llmsh.kernel import Kernel
from llmsh.shell.session import Shell
from llmsh.syntax.flow import ErrExit, ShellExit


@dataclass
class Result:
    status: int
    out: str
    err: str


def make_shell(kernel: Kernel | None = None, **kwargs: object) -> Shell:
    out, err = io.StringIO(), io.StringIO()
    return Shell(stdout=out, stderr=err, kernel=kernel, **kwargs)  # type: ignore[arg-type]


async def sh(shell: Shell, text: str, filename: str | None = None) -> Result:
    shell.stdout, shell.stderr = io.StringIO(), io.StringIO()
    status = await shell.run_source(text, filename)
    out, err = shell.stdout, shell.stderr
    assert isinstance(out, io.StringIO) and isinstance(err, io.StringIO)
    return Result(status, out.getvalue(), err.getvalue())


@pytest.fixture
def shell(kernel: Kernel) -> Shell:
    return make_shell(kernel)


async def test_echo_variables_and_status(shell: Shell) -> None:
    r = await sh(shell, "X=1; echo $X; false; echo $?; true && echo ok || echo no")
    assert r.out == "1\n1\nok\n"
    assert r.status == 0


async def test_status_of_a_line_is_its_last_command(shell: Shell) -> None:
    assert (await sh(shell, "true; false")).status == 1
    assert shell.state.last_status == 1


async def test_unknown_command_suggests_and_exits_127(shell: Shell) -> None:
    r = await sh(shell, "gnerate hi")
    assert r.status == 127
    assert r.err == "llmsh: unknown command 'gnerate' (did you mean 'generate'?)\n"


async def test_usage_error_prints_what_was_wrong_and_the_usage(shell: Shell) -> None:
    r = await sh(shell, "renice urgent 4")
    assert r.status == 2
    assert "llmsh: renice: PRIORITY: invalid priority 'urgent'" in r.err
    assert "usage: renice PRIORITY ID" in r.err


async def test_errors_in_files_name_file_and_line(shell: Shell) -> None:
    r = await sh(shell, "echo fine\n\nps --nope\n", filename="job.llmsh")
    assert r.err.startswith("llmsh: job.llmsh:3: ps: unknown flag '--nope'")


def boom_registry() -> Registry:
    import importlib

    registry = Registry()
    for name in BUILTIN_MODULES:
        importlib.import_module(name).register_commands(registry.register)

    async def boom(ctx: Context, args: Args) -> int:
        raise RuntimeError("kaput")

    async def say(ctx: Context, args: Args) -> int:
        ctx.line(f"<{args['text']}>")
        return 0

    registry.register(Command("boom", "fails", boom))
    registry.register(Command("say", "says", say, args=(Arg("text"),)))
    return registry


async def test_internal_errors_show_no_traceback_unless_debug() -> None:
    r = await sh(make_shell(registry=boom_registry()), "boom")
    assert r.status == 1
    assert "internal error: RuntimeError: kaput" in r.err and "Traceback" not in r.err
    r = await sh(make_shell(registry=boom_registry(), debug=True), "boom")
    assert "Traceback" in r.err


async def test_pipes_feed_text_output_forward(shell: Shell) -> None:
    r = await sh(shell, "echo hello | !tr a-z A-Z | !tr H J")
    assert r.out == "JELLO\n"


async def test_dash_and_missing_text_read_stdin() -> None:
    shell = make_shell(registry=boom_registry())
    assert (await sh(shell, "echo hi there | say -")).out == "<hi there>\n"
    assert (await sh(shell, "echo from pipe | say")).out == "<from pipe>\n"
    r = await sh(shell, "say -")
    assert r.status == 2 and "nothing is piped in" in r.err


async def test_redirections(shell: Shell, tmp_path: Path) -> None:
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    await sh(shell, f"echo one > {out}; echo two >> {out}; nosuch 2> {err}")
    assert out.read_text() == "one\ntwo\n"
    assert "unknown command 'nosuch'" in err.read_text()
    r = await sh(shell, f"!cat < {out}")
    assert r.out == "one\ntwo\n"
    r = await sh(shell, "echo x > /no/such/dir/f")
    assert r.status == 1 and "No such file or directory" in r.err


async def test_set_e_stops_but_not_on_the_left_of_and_or(shell: Shell) -> None:
    r = await sh(shell, "set -e; false || echo left; false && echo no; echo still")
    assert r.out == "left\nstill\n"
    with pytest.raises(ErrExit):
        await sh(shell, "false; echo never")


async def test_set_x_traces_to_stderr(shell: Shell) -> None:
    r = await sh(shell, "set -x; X='a b'; echo $X; !echo hi; set +x; echo quiet")
    assert "+ X='a b'\n+ echo 'a b'\n+ !echo hi\n+ set +x\n" == r.err
    assert r.out == "a b\nhi\nquiet\n"


async def test_set_rejects_unknown_options(shell: Shell) -> None:
    assert (await sh(shell, "set -q")).status == 2


async def test_aliases_expand_once_in_command_position(shell: Shell) -> None:
    r = await sh(shell, "alias e='echo [e]'; e x; echo e; alias echo='echo again'; echo y")
    assert r.out == "[e] x\ne\nagain y\n"
    r = await sh(shell, "unalias echo; alias two='echo a; echo b'; two")
    assert r.out == "a\nb\n"


async def test_temporary_assignment_and_system_environment(shell: Shell) -> None:
    r = await sh(shell, "GREETING=hi !sh -c 'echo $GREETING'; echo [$GREETING]")
    assert r.out == "hi\n[]\n"


async def test_system_commands_keep_shell_globbing(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("")
    (tmp_path / "b.txt").write_text("")
    r = await sh(shell, f"!ls {tmp_path}/*.txt | !wc -l | !tr -d ' '")
    assert r.out == "2\n"
    r = await sh(shell, f"!ls '{tmp_path}/*.txt'")
    assert r.status != 0


async def test_exit_raises_with_status(shell: Shell) -> None:
    with pytest.raises(ShellExit) as info:
        await sh(shell, "exit 3; echo no")
    assert info.value.status == 3


async def test_syntax_error_is_status_2_with_position(shell: Shell) -> None:
    r = await sh(shell, 'echo "abc')
    assert r.status == 2
    assert r.err == "llmsh: unclosed double quote at 1:6\n"


async def test_source_runs_in_this_shell_with_arguments(shell: Shell, tmp_path: Path) -> None:
    lib = tmp_path / "lib.llmsh"
    lib.write_text('LOADED=yes\necho "arg $1"\nnosuch\n')
    r = await sh(shell, f"source {lib} first; echo $LOADED $#")
    assert r.out == "arg first\nyes 0\n"
    assert f"llmsh: {lib}:3: unknown command 'nosuch'" in r.err


async def test_cd_changes_directory_and_dash_goes_back(shell: Shell, tmp_path: Path) -> None:
    start = os.getcwd()
    try:
        await sh(shell, f"cd {tmp_path}")
        assert os.getcwd() == str(tmp_path)
        r = await sh(shell, "cd -")
        assert os.getcwd() == start and r.out == start + "\n"
        assert (await sh(shell, "cd /no/such/dir")).status == 1
    finally:
        os.chdir(start)


async def test_help_lists_every_command_and_explains_one(shell: Shell) -> None:
    r = await sh(shell, "help")
    for name in ("ps", "generate", "models", "fg", "explain", "help"):
        assert f"  {name} " in r.out
    r = await sh(shell, "help models pull")
    assert r.out.startswith("usage: models pull NAME... [--if-missing]")
    r = await sh(shell, "help gnerate")
    assert r.status == 1 and "did you mean 'generate'" in r.err


async def test_echo_n_and_true_false(shell: Shell) -> None:
    r = await sh(shell, "echo -n a; echo b; true; false")
    assert (r.out, r.status) == ("ab\n", 1)


async def test_history_builtin_reads_the_store(shell: Shell, tmp_path: Path) -> None:
    from llmsh.shell.history import HistoryStore

    shell.history = HistoryStore(tmp_path / "h.db")
    for line in ("ps", "jobs", "echo hi"):
        shell.history.add(line)
    r = await sh(shell, "history 2")
    assert r.out.split() == ["2", "jobs", "3", "echo", "hi"]
    assert (await sh(make_shell(), "history")).out == ""


async def test_a_later_pipeline_stage_may_be_an_executable_on_path(kernel: Kernel) -> None:
    """`!echo hi | head -1` runs head as a system command; llmsh's commands keep precedence
    (`echo` after `|` is llmsh's), and a first word is never looked up on PATH."""
    shell = make_shell(kernel)
    r = await sh(shell, "!printf 'a\\nb\\nc\\n' | head -2")
    assert (r.status, r.out) == (0, "a\nb\n")
    r = await sh(shell, "echo one two | tr a-z A-Z | !cat")
    assert (r.status, r.out) == (0, "ONE TWO\n")
    r = await sh(shell, "echo x | echo y")  # llmsh's echo, not /bin/echo
    assert r.out == "y\n"
    r = await sh(shell, "head -1")
    assert r.status == 127 and "unknown command 'head'" in r.err
    r = await sh(shell, "echo x | no-such-program-here")
    assert r.status == 127 and "unknown command 'no-such-program-here'" in r.err
