import unittest
from contextlib import contextmanager

from odoo.tests import HttpCase, TransactionCase, common, new_test_user


class CrmExtendedCase(TransactionCase):
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
        cls.salesman = new_test_user(
            cls.env,
            "crmx_salesman",
            groups="sales_team.group_sale_salesman",
            name="Sam Sales",
        )
        cls.salesman_2 = new_test_user(
            cls.env,
            "crmx_salesman2",
            groups="sales_team.group_sale_salesman",
            name="Sue Sales",
        )
        cls.regional_manager = new_test_user(
            cls.env,
            "crmx_regional",
            groups="crm_extended.group_regional_manager",
            name="Rita Regional",
        )
        cls.sales_manager = new_test_user(
            cls.env,
            "crmx_manager",
            groups="sales_team.group_sale_manager",
            name="Max Manager",
        )

    # Helpers ------------------------------------------------------------

    @classmethod
    def _region(cls, name, code, **vals):
        return cls.Region.create({"name": name, "code": code, **vals})

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


class CrmExtendedTourCase(HttpCase):
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
