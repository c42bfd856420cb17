"""Call list build and distribution: N customers of a state, 50 telesales agents.

A sales manager builds a draft call list whose filter selects the N customers, then
distributes it round robin to 50 agents. The customers' phones are valid E.164 numbers
already; some are left out: no phone (1%), do not call (1%), on another running list
(1%), blacklisted number (0.5%).

crm_extended runs ``action_build()`` (one read of the candidates with their
exclusion flags, E.164 formatting in Python, multi-row INSERTs) and
``action_distribute()`` (one read, one UPDATE ... FROM unnest()); the SQL floor is one
INSERT ... SELECT with the same exclusions and one UPDATE numbering the entries round
robin (row_number()); the ORM loop checks each customer on its own, formats its phone
with ``phone_format`` and creates its entry with the next agent (timed on a sample,
extrapolated). The answer: the set of
customers on the list and the number of entries of each agent.
"""

from collections import Counter

from harness import Operation, ensure_user

from odoo import Command, fields

from odoo.addons.phone_validation.tools import phone_validation

from ops.region_reassign import insert_partners

SIZES = {"S": 10_000, "M": 100_000, "L": 100_000}
AGENTS = 50
AGENT_GROUP = "crm_extended.group_telesales_agent"


def ensure_agents(env, count):
    """``count`` telesales agents ``bench_agent_<n>`` (password: the login), the
    missing ones created by one ``create()``."""
    logins = [f"bench_agent_{index:02d}" for index in range(1, count + 1)]
    Users = env["res.users"].with_context(active_test=False)
    existing = Users.search([("login", "in", logins)])
    missing = set(logins) - set(existing.mapped("login"))
    group_ids = [env.ref("base.group_user").id, env.ref(AGENT_GROUP).id]
    if missing:
        existing |= Users.with_context(
            no_reset_password=True, tracking_disable=True
        ).create(
            [
                {
                    "name": login.replace("_", " ").title(),
                    "login": login,
                    "password": login,
                    "tz": "UTC",
                    "groups_id": [Command.set(group_ids)],
                }
                for login in sorted(missing)
            ]
        )
    return existing.sorted("id")


def _answer(env, call_list_id):
    env.flush_all()
    env.cr.execute(
        "SELECT partner_id, agent_id FROM crm_call_list_entry WHERE call_list_id = %s",
        (call_list_id,),
    )
    rows = env.cr.fetchall()
    return {
        "partners": frozenset(partner for partner, _agent in rows),
        "per_agent": Counter(agent for _partner, agent in rows),
    }


