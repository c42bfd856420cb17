"""The benchmark harness: one operation, three ways of getting the same answer.

An operation module in ``benchmarks/ops/`` defines a subclass of :class:`Operation`:

- ``prepare(env)`` builds what the operation needs (in the benchmark transaction, rolled
  back at the end) and returns a context object;
- ``crm_extended(env, ctx)`` does the work the way crm_extended does it;
- ``sql_floor(env, ctx)`` computes the same answer with hand-written SQL: the floor;
- ``orm_loop(env, ctx, sample)`` does it naively, record by record through the ORM, on
  ``sample`` records when given (its time is then extrapolated to the full size);
- each returns the answer, and ``same(a, b)`` compares two answers (the harness fails
  when they differ; the ORM loop's partial answer is compared on its sample through
  ``same_sample``).

Every run happens in a savepoint rolled back afterwards, so repeated runs start from the
same state. The first run is the cold one (ORM caches emptied); the median is over
``--runs`` warm runs. Query counts come from the cursor, peak memory from tracemalloc
in a separate, untimed run (when ``measure_memory`` is set).
"""

import statistics
import time
import tracemalloc
from dataclasses import dataclass, field


@dataclass
class Timing:
    cold: float = 0.0
    median: float = 0.0
    runs: list = field(default_factory=list)
    queries: int = 0
    peak_mb: float | None = None
    extrapolated: bool = False
    sample: int | None = None

    def as_dict(self):
        return {
            "cold": self.cold,
            "median": self.median,
            "runs": self.runs,
            "queries": self.queries,
            "peak_mb": self.peak_mb,
            "extrapolated": self.extrapolated,
            "sample": self.sample,
        }


class Operation:
    """Base class of a benchmark operation (see the module docstring)."""

    name = "operation"
    #: login of the user the crm_extended and ORM runs are made as (None: superuser)
    user_login = None
    #: measure peak Python memory of the crm_extended run
    measure_memory = False
    #: ORM loop sample size (None: the whole size)
    orm_sample = None
    #: fewer warm runs for slow baselines
    orm_runs = 1

    def __init__(self, size_name, size):
        self.size_name = size_name
        self.size = size

    def prepare(self, env):
        raise NotImplementedError

    def crm_extended(self, env, ctx):
        raise NotImplementedError

    def sql_floor(self, env, ctx):
        raise NotImplementedError

    def orm_loop(self, env, ctx, sample):
        raise NotImplementedError

    def same(self, a, b):
        return a == b

    def orm_factor(self, ctx, sample):
        """How many times the work of the ORM loop's ``sample`` the whole work is:
        its time and queries are multiplied by this. By default ``size / sample``;
        an operation whose sample is not counted in the unit of its size says."""
        return self.size / sample

    def same_sample(self, full, partial):
        """Whether the ORM loop's answer on its sample agrees with the full answer."""
        return self.same(full, partial)


def ensure_user(env, login, groups):
    """The benchmark user of that login (password: the login), created with these
    groups (comma-separated xml ids) when missing."""
    user = (
        env["res.users"].with_context(active_test=False).search([("login", "=", login)])
    )
    if not user:
        user = (
            env["res.users"]
            .with_context(no_reset_password=True, tracking_disable=True)
            .create(
                {
                    "name": login.replace("_", " ").title(),
                    "login": login,
                    "password": login,
                    "groups_id": [(6, 0, [env.ref(g).id for g in groups.split(",")])],
                }
            )
        )
    return user


def _run_once(env, func, memory=False):
    env.flush_all()
    env.cr.execute("SAVEPOINT bench_run")
    queries = env.cr.sql_log_count
    if memory:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        answer = func()
        env.flush_all()
        elapsed = time.perf_counter() - start
        peak = None
        if memory:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
        return answer, elapsed, env.cr.sql_log_count - queries, peak
    finally:
        if memory:
            tracemalloc.stop()
        env.cr.execute("ROLLBACK TO SAVEPOINT bench_run")
        env.invalidate_all()


def measure(env, func, runs, memory=False):
    """Cold run (caches emptied) then ``runs`` warm runs; returns (answer, Timing).

    Peak memory comes from one more run under tracemalloc, which slows the code it
    traces several times: that run is not timed.
    """
    env.invalidate_all()
    env.registry.clear_cache()
    answer, cold, queries, _peak = _run_once(env, func)
    times = [_run_once(env, func)[1] for _i in range(runs)]
    peak = _run_once(env, func, memory=True)[3] if memory else None
    timing = Timing(
        cold=cold,
        median=statistics.median(times) if times else cold,
        runs=times,
        queries=queries,
        peak_mb=peak,
    )
    return answer, timing


def run_operation(env, operation, runs):
    """Measure one operation three ways; returns a result row (a dict)."""
    ctx = operation.prepare(env)
    env.flush_all()
    user_env = env
    if operation.user_login:
        user = env["res.users"].search([("login", "=", operation.user_login)], limit=1)
        user_env = env(user=user, su=False)

    ours, t_ours = measure(
        user_env,
        lambda: operation.crm_extended(user_env, ctx),
        runs,
        operation.measure_memory,
    )
    floor, t_floor = measure(env, lambda: operation.sql_floor(env, ctx), runs)
    sample = (
        operation.orm_sample
        if operation.orm_sample and operation.orm_sample < operation.size
        else None
    )
    naive, t_orm = measure(
        user_env, lambda: operation.orm_loop(user_env, ctx, sample), operation.orm_runs
    )
    if sample:
        factor = operation.orm_factor(ctx, sample)
        t_orm.cold *= factor
        t_orm.median *= factor
        t_orm.runs = [t * factor for t in t_orm.runs]
        t_orm.queries = round(t_orm.queries * factor)
        t_orm.extrapolated = True
        t_orm.sample = sample
    same = operation.same(ours, floor) and (
        operation.same_sample(ours, naive) if sample else operation.same(ours, naive)
    )
    return {
        "operation": operation.name,
        "size_name": operation.size_name,
        "size": operation.size,
        "user": operation.user_login or "superuser",
        "crm_extended": t_ours.as_dict(),
        "sql_floor": t_floor.as_dict(),
        "orm_loop": t_orm.as_dict(),
        "same_result": same,
    }
