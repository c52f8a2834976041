"""The watch rule (core): when a watched item counts as resolved or gone, when its metric
has passed its last peak (once per climb), and the list on disk (mode 0600, atomic, a
damaged or unwritable file never ends anything)."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from datetime import timedelta

from factories import NOW, alert, page

from oncall_tui.core import watch as w
from oncall_tui.domain import FeedClock, Series, SourceHealth


def series(*values: float, start=NOW - timedelta(minutes=30), step=timedelta(minutes=1)):
    return Series("m", tuple((start + i * step, v) for i, v in enumerate(values)), unit="s")


def after(now, *values: float):
    """Samples taken after ``now``, one a minute."""
    return series(*values, start=now + timedelta(minutes=1))


def fresh(name: str, at):
    return SourceHealth(name, last_ok=at, feeds=(FeedClock(name, at, at + timedelta(minutes=5)),))


def fmt(value: float, unit: str) -> str:
    return f"{value:g} {unit}".strip()


A = alert(1, "Checkout p99 latency")


def watched(values=(1.0, 2.3, 1.5), **kw):
    return w.start("alert:g1", A.title, [], [A], A, series(*values), NOW, **kw)


def test_watching_takes_the_graphs_peak_and_says_what_it_will_tell():
    watch = watched()
    assert watch.peak == 2.3 and watch.armed  # it has come down from 2.3
    words = w.watch_words(watch, fmt)
    assert words == (
        "Watching “Checkout p99 latency” — you'll be told when it resolves or passes 2.3 s again."
    )
    none = w.start("page:P1", "Disk full", [page("P1")], [], None, None, NOW)
    assert none.peak is None and "no metric" in w.watch_words(none, fmt)


def test_a_steady_climb_is_told_once_and_a_new_rise_again():
    items = w.WatchList(None)
    items.add(watched())
    alerts = {A.key: A}

    def check(s):
        return items.check({}, alerts, {A.key: s}, [], NOW)

    assert check(after(NOW, 2.0)) == []  # below the peak
    [event] = check(after(NOW, 2.0, 2.5))
    assert (event.kind, event.value, event.previous_peak) == ("peak", 2.5, 2.3)
    notice = w.event_notice(event, fmt)
    assert notice.kind == "watch" and notice.level == "warning"
    assert (
        notice.text == "“Checkout p99 latency” passed its last peak: now 2.5 s, the peak was 2.3 s."
    )
    assert check(after(NOW, 2.0, 2.5, 2.7)) == []  # still climbing: told once
    assert check(after(NOW, 2.0, 2.5, 2.7, 2.1)) == []  # came down
    [again] = check(after(NOW, 2.0, 2.5, 2.7, 2.1, 2.9))
    assert (again.value, again.previous_peak) == (2.9, 2.7)


def test_watched_at_its_peak_it_must_come_down_before_a_new_peak_is_told():
    items = w.WatchList(None)
    items.add(watched((1.0, 2.3)))  # at its peak now
    assert not items.items["alert:g1"].armed
    assert w.watch_words(items.items["alert:g1"], fmt).endswith(
        "you'll be told when it resolves, or when it comes down and then passes its peak "
        "(2.3 s now)."
    )
    assert items.check({}, {A.key: A}, {A.key: after(NOW, 2.4)}, [], NOW) == []
    assert items.items["alert:g1"].peak == 2.4


def test_resolved_when_every_item_is_closed():
    p = page("P1")
    items = w.WatchList(None)
    items.add(w.start("page:P1", "Disk full", [p], [], None, None, NOW))
    assert items.check({"P1": p}, {}, {}, [], NOW) == []
    [event] = items.check({"P1": replace(p, status="resolved")}, {}, {}, [], NOW)
    assert event.kind == "resolved" and not items.items
    assert w.event_notice(event, fmt).text == "“Disk full” has resolved. It is no longer watched."


def test_gone_only_when_its_source_answered_since_it_was_last_seen():
    items = w.WatchList(None)
    items.add(watched())
    later = NOW + timedelta(minutes=1)
    # Not listed, but grafana has not answered since: nothing is concluded.
    assert items.check({}, {}, {}, [fresh("grafana:prod", NOW)], later) == []
    # From the last run's cache: nothing either.
    assert items.check({}, {}, {}, [fresh("grafana:prod", later)], later, cached=True) == []
    [event] = items.check({}, {}, {}, [fresh("grafana:prod", later)], later)
    assert event.kind == "gone"
    text = w.event_notice(event, fmt).text
    assert text == (
        "“Checkout p99 latency” is no longer listed by grafana:prod (resolved, or removed "
        "there). It is no longer watched."
    )


def test_a_stale_source_proves_nothing():
    items = w.WatchList(None)
    items.add(watched())
    much_later = NOW + timedelta(minutes=30)
    stale = fresh("grafana:prod", NOW + timedelta(seconds=1))
    assert items.check({}, {}, {}, [stale], much_later) == []


def test_the_list_is_kept_in_a_private_file_written_atomically(tmp_path):
    path = tmp_path / "data" / "watched.json"
    items = w.WatchList.load(path)
    assert items.add(watched())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name != "watched.json"]  # no temp left
    again = w.WatchList.load(path)
    assert again.items == items.items
    again.remove(again.items["alert:g1"])
    assert json.loads(path.read_text())["watched"] == []


def test_a_damaged_or_unwritable_file_never_ends_anything(tmp_path):
    path = tmp_path / "watched.json"
    path.write_text("{not json")
    items = w.WatchList.load(path)
    assert items.items == {} and "could not be read" in items.problem
    path.write_text(json.dumps({"watched": [{"key": "x"}, 5, {"key": "y", "since": "soon"}]}))
    assert w.WatchList.load(path).items == {}
    blocker = tmp_path / "a-file"  # where the data directory should be: nothing can be written
    blocker.write_text("")
    stuck = w.WatchList.load(blocker / "watched.json")
    assert stuck.add(watched())  # watched for this session
    assert "could not be saved" in stuck.problem and not stuck.save()


def test_a_row_is_watched_by_its_key_or_by_its_items():
    items = w.WatchList(None)
    items.add(watched())

    class Row:
        def __init__(self, key, page_ids=(), alert_keys=()):
            self.key, self.page_ids, self.alert_keys = key, page_ids, alert_keys

    rows = [Row("alert:g1"), Row("page:P9", ("P9",), (A.key,)), Row("alert:other")]
    assert [r.key for r in rows if items.watches(r)] == ["alert:g1", "page:P9"]
    items.remove(items.items["alert:g1"])
    assert not any(items.watches(r) for r in rows)


def test_a_list_kept_for_another_configuration_or_demo_run_is_not_read(tmp_path):
    path = tmp_path / "watched.json"
    mine = w.WatchList.load(path, "https://api.incident.io|me@example.com")
    assert mine.add(watched())
    assert w.WatchList.load(path, "https://api.incident.io|me@example.com").items == mine.items
    # Another run of the demo world (or another configuration): its items would all look gone.
    assert w.WatchList.load(path, "demo:another-run").items == {}
