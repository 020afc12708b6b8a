"""`python -m benchmarks` rewrites the sections it generates and keeps the ones
recorded by hand."""

from __future__ import annotations

from pathlib import Path

from benchmarks.__main__ import keep_written_by_hand, write_document

OLD = """# Benchmarks

intro, old

## Command and machine

old numbers

## Results at ensemble scale

measured by hand: 4.0 s

```console
## not a heading inside a code block
```

## Threads and Dask workers

old workers

## The explorer: slider to chart

0.11 s
"""

NEW = """# Benchmarks

intro, new

## Command and machine

new numbers

## Threads and Dask workers

new workers
"""


def test_generated_sections_are_replaced_and_hand_written_ones_kept() -> None:
    text = keep_written_by_hand(OLD, NEW)
    assert text.startswith(NEW.rstrip("\n"))
    for stale in ("old numbers", "old workers", "intro, old"):
        assert stale not in text
    assert text.count("## Results at ensemble scale") == 1
    assert "measured by hand: 4.0 s" in text
    assert "## not a heading inside a code block" in text
    assert text.index("## Results at ensemble scale") < text.index("## The explorer")
    assert text.rstrip().endswith("0.11 s")


def test_a_new_document_is_the_rendered_one(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    write_document(out, NEW)
    assert out.read_text(encoding="utf-8") == NEW.rstrip("\n") + "\n"
    write_document(out, NEW)  # idempotent
    assert out.read_text(encoding="utf-8") == NEW.rstrip("\n") + "\n"
    assert [p.name for p in tmp_path.iterdir()] == ["benchmarks.md"]


def test_the_shipped_document_keeps_its_hand_written_sections() -> None:
    shipped = (Path(__file__).parents[2] / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    generated = "# Benchmarks\n\n## Command and machine\n\nnew\n"
    text = keep_written_by_hand(shipped, generated)
    for heading in ("## Results at ensemble scale", "## Common random numbers", "## The explorer"):
        assert heading in text
