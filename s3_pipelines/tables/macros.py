"""Polaris (Druid SQL) time functions as DuckDB macros, so mapping expressions written for Polaris
run unchanged and vectorized. Built from DuckDB core functions only (no extension downloads).

- TIME_PARSE(expr[, pattern[, timezone]]) -> TIMESTAMPTZ; ISO-8601 without a pattern; NULL when
  the text does not parse (Druid's rule), so the row is reported as a parse exception.
- TIME_FLOOR / TIME_CEIL(expr, period[, origin[, timezone]]) with ISO-8601 periods (PT1H, P1D, P1W,
  P1M, PT15M, ...), buckets counted from 1970-01-01 (weeks from Monday 1970-01-05), as Druid does.
- TIME_FORMAT(expr[, pattern[, timezone]]) -> text; ISO-8601 with milliseconds by default.
- MILLIS_TO_TIMESTAMP(ms), TIMESTAMP_TO_MILLIS(ts).
Patterns are Joda (yyyy-MM-dd'T'HH:mm:ss.SSSZ) or, when they hold a `%`, strftime; a pattern must
be a literal (DuckDB compiles it once per query).
"""

from __future__ import annotations

import re

import duckdb

# how the docs spell each function; error messages name these, never the macros' internals
SIGNATURES = {
    "time_parse": "TIME_PARSE(expr[, pattern[, timezone]])",
    "time_floor": "TIME_FLOOR(expr, period[, origin[, timezone]])",
    "time_ceil": "TIME_CEIL(expr, period[, origin[, timezone]])",
    "time_format": "TIME_FORMAT(expr[, pattern[, timezone]])",
    "millis_to_timestamp": "MILLIS_TO_TIMESTAMP(millis)",
    "timestamp_to_millis": "TIMESTAMP_TO_MILLIS(timestamp)",
}
INTERNAL_PREFIX = "s3p_"  # the helper macros' names: not part of the expression language

