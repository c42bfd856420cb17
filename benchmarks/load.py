"""Multi-worker load run: ``make load``.

Starts Odoo in prefork mode (``--workers``) on 127.0.0.1 against the benchmark database,
then runs a bounded number of concurrent JSON-RPC clients for a bounded time and a
bounded number of requests. Each client logs in with its own session
(``/web/session/authenticate``) as a real user and calls ``/web/dataset/call_kw`` the
way the web client does, under that user's record rules. Prints throughput, latency
percentiles per request kind and errors; writes the same as JSON to
``benchmarks/results/load-<timestamp>.json`` (ignored by git) and exits non-zero when
the error rate exceeds ``--max-error-rate``.

Users and data. Before the server starts, the database is prepared through the ORM:
created with crm_extended (no demo data) when missing; each scenario's users are taken
from the database when it already holds a dataset (``make dataset``: salespeople owning
leads, regional managers of regions; their password is set to ``LOAD_PASSWORD``),
else created as ``load.<role>.<n>`` users; a sales region tree and a few hundred
customers and leads are added only when the database has none.

Scenarios (``--scenario``, ``make load SCENARIO=...``): ``sales`` (default) mixes
salespeople and regional managers; ``telesales`` runs 50 agents (``--clients``) pressing
"Next call" and logging a "no answer" on a running call list of ``--entries`` entries
built for the run, then checks from the database that no entry was handed out twice
(see :func:`verify_telesales`); any error fails it.

Adding a user kind: subclass
:class:`Scenario`, give it a ``role``, a ``group``, ``provision()`` (ORM side: returns
the users and what their requests need) and ``actions`` (weighted methods making one or
more requests through ``self.client.call_kw``), and add it to ``SCENARIO_SETS``.
"""

import argparse
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests
from run import ensure_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ODOO_CONF = ROOT / ".dev" / "odoo.conf"
LOAD_PASSWORD = "load-bench-password"
LOGIN_PREFIX = "load."
HOST = "127.0.0.1"

# Field specifications the web client sends (list and form views, trimmed).
M2O = {"fields": {"display_name": {}}}
LEAD_LIST_SPEC = {
    "name": {},
    "partner_id": M2O,
    "email_from": {},
    "phone": {},
    "user_id": M2O,
    "team_id": M2O,
    "stage_id": M2O,
    "sales_region_id": M2O,
    "expected_revenue": {},
    "probability": {},
    "priority": {},
    "create_date": {},
}
LEAD_FORM_SPEC = dict(
    LEAD_LIST_SPEC,
    type={},
    company_id=M2O,
    country_id=M2O,
    state_id=M2O,
    city={},
    tag_ids={"fields": {"display_name": {}, "color": {}}},
    date_deadline={},
    description={},
    prorated_revenue={},
    active={},
)
PARTNER_LIST_SPEC = {
    "display_name": {},
    "email": {},
    "phone": {},
    "city": {},
    "state_id": M2O,
    "country_id": M2O,
    "user_id": M2O,
    "sales_region_id": M2O,
}
LEAD_ORDER = "priority desc, id desc"
SEARCH_TERMS = ["an", "er", "in", "on", "co", "al", "ar", "st", "1", "2"]


# ----------------------------------------------------------------------------------
# Measurements
# ----------------------------------------------------------------------------------


class Stats:
    """Latencies and errors of every request, shared by the client threads."""

    def __init__(self, measure_from, deadline, max_requests):
        self.lock = threading.Lock()
        self.measure_from = measure_from
        self.deadline = deadline
        self.max_requests = max_requests
        self.started = 0  # measured requests started (the budget)
        self.latencies = defaultdict(list)  # (role, kind) -> [seconds]
        self.errors = defaultdict(int)  # (role, kind) -> count
        self.messages = []  # first error messages
        self.logins = []
        self.last_end = measure_from
        self.stop = threading.Event()
        self.handed = []  # telesales: (agent uid, entry id) handed out by Next call
        self.empty_queue = 0  # telesales: Next call found nothing due

    def may_start(self):
        """Whether a request may start now (time and request budget)."""
        now = time.monotonic()
        if self.stop.is_set() or now >= self.deadline:
            return False
        if now < self.measure_from:
            return True  # warm-up, not counted
        with self.lock:
            if self.started >= self.max_requests:
                return False
            self.started += 1
            return True

    def record(self, role, kind, start, end, error=None):
        if start < self.measure_from:
            return
        with self.lock:
            self.last_end = max(self.last_end, end)
            if error is None:
                self.latencies[role, kind].append(end - start)
                return
            self.errors[role, kind] += 1
            if len(self.messages) < 10:
                self.messages.append(f"{role} {kind}: {error}")


def percentile(sorted_values, pct):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(latencies, errors):
    values = sorted(latencies)
    row = {"requests": len(values) + errors, "ok": len(values), "errors": errors}
    for name, pct in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)):
        value = percentile(values, pct)
        row[f"{name}_ms"] = round(value * 1000, 1) if value is not None else None
    row["mean_ms"] = round(sum(values) / len(values) * 1000, 1) if values else None
    return row


# ----------------------------------------------------------------------------------
# JSON-RPC client
# ----------------------------------------------------------------------------------


class RpcError(Exception):
    pass


