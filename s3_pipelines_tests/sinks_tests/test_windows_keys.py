"""Windows come from the data and align to the epoch; keys follow the template."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from s3_pipelines.sinks.s3 import DEFAULT_TEMPLATE, DestinationSpec, WindowError, parse_window, render_key, window_start
from s3_pipelines.sinks.s3.windows import record_windows, split_by_record_time

UTC = dt.timezone.utc


def test_parse_window():
    assert [parse_window(w) for w in ("30s", "1m", "5m", "1h", "1d")] == [30, 60, 300, 3600, 86400]
    assert parse_window(dt.timedelta(minutes=2)) == 120
    for bad in ("", "1", "1w", "-1m", "0m", "m"):
        with pytest.raises(ValueError):
            parse_window(bad)


def test_window_start_aligns_to_epoch_in_utc():
    t = dt.datetime(2024, 3, 5, 14, 7, 42, 123456, tzinfo=UTC)
    assert window_start(t, 60) == dt.datetime(2024, 3, 5, 14, 7, tzinfo=UTC)
    assert window_start(t, 300) == dt.datetime(2024, 3, 5, 14, 5, tzinfo=UTC)
    assert window_start(t, 86400) == dt.datetime(2024, 3, 5, tzinfo=UTC)
    other_zone = t.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert window_start(other_zone, 3600) == dt.datetime(2024, 3, 5, 14, tzinfo=UTC)


def test_default_key_is_pipedreams_layout():
    start = dt.datetime(2024, 3, 5, 4, 7, tzinfo=UTC)
    key = render_key(DEFAULT_TEMPLATE, prefix="exports/events/", start=start, content_id="ab" * 32, ext=".gz")
    assert key == f"exports/events/2024/03/05/04/2024-03-05-04-07-00-{'ab' * 16}.gz"


def test_bad_templates_are_named():
    for bad in ("{prefix}{YYYY}/{nope}", "{prefix}{id:>5}", "{prefix}{id", "/{id}"):
        with pytest.raises(ValueError, match="key_template"):
            DestinationSpec("d", "p/", key_template=bad) if bad != "/{id}" else \
                render_key(bad, prefix="", start=dt.datetime(2024, 1, 1, tzinfo=UTC), content_id="a", ext="")


@pytest.mark.parametrize("column", [
    pa.array(["2024-03-05T14:07:59Z", "2024-03-05T14:08:00.5Z", "2024-03-05 14:09:01"]),
    pa.array([dt.datetime(2024, 3, 5, 14, 7, 59), dt.datetime(2024, 3, 5, 14, 8, 0, 500000),
              dt.datetime(2024, 3, 5, 14, 9, 1)], pa.timestamp("ms")),
    pa.array([1709647679, 1709647680.5, 1709647741]),
])
def test_record_time_field_of_each_kind(column):
    batch = pa.record_batch({"ts": column, "v": [1, 2, 3]})
    starts = record_windows(batch, "ts", 60)
    base = int(dt.datetime(2024, 3, 5, 14, 7, tzinfo=UTC).timestamp())
    assert starts.tolist() == [base, base + 60, base + 120]


def test_split_keeps_row_order_within_a_window():
    batch = pa.record_batch({"ts": [0, 61, 1, 62, 2], "v": [0, 1, 2, 3, 4]})
    windows = {}
    split_by_record_time([batch], "in-1", "ts", 60, windows)
    assert {k: [b.column("v").to_pylist() for b in w.batches] for k, w in windows.items()} == {0: [[0, 2, 4]],
                                                                                              60: [[1, 3]]}
    assert windows[0].inputs == ["in-1"]


def test_missing_time_is_an_error_naming_the_record():
    batch = pa.record_batch({"ts": ["2024-03-05T14:07:59Z", None]})
    with pytest.raises(WindowError, match="in-7: record 2 has no value in time field 'ts'"):
        record_windows(batch, "ts", 60, "in-7")
    with pytest.raises(WindowError, match="no time field 'when'"):
        record_windows(batch, "when", 60)
    with pytest.raises(WindowError, match="record 1 has .yesterday. in time field .ts., not an ISO 8601 time"):
        record_windows(pa.record_batch({"ts": ["yesterday"]}), "ts", 60)
