"""The hostile-input corpus, end to end: each hostile object sits in a real local S3 server (moto)
beside a good object of the same format, the stream's Dagster job loads the partition, and then:

- the run fails exactly when the hostile object could not be read (`failed`, under the default
  on_error skip_record; issue 14), its records step naming the stream, partition, key and reason;
- the good object is loaded whole (its rows staged), whatever the hostile one did;
- the hostile object's ledger row has the expected status, its error names the key (and the line
  when one is known), and each bad record is kept with its line;
- the `parse_errors` asset check fails exactly when something was not loaded cleanly, and its
  samples name the object.
"""

from __future__ import annotations

import pytest

from s3_pipelines.dagster_defs.stream_assets import records_key

from .conftest import materialization, parse_check, step_failure, today
from .corpus import CASES, GOOD_ROWS, Case, good_object


def _stream(case: Case) -> dict:
    return {"select": {"prefixes": ["in/"]}, "format": "auto", **case.stream}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_object(lake, case: Case):
    lake.configure({"s": _stream(case)})
    good_key, good_body = good_object(case.good)
    lake.put(good_key, good_body)
    lake.put(case.key, case.body)

    result = lake.run("s")
    assert result.success == (case.status != "failed"), case.id  # skipped or loaded objects do not fail it

    # the good object is untouched by its neighbour
    good = lake.row("s", good_key)
    assert (good.status, good.rows, good.bad_rows, good.error) == ("loaded", GOOD_ROWS, 0, None)
    assert lake.staged("s", good_key).num_rows == GOOD_ROWS

    row = lake.row("s", case.key)
    assert row.status == case.status, (row.status, row.error)
    if case.status == "loaded":
        assert row.error is None
        assert row.rows == case.rows
        staged = lake.staged("s", case.key)
        assert staged.num_rows == case.rows
        if case.rows:
            assert set(staged.column("_s3_key").to_pylist()) == {case.key}
        for col, values in (case.columns or {}).items():
            assert [str(v) if isinstance(values[0], str) and v is not None else v
                    for v in staged.sort_by("_s3_row").column(col).to_pylist()] == values, col
    else:
        assert not row.staged and lake.staged("s", case.key).num_rows == 0  # never partial data
        assert row.error and row.error.startswith(case.key), row.error  # names the key first
    if case.error:
        assert case.error in row.error, row.error
    if case.line is not None:
        assert f"line {case.line}" in row.error, row.error

    bad = lake.bad("s", case.key)
    if case.bad_lines:
        assert [b["line"] for b in bad][: len(case.bad_lines)] == case.bad_lines, bad
        assert row.bad_rows >= len(case.bad_lines)
        if case.bad_reason:
            assert case.bad_reason in bad[0]["reason"], bad[0]
    elif case.status == "loaded":
        assert bad == [] and row.bad_rows == 0

    # visible in Dagster: the records materialization and the parse_errors check
    passed, check_md = parse_check(result, "s")
    expected_pass = case.check if case.check is not None else (case.status == "loaded" and not case.bad_lines)
    assert passed == expected_pass, check_md
    if not passed:
        objects = [r.data["object"] for r in check_md["samples"].records]
        assert case.key in objects, objects  # the audit trail names the object
    if case.status == "failed":  # the records step failed: its Failure says what it did, in one line
        description, md = step_failure(result, records_key("s"))
        assert description.startswith(f"stream s, partition {today()}: 1 object(s) could not be read: {case.key}")
        assert " ".join(row.error.split()) in description and "\n" not in description
        assert md["objects_failed"] == 1 and check_md["failed_objects"] == 1
    else:
        md = materialization(result, records_key("s"))
    assert md["objects"] == 1 + (case.status == "loaded")  # the partition's loaded objects
