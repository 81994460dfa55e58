"""Every ```python block in README.md and docs/ runs as written.

The blocks of one page run in order in one namespace (a page may build on its earlier
blocks); each page starts from a fresh one, in a temporary working directory, so that
nothing a snippet writes lands in the repository. Output is not checked, but a block must
not raise, and pytest's ``-W error`` turns any warning into a failure.

A block is skipped only when its fence says why: ```` ```python skip-test: REASON ````.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted((ROOT / "docs" / "recipes").glob("*.md"))]
OPEN = re.compile(r"^\s*```(?P<info>[^`]*)$")  # indented fences (in a list item) too
SKIP = re.compile(r"^python\s+skip-test:\s*(?P<reason>.*)$")


@dataclass
class Block:
    page: Path
    line: int       # 1-based line of the block's first code line
    info: str       # the fence's info string
    code: str

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, with the line each one's code starts on."""
    found, current = [], None
    for number, text in enumerate(page.read_text().splitlines(), 1):
        if current is None:
            match = OPEN.match(text)
            if match:
                current = Block(page, number + 1, match["info"].strip(), "")
        elif text.strip() == "```":
            current.code = textwrap.dedent(current.code)
            found.append(current)
            current = None
        else:
            current.code += text + "\n"
    assert current is None, f"{page}: unclosed fence at line {current.line - 1}"
    return found


def is_python(block: Block) -> bool:
    return block.info.split(maxsplit=1)[:1] == ["python"]


def skip_reason(block: Block) -> str | None:
    match = SKIP.match(block.info)
    return match["reason"].strip() if match else None


def test_pages_are_found():
    assert (ROOT / "README.md") in PAGES and len(PAGES) >= 8


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_fence_names_its_language(page):
    # An untagged block could be Python that escapes this test; tables of results are "text".
    untagged = [b.where for b in blocks(page) if not b.info]
    assert not untagged, f"fences without a language (use python, sh or text): {untagged}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_skips_state_a_reason(page):
    for block in blocks(page):
        if is_python(block) and block.info != "python":
            reason = skip_reason(block)
            assert reason is not None and len(reason.split()) >= 3, (
                f"{block.where}: a python block is run unless marked "
                f"'python skip-test: <reason>', got {block.info!r}")


def run_page(page: Path) -> tuple[int, list[str]]:
    """Run the page's python blocks in order in one namespace: (blocks run, skip reasons)."""
    scope: dict = {"__name__": "__doc_snippet__"}
    ran, skipped = 0, []
    for block in blocks(page):
        if not is_python(block):
            continue
        reason = skip_reason(block)
        if reason is not None:
            skipped.append(f"{block.where}: {reason}")
            continue
        # Leading newlines put a traceback's line numbers on the page's own lines.
        code = compile("\n" * (block.line - 1) + block.code, str(block.page), "exec")
        try:
            exec(code, scope)
        except Exception as exc:
            raise AssertionError(f"the block at {block.where} failed: {exc!r}") from exc
        ran += 1
    return ran, skipped


@pytest.mark.parametrize("page", [p for p in PAGES if any(is_python(b) for b in blocks(p))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ran, skipped = run_page(page)
    if not ran:
        pytest.skip("; ".join(skipped))


def test_the_runner_shares_a_page_namespace_and_reports_failures(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n```python\nx = 2\n```\n\n- item\n\n  ```python\n  y = x + 1\n"
                    "  ```\n\n```python skip-test: needs a missing service\nraise SystemExit\n```\n"
                    "\n```sh\nexit 1\n```\n")
    found = blocks(page)
    assert [(b.line, b.info) for b in found] == [
        (4, "python"), (10, "python"), (14, "python skip-test: needs a missing service"),
        (18, "sh")]
    assert found[1].code == "y = x + 1\n"
    ran, skipped = run_page(page)
    assert ran == 2 and skipped[0].endswith(":14: needs a missing service")

    page.write_text("```python\nz = 1\n```\n\n```python\nundefined_name\n```\n")
    with pytest.raises(AssertionError, match=r"block at .*:6 failed: NameError"):
        run_page(page)
