"""DuckDB plans of the simple protocol's repeated queries, kept per session.

A simple Query's text is parsed and planned by DuckDB at every run; a client that
sends the same query again and again (a health check, ``SELECT 1``, a dashboard's
poll) pays for that each time. The second time the same text arrives it is prepared
and kept; from then on it runs as Parse's reused plans do (and, standalone, inline
when its last run was quick: engine/local.py). A text seen once costs a dictionary
entry: the first run is the plain one, so one-off queries (literals that differ each
time) cost what they did.

Texts that differ only in constants ``sql.autoparam`` may bind (pgbench -S's
``WHERE aid = 48213``) count as one: the plan is of the text with ``$n::INTEGER`` in
their place, made the second time that text comes, and each statement binds its own
values. Before it is kept, the text with bare ``$n`` is prepared (the probe): DuckDB
types those after the columns they are compared with, and only columns whose
comparison with the parameter is the literal's (``autoparam.SAFE_TYPES``) qualify;
where each column holds every value of its constant's type the probe is the plan
(``autoparam.EXACT_TYPES``: DuckDB runs it faster than the cast form). A shape that
does not qualify is remembered as such; its texts are then kept one by one.

A plan is kept under the session's ``plan_state`` (catalog generation and settings
version: the rule Parse reuse follows, frontend/statements.py), so DDL or SET plans
again; the session keeps only SELECTs, outside transaction blocks. Whatever goes wrong
with a plan (DuckDB cannot prepare the text, such as a PIVOT that reads its columns
from the data; a kept plan fails to bind) ends in the plain run, as before, and the text
is not planned again: the answer is always the plain run's. A kept plan that ran and
failed (a bad value, a timeout) reports its error as the plain run would, without
running again.
"""

from __future__ import annotations

from collections import OrderedDict

from duckgres_trio.engine.base import Executor, Prepared, Result
from duckgres_trio.errors import PgError
from duckgres_trio.sql.autoparam import EXACT_TYPES, SAFE_TYPES, Constants

#: Plans kept per session (least recently used dropped first), and texts remembered
#: (seen once: plan it next time; or not to be planned).
MAX_PLANS = 32
MAX_SEEN = 256

#: SQLSTATE classes of a kept plan that failed before running anything (binding, a
#: feature DuckDB cannot prepare, DuckDB's internal errors): only these run plainly again.
_PLAN_ERRORS = ("42", "0A", "XX")


class TextPlans:
    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._plans: OrderedDict[tuple, Prepared] = OrderedDict()
        self._seen: OrderedDict[str, bool] = OrderedDict()

    async def execute(self, sql: str, returns_rows: bool | None, state: tuple | None,
                      constants: Constants | None = None) -> Result:
        """Run ``sql`` (a SELECT's DuckDB text, outside a transaction block) under plan
        state ``state`` (None: a plan made now must not be kept), with a kept plan
        when there is one: the plan of its text with ``constants`` bound as parameters
        (sql.autoparam) if that text's plan can be kept, else of ``sql`` itself."""
        if state is None:
            return await self._executor.execute(sql, returns_rows)
        if constants is not None and self._seen.get(constants.text) is not False:
            return await self._run(sql, constants.text, constants, returns_rows, state)
        return await self._run(sql, sql, None, returns_rows, state)

    async def _run(self, sql: str, text: str, constants: Constants | None,
                   returns_rows: bool | None, state: tuple) -> Result:
        """Run ``sql`` by the plan kept for ``text`` (``sql`` itself, or its text with
        ``constants`` taken out), making it the second time ``text`` comes."""
        key = (text, state)
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
        else:
            again = self._seen.get(text)
            if not again:  # seen first now (None), or not to be planned (False)
                if again is None:
                    self._remember(text, True)
                return await self._executor.execute(sql, returns_rows)
            plan = await self._plan(text, constants)
            if plan is None:
                return await self._plain(sql, text, returns_rows)
            self._plans[key] = plan
            if len(self._plans) > MAX_PLANS:
                await self._executor.close_prepared(self._plans.popitem(last=False)[1])
        try:
            return await self._executor.execute_prepared(
                plan, () if constants is None else constants.values, returns_rows)
        except PgError as err:
            await self._executor.close_prepared(self._plans.pop(key))
            if err.fatal or err.sqlstate[:2] not in _PLAN_ERRORS:
                # The statement ran and failed (data, resources, cancel, the session
                # over): a fresh run would fail again, after repeating what it did
                # first (nextval() calls are not rolled back).
                raise
            # the plan itself failed (binding): the plain run decides, as before
            return await self._plain(sql, text, returns_rows)

    async def _plan(self, text: str, constants: Constants | None) -> Prepared | None:
        """``text`` prepared, or None if its plan is not to be kept. With ``constants``,
        the columns they are compared with must be of a type whose comparison with the
        parameter's INTEGER or BIGINT is the literal's (autoparam.SAFE_TYPES): DuckDB
        types an uncast ``$n`` after its column (the probe). Where each column holds
        every value of its constant's type (autoparam.EXACT_TYPES), the probe itself
        is the plan."""
        expected = 0
        try:
            if constants is not None:
                expected = len(constants.values)
                probe = await self._executor.prepare(constants.probe)
                types = [str(field.type).split("(")[0] for field in probe.params]
                if len(types) == expected and all(
                        column in EXACT_TYPES[bound]
                        for column, bound in zip(types, constants.types)):
                    return probe
                await self._executor.close_prepared(probe)
                if len(types) != expected or not all(t in SAFE_TYPES for t in types):
                    return None
            plan = await self._executor.prepare(text)
        except PgError:
            return None
        if len(plan.params) != expected:  # $n in a simple Query: the plain run's error
            await self._executor.close_prepared(plan)
            return None
        return plan

    async def _plain(self, sql: str, text: str, returns_rows: bool | None) -> Result:
        self._remember(text, False)
        return await self._executor.execute(sql, returns_rows)

    def _remember(self, sql: str, again: bool) -> None:
        self._seen[sql] = again
        self._seen.move_to_end(sql)
        if len(self._seen) > MAX_SEEN:
            self._seen.popitem(last=False)

    async def close(self) -> None:
        plans, self._plans = self._plans, OrderedDict()
        for plan in plans.values():
            await self._executor.close_prepared(plan)