class Client:
    """One browser: its own HTTP session, logged in as one user."""

    def __init__(self, base_url, db, user, stats, timeout):
        self.base_url = base_url
        self.db = db
        self.user = user
        self.stats = stats
        self.timeout = timeout
        self.http = requests.Session()
        self.context = {}
        self.request_id = 0

    def _post(self, path, params):
        self.request_id += 1
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": params,
            "id": self.request_id,
        }
        response = self.http.post(
            self.base_url + path, json=payload, timeout=self.timeout
        )
        response.raise_for_status()
        body = response.json()
        if body.get("error"):
            error = body["error"]
            data = error.get("data") or {}
            name = data.get("name", "")
            message = (data.get("message") or error.get("message") or "").strip()
            raise RpcError(f"{name}: {message.splitlines()[0] if message else ''}")
        return body.get("result")

    def authenticate(self):
        start = time.monotonic()
        info = self._post(
            "/web/session/authenticate",
            {
                "db": self.db,
                "login": self.user["login"],
                "password": self.user["password"],
            },
        )
        if not info or not info.get("uid"):
            raise RpcError(f"login refused for {self.user['login']}")
        with self.stats.lock:
            self.stats.logins.append(time.monotonic() - start)
        self.context = dict(info.get("user_context") or {})
        company = (info.get("user_companies") or {}).get("current_company")
        if company:
            self.context["allowed_company_ids"] = [company]
        return info

    def call_kw(self, role, kind, model, method, args, kwargs=None):
        """One measured request; returns its result, or None when it failed."""
        kwargs = dict(kwargs or {})
        kwargs["context"] = dict(self.context, **kwargs.get("context", {}))
        # The web client puts model and method in the path; the query string tags the
        # request kind in the server log (the server ignores it).
        path = f"/web/dataset/call_kw/{model}/{method}?load={role}.{kind}"
        params = {"model": model, "method": method, "args": args, "kwargs": kwargs}
        start = time.monotonic()
        try:
            result = self._post(path, params)
        except (requests.RequestException, ValueError, RpcError) as exc:
            self.stats.record(role, kind, start, time.monotonic(), _error_text(exc))
            if "SessionExpired" in str(exc):
                self._relogin()
            return None
        self.stats.record(role, kind, start, time.monotonic())
        return result

    def _relogin(self):
        try:
            self.authenticate()
        except (requests.RequestException, ValueError, RpcError):
            pass


def _error_text(exc):
    text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, RpcError) else str(exc)
    return text[:300]


# ----------------------------------------------------------------------------------
# Scenarios: one class per kind of user
# ----------------------------------------------------------------------------------


class Scenario:
    """A kind of user. Subclasses set ``role``, ``group`` and ``actions``.

    ``provision(env, count, world, rng)`` runs in the ORM (superuser) before the server
    starts and returns the users as JSON-able dicts (``login``, ``uid`` and whatever the
    actions need). ``actions`` is a list of ``(weight, method name)``; each method makes
    one user gesture of one or more requests through ``self.call``.
    """

    role = "user"
    group = "base.group_user"
    #: share of the clients given to this kind of user
    weight = 1
    actions = []

    def __init__(self, client, user, world, rng):
        self.client = client
        self.user = user
        self.world = world
        self.rng = rng
        self.lead_ids = []
        self._weights = [weight for weight, _name in self.actions]
        self._methods = [getattr(self, name) for _weight, name in self.actions]

    def step(self):
        self.rng.choices(self._methods, self._weights)[0]()

    def call(self, kind, model, method, args, kwargs=None):
        return self.client.call_kw(self.role, kind, model, method, args, kwargs)

    # ---- provisioning (ORM side)

    @classmethod
    def provision(cls, env, count, world, rng):
        raise NotImplementedError

    @classmethod
    def load_users(cls, env, count):
        """The existing ``load.<role>.<n>`` users."""
        logins = [f"{LOGIN_PREFIX}{cls.role}.{i}" for i in range(1, count + 1)]
        return env["res.users"].search([("login", "in", logins)])

    @classmethod
    def ensure_load_users(cls, env, count):
        """``count`` users ``load.<role>.<n>`` of ``cls.group``, load password."""
        Users = env["res.users"].with_context(
            active_test=False, no_reset_password=True, tracking_disable=True
        )
        groups = [env.ref("base.group_user").id, env.ref(cls.group).id]
        users = Users.browse()
        for index in range(1, count + 1):
            login = f"{LOGIN_PREFIX}{cls.role}.{index}"
            vals = {
                "active": True,
                "password": LOAD_PASSWORD,
                "groups_id": [(6, 0, groups)],
            }
            user = Users.search([("login", "=", login)], limit=1)
            if user:
                user.write(vals)
            else:
                user = Users.create(
                    dict(vals, login=login, name=f"Load {cls.role} {index}")
                )
            users |= user
        return users

    @classmethod
    def adopt(cls, env, users):
        """Existing users of a dataset: give them the load password."""
        users.with_context(no_reset_password=True).write({"password": LOAD_PASSWORD})
        return users

    # ---- gestures shared by the sales roles (client side)

    def _pipeline_domain(self):
        return [("type", "=", "opportunity")]

    def lead_list(self):
        """The pipeline list view: a page of leads, then maybe the next one."""
        domain = self._pipeline_domain()
        if self.rng.random() < 0.3:
            domain = domain + [("user_id", "=", self.user["uid"])]  # "My Pipeline"
        result = self.call(
            "lead.list",
            "crm.lead",
            "web_search_read",
            [],
            {
                "domain": domain,
                "specification": LEAD_LIST_SPEC,
                "offset": 0,
                "limit": 80,
                "order": LEAD_ORDER,
                "count_limit": 10001,
            },
        )
        if result and result.get("records"):
            self.lead_ids = [record["id"] for record in result["records"]]

    def lead_search(self):
        """Typing in the search box of the pipeline."""
        term = self.rng.choice(SEARCH_TERMS)
        domain = self._pipeline_domain() + [
            "|",
            ("name", "ilike", term),
            ("partner_id", "ilike", term),
        ]
        self.call(
            "lead.search",
            "crm.lead",
            "web_search_read",
            [],
            {
                "domain": domain,
                "specification": LEAD_LIST_SPEC,
                "limit": 80,
                "order": LEAD_ORDER,
                "count_limit": 10001,
            },
        )

    def _lead_group(self, kind, groupby):
        self.call(
            kind,
            "crm.lead",
            "web_read_group",
            [],
            {
                "domain": self._pipeline_domain(),
                "fields": ["expected_revenue:sum", "prorated_revenue:sum"],
                "groupby": [groupby],
                "orderby": "",
                "lazy": True,
            },
        )

    def lead_by_stage(self):
        """The pipeline kanban's columns."""
        self._lead_group("lead.group_stage", "stage_id")

    def lead_by_region(self):
        """The pipeline grouped by sales region."""
        self._lead_group("lead.group_region", "sales_region_id")

    def lead_open(self):
        """Opening one lead of the last list in its form view."""
        if not self.lead_ids:
            self.lead_list()
            if not self.lead_ids:
                return
        lead_id = self.rng.choice(self.lead_ids)
        self.call(
            "lead.read",
            "crm.lead",
            "web_read",
            [[lead_id]],
            {"specification": LEAD_FORM_SPEC},
        )

    def _partner_region_ids(self):
        return [self.rng.choice(self.world["region_ids"])]

    def partner_list(self):
        """The customers of a region (the region's smart button)."""
        self.call(
            "partner.list",
            "res.partner",
            "web_search_read",
            [],
            {
                "domain": [
                    ("sales_region_id", "child_of", self._partner_region_ids()),
                    ("is_company", "=", True),
                ],
                "specification": PARTNER_LIST_SPEC,
                "limit": 80,
                "order": "complete_name asc, id desc",
                "count_limit": 10001,
            },
        )