class CallListBuild(Operation):
    name = "call list build + distribute"
    orm_sample = 1_000
    user_login = "bench_sales_manager"  # call lists are made by sales managers

    def prepare(self, env):
        manager = ensure_user(env, self.user_login, "sales_team.group_sale_manager")
        if not manager.email:  # building posts the list's summary in its chatter
            manager.email = f"{self.user_login}@bench.example.com"
        agents = ensure_agents(env, AGENTS)
        belgium = env.ref("base.be")
        state = env["res.country.state"].create(
            {"name": "Bench Calls", "code": "QBC", "country_id": belgium.id}
        )
        # On a database with few partners, PostgreSQL plans (and keeps for the
        # session) the foreign key checks of res_partner as sequential scans: the
        # commercial_partner_id UPDATE of insert_partners then takes minutes at M.
        env.cr.execute("SET enable_seqscan = off")
        try:
            partners = insert_partners(env, self.size - 1, state, belgium)
        finally:
            env.cr.execute("RESET enable_seqscan")
        # Valid Belgian mobile numbers, E.164 already; the exclusions by position.
        env.cr.execute(
            """
            WITH numbered AS (
                SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
                  FROM res_partner WHERE id = ANY(%(ids)s))
            UPDATE res_partner p
               SET phone = CASE WHEN x.n %% 100 = 1 THEN NULL
                           ELSE '+32470' || lpad(x.n::text, 6, '0') END,
                   mobile = NULL,
                   call_do_not_call = (x.n %% 100 = 2)
              FROM numbered x
             WHERE p.id = x.id
            """,
            {"ids": partners.ids},
        )
        env.cr.execute(
            """
            INSERT INTO phone_blacklist (number, active, create_uid, create_date,
                                         write_uid, write_date)
            SELECT phone, TRUE, 1, now() at time zone 'UTC', 1,
                   now() at time zone 'UTC'
              FROM (SELECT phone, row_number() OVER (ORDER BY id) - 1 AS n
                      FROM res_partner WHERE id = ANY(%(ids)s)) x
             WHERE x.n %% 200 = 3
            ON CONFLICT DO NOTHING
            """,
            {"ids": partners.ids},
        )
        CallList = env["crm.call.list"].with_context(tracking_disable=True)
        other = CallList.create(
            {"name": "Bench running list", "state": "running", "agent_ids": []}
        )
        env.cr.execute(
            """
            INSERT INTO crm_call_list_entry (call_list_id, company_id, partner_id,
                phone, state, attempt_count, priority)
            SELECT %(list)s, %(company)s, x.id, x.phone, 'pending', 0, '0'
              FROM (SELECT id, phone, row_number() OVER (ORDER BY id) - 1 AS n
                      FROM res_partner WHERE id = ANY(%(ids)s)) x
             WHERE x.n %% 100 = 4
            """,
            {"list": other.id, "company": env.company.id, "ids": partners.ids},
        )
        call_list = CallList.create(
            {
                "name": "Bench campaign",
                "filter_domain": repr([("state_id", "=", state.id)]),
                "agent_ids": [Command.set(agents.ids)],
                "distribution_method": "round_robin",
            }
        )
        env.invalidate_all()
        env.cr.execute(
            "ANALYZE res_partner, crm_call_list_entry, phone_blacklist, "
            "crm_call_list_agent_rel"
        )
        return {
            "call_list": call_list,
            "state": state,
            "agents": agents,
            "partners": partners,
        }

    def crm_extended(self, env, ctx):
        call_list = ctx["call_list"].with_env(env)
        call_list.action_build()
        call_list.action_distribute()
        return _answer(env, call_list.id)

    def sql_floor(self, env, ctx):
        call_list = ctx["call_list"]
        now = fields.Datetime.now()
        env.cr.execute(
            """
            INSERT INTO crm_call_list_entry
                (call_list_id, company_id, partner_id, phone, sales_region_id,
                 priority, state, attempt_count,
                 create_uid, create_date, write_uid, write_date)
            SELECT %(list)s, %(company)s, p.id, p.phone, p.sales_region_id,
                   '0', 'pending', 0, %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM res_partner p
              JOIN res_partner cp ON cp.id = p.commercial_partner_id
             WHERE p.active AND p.state_id = %(state)s
               AND p.phone IS NOT NULL
               AND NOT COALESCE(p.call_do_not_call OR cp.call_do_not_call, FALSE)
               AND NOT EXISTS (
                   SELECT 1 FROM crm_call_list_entry oe
                     JOIN crm_call_list ol ON ol.id = oe.call_list_id
                    WHERE oe.partner_id = p.id AND ol.id != %(list)s
                      AND ol.state IN ('running', 'paused'))
               AND NOT EXISTS (
                   SELECT 1 FROM phone_blacklist b
                    WHERE b.active AND b.number = p.phone)
             ORDER BY p.id
            """,
            {
                "list": call_list.id,
                "company": call_list.company_id.id,
                "state": ctx["state"].id,
                "uid": env.uid,
                "now": now,
            },
        )
        env.cr.execute(
            """
            WITH entries AS (
                SELECT id, row_number() OVER (ORDER BY priority DESC, id) - 1 AS n
                  FROM crm_call_list_entry WHERE call_list_id = %(list)s),
            agents AS (
                SELECT user_id, row_number() OVER (ORDER BY user_id) - 1 AS k,
                       count(*) OVER () AS total
                  FROM crm_call_list_agent_rel WHERE call_list_id = %(list)s)
            UPDATE crm_call_list_entry e SET agent_id = a.user_id
              FROM entries x JOIN agents a ON a.k = x.n %% a.total
             WHERE e.id = x.id
            """,
            {"list": call_list.id},
        )
        return _answer(env, call_list.id)

    def orm_loop(self, env, ctx, sample):
        call_list = ctx["call_list"].with_env(env)
        agents = call_list.agent_ids.sorted("id")
        Entry = env["crm.call.list.entry"]
        Blacklist = env["phone.blacklist"].sudo()
        partners = env["res.partner"].search(
            [("state_id", "=", ctx["state"].id)], order="id"
        )
        partners = partners[:sample] if sample else partners
        turn = 0
        for partner in partners:
            if partner.call_do_not_call or (
                partner.commercial_partner_id.call_do_not_call
            ):
                continue
            if not partner.phone:
                continue
            country = partner.country_id or env.company.country_id
            phone = phone_validation.phone_format(
                partner.phone,
                country.code,
                country.phone_code,
                force_format="E164",
                raise_exception=False,
            )
            if not phone or Blacklist.search_count([("number", "=", phone)]):
                continue
            if Entry.search_count(
                [
                    ("partner_id", "=", partner.id),
                    ("call_list_id", "!=", call_list.id),
                    ("call_list_id.state", "in", ["running", "paused"]),
                ]
            ):
                continue
            Entry.create(
                {
                    "call_list_id": call_list.id,
                    "partner_id": partner.id,
                    "phone": phone,
                    "agent_id": agents[turn % len(agents)].id,
                }
            )
            turn += 1
        return _answer(env, call_list.id)

    def same(self, a, b):
        return a["partners"] == b["partners"] and a["per_agent"] == b["per_agent"]

    def same_sample(self, full, partial):
        counts = partial["per_agent"].values()
        return (
            bool(partial["partners"])
            and partial["partners"] <= full["partners"]
            and max(counts) - min(counts) <= 1
        )


OPERATIONS = [CallListBuild]
