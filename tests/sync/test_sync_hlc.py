"""Hybrid logical clocks and last-writer-wins as plain functions (no database)."""
from hypothesis import given, strategies as st

from sync.hlc import HLC, MAX_DRIFT_MS, Clock, clamp, parse
from sync.merge import last_writer_wins

nodes = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.:-", min_size=1, max_size=12)
clocks = st.builds(HLC, st.integers(0, 2**48), st.integers(0, 2**20), nodes)


@given(clocks)
def test_wire_form_round_trips_and_orders_like_tuples(clock):
    assert parse(str(clock)) == clock


@given(st.lists(st.one_of(st.just(None), clocks), max_size=30), st.lists(st.integers(0, 2**45), min_size=1))
def test_clock_never_goes_backwards_whatever_the_wall_or_remote_clocks_do(events, walls):
    source, seen = iter(walls * 40), []

    def wall():
        seen.append(next(source))
        return seen[-1]

    clock = Clock("me", wall=wall)
    last = clock.last
    for remote in events:
        now = clock.tick() if remote is None else clock.receive(remote)
        assert now > last and now.node == "me"
        if remote is not None and remote.ms <= seen[-1] + MAX_DRIFT_MS:  # not clamped: ordered after it
            assert (now.ms, now.counter) > (remote.ms, remote.counter)
        last = now


def test_far_future_clock_is_clamped_to_now():
    assert clamp(HLC(10**12 + MAX_DRIFT_MS + 1, 3, "x"), 10**12) == HLC(10**12, 3, "x")
    assert clamp(HLC(10**12 + 5, 3, "x"), 10**12) == HLC(10**12 + 5, 3, "x")


@given(st.dictionaries(st.sampled_from("abc"), st.integers(0, 3)),
       st.dictionaries(st.sampled_from("abc"), st.integers(0, 3)), clocks, clocks)
def test_two_concurrent_edits_converge_in_either_order(first, second, c1, c2):
    def apply(state, clocks_, pushed, clock):
        winners, _ = last_writer_wins(state, clocks_, pushed, clock)
        return {**state, **winners}, {**clocks_, **{k: str(clock) for k in winners}}
    start, start_clocks = {"a": 0, "b": 0, "c": 0}, {}
    s1, k1 = apply(*apply(start, start_clocks, first, c1), second, c2)
    s2, k2 = apply(*apply(start, start_clocks, second, c2), first, c1)
    assert s1 == s2
