"""`summarize` on the real smollm2 (`-m real_model`), from the test model store."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from llmsh.shell.session import Shell

pytestmark = [pytest.mark.real_model, pytest.mark.slow, pytest.mark.timeout(600)]
REPO = Path(__file__).resolve().parents[3]
NEWS = """\
The city council met on Tuesday evening to discuss the new public library. After two years \
of planning, the architects presented their final design: a three-storey building of wood \
and glass beside the river, with a children's floor, a reading garden on the roof and a \
workshop where people can borrow tools.

Several residents welcomed the plan but worried about the cost. The budget has grown from 12 \
to 15 million euros, mostly because of higher prices for timber and steel. The mayor said \
that a regional grant would cover four million euros and that the rest would be spread over \
ten years, so that local taxes would not rise.

Others asked about parking and about the old library in the market square. The council \
agreed to turn the old building into a community centre and to add bicycle racks rather than \
a car park at the new site. Construction should start next spring and the library should \
open in the autumn of the following year.
"""


@pytest.fixture
def real_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home whose model store is the test store's (read only)."""
    given = os.environ.get("LLMSH_TEST_STORE_HOME")
    models = (Path(given) if given else REPO / ".cache" / "test-home") / "models"
    if not (models / "smollm2").is_dir():
        pytest.skip(f"smollm2 is not in {models} (run `make test-models`)")
    home = tmp_path / "home"
    home.mkdir()
    (home / "models").symlink_to(models)
    monkeypatch.setenv("LLMSH_HOME", str(home))
    return home


async def test_summarize_a_chunked_news_story_with_smollm2(
    real_store: Path, tmp_path: Path
) -> None:
    from llmsh.kernel import KernelConfig
    from llmsh.runtime import make_kernel

    story = tmp_path / "news.txt"
    story.write_text(NEWS)
    kernel = make_kernel(KernelConfig(state_dir=tmp_path / "state", nvml=None))
    await kernel.start()
    out, err = io.StringIO(), io.StringIO()
    shell = Shell(stdout=out, stderr=err, kernel=kernel)
    try:
        status = await shell.run_source(f"summarize {story} --max-words 40 --chunk-tokens 160")
        (proc,) = await kernel.list(include_finished=True)
    finally:
        await kernel.close()
    assert status == 0, err.getvalue()
    summary = out.getvalue().strip()
    assert 5 <= len(summary.split()) <= 40, summary
    assert "library" in summary.lower() or "council" in summary.lower(), summary
    assert proc.kind == "summarize" and proc.metrics["chunks"] >= 2
    assert proc.progress.done == proc.progress.total >= 3