# Joda token -> strftime. Longest tokens first; each token goes through a control character so a
# later rule never rewrites what an earlier one produced ("MM" -> "%m" must not meet rule "m").
_JODA = [
    ("yyyy", "%Y"), ("yy", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"), ("M", "%-m"),
    ("dd", "%d"), ("d", "%-d"), ("HH", "%H"), ("H", "%-H"), ("hh", "%I"), ("h", "%-I"),
    ("mm", "%M"), ("m", "%-M"), ("ss", "%S"), ("s", "%-S"), ("SSSSSS", "%f"), ("SSS", "%g"),
    ("a", "%p"), ("EEEE", "%A"), ("EEE", "%a"), ("ZZ", "%z"), ("Z", "%z"), ("''", ""),
]


def _joda_sql() -> str:
    expr = "p"
    for i, (joda, _) in enumerate(_JODA, start=1):
        expr = f"replace({expr}, '{joda}', chr({i}))"
    for i, (_, fmt) in enumerate(_JODA, start=1):
        expr = f"replace({expr}, chr({i}), '{fmt}')"
    return f"CASE WHEN p IS NULL THEN d WHEN contains(p, '%') THEN p ELSE {expr} END"


_PERIOD_RE = r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"


def is_period(text: str) -> bool:
    """The rule of `s3p_period`, for checking a literal period before anything runs."""
    return bool(re.fullmatch(_PERIOD_RE, text)) and text not in ("P", "PT") and not text.endswith("T")


def _group(i: int, cast: str = "BIGINT") -> str:
    return f"coalesce(nullif(regexp_extract(p, '{_PERIOD_RE}', {i}), '')::{cast}, 0)"


_PERIOD_SQL = f"""CASE
  WHEN p IS NULL THEN NULL
  WHEN p IN ('P', 'PT') OR p LIKE '%T' OR NOT regexp_full_match(p, '{_PERIOD_RE}')
    THEN error('not an ISO-8601 period: ' || p)
  ELSE to_months(12 * {_group(1)} + {_group(2)}) + to_days(7 * {_group(3)} + {_group(4)})
     + to_hours({_group(5)}) + to_minutes({_group(6)})
     + to_microseconds(CAST(round({_group(7, 'DOUBLE')} * 1000000) AS BIGINT))
END"""

_UTC = "'UTC'"
# local wall-clock time of `t` in zone `z`, bucketed, then back to an instant
_FLOOR = ("timezone(coalesce(z, 'UTC'), time_bucket(s3p_period(p), timezone(coalesce(z, 'UTC'), t::TIMESTAMPTZ),"
          " coalesce(timezone(coalesce(z, 'UTC'), o::TIMESTAMPTZ), s3p_origin(p))))")

MACROS = [
    # s3p_joda(pattern, default when the pattern is NULL) -> strftime format
    f"CREATE OR REPLACE TEMP MACRO s3p_joda(p, d) AS {_joda_sql()}",
    f"CREATE OR REPLACE TEMP MACRO s3p_period(p) AS {_PERIOD_SQL}",
    "CREATE OR REPLACE TEMP MACRO s3p_origin(p) AS "
    "CASE WHEN p LIKE '%W%' THEN TIMESTAMP '1970-01-05' ELSE TIMESTAMP '1970-01-01' END",
    "CREATE OR REPLACE TEMP MACRO s3p_floor(t, p, o, z) AS " + _FLOOR,
    # TIME_PARSE: ISO text (a zone in the text wins; none means UTC) or a Joda/strftime pattern
    "CREATE OR REPLACE TEMP MACRO time_parse(s) AS try_cast(s AS TIMESTAMPTZ),"
    " (s, p) AS CASE WHEN p IS NULL THEN try_cast(s AS TIMESTAMPTZ)"
    " ELSE try_strptime(s::VARCHAR, s3p_joda(p, NULL))::TIMESTAMPTZ END,"
    " (s, p, z) AS timezone(coalesce(z, 'UTC'), try_strptime(s::VARCHAR, s3p_joda(p, NULL))::TIMESTAMP)",
    "CREATE OR REPLACE TEMP MACRO time_floor(t, p) AS s3p_floor(t, p, NULL, NULL),"
    " (t, p, o) AS s3p_floor(t, p, o, NULL), (t, p, o, z) AS s3p_floor(t, p, o, z)",
    "CREATE OR REPLACE TEMP MACRO s3p_ceil(t, p, o, z) AS CASE WHEN s3p_floor(t, p, o, z) = t::TIMESTAMPTZ"
    " THEN t::TIMESTAMPTZ ELSE timezone(coalesce(z, 'UTC'), timezone(coalesce(z, 'UTC'), s3p_floor(t, p, o, z))"
    " + s3p_period(p)) END",
    "CREATE OR REPLACE TEMP MACRO time_ceil(t, p) AS s3p_ceil(t, p, NULL, NULL),"
    " (t, p, o) AS s3p_ceil(t, p, o, NULL), (t, p, o, z) AS s3p_ceil(t, p, o, z)",
    "CREATE OR REPLACE TEMP MACRO time_format(t) AS strftime(timezone('UTC', t::TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%gZ'),"
    " (t, p) AS strftime(timezone('UTC', t::TIMESTAMPTZ), s3p_joda(p, '%Y-%m-%dT%H:%M:%S.%gZ')),"
    " (t, p, z) AS strftime(timezone(coalesce(z, 'UTC'), t::TIMESTAMPTZ), s3p_joda(p, '%Y-%m-%dT%H:%M:%S.%g'))",
    "CREATE OR REPLACE TEMP MACRO millis_to_timestamp(ms) AS make_timestamp(CAST(ms AS BIGINT) * 1000)::TIMESTAMPTZ",
    "CREATE OR REPLACE TEMP MACRO timestamp_to_millis(t) AS epoch_ms(t::TIMESTAMPTZ)",
]


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the macros, in UTC (naive times mean UTC, as in Polaris)."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET TimeZone={_UTC}")
    if threads:
        con.execute(f"SET threads={int(threads)}")
    for sql in MACROS:
        con.execute(sql)
    return con
