"""Reading request logs: what is refused, and with which message."""

from __future__ import annotations

import pandas as pd
import pytest

from simperf.calibrate import LogError, calibrate, read_log


def _log(**extra: list[object]) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": [0.0, 0.1, 0.2], "latency": [0.01, 0.02, 0.01], **extra})


def test_missing_column_is_named(tmp_path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("timestamp,foo\n1,2\n")
    with pytest.raises(LogError, match=r"missing column\(s\) latency \(found: timestamp, foo\)"):
        read_log(path)


def test_empty_file_is_refused(tmp_path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("")
    with pytest.raises(LogError, match="the log is empty"):
        read_log(path)


def test_bad_value_is_located() -> None:
    with pytest.raises(LogError, match="latency: row 2 is not a finite number"):
        read_log(_log().assign(latency=[0.01, "x", 0.01]))


def test_negative_duration_is_refused() -> None:
    with pytest.raises(LogError, match="time_db: durations must be >= 0"):
        read_log(_log(time_db=[0.001, -0.001, 0.001]))


def test_failed_requests_are_counted_and_left_out() -> None:
    log = read_log(_log(status=[200, 503, "ok"]))
    assert len(log) == 2
    assert log.attrs["failed"] == 1


def test_only_failures_is_refused() -> None:
    with pytest.raises(LogError, match=r"no successful request .* \(3 failed\)"):
        read_log(_log(status=[500, 500, 502]))


def test_server_side_times_are_required_to_calibrate() -> None:
    with pytest.raises(LogError, match="give time_<component> columns"):
        calibrate(_log(), predict_requests=None)


def test_unknown_base_level_is_refused() -> None:
    with pytest.raises(LogError, match="load level 7 not in the log"):
        calibrate(_log(time_app=[0.01] * 3), base=7, predict_requests=None)


def test_bad_value_row_counts_the_failed_rows_before_it() -> None:
    # row 2 failed (status 500) and is left out: the bad value is still row 3 of the log
    log = _log(status=[200, 500, 200]).assign(latency=[0.01, 0.02, "x"])
    with pytest.raises(
        LogError, match=r"latency: row 3 is not a finite number \('x'; expected seconds\)"
    ):
        read_log(log)


def test_times_with_a_unit_say_what_is_expected() -> None:
    with pytest.raises(
        LogError, match=r"latency: row 1 is not a finite number \('10ms'; expected seconds\)"
    ):
        read_log(_log().assign(latency=["10ms", 0.02, 0.01]))


def test_values_too_large_to_compute_with_are_refused() -> None:
    with pytest.raises(LogError, match=r"latency: row 2 is 1e\+300, too large"):
        read_log(_log().assign(latency=[0.01, 1e300, 0.01]))


def test_components_in_another_unit_than_the_latency_are_refused() -> None:
    # time_db in milliseconds, latency in seconds: every request's part exceeds its whole
    with pytest.raises(LogError, match=r"time_db .*exceed.* latency in 3 of 3 rows"):
        read_log(_log(time_db=[5.0, 4.0, 6.0]))


@pytest.mark.parametrize("timestamps", [[0.1], [0.1, 0.1]])
def test_a_level_sent_at_one_instant_is_refused(timestamps: list[float]) -> None:
    n = len(timestamps)
    log = pd.DataFrame({"timestamp": timestamps, "latency": [0.01] * n, "time_app": [0.005] * n})
    with pytest.raises(LogError, match="load level 0 needs requests at two distinct times"):
        calibrate(log, predict_requests=None)


@pytest.mark.parametrize("skew", [-0.005, 0.005])
def test_server_times_on_another_clock_are_refused(skew: float) -> None:
    # a server clock 5 ms ahead made held 0.912 ms of a true 0.5 (utilisation 0.719 for
    # 0.686), without a word; on one clock each handler runs between send and response
    log = _log(server_start=[0.002, 0.102, 0.202], server_end=[0.009, 0.118, 0.209])
    assert len(read_log(log)) == 3
    skewed = log.assign(server_start=log.server_start + skew, server_end=log.server_end + skew)
    with pytest.raises(LogError, match=r"in 3 of 3 rows \(by \d.* ms, median\): server times"):
        read_log(skewed)
