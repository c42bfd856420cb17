import unittest
from contextlib import contextmanager
from datetime import date

from odoo import Command
from odoo.tests import HttpCase, TransactionCase, common, new_test_user

# The groups of each role, as ``new_test_user`` takes them
ROLE_GROUPS = {
    "employee": "base.group_user",
    "salesperson": "sales_team.group_sale_salesman",
    "all_leads": "sales_team.group_sale_salesman_all_leads",
    "telesales_agent": "crm_extended.group_telesales_agent",
    "regional_manager": "crm_extended.group_regional_manager",
    "sales_manager": "sales_team.group_sale_manager",
    "bonus_manager": "crm_extended.group_bonus_manager",
    "accountant": "account.group_account_invoice",
    "portal": "base.group_portal",
}


class CrmUserMixin:
    """One way to make a user of a role, and a running call list, in every kind of
    test case."""

    @classmethod
    def _user(cls, role, login, name=None, company=None, **vals):
        """A new user of ``role``: a key of ``ROLE_GROUPS``, or several keys and
        group XML ids joined by commas ("bonus_manager,accountant"). With
        ``company``, the user works in that company alone."""
        groups = ",".join(ROLE_GROUPS.get(key, key) for key in role.split(","))
        if name:
            vals["name"] = name
        if company:
            vals["company_id"] = company.id
            vals["company_ids"] = [Command.set(company.ids)]
        return new_test_user(cls.env, login, groups=groups, **vals)

    @classmethod
    def _running_call_list(cls, name, partners, agents, **vals):
        """A call list of ``partners`` worked by ``agents``, callable all day, built,
        distributed and started: the agents' queues hold its entries."""
        call_list = cls.env["crm.call.list"].create(
            {
                "name": name,
                "filter_domain": repr([("id", "in", partners.ids)]),
                "agent_ids": [Command.set(agents.ids)],
                "call_hour_from": 0.0,
                "call_hour_to": 24.0,
                **vals,
            }
        )
        call_list.action_build()
        call_list.action_distribute()
        call_list.action_start()
        return call_list


