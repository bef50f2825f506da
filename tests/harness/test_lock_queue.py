"""harness.lock_queue: the queue behind a held lock, counted through waiters, and when it is let go."""

from __future__ import annotations

import threading

import pytest

from harness.lock_queue import queued_behind, until_queued


def test_the_lock_is_let_go_when_all_are_queued_when_the_count_stops_moving_or_at_the_limit():
    arriving = iter([0, 0, 3, 5, 8, 8])
    queue = until_queued(lambda: next(arriving), 8, limit_s=5, steady_s=1, poll_s=0)
    assert (queue.settled, queue.last, queue.most) == (True, 8, 8)
    capped = iter([0, 2] + [2] * 10_000)      # a pool of two connections: two ever wait
    queue = until_queued(lambda: next(capped), 8, limit_s=5, steady_s=0.05, poll_s=0.001)
    assert (queue.settled, queue.last) == (True, 2)
    queue = until_queued(lambda: 0, 8, limit_s=0.05, steady_s=0.01, poll_s=0.001)
    assert (queue.settled, queue.most) == (False, 0)


@pytest.mark.slow
def test_waiters_on_a_row_are_counted_behind_the_first_one(owner_conn, fresh_database):
    """Only the first waiter on a row waits on the holder; the next ones queue behind it, and
    all of them count."""
    owner_conn.execute("create table probe_rows (id int primary key, n int)")
    owner_conn.execute("insert into probe_rows values (1, 0)")
    with fresh_database.connect_owner() as holder:
        holder.execute("select 1 from probe_rows where id = 1 for update")
        pid = holder.info.backend_pid

        def write() -> None:
            with fresh_database.connect_owner(autocommit=True) as conn:
                conn.execute("update probe_rows set n = n + 1 where id = 1")

        writers = [threading.Thread(target=write) for _ in range(3)]
        for w in writers:
            w.start()
        queue = until_queued(lambda: queued_behind(owner_conn, pid), 3, limit_s=20, steady_s=5)
        direct = owner_conn.execute("select count(*) from pg_stat_activity "
                                    "where %s = any(pg_blocking_pids(pid))", (pid,)).fetchone()[0]
        holder.rollback()
        for w in writers:
            w.join(30)
    assert (queue.settled, queue.last, direct) == (True, 3, 1)
    assert owner_conn.execute("select n from probe_rows").fetchone()[0] == 3