class Salesperson(Scenario):
    """Sees their own leads and unassigned ones (Odoo's "Personal Leads" rule)."""

    role = "salesperson"
    group = "sales_team.group_sale_salesman"
    weight = 1
    actions = [
        (4, "lead_list"),
        (2, "lead_search"),
        (2, "lead_by_stage"),
        (1, "lead_by_region"),
        (2, "partner_list"),
        (3, "lead_open"),
    ]

    @classmethod
    def provision(cls, env, count, world, rng):
        users = cls.load_users(env, count)
        if not _lead_counts(env, users.ids):
            adopted = cls._candidates(env, count)
            if adopted:
                return [_user_dict(user) for user in cls.adopt(env, adopted)]
            users = cls.ensure_load_users(env, count)
            print(f"creating leads for {len(users)} salespeople", flush=True)
            _seed_leads(env, users, world, rng)
        return [_user_dict(user) for user in cls.ensure_load_users(env, count)]

    @classmethod
    def _candidates(cls, env, count):
        """Rule-bound salespeople of a dataset owning leads, heavy to light."""
        owners = sorted(_lead_counts(env).items(), key=lambda item: -item[1])
        users = env["res.users"].browse([uid for uid, n in owners if n >= 5])
        users = users.filtered(
            lambda u: u.active
            and not u.share
            and u.id > 2
            and not u.login.startswith(LOGIN_PREFIX)
            and u.has_group(cls.group)
            and not u.has_group("sales_team.group_sale_salesman_all_leads")
            and not u.has_group("crm_extended.group_regional_manager")
        )
        return _spread(users, count)


class RegionalManager(Scenario):
    """Sees the leads of the regions they manage and below (crm_extended's rule)."""

    role = "regional_manager"
    group = "crm_extended.group_regional_manager"
    weight = 1
    actions = [
        (4, "lead_list"),
        (1, "lead_search"),
        (2, "lead_by_stage"),
        (3, "lead_by_region"),
        (3, "partner_list"),
        (2, "lead_open"),
    ]

    def _partner_region_ids(self):
        return self.user["region_ids"]

    def _pipeline_domain(self):
        domain = super()._pipeline_domain()
        if self.rng.random() < 0.5:  # opened from the region's smart button
            domain = domain + [("sales_region_id", "child_of", self.user["region_ids"])]
        return domain

    @classmethod
    def provision(cls, env, count, world, rng):
        if not cls.load_users(env, count).sales_region_managed_ids:
            adopted = cls._candidates(env, count)
            if adopted:
                return [cls._user(user) for user in cls.adopt(env, adopted)]
        users = cls.ensure_load_users(env, count)
        Region = env["crm.sales.region"].with_context(tracking_disable=True)
        roots = Region.browse(world["root_ids"])
        leaves = Region.browse(world["leaf_ids"])
        for index, user in enumerate(users):
            if user.sales_region_managed_ids:
                continue
            # The first one manages a whole tree, the others one leaf region each.
            region = roots[0] if index == 0 else leaves[(index - 1) % len(leaves)]
            region.write({"manager_ids": [(4, user.id)]})
        return [cls._user(user) for user in users]

    @classmethod
    def _user(cls, user):
        return dict(_user_dict(user), region_ids=user.sales_region_managed_ids.ids)

    @classmethod
    def _candidates(cls, env, count):
        users = (
            env["res.users"]
            .search([("groups_id", "in", env.ref(cls.group).id), ("share", "=", False)])
            .filtered(
                lambda u: u.sales_region_managed_ids
                and u.id > 2
                and not u.login.startswith(LOGIN_PREFIX)
                and not u.has_group("sales_team.group_sale_salesman_all_leads")
            )
        )
        return _spread(users, count)


