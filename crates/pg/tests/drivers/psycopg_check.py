#!/usr/bin/env python3
"""Driver conformance check for the Airlock PostgreSQL gateway, using psycopg 3.

Runs a series of checks against the endpoint given by the libpq conninfo string
in the environment variable DSN, printing one line per check:

    ok   name
    FAIL name: why

and a closing summary line ("psycopg: N passed, N failed, N skipped").  Exits 0
only when every check that ran passed, 1 otherwise.

Checks 1-10 work against plain PostgreSQL and against the gateway.  The
gateway-only checks (refused/held statements answered with SQLSTATE 42501) run
only when EXPECT_GATEWAY=1.

Tables are named psy_items_<random hex> and are never dropped (through the
gateway DROP TABLE is held for approval).

Requires: pip install "psycopg[binary]"   (tested with psycopg 3.3.9)
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
import time
import traceback

try:
    import psycopg
    from psycopg import errors, pq
    from psycopg.types.json import Jsonb
except Exception as exc:  # pragma: no cover - environment problem
    print(f"FAIL import: cannot import psycopg: {exc}", flush=True)
    sys.exit(1)


DSN = os.environ.get("DSN", "")
EXPECT_GATEWAY = os.environ.get("EXPECT_GATEWAY") == "1"
VERBOSE = os.environ.get("PSY_VERBOSE") == "1"

SUFFIX = secrets.token_hex(4)
TABLE = f"psy_items_{SUFFIX}"

# id ranges used in TABLE by the different checks
SPECIAL_IDS = (1, 2, 3)          # check 2/3: hand-made rows
MANY_BASE, MANY_N = 1000, 1000   # check 2: executemany
PREP_BASE, PREP_N = 5000, 10     # check 2: prepare=True
TX_BASE = 7000                   # check 4: transactions
PIPE_BASE = 8000                 # check 10: pipeline
COPY_BASE, COPY_N = 100000, 10000  # check 5: COPY FROM STDIN

BIG_N = 200000


class CheckFailed(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise CheckFailed(why)


def expect_eq(got, want, what):
    if got != want:
        g, w = repr(got), repr(want)
        if len(g) > 200:
            g = g[:200] + "..."
        if len(w) > 200:
            w = w[:200] + "..."
        raise CheckFailed(f"{what}: got {g}, want {w}")


def connect(**kwargs):
    """A new autocommit connection to DSN."""
    kwargs.setdefault("autocommit", True)
    kwargs.setdefault("connect_timeout", 10)
    return psycopg.connect(DSN, **kwargs)


def one(conn, query, params=None):
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise CheckFailed(f"no row from {query!r}")
    return row[0]


def table_count(conn, where="true", params=None):
    return one(conn, f"SELECT count(*) FROM {TABLE} WHERE {where}", params)


def expect_raises(exc_type, fn, what):
    """Run fn(); it must raise exc_type. Returns the exception."""
    try:
        fn()
    except exc_type as ex:
        return ex
    except Exception as ex:
        raise CheckFailed(
            f"{what}: expected {exc_type.__name__}, got "
            f"{type(ex).__name__} (sqlstate {getattr(ex, 'sqlstate', None)}): {ex}"
        )
    raise CheckFailed(f"{what}: expected {exc_type.__name__}, nothing was raised")


# --------------------------------------------------------------------------
# 1. connect


def check_connect():
    with connect() as conn:
        expect_eq(one(conn, "SELECT 1"), 1, "SELECT 1")
        ver = conn.info.server_version
        expect(isinstance(ver, int) and ver >= 90000, f"server_version {ver!r}")
        sv = conn.info.parameter_status("server_version")
        expect(sv, f"server_version parameter status is {sv!r}")
        shown = one(conn, "SHOW server_version")
        expect(isinstance(shown, str) and shown, f"SHOW server_version gave {shown!r}")
        enc = conn.info.parameter_status("client_encoding")
        expect_eq(enc, "UTF8", "client_encoding")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE, "tx status")


# --------------------------------------------------------------------------
# 2. create, parameterized inserts, executemany, prepared statements

ALL_BYTES = bytes(range(256))
UNICODE_NAME = "héllo wörld — 日本語 🚀 \"quoted\" 'single' \\back\\ tab\there\nnewline"
TAGS = ["a", "b c", None, 'd"e', "quote's", "", "{braces}", "comma,sep", "ü"]
DOC = {
    "s": "unicode ✓ \"q\"",
    "n": 42,
    "f": 1.5,
    "neg": -7,
    "t": True,
    "f2": False,
    "null": None,
    "arr": [1, "two", None, {"x": []}],
    "nested": {"deep": {"deeper": ["ok"]}},
}


def check_create_insert():
    with connect() as conn:
        conn.execute(
            f"CREATE TABLE {TABLE} (id int primary key, name text, data bytea, "
            f"tags text[], doc jsonb)"
        )
        cur = conn.cursor()
        ins = f"INSERT INTO {TABLE} (id, name, data, tags, doc) VALUES (%s, %s, %s, %s, %s)"
        cur.execute(ins, (1, UNICODE_NAME, ALL_BYTES, TAGS, Jsonb(DOC)))
        expect_eq(cur.rowcount, 1, "rowcount of insert 1")
        cur.execute(ins, (2, None, None, None, None))
        # empty values (not NULL)
        cur.execute(ins, (3, "", b"", [], Jsonb({})))

        # executemany of 1000 rows
        rows = [
            (MANY_BASE + i, f"many-{i}", bytes([i % 256]) * (i % 7), [str(i), "x"], Jsonb({"i": i}))
            for i in range(MANY_N)
        ]
        cur.executemany(ins, rows)
        expect_eq(
            table_count(conn, "id >= %s AND id < %s", (MANY_BASE, MANY_BASE + MANY_N)),
            MANY_N,
            "rows after executemany",
        )
        expect_eq(
            one(conn, f"SELECT sum(id) FROM {TABLE} WHERE id >= %s AND id < %s",
                (MANY_BASE, MANY_BASE + MANY_N)),
            sum(MANY_BASE + i for i in range(MANY_N)),
            "sum(id) after executemany",
        )

        # default prepare_threshold is 5
        expect_eq(conn.prepare_threshold, 5, "default prepare_threshold")

        # explicit server-side prepared statement, executed 10 times
        prep = f"INSERT INTO {TABLE} (id, name) VALUES (%s, %s)"
        for i in range(PREP_N):
            cur.execute(prep, (PREP_BASE + i, f"prep-{i}"), prepare=True)
            expect_eq(cur.rowcount, 1, f"rowcount of prepared insert {i}")
        expect_eq(
            table_count(conn, "id >= %s AND id < %s", (PREP_BASE, PREP_BASE + PREP_N)),
            PREP_N,
            "rows after prepared inserts",
        )
        prepared = [
            r[0]
            for r in conn.execute(
                "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                (f"%{TABLE}%",),
            ).fetchall()
        ]
        expect(
            any(s.startswith(f"INSERT INTO {TABLE} (id, name) VALUES ($1, $2)") for s in prepared),
            f"prepare=True statement not in pg_prepared_statements: {prepared!r}",
        )

        # automatic preparation after prepare_threshold executions
        sel = f"SELECT name FROM {TABLE} WHERE id = %s AND id > -1"
        for i in range(conn.prepare_threshold + 2):
            expect_eq(one(conn, sel, (PREP_BASE + i,)), f"prep-{i}", "auto-prepared select")
        auto = one(
            conn,
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            (f"%{TABLE} WHERE id = $1 AND id > -1%",),
        )
        expect_eq(auto, 1, "statement auto-prepared after prepare_threshold uses")

        # prepare=False never prepares; prepare_threshold=None disables
        never = f"SELECT name FROM {TABLE} WHERE id = %s AND id > -2"
        for i in range(8):
            cur.execute(never, (PREP_BASE,), prepare=False)
            expect_eq(cur.fetchone(), ("prep-0",), "prepare=False select")
        conn.prepare_threshold = None
        never2 = f"SELECT name FROM {TABLE} WHERE id = %s AND id > -3"
        for i in range(8):
            expect_eq(one(conn, never2, (PREP_BASE,)), "prep-0", "threshold=None select")
        conn.prepare_threshold = 5
        n = one(
            conn,
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s "
            "OR statement LIKE %s",
            (f"%{TABLE} WHERE id = $1 AND id > -2%", f"%{TABLE} WHERE id = $1 AND id > -3%"),
        )
        expect_eq(n, 0, "statements that must not be prepared")

        # prepare_threshold=0: prepare on first use
        conn.prepare_threshold = 0
        first = f"SELECT name FROM {TABLE} WHERE id = %s AND id > -4"
        expect_eq(one(conn, first, (PREP_BASE + 1,)), "prep-1", "threshold=0 select")
        n = one(
            conn,
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            (f"%{TABLE} WHERE id = $1 AND id > -4%",),
        )
        expect_eq(n, 1, "statement prepared on first use with threshold=0")


# --------------------------------------------------------------------------
# 3. read back


def check_read_back():
    with connect() as conn:
        q = f"SELECT id, name, data, tags, doc FROM {TABLE} WHERE id = %s"
        for binary in (False, True):
            fmt = "binary" if binary else "text"
            cur = conn.cursor(binary=binary)
            cur.execute(q, (1,))
            row = cur.fetchone()
            expect(row is not None, f"{fmt}: row 1 missing")
            expect_eq(row[0], 1, f"{fmt}: id")
            expect_eq(row[1], UNICODE_NAME, f"{fmt}: unicode name")
            expect_eq(bytes(row[2]), ALL_BYTES, f"{fmt}: bytea with all 256 byte values")
            expect_eq(row[3], TAGS, f"{fmt}: text[]")
            expect_eq(row[4], DOC, f"{fmt}: jsonb")

            cur.execute(q, (2,))
            expect_eq(cur.fetchone(), (2, None, None, None, None), f"{fmt}: NULL row")

            cur.execute(q, (3,))
            row = cur.fetchone()
            expect_eq((row[0], row[1], bytes(row[2]), row[3], row[4]), (3, "", b"", [], {}),
                      f"{fmt}: empty-values row")

            # a parameter that is itself bytea / array / unicode / NULL
            cur.execute(
                f"SELECT id FROM {TABLE} WHERE data = %s AND name = %s AND tags = %s "
                f"AND doc = %s",
                (ALL_BYTES, UNICODE_NAME, TAGS, Jsonb(DOC)),
            )
            expect_eq(cur.fetchall(), [(1,)], f"{fmt}: lookup by bytea/text/array/jsonb params")
            cur.execute("SELECT %s::text IS NULL, %s::int", (None, 7))
            expect_eq(cur.fetchone(), (True, 7), f"{fmt}: NULL parameter")

            # executemany rows
            cur.execute(
                f"SELECT id, name, data, tags, doc FROM {TABLE} WHERE id >= %s AND id < %s "
                f"ORDER BY id",
                (MANY_BASE, MANY_BASE + MANY_N),
            )
            rows = cur.fetchall()
            expect_eq(len(rows), MANY_N, f"{fmt}: executemany row count")
            for i, r in enumerate(rows):
                want = (MANY_BASE + i, f"many-{i}", bytes([i % 256]) * (i % 7), [str(i), "x"], {"i": i})
                got = (r[0], r[1], bytes(r[2]), r[3], r[4])
                expect_eq(got, want, f"{fmt}: executemany row {i}")

        # types round-trip via parameters
        row = conn.execute(
            "SELECT %s::int8, %s::float8, %s::bool, %s::numeric, %s::text",
            (2**62, 0.25, False, 12345678901234567890, "ß"),
        ).fetchone()
        from decimal import Decimal

        expect_eq(row, (2**62, 0.25, False, Decimal(12345678901234567890), "ß"), "scalar types")


# --------------------------------------------------------------------------
# 4. transactions


class Boom(Exception):
    pass


def check_transactions():
    with connect() as conn, connect() as other:
        ins = f"INSERT INTO {TABLE} (id, name) VALUES (%s, %s)"
        ids = lambda c: [r[0] for r in c.execute(  # noqa: E731
            f"SELECT id FROM {TABLE} WHERE id >= %s AND id < %s ORDER BY id",
            (TX_BASE, TX_BASE + 100)).fetchall()]

        # commit
        with conn.transaction():
            conn.execute(ins, (TX_BASE + 0, "committed"))
            expect_eq(conn.info.transaction_status, pq.TransactionStatus.INTRANS, "status in tx")
            expect_eq(ids(other), [], "uncommitted row visible to another session")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE, "status after commit")
        expect_eq(ids(other), [TX_BASE + 0], "committed row seen by another session")

        # rollback by exception
        try:
            with conn.transaction():
                conn.execute(ins, (TX_BASE + 1, "rolled back"))
                raise Boom()
        except Boom:
            pass
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE, "status after rollback")
        expect_eq(ids(other), [TX_BASE + 0], "row left by rolled-back transaction")

        # explicit psycopg.Rollback
        with conn.transaction():
            conn.execute(ins, (TX_BASE + 2, "rolled back too"))
            raise psycopg.Rollback()
        expect_eq(ids(conn), [TX_BASE + 0], "row left after psycopg.Rollback")

        # savepoints: inner block rolled back, outer committed
        with conn.transaction():
            conn.execute(ins, (TX_BASE + 10, "outer"))
            try:
                with conn.transaction():
                    conn.execute(ins, (TX_BASE + 11, "inner, rolled back"))
                    raise Boom()
            except Boom:
                pass
            with conn.transaction():
                conn.execute(ins, (TX_BASE + 12, "inner, kept"))
                with conn.transaction():
                    conn.execute(ins, (TX_BASE + 13, "inner inner, kept"))
            # an SQL error inside a savepoint is recovered by rolling back to it
            try:
                with conn.transaction():
                    conn.execute(ins, (TX_BASE + 10, "duplicate key"))
            except errors.UniqueViolation:
                pass
            else:
                raise CheckFailed("duplicate key in savepoint did not raise UniqueViolation")
            expect_eq(conn.info.transaction_status, pq.TransactionStatus.INTRANS,
                      "status after savepoint rolled back")
            conn.execute(ins, (TX_BASE + 14, "after failed savepoint"))
        expect_eq(ids(other), [TX_BASE + 0, TX_BASE + 10, TX_BASE + 12, TX_BASE + 13, TX_BASE + 14],
                  "rows after savepoint transaction")

        # whole outer transaction rolled back including released savepoints
        try:
            with conn.transaction():
                conn.execute(ins, (TX_BASE + 20, "outer, rolled back"))
                with conn.transaction():
                    conn.execute(ins, (TX_BASE + 21, "released, then rolled back"))
                raise Boom()
        except Boom:
            pass
        expect_eq(ids(other), [TX_BASE + 0, TX_BASE + 10, TX_BASE + 12, TX_BASE + 13, TX_BASE + 14],
                  "rows after outer rollback")

    # non-autocommit connection: implicit BEGIN, commit() / rollback()
    with connect(autocommit=False) as conn:
        conn.execute(ins, (TX_BASE + 30, "implicit tx, rolled back"))
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.INTRANS, "implicit tx status")
        conn.rollback()
        conn.execute(ins, (TX_BASE + 31, "implicit tx, committed"))
        conn.commit()
        expect_eq(table_count(conn, "id IN (%s, %s)", (TX_BASE + 30, TX_BASE + 31)), 1,
                  "rows after implicit rollback/commit")
        conn.rollback()


# --------------------------------------------------------------------------
# 5. COPY


def copy_name(i):
    if i % 1000 == 7:
        return None
    if i % 1000 == 8:
        return f"tab\there\nnewline\\backslash ü {i}"
    return f"copy-{i}"


def check_copy():
    with connect() as conn:
        cur = conn.cursor()
        with cur.copy(f"COPY {TABLE} (id, name) FROM STDIN") as copy:
            for i in range(COPY_N):
                copy.write_row((COPY_BASE + i, copy_name(i)))
        expect_eq(cur.rowcount, COPY_N, "COPY FROM rowcount")
        expect_eq(
            table_count(conn, "id >= %s AND id < %s", (COPY_BASE, COPY_BASE + COPY_N)),
            COPY_N,
            "rows after COPY FROM",
        )

        want = [(COPY_BASE + i, copy_name(i)) for i in range(COPY_N)]
        src = (f"(SELECT id, name FROM {TABLE} WHERE id >= {COPY_BASE} "
               f"AND id < {COPY_BASE + COPY_N} ORDER BY id)")

        # text COPY TO STDOUT, raw data
        buf = bytearray()
        with cur.copy(f"COPY {src} TO STDOUT") as copy:
            for data in copy:
                buf += data
        lines = bytes(buf).decode().split("\n")
        expect_eq(lines[-1], "", "COPY TO output ends with newline")
        lines = lines[:-1]
        expect_eq(len(lines), COPY_N, "COPY TO STDOUT line count")
        expect_eq(lines[0], f"{COPY_BASE}\tcopy-0", "first COPY TO line")
        expect_eq(lines[7], f"{COPY_BASE + 7}\t\\N", "COPY TO NULL line")
        expect_eq(lines[8], f"{COPY_BASE + 8}\ttab\\there\\nnewline\\\\backslash ü 8",
                  "COPY TO escaped line")
        expect_eq(cur.rowcount, COPY_N, "COPY TO rowcount")

        # text COPY TO STDOUT, parsed rows
        with cur.copy(f"COPY {src} TO STDOUT") as copy:
            copy.set_types(["int4", "text"])
            got = list(copy.rows())
        expect_eq(len(got), COPY_N, "COPY TO rows() count")
        expect(got == want, "COPY TO rows() content differs from what was copied in")

        # binary COPY TO STDOUT
        with cur.copy(f"COPY {src} TO STDOUT (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text"])
            got = list(copy.rows())
        expect_eq(len(got), COPY_N, "binary COPY TO row count")
        expect(got == want, "binary COPY TO content differs from what was copied in")

        # binary COPY TO of the bytea/array/jsonb row
        with cur.copy(
            f"COPY (SELECT id, data, tags, doc FROM {TABLE} WHERE id = 1) TO STDOUT (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int4", "bytea", "text[]", "jsonb"])
            got = list(copy.rows())
        expect_eq(len(got), 1, "binary COPY TO of row 1")
        expect_eq((got[0][0], bytes(got[0][1]), got[0][2], got[0][3]), (1, ALL_BYTES, TAGS, DOC),
                  "binary COPY TO of bytea/text[]/jsonb")

        # the session is still fine
        expect_eq(one(conn, "SELECT 1"), 1, "SELECT 1 after COPY")


# --------------------------------------------------------------------------
# 6. large result

BIG_Q = "SELECT g, repeat('x', 100) FROM generate_series(1, %s) g" % BIG_N
BIG_SUM = BIG_N * (BIG_N + 1) // 2
X100 = "x" * 100


def check_large_result():
    with connect() as conn:
        # server-side cursor (DECLARE/FETCH) needs a transaction
        with conn.transaction():
            with conn.cursor(name=f"psy_big_{SUFFIX}") as cur:
                cur.itersize = 5000
                cur.execute(BIG_Q)
                n = s = 0
                for g, x in cur:
                    n += 1
                    s += g
                    if x != X100:
                        raise CheckFailed(f"server-side cursor: bad value at row {n}")
        expect_eq((n, s), (BIG_N, BIG_SUM), "server-side cursor rows (count, sum)")

        # client cursor, everything fetched at once
        cur = conn.cursor()
        cur.execute(BIG_Q)
        expect_eq(cur.rowcount, BIG_N, "client cursor rowcount")
        rows = cur.fetchall()
        expect_eq(len(rows), BIG_N, "client cursor fetchall length")
        expect_eq(sum(r[0] for r in rows), BIG_SUM, "client cursor sum")
        expect(all(r[1] == X100 for r in rows), "client cursor: bad repeat() value")
        del rows

        # client cursor streaming (libpq single-row / chunked mode)
        n = s = 0
        for g, x in cur.stream(BIG_Q):
            n += 1
            s += g
        expect_eq((n, s), (BIG_N, BIG_SUM), "cursor.stream rows (count, sum)")
        expect_eq(one(conn, "SELECT 1"), 1, "SELECT 1 after large results")


# --------------------------------------------------------------------------
# 7. cancel


def run_cancel(conn, how):
    def do_cancel():
        time.sleep(0.5)
        try:
            if how == "cancel_safe":
                conn.cancel_safe(timeout=10)
            else:
                conn.cancel()
        except Exception as ex:  # reported through the main thread's result
            errs.append(ex)

    errs = []
    t = threading.Thread(target=do_cancel, daemon=True)
    t0 = time.monotonic()
    t.start()
    try:
        conn.execute("SELECT pg_sleep(30)")
    except errors.QueryCanceled:
        pass
    except Exception as ex:
        raise CheckFailed(f"{how}: expected QueryCanceled, got {type(ex).__name__}: {ex}")
    else:
        raise CheckFailed(f"{how}: pg_sleep(30) was not cancelled")
    elapsed = time.monotonic() - t0
    t.join(10)
    if errs:
        raise CheckFailed(f"{how} raised {type(errs[0]).__name__}: {errs[0]}")
    expect(elapsed < 10, f"{how}: cancellation took {elapsed:.1f}s")
    expect_eq(one(conn, "SELECT 1"), 1, f"SELECT 1 after {how}")


def check_cancel():
    with connect() as conn:
        # cancel_safe: libpq >= 17 PQcancelCreate/PQcancelBlocking path
        run_cancel(conn, "cancel_safe")
        # cancel: classic PQcancel path
        run_cancel(conn, "cancel")
        # cancel inside an explicit transaction: the transaction goes to the
        # failed state (25P02 for the next statement) until ROLLBACK
        conn.execute("BEGIN")
        errs = []

        def later_cancel():
            try:
                conn.cancel_safe(timeout=10)
            except Exception as ex:
                errs.append(ex)

        t = threading.Timer(0.5, later_cancel)
        t.daemon = True
        t.start()
        expect_raises(errors.QueryCanceled, lambda: conn.execute("SELECT pg_sleep(30)"),
                      "cancel in transaction")
        t.join(10)
        if errs:
            raise CheckFailed(f"cancel_safe in transaction raised {type(errs[0]).__name__}: {errs[0]}")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.INERROR,
                  "status after cancel in transaction")
        expect_raises(errors.InFailedSqlTransaction, lambda: conn.execute("SELECT 1"),
                      "statement after cancel in transaction")
        conn.execute("ROLLBACK")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE,
                  "status after ROLLBACK of cancelled transaction")
        expect_eq(one(conn, "SELECT 1"), 1, "SELECT 1 after cancelled transaction")


# --------------------------------------------------------------------------
# 8. LISTEN/NOTIFY


def check_listen_notify():
    chan = f"psy_chan_{SUFFIX}"
    with connect() as a, connect() as b:
        a.execute(f"LISTEN {chan}")
        b.execute(f"NOTIFY {chan}, 'hello from b'")
        got = list(a.notifies(timeout=5, stop_after=1))
        expect(got, "no notification received within 5s (notifies())")
        expect_eq((got[0].channel, got[0].payload), (chan, "hello from b"), "notification")
        expect(isinstance(got[0].pid, int), f"notification pid {got[0].pid!r}")

        # pg_notify with a parameterized payload, picked up by notifies()
        b.execute("SELECT pg_notify(%s, %s)", (chan, "payload ✓ 2"))
        got = list(a.notifies(timeout=5, stop_after=1))
        expect_eq([(n.channel, n.payload) for n in got], [(chan, "payload ✓ 2")],
                  "pg_notify notification")

    # notify handler, delivered while running another statement
    with connect() as a, connect() as b:
        received = []
        a.add_notify_handler(lambda n: received.append((n.channel, n.payload)))
        a.execute(f"LISTEN {chan}")
        b.execute(f"NOTIFY {chan}, 'third'")
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            a.execute("SELECT 1")
            if not received:
                time.sleep(0.05)
        expect_eq(received, [(chan, "third")], "notification via handler after SELECT 1")
        a.execute(f"UNLISTEN {chan}")


# --------------------------------------------------------------------------
# 9. NOTICE


def check_notice():
    with connect() as conn:
        notices = []
        conn.add_notice_handler(lambda d: notices.append((d.severity, d.message_primary)))
        if EXPECT_GATEWAY:
            # The gateway holds DO blocks (procedural code it cannot judge); the server's own
            # notice for an existing table is an ordinary write in a non-production environment.
            conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id int)")
            expect_eq(notices, [("NOTICE", f'relation "{TABLE}" already exists, skipping')], "notices received")
        else:
            conn.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$")
            expect_eq(notices, [("NOTICE", "hello 42")], "notices received")
        expect_eq(one(conn, "SELECT 1"), 1, "SELECT 1 after notice")


# --------------------------------------------------------------------------
# 10. pipeline mode


def check_pipeline():
    with connect() as conn:
        ins = f"INSERT INTO {TABLE} (id, name) VALUES (%s, %s)"
        with conn.pipeline() as p:
            c1 = conn.execute("SELECT %s::int + 1", (41,))
            c2 = conn.execute("SELECT %s::text || '!'", ("hi",))
            c3 = conn.cursor()
            c3.executemany(ins, [(PIPE_BASE + i, f"pipe-{i}") for i in range(20)])
            c4 = conn.execute(
                f"SELECT count(*), min(name), max(id) FROM {TABLE} WHERE id >= %s AND id < %s",
                (PIPE_BASE, PIPE_BASE + 100),
            )
            c5 = conn.execute(f"SELECT name FROM {TABLE} WHERE id = %s", (1,), prepare=True)
            p.sync()
            c6 = conn.execute("SELECT generate_series(1, 3)")
        expect_eq(c1.fetchone(), (42,), "pipeline result 1")
        expect_eq(c2.fetchone(), ("hi!",), "pipeline result 2")
        expect_eq(c4.fetchone(), (20, "pipe-0", PIPE_BASE + 19), "pipeline result 4")
        expect_eq(c5.fetchone(), (UNICODE_NAME,), "pipeline result 5 (prepared)")
        expect_eq(c6.fetchall(), [(1,), (2,), (3,)], "pipeline result 6")

        # pipeline in a transaction
        with conn.pipeline():
            with conn.transaction():
                conn.execute(ins, (PIPE_BASE + 50, "pipe-tx"))
                c = conn.execute(f"SELECT name FROM {TABLE} WHERE id = %s", (PIPE_BASE + 50,))
        expect_eq(c.fetchone(), ("pipe-tx",), "pipeline transaction result")

        # an error inside a pipeline is raised and the session recovers
        try:
            with conn.pipeline():
                conn.execute("SELECT 1")
                conn.execute("SELECT 1 / %s", (0,))
                conn.execute("SELECT 2")
        except errors.DivisionByZero:
            pass
        else:
            raise CheckFailed("division by zero in pipeline was not raised")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE,
                  "status after pipeline error")
        with conn.pipeline():
            c = conn.execute("SELECT %s::int", (3,))
        expect_eq(c.fetchone(), (3,), "pipeline after error")
        expect_eq(one(conn, "SELECT 1"), 1, "SELECT 1 after pipelines")


# --------------------------------------------------------------------------
# 11. gateway-only: refused / held statements


def expect_42501(fn, what, mention=None):
    ex = expect_raises(errors.InsufficientPrivilege, fn, what)
    expect_eq(ex.sqlstate, "42501", f"{what}: sqlstate")
    msg = ex.diag.message_primary or ""
    expect(msg, f"{what}: empty error message")
    if mention:
        full = " ".join(filter(None, [msg, ex.diag.message_detail, ex.diag.message_hint]))
        expect(mention in full, f"{what}: message does not mention {mention!r}: {full!r}")
    return ex


def check_gateway_refusals():
    with connect() as conn:
        before = table_count(conn)
        expect(before > 0, "table is empty before refusal checks")

        # (a) DROP TABLE is held
        expect_42501(lambda: conn.execute(f"DROP TABLE {TABLE}"), "(a) DROP TABLE",
                     mention="airlock approve")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE, "(a) status")
        expect_eq(one(conn, "SELECT to_regclass(%s)::text", (TABLE,)), TABLE,
                  "(a) table exists after held DROP")
        expect_eq(one(conn, "SELECT 1"), 1, "(a) SELECT 1 after held DROP")

        # (b) refusal inside an explicit transaction
        conn.execute("BEGIN")
        conn.execute(f"SELECT count(*) FROM {TABLE}")
        expect_42501(lambda: conn.execute(f"DELETE FROM {TABLE}"), "(b) DELETE without WHERE")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.INERROR,
                  "(b) status after refusal in transaction")
        ex = expect_raises(errors.InFailedSqlTransaction, lambda: conn.execute("SELECT 1"),
                           "(b) next statement in failed transaction")
        expect_eq(ex.sqlstate, "25P02", "(b) sqlstate of next statement")
        conn.execute("ROLLBACK")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE, "(b) status after ROLLBACK")
        expect_eq(table_count(conn), before, "(b) rows after refused DELETE")

        # (b') same through psycopg's transaction block (implicit ROLLBACK on exit)
        try:
            with conn.transaction():
                conn.execute(f"DELETE FROM {TABLE}")
        except errors.InsufficientPrivilege:
            pass
        else:
            raise CheckFailed("(b') DELETE without WHERE in transaction() was not refused")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE, "(b') status")
        expect_eq(table_count(conn), before, "(b') rows after refused DELETE")

        # (c) refusal of a parameterized (extended protocol) statement
        cur = conn.cursor()
        expect_42501(lambda: cur.execute(f"DELETE FROM {TABLE} WHERE id > %s OR true", (1,)),
                     "(c) parameterized DELETE")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE, "(c) status")
        expect_eq(one(conn, "SELECT 1"), 1, "(c) SELECT 1 after parameterized refusal")
        # ... and as an explicit named prepared statement
        expect_42501(
            lambda: cur.execute(f"DELETE FROM {TABLE} WHERE id > %s OR true", (1,), prepare=True),
            "(c) prepared DELETE",
        )
        expect_eq(one(conn, "SELECT %s::int", (5,)), 5, "(c) parameterized SELECT after refusal")
        cur.execute(f"SELECT name FROM {TABLE} WHERE id = %s", (1,), prepare=True)
        expect_eq(cur.fetchone(), (UNICODE_NAME,), "(c) prepared SELECT after refusal")
        expect_eq(table_count(conn), before, "(c) rows after refused DELETE")

        # (c') refusal inside a pipeline: raised, session recovers
        try:
            with conn.pipeline():
                conn.execute("SELECT 1")
                conn.execute(f"DELETE FROM {TABLE} WHERE id > %s OR true", (1,))
                conn.execute("SELECT 2")
        except errors.InsufficientPrivilege:
            pass
        else:
            raise CheckFailed("(c') DELETE in pipeline was not refused")
        expect_eq(one(conn, "SELECT 1"), 1, "(c') SELECT 1 after refusal in pipeline")
        expect_eq(table_count(conn), before, "(c') rows after refused DELETE")


# --------------------------------------------------------------------------

CHECKS = [
    ("connect", check_connect, 60),
    ("create_insert_prepare", check_create_insert, 120),
    ("read_back", check_read_back, 60),
    ("transactions", check_transactions, 60),
    ("copy", check_copy, 120),
    ("large_result", check_large_result, 300),
    ("cancel", check_cancel, 120),
    ("listen_notify", check_listen_notify, 60),
    ("notice", check_notice, 60),
    ("pipeline", check_pipeline, 60),
    ("gateway_refusals", check_gateway_refusals, 120),
]


def one_line(s):
    return " ".join(str(s).split())


def main():
    if not DSN:
        print("FAIL setup: environment variable DSN is not set", flush=True)
        return 1
    if not VERBOSE:
        # psycopg logs "error ignored terminating <Pipeline>: pipeline aborted"
        # when an error raised inside a pipeline block (expected in the
        # pipeline checks) is followed by the aborted-pipeline error on exit.
        plog = logging.getLogger("psycopg")
        plog.addHandler(logging.NullHandler())
        plog.propagate = False
    print(f"# psycopg {psycopg.__version__} (libpq {pq.version()}, {pq.__impl__}); "
          f"table {TABLE}; gateway checks {'on' if EXPECT_GATEWAY else 'off'}", flush=True)
    passed = failed = skipped = 0
    for name, fn, limit in CHECKS:
        if name == "gateway_refusals" and not EXPECT_GATEWAY:
            print(f"skip {name}: EXPECT_GATEWAY is not 1", flush=True)
            skipped += 1
            continue

        def watchdog(name=name, limit=limit):
            print(f"FAIL {name}: timed out after {limit}s", flush=True)
            print(f"psycopg: {passed} passed, {failed + 1} failed", flush=True)
            os._exit(1)

        timer = threading.Timer(limit, watchdog)
        timer.daemon = True
        timer.start()
        try:
            fn()
        except CheckFailed as ex:
            print(f"FAIL {name}: {one_line(ex)}", flush=True)
            failed += 1
        except Exception as ex:
            sqlstate = getattr(ex, "sqlstate", None)
            extra = f" (sqlstate {sqlstate})" if sqlstate else ""
            print(f"FAIL {name}: unexpected {type(ex).__name__}{extra}: {one_line(ex)}",
                  flush=True)
            if VERBOSE:
                traceback.print_exc()
            failed += 1
        else:
            print(f"ok   {name}", flush=True)
            passed += 1
        finally:
            timer.cancel()
    summary = f"psycopg: {passed} passed, {failed} failed"
    if skipped:
        summary += f", {skipped} skipped"
    print(summary, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