class CrmExtendedCase(CrmUserMixin, TransactionCase):
    """Builds its own world: a test country with states, a company, sales teams,
    users of every role and customers. Nothing here relies on demo data."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.country = cls.env["res.country"].create(
            {"name": "Crmxland", "code": "QX", "phone_code": 999}
        )
        cls.country_2 = cls.env["res.country"].create(
            {"name": "Crmyland", "code": "QY", "phone_code": 998}
        )
        cls.state_n, cls.state_s, cls.state_e, cls.state_w = cls.env[
            "res.country.state"
        ].create(
            [
                {
                    "name": f"Crmx {name}",
                    "code": f"X{name[0]}",
                    "country_id": cls.country.id,
                }
                for name in ("North", "South", "East", "West")
            ]
        )
        cls.Region = cls.env["crm.sales.region"]
        cls.Partner = cls.env["res.partner"]

        # Users, one per role
        cls.salesman = cls._user("salesperson", "crmx_salesman", "Sam Sales")
        cls.salesman_2 = cls._user("salesperson", "crmx_salesman2", "Sue Sales")
        cls.regional_manager = cls._user(
            "regional_manager", "crmx_regional", "Rita Regional"
        )
        cls.sales_manager = cls._user("sales_manager", "crmx_manager", "Max Manager")

    # Helpers ------------------------------------------------------------

    @classmethod
    def _region(cls, name, code, **vals):
        return cls.Region.create({"name": name, "code": code, **vals})

    @classmethod
    def _region_tree(cls, manager=None, sub_region=None, code="QX"):
        """Regions of Crmxland by state: North (Crmx North), managed by ``manager``,
        with a sub-region, and South (Crmx South). The sub-region is North-West on
        Crmx West unless ``sub_region`` is another (name, code suffix, state). Codes
        are ``code``-N, -S and the suffix. Returns (North, the sub-region, South)."""
        sub_name, sub_code, sub_state = sub_region or ("North-West", "NW", cls.state_w)
        north = cls._region(
            "North",
            f"{code}-N",
            state_ids=[Command.set(cls.state_n.ids)],
            manager_ids=[Command.set(manager.ids)] if manager else [],
        )
        sub = cls._region(
            sub_name,
            f"{code}-{sub_code}",
            parent_id=north.id,
            state_ids=[Command.set(sub_state.ids)],
        )
        south = cls._region(
            "South", f"{code}-S", state_ids=[Command.set(cls.state_s.ids)]
        )
        return north, sub, south

    @classmethod
    def _customer(cls, name, state=None, country=None, **vals):
        state = state or cls.env["res.country.state"]
        country = country or state.country_id or cls.country
        return cls.Partner.create(
            {
                "name": name,
                "is_company": True,
                "state_id": state.id,
                "country_id": country.id,
                **vals,
            }
        )

    @contextmanager
    def assertRefused(self, exception, regex):
        """The block raises ``exception`` matching ``regex`` and leaves the database as
        it was: the savepoint rolls the write back as the request's transaction
        would."""
        with self.assertRaisesRegex(exception, regex), self.env.cr.savepoint():
            yield
        self.env.invalidate_all()


class CrmBonusCase(CrmExtendedCase):
    """The bonus world: a company of its own, the one the environment works in, with
    a chart of accounts, and its people: salespeople Ann and Bob, a bonus manager
    (Bea), an accountant (Acc) and a sales manager who is no bonus manager (Sal).
    A subclass names the company and the people's surname."""

    bonus_company_name = "Bonus Co"
    bonus_surname = "Bonus"  # Ann Bonus (login crmx_ann_bonus), Bob Bonus, ...
    bonus_chart = True  # False: a company without a chart of accounts

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bonus_company = cls._bonus_company(cls.bonus_company_name, cls.bonus_chart)
        cls.ann = cls._bonus_user("salesperson", "Ann")
        cls.bob = cls._bonus_user("salesperson", "Bob")
        cls.bonus_manager = cls._bonus_user("bonus_manager", "Bea")
        cls.accountant = cls._bonus_user("accountant", "Acc")
        cls.bonus_sales_manager = cls._bonus_user("sales_manager", "Sal")

    @classmethod
    def _bonus_user(cls, role, first_name):
        """A user of ``role`` in the bonus company, named ``first_name`` and the
        class's surname."""
        name = f"{first_name} {cls.bonus_surname}"
        login = f"crmx_{name.lower().replace(' ', '_')}"
        return cls._user(role, login, name, company=cls.bonus_company)

    @classmethod
    def _bonus_target(cls, plan, user, targets, amount=1000, day=date(2025, 2, 1)):
        """A target of ``user`` on ``plan`` for the period of ``day``: ``targets``
        is {kpi_type: target}, ``amount`` the amount on target."""
        return cls.env["crm.bonus.target"].create(
            {
                "plan_id": plan.id,
                "user_id": user.id,
                "date_from": day,
                "amount_on_target": amount,
                "line_ids": [
                    Command.create({"kpi_type": kpi_type, "target": value})
                    for kpi_type, value in targets.items()
                ],
            }
        )

    @classmethod
    def _bonus_statement(cls, plan, user, targets, amount=1000, day=date(2025, 2, 1)):
        """The statement that a new target (``_bonus_target``) creates."""
        target = cls._bonus_target(plan, user, targets, amount, day)
        target.action_create_statements()
        return cls.env["crm.bonus.statement"].search([("target_id", "=", target.id)])

    @classmethod
    def _bonus_company(cls, name, chart=True):
        """A new company, with the generic chart of accounts unless ``chart`` is
        False; the environment works in it from now on."""
        company = cls.env["res.company"].create({"name": name})
        if chart:
            cls.env["account.chart.template"].try_loading(
                "generic_coa", company, install_demo=False
            )
        context = dict(cls.env.context, allowed_company_ids=company.ids)
        cls.env = cls.env(context=context)
        return company


class CrmExtendedTourCase(CrmUserMixin, HttpCase):
    """Browser tours that fail, never skip: Odoo skips a tour silently when it finds no
    Chromium or no websocket-client."""

    def start_tour_strict(self, url, tour_name, **kwargs):
        if common.websocket is None:
            self.fail(
                "The tour needs the Python package websocket-client to drive Chromium: "
                "install it in the virtualenv that runs the tests."
            )
        try:
            self.assertTrue(common._find_executable())
        except unittest.SkipTest:
            self.fail(
                "The tour needs a Chrome or Chromium executable on the PATH "
                "(google-chrome, chromium, chromium-browser or google-chrome-stable)."
            )
        try:
            self.start_tour(url, tour_name, **kwargs)
        except unittest.SkipTest as skip:
            # Chromium found but not started or not reachable: a failure, not a skip.
            self.fail(f"The tour {tour_name} could not run in Chromium: {skip}")