ENTRY_MODEL = "crm.call.list.entry"
LOAD_LIST_NAME = "Load telesales"
#: the outcome the agents log: no answer, to be called again after the retry delay
QUICK_OUTCOME = "NO_ANSWER"


class TelesalesAgent(Scenario):
    """Presses "Next call" (``action_next_call``: reserves the agent's next due entry
    with ``FOR UPDATE SKIP LOCKED``), then logs a quick "no answer" outcome."""

    role = "agent"
    group = "crm_extended.group_telesales_agent"
    weight = 1
    actions = [(1, "next_call")]

    def next_call(self):
        # A list header button: called on no selected entry
        action = self.call("next_call", ENTRY_MODEL, "action_next_call", [[]])
        if action is None:
            return  # the error is recorded
        entry_id = action.get("res_id")
        stats = self.client.stats
        if not entry_id:
            with stats.lock:
                stats.empty_queue += 1
            return
        stats.handed.append((self.user["uid"], entry_id))  # list.append: atomic
        self.call(
            "log_outcome",
            ENTRY_MODEL,
            "action_log_outcome",
            [[entry_id], QUICK_OUTCOME],
        )

    @classmethod
    def provision(cls, env, count, world, rng):
        users = cls.ensure_load_users(env, count)
        users.write({"tz": "UTC"})
        world["call_list_id"] = _seed_call_list(env, users, world["call_entries"])
        return [_user_dict(user) for user in users]


#: the kinds of user of each load scenario (``--scenario``)
SCENARIO_SETS = {
    "sales": [Salesperson, RegionalManager],
    "telesales": [TelesalesAgent],
}
#: every kind of user of the load run; later capabilities append theirs
SCENARIOS = SCENARIO_SETS["sales"]


def _user_dict(user):
    return {
        "login": user.login,
        "uid": user.id,
        "name": user.name,
        "password": LOAD_PASSWORD,
    }


def _spread(records, count):
    """Up to ``count`` records evenly spread over ``records`` (first and last kept)."""
    if len(records) <= count:
        return records
    step = (len(records) - 1) / max(count - 1, 1)
    return records.browse([records[round(i * step)].id for i in range(count)])


def _lead_counts(env, user_ids=None):
    query = (
        "SELECT user_id, count(*) FROM crm_lead WHERE active AND user_id IS NOT NULL"
    )
    params = []
    if user_ids is not None:
        query += " AND user_id = ANY(%s)"
        params.append(list(user_ids))
    env.cr.execute(query + " GROUP BY user_id", params)
    return dict(env.cr.fetchall())


# ----------------------------------------------------------------------------------
# Database preparation (ORM, before the server starts)
# ----------------------------------------------------------------------------------


def _seed_regions(env):
    """A small region tree over US states, for a database that has no region."""
    us = env.ref("base.us")
    states = env["res.country.state"].search(
        [("country_id", "=", us.id)], order="code", limit=9
    )
    Region = env["crm.sales.region"].with_context(tracking_disable=True)
    root = Region.create({"name": "Load Test", "code": "LOAD"})
    Region.create(
        [
            {
                "name": name,
                "code": f"LOAD-{name[0]}",
                "parent_id": root.id,
                "state_ids": [(6, 0, states[i * 3 : i * 3 + 3].ids)],
            }
            for i, name in enumerate(["North", "South", "West"])
        ]
    )
    return root


def _seed_partners(env, leaves, rng, count=300):
    areas = []
    for region in leaves:
        areas += [(state.country_id.id, state.id) for state in region.state_ids]
        areas += [(country.id, False) for country in region.country_ids]
    if not areas:
        return
    env["res.partner"].with_context(tracking_disable=True).create(
        [
            {
                "name": f"Load Customer {index:04d}",
                "is_company": True,
                "country_id": country_id,
                "state_id": state_id,
                "city": rng.choice(["Springfield", "Riverside", "Fairview", "Salem"]),
                "email": f"customer{index:04d}@load.example.com",
                "phone": f"+1 555 01{index:04d}",
            }
            for index in range(count)
            for country_id, state_id in [rng.choice(areas)]
        ]
    )


