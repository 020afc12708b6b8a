"""The explorer's progress timer sends the bars only when what they show changed."""

from __future__ import annotations

from dash import no_update

from forcegen.explore.page import ProgressRow, progress_view


def _texts(parts: list[object]) -> list[str]:
    return [str(div.children[1].children) for div in parts]  # type: ignore[attr-defined]


def test_unchanged_progress_is_not_sent_again() -> None:
    rows = [ProgressRow("now", 128, 256, None, False)]
    parts, key = progress_view(rows, None)
    assert _texts(parts) == [" ensemble (now): 128 / 256 replicates"]
    # The next tick with the same state sends nothing …
    assert progress_view(rows, key) == (no_update, no_update)
    # … and any change to what a bar shows is sent.
    for changed in (
        ProgressRow("now", 256, 256, None, False),
        ProgressRow("now", 256, 256, None, True),
        ProgressRow("now", 128, 256, "the scenario is invalid", False),
    ):
        parts2, key2 = progress_view([changed], key)
        assert parts2 is not no_update
        assert key2 != key


def test_a_baseline_row_and_a_failure_are_shown() -> None:
    rows = [
        ProgressRow("baseline", 256, 256, None, True),
        ProgressRow("now", 0, 256, "no pool left", False),
    ]
    parts, key = progress_view(rows, [rows[1].key()])
    assert _texts(parts) == [
        " ensemble (baseline): 256 / 256 replicates",
        " ensemble (now): failed: no pool left",
    ]
    assert [div.className for div in parts] == [
        "fg-progress-row fg-done",
        "fg-progress-row fg-running",
    ]
    assert key == [row.key() for row in rows]