def _seed_leads(env, users, world, rng, count=1200):
    partners = env["res.partner"].search(
        [("sales_region_id", "in", world["region_ids"]), ("is_company", "=", True)],
        limit=2000,
    )
    stages = env["crm.stage"].search([])
    owners = list(users) + [env["res.users"]] * max(1, len(users) // 4)  # unassigned
    vals_list = []
    for index in range(count):
        partner = rng.choice(partners) if partners else env["res.partner"]
        stage = rng.choice(stages)
        vals_list.append(
            {
                "name": f"{partner.name or 'Deal'} - opportunity {index}",
                "type": "opportunity",
                "partner_id": partner.id,
                "user_id": rng.choice(owners).id,
                "stage_id": stage.id,
                "expected_revenue": round(rng.lognormvariate(8, 1.2), 2),
                "priority": rng.choice("0001123"),
            }
        )
    env["crm.lead"].with_context(
        tracking_disable=True, mail_create_nolog=True, mail_notrack=True
    ).create(vals_list)


def _seed_call_list(env, agents, entries):
    """A running call list of ``entries`` customers (valid Belgian mobile numbers)
    for the agents: built and distributed by crm_extended, then half of its entries
    handed back to the pool (no agent), so that the agents also compete for the same
    rows. The load lists of earlier runs are closed first."""
    from ops.region_reassign import insert_partners  # noqa: PLC0415

    CallList = env["crm.call.list"].with_context(tracking_disable=True)
    CallList.search(
        [
            ("name", "=like", f"{LOAD_LIST_NAME}%"),
            ("state", "in", ["running", "paused"]),
        ]
    ).action_done()
    belgium = env.ref("base.be")
    State = env["res.country.state"]
    state = State.search([("code", "=", "QLC"), ("country_id", "=", belgium.id)])
    if not state:
        state = State.create(
            {"name": "Load Calls", "code": "QLC", "country_id": belgium.id}
        )
    existing = env["res.partner"].search_count([("state_id", "=", state.id)])
    if existing < entries:
        print(f"creating {entries - existing:,} customers to call", flush=True)
        insert_partners(env, entries - existing - 1, state, belgium)
    env.flush_all()
    env.cr.execute(
        """
        WITH numbered AS (
            SELECT id, row_number() OVER (ORDER BY id) AS n
              FROM res_partner WHERE state_id = %s)
        UPDATE res_partner p
           SET phone = '+32470' || lpad(x.n::text, 6, '0'), mobile = NULL,
               call_do_not_call = FALSE
          FROM numbered x
         WHERE p.id = x.id
           AND p.phone IS DISTINCT FROM '+32470' || lpad(x.n::text, 6, '0')
        """,
        [state.id],
    )
    env.invalidate_all()
    call_list = CallList.create(
        {
            "name": f"{LOAD_LIST_NAME} {time.strftime('%Y-%m-%d %H:%M:%S')}",
            "filter_domain": repr([("state_id", "=", state.id)]),
            "agent_ids": [(6, 0, agents.ids)],
            "distribution_method": "round_robin",
            "call_hour_from": 0.0,
            "call_hour_to": 24.0,
            "max_attempts": 3,
            "retry_delay_hours": 4.0,
        }
    )
    call_list.action_build()
    call_list.action_distribute()
    env.cr.execute(
        "UPDATE crm_call_list_entry SET agent_id = NULL "
        "WHERE call_list_id = %s AND id %% 2 = 0",
        [call_list.id],
    )
    env.invalidate_all()
    call_list.action_start()
    env.cr.execute("ANALYZE crm_call_list_entry, crm_phonecall")
    print(
        f"call list {call_list.name}: {len(call_list.entry_ids):,} entries, "
        f"{len(agents)} agents",
        flush=True,
    )
    return call_list.id


def verify_telesales(db, world, stats):
    """What the database says after the run: no entry handed to two agents."""
    import odoo  # noqa: PLC0415

    handed_ids = [entry_id for _uid, entry_id in stats.handed]
    result = {
        "call_list_id": world["call_list_id"],
        "handed_out": len(handed_ids),
        "handed_out_twice_clients": len(handed_ids) - len(set(handed_ids)),
        "empty_queue": stats.empty_queue,
    }
    with odoo.sql_db.db_connect(db).cursor() as cr:
        cr.execute(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE c.user_id IS DISTINCT FROM e.agent_id),
                   count(DISTINCT c.call_list_entry_id)
              FROM crm_phonecall c
              JOIN crm_call_list_entry e ON e.id = c.call_list_entry_id
             WHERE e.call_list_id = %s
            """,
            [world["call_list_id"]],
        )
        calls, foreign, entries_called = cr.fetchone()
        cr.execute(
            """
            SELECT count(*) FROM (
                SELECT c.call_list_entry_id FROM crm_phonecall c
                  JOIN crm_call_list_entry e ON e.id = c.call_list_entry_id
                 WHERE e.call_list_id = %s
              GROUP BY c.call_list_entry_id HAVING count(*) > 1) twice
            """,
            [world["call_list_id"]],
        )
        called_twice = cr.fetchone()[0]
        cr.execute(
            """
            SELECT state, count(*) FROM crm_call_list_entry
             WHERE call_list_id = %s GROUP BY state
            """,
            [world["call_list_id"]],
        )
        states = dict(cr.fetchall())
        cr.execute(
            """
            SELECT DISTINCT c.call_list_entry_id FROM crm_phonecall c
              JOIN crm_call_list_entry e ON e.id = c.call_list_entry_id
             WHERE e.call_list_id = %s
            """,
            [world["call_list_id"]],
        )
        called_ids = {row[0] for row in cr.fetchall()}
    handed_set = set(handed_ids)
    result.update(
        calls_logged=calls,
        entries_called=entries_called,
        # an entry called twice, or whose call was made by another agent than the one
        # holding it, was handed out to two agents
        entries_called_twice=called_twice,
        calls_by_another_agent=foreign,
        entry_states=states,
        reserved_not_logged=states.get("in_progress", 0),
        # handed out by Next call, but no call logged (the client stopped between
        # its two requests) / called without having been handed out
        handed_without_call=len(handed_set - called_ids),
        called_not_handed=len(called_ids - handed_set),
    )
    result["ok"] = not (
        result["handed_out_twice_clients"]
        or called_twice
        or foreign
        or result["called_not_handed"]
    )
    return result


def print_telesales(check, window):
    print(
        f"\ntelesales: {check['handed_out']:,} entries handed out by Next call "
        f"({check['handed_out'] / window if window else 0:.1f}/s over the run), "
        f"{check['calls_logged']:,} calls logged on {check['entries_called']:,} "
        f"entries; Next call found nothing due {check['empty_queue']} times"
    )
    print(
        f"  handed out twice (clients) {check['handed_out_twice_clients']}, "
        f"entries called twice {check['entries_called_twice']}, calls by another "
        f"agent than the entry's {check['calls_by_another_agent']}, called without "
        f"Next call {check['called_not_handed']}, handed out without a logged call "
        f"{check['handed_without_call']}; entry states {check['entry_states']}"
    )
    print("  no entry given twice" if check["ok"] else "  FAILED: entries given twice")


def prepare_database(db, counts, seed, scenarios=None, options=None):
    """Users of every scenario, and a little data when there is none."""
    scenarios = scenarios or SCENARIOS
    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(["-c", str(ODOO_CONF), "-d", db, "--log-level=warn"])
    ensure_database(db)
    rng = random.Random(seed)
    registry = odoo.modules.registry.Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"active_test": True})
        Region = env["crm.sales.region"]
        if not Region.search_count([]):
            print("no sales region: creating a small region tree", flush=True)
            _seed_regions(env)
        regions = Region.search([])
        leaves = regions.filtered(lambda r: not r.child_ids)
        world = {
            **(options or {}),
            "region_ids": regions.ids,
            "root_ids": regions.filtered(lambda r: not r.parent_id).ids,
            "leaf_ids": leaves.ids,
        }
        customers = [("sales_region_id", "!=", False), ("is_company", "=", True)]
        if env["res.partner"].search_count(customers, limit=50) < 50:
            print("few customers in regions: creating 300", flush=True)
            _seed_partners(env, leaves, rng)
        users = {}
        for scenario in scenarios:
            users[scenario.role] = scenario.provision(
                env, counts[scenario.role], world, rng
            )
        env.cr.execute("SELECT count(*) FROM crm_lead WHERE active")
        world["leads"] = env.cr.fetchone()[0]
        env.cr.execute("SELECT count(*) FROM res_partner WHERE active")
        world["partners"] = env.cr.fetchone()[0]
        # At most 50 regions for the clients to pick from.
        world["region_ids"] = sorted(rng.sample(regions.ids, min(50, len(regions))))
        cr.commit()
    odoo.sql_db.close_all()
    return world, users


# ----------------------------------------------------------------------------------
# The Odoo server
# ----------------------------------------------------------------------------------


def free_port(preferred=None):
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as sock:
            # Like Odoo's own listening socket: a port left in TIME_WAIT is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


class OdooServer:
    """``dev/odoo`` with workers, in its own process group, stopped as a whole."""

    def __init__(self, db, workers, port, logfile):
        self.db = db
        self.workers = workers
        self.port = port
        self.logfile = logfile
        self.process = None

    @property
    def url(self):
        return f"http://{HOST}:{self.port}"

    def command(self):
        return [
            str(ROOT / "dev" / "odoo"),
            f"--workers={self.workers}",
            "--max-cron-threads=0",
            f"--http-interface={HOST}",
            f"--http-port={self.port}",
            f"--gevent-port={free_port()}",
            f"--db-filter=^{re.escape(self.db)}$",
            "-d",
            self.db,
            "--log-level=info",
        ]

    def start(self, timeout=180):
        # Start the database server first, outside Odoo's process group.
        subprocess.run(["bash", "-c", f". '{ROOT}/dev/lib.sh' && pg_start"], check=True)
        with open(self.logfile, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Odoo exited ({self.process.returncode}); see {self.logfile}"
                )
            try:
                response = requests.get(self.url + "/web/health", timeout=5)
                if response.ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Odoo did not answer within {timeout}s; see {self.logfile}")

    def stop(self):
        if not self.process or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def warm_up(self, timeout):
        """Let every worker load the registry before the clock starts."""

        def get():
            try:
                requests.get(self.url + "/web/login", timeout=timeout)
            except requests.RequestException:
                pass

        for _round in range(2):
            threads = [threading.Thread(target=get) for _i in range(self.workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()


# ----------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------


def assign_clients(n_clients, users, scenarios=None):
    """(scenario class, user) per client, roles mixed by weight, users rotated."""
    scenarios = scenarios or SCENARIOS
    slots = [s for s in scenarios if users.get(s.role) for _i in range(s.weight)]
    if not slots:
        raise RuntimeError("no load users")
    used = defaultdict(int)
    plan = []
    for index in range(n_clients):
        scenario = slots[index % len(slots)]
        role_users = users[scenario.role]
        plan.append((scenario, role_users[used[scenario.role] % len(role_users)]))
        used[scenario.role] += 1
    return plan


def client_thread(index, scenario_class, user, args, base_url, world, stats, ready):
    rng = random.Random(f"{args.seed}-{index}")
    client = Client(base_url, args.db, user, stats, args.timeout)
    try:
        client.authenticate()
    except (requests.RequestException, ValueError, RpcError) as exc:
        with stats.lock:
            stats.errors[scenario_class.role, "login"] += 1
            stats.messages.append(f"{scenario_class.role} login: {_error_text(exc)}")
        ready.wait()
        return
    ready.wait()
    scenario = scenario_class(client, user, world, rng)
    while stats.may_start():
        scenario.step()


def parse_server_log(logfile, since_offset):
    """Per-kind server-side query counts and durations from the werkzeug lines."""
    pattern = re.compile(
        r'"POST /web/dataset/call_kw/\S+\?load=([\w.]+) HTTP/[\d.]+" (\d{3}) - '
        r"(\d+) ([\d.]+) ([\d.]+)"
    )
    per_kind = defaultdict(lambda: {"queries": [], "server": []})
    with open(logfile, encoding="utf-8", errors="replace") as log:
        log.seek(since_offset)
        for line in log:
            match = pattern.search(line)
            if not match:
                continue
            role, _dot, kind = match.group(1).partition(".")
            queries, sql_time, other_time = match.group(3, 4, 5)
            per_kind[role, kind]["queries"].append(int(queries))
            per_kind[role, kind]["server"].append(float(sql_time) + float(other_time))
    return per_kind


EXCEPTION_LINE = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|NotFound|Exit)\b")


def server_log_problems(logfile):
    """Tracebacks, ERROR and WARNING lines of the server log (distinct first ones)."""
    counts = {"traceback": 0, "error": 0, "warning": 0}
    first = []
    in_traceback = False
    with open(logfile, encoding="utf-8", errors="replace") as log:
        for line in log:
            message = None
            if line.startswith("Traceback"):
                counts["traceback"] += 1
                in_traceback = True
            elif " ERROR " in line or " CRITICAL " in line:
                counts["error"] += 1
                message = line
            elif " WARNING " in line:
                counts["warning"] += 1
            elif in_traceback and EXCEPTION_LINE.match(line):
                message = line  # the exception that ends a traceback
                in_traceback = False
            if message and message.strip()[:200] not in first and len(first) < 5:
                first.append(message.strip()[:200])
    return dict(counts, first=first)


def report(args, world, users, server, stats, window, server_log):
    rows = []
    all_latencies, all_errors = [], 0
    by_role = defaultdict(lambda: ([], [0]))
    keys = sorted(set(stats.latencies) | set(stats.errors))
    for role, kind in keys:
        latencies = stats.latencies.get((role, kind), [])
        errors = stats.errors.get((role, kind), 0)
        row = {"role": role, "kind": kind, **summarize(latencies, errors)}
        logged = server_log.get((role, kind))
        if logged:
            row["server_queries_p50"] = percentile(sorted(logged["queries"]), 50)
            for name, pct in (("p50", 50), ("p95", 95)):
                row[f"server_ms_{name}"] = round(
                    percentile(sorted(logged["server"]), pct) * 1000, 1
                )
        rows.append(row)
        all_latencies += latencies
        all_errors += errors
        by_role[role][0].extend(latencies)
        by_role[role][1][0] += errors
    for role, (latencies, errors) in sorted(by_role.items()):
        rows.append({"role": role, "kind": "(all)", **summarize(latencies, errors[0])})
    overall = summarize(all_latencies, all_errors)
    overall["throughput_rps"] = round(overall["ok"] / window, 1) if window else 0
    overall["error_rate"] = (
        round(all_errors / overall["requests"], 4) if overall["requests"] else 1.0
    )
    logins = sorted(stats.logins)
    return {
        "db": args.db,
        "command": " ".join(sys.argv),
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()},
        "server": {"workers": args.workers, "url": server.url},
        "clients": args.clients,
        "seconds": args.seconds,
        "max_requests": args.max_requests,
        "window_s": round(window, 2),
        "dataset": {"leads": world["leads"], "partners": world["partners"]},
        "users": {role: [u["login"] for u in us] for role, us in users.items()},
        "logins": {
            "count": len(logins),
            "p50_ms": round(percentile(logins, 50) * 1000, 1) if logins else None,
            "max_ms": round(logins[-1] * 1000, 1) if logins else None,
        },
        "rows": rows,
        "overall": overall,
        "errors": {
            "count": all_errors,
            "rate": overall["error_rate"],
            "first": stats.messages,
        },
    }


def print_report(result):
    header = ["role", "kind", "requests", "errors"]
    header += ["p50 ms", "p95 ms", "p99 ms", "max ms", "srv queries"]
    header += ["srv ms p50", "srv ms p95"]
    lines = [header]

    def cell(value):
        return "-" if value is None else str(value)

    for row in result["rows"] + [dict(result["overall"], role="all", kind="(all)")]:
        lines.append(
            [
                row["role"],
                row["kind"],
                str(row["requests"]),
                str(row["errors"]),
                cell(row["p50_ms"]),
                cell(row["p95_ms"]),
                cell(row["p99_ms"]),
                cell(row["max_ms"]),
                cell(row.get("server_queries_p50")),
                cell(row.get("server_ms_p50")),
                cell(row.get("server_ms_p95")),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print()
    for i, line in enumerate(lines):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    overall = result["overall"]
    print(
        f"\n{overall['ok']} requests in {result['window_s']}s: "
        f"{overall['throughput_rps']} requests/s with {result['clients']} clients "
        f"on {result['server']['workers']} workers; "
        f"errors {result['errors']['count']} ({overall['error_rate']:.2%})"
    )
    print(
        f"dataset: {result['dataset']['leads']:,} leads, "
        f"{result['dataset']['partners']:,} partners; logins "
        f"{result['logins']['count']} (p50 {result['logins']['p50_ms']} ms)"
    )
    for message in result["errors"]["first"]:
        print(f"  error: {message}")
    problems = result["server"].get("log_problems")
    if problems and (problems["traceback"] or problems["error"]):
        print(
            f"server log {result['server']['log']}: {problems['traceback']} "
            f"tracebacks, {problems['error']} errors, {problems['warning']} warnings"
        )
        for line in problems["first"]:
            print(f"  {line}")


def run_clients(args, plan, base_url, world, stats):
    ready = threading.Event()
    threads = [
        threading.Thread(
            target=client_thread,
            args=(index, scenario, user, args, base_url, world, stats, ready),
            daemon=True,
        )
        for index, (scenario, user) in enumerate(plan)
    ]
    for thread in threads:
        thread.start()
    # Everybody logs in before the clock starts (logins are measured apart).
    login_deadline = time.monotonic() + args.timeout * 2
    while time.monotonic() < login_deadline and len(stats.logins) + sum(
        n for (_role, kind), n in stats.errors.items() if kind == "login"
    ) < len(threads):
        time.sleep(0.1)
    now = time.monotonic()
    stats.measure_from = now + args.warmup
    stats.deadline = stats.measure_from + args.seconds
    stats.last_end = stats.measure_from
    ready.set()
    try:
        for thread in threads:
            thread.join(max(0.0, stats.deadline - time.monotonic()) + args.timeout)
    except KeyboardInterrupt:
        stats.stop.set()
        raise
    finally:
        stats.stop.set()
    return max(0.0, stats.last_end - stats.measure_from)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db", default=os.environ.get("BENCH_DB", "crm_extended_bench")
    )
    parser.add_argument(
        "--scenario",
        default=os.environ.get("SCENARIO") or "sales",
        choices=sorted(SCENARIO_SETS),
        help="sales: salespeople and regional managers browsing leads; telesales: "
        'agents pressing "Next call" and logging an outcome',
    )
    parser.add_argument(
        "--clients",
        type=int,
        help="concurrent clients (default: 8; telesales: 50, one agent each)",
    )
    parser.add_argument(
        "--entries",
        type=int,
        default=20000,
        help="telesales: entries of the running call list seeded for the run",
    )
    parser.add_argument("--seconds", type=float, default=30, help="measured time")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds")
    parser.add_argument("--max-requests", type=int, default=50000)
    parser.add_argument("--workers", type=int, default=4, help="Odoo workers (>= 2)")
    parser.add_argument("--port", type=int, default=8169, help="0: any free port")
    parser.add_argument("--timeout", type=float, default=60, help="per request, s")
    parser.add_argument(
        "--max-error-rate",
        type=float,
        help="default: 0.01; telesales: 0 (any error fails the run)",
    )
    parser.add_argument("--seed", type=int, default=42)
    kinds = dict.fromkeys(s for scenarios in SCENARIO_SETS.values() for s in scenarios)
    for scenario in kinds:
        parser.add_argument(
            f"--{scenario.role.replace('_', '-')}-users",
            dest=f"n_{scenario.role}",
            type=int,
            help=f"number of {scenario.role} users (default: "
            + ("--clients)" if scenario is TelesalesAgent else "4)"),
        )
    args = parser.parse_args()
    if args.workers < 2:
        parser.error("--workers must be 2 or more (prefork mode)")
    telesales = args.scenario == "telesales"
    if args.clients is None:
        args.clients = 50 if telesales else 8
    if args.max_error_rate is None:
        args.max_error_rate = 0.0 if telesales else 0.01
    for scenario in SCENARIO_SETS[args.scenario]:
        if getattr(args, f"n_{scenario.role}") is None:
            default = args.clients if scenario is TelesalesAgent else 4
            setattr(args, f"n_{scenario.role}", default)
    return args


def _raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, _raise_interrupt)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.localtime()
    stamp = time.strftime("%Y%m%d-%H%M%S", started)
    scenarios = SCENARIO_SETS[args.scenario]
    counts = {s.role: getattr(args, f"n_{s.role}") for s in scenarios}
    print(f"preparing the database {args.db} ({args.scenario})", flush=True)
    world, users = prepare_database(
        args.db, counts, args.seed, scenarios, {"call_entries": args.entries}
    )
    for role, role_users in users.items():
        print(f"  {role}: {', '.join(u['login'] for u in role_users)}")

    logfile = RESULTS / f"load-{stamp}-odoo.log"
    server = OdooServer(args.db, args.workers, free_port(args.port), logfile)
    try:
        print(f"starting Odoo ({args.workers} workers) on {server.url}, log {logfile}")
        server.start()
        server.warm_up(args.timeout)
        log_offset = logfile.stat().st_size
        plan = assign_clients(args.clients, users, scenarios)
        print(
            f"running {args.clients} clients for {args.seconds:g}s "
            f"(+{args.warmup:g}s warm-up, at most {args.max_requests} requests)",
            flush=True,
        )
        stats = Stats(0, 0, args.max_requests)
        window = run_clients(args, plan, server.url, world, stats)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping Odoo", file=sys.stderr)
        server.stop()
        sys.exit(130)
    finally:
        server.stop()

    result = report(
        args, world, users, server, stats, window, parse_server_log(logfile, log_offset)
    )
    result["started"] = time.strftime("%Y-%m-%d %H:%M:%S", started)
    result["server"]["log"] = str(logfile.relative_to(ROOT))
    result["server"]["log_problems"] = server_log_problems(logfile)
    print_report(result)
    if args.scenario == "telesales":
        result["telesales"] = verify_telesales(args.db, world, stats)
        print_telesales(result["telesales"], args.seconds + args.warmup)
    path = RESULTS / f"load-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"\nwritten {path.relative_to(ROOT)}")
    if result["overall"]["ok"] == 0:
        sys.exit("FAILED: no request succeeded")
    if not result.get("telesales", {"ok": True})["ok"]:
        sys.exit("FAILED: an entry was handed out to two agents")
    if result["errors"]["rate"] > args.max_error_rate:
        sys.exit(
            f"FAILED: error rate {result['errors']['rate']:.2%} above "
            f"{args.max_error_rate:.2%}"
        )


if __name__ == "__main__":
    main()
