from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .common import CrmExtendedCase


@tagged("post_install", "-at_install")
class TestCrmLanding(CrmExtendedCase):
    """Opening CRM runs Odoo's server action "My Pipeline". Rita manages North (and
    North-West below it); South is someone else's. Each region has an opportunity of
    another salesperson; Sam owns one in South; one has no region."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.north, cls.north_west, cls.south = cls._region_tree(
            manager=cls.regional_manager
        )
        cls.rita_2 = cls._user("regional_manager", "crmx_regional2", "Ron Regional")
        Lead = cls.env["crm.lead"]

        def opportunity(name, state, user):
            customer = cls._customer(f"{name} Corp", state)
            return Lead.create(
                {
                    "name": name,
                    "type": "opportunity",
                    "partner_id": customer.id,
                    "user_id": user.id,
                }
            )

        cls.lead_n = opportunity("North deal", cls.state_n, cls.salesman_2)
        cls.lead_nw = opportunity("North-West deal", cls.state_w, cls.salesman_2)
        cls.lead_s = opportunity("South deal", cls.state_s, cls.salesman)
        cls.lead_none = opportunity("Nowhere deal", cls.state_e, cls.salesman_2)

    def _landing(self, user, xmlid="crm.action_your_pipeline"):
        return self.env.ref(xmlid).with_user(user).run()

    def _search_arch(self, user, action):
        return (
            self.env["crm.lead"]
            .with_user(user)
            .get_views([(action["search_view_id"][0], "search")])["views"]["search"][
                "arch"
            ]
        )

    def _shown(self, user, action):
        """The opportunities the action shows ``user`` with its default filters, as
        the web client combines them (filters of one group or'ed)."""
        filters = {
            "assigned_to_me": [("user_id", "=", user.id)],
            "my_regions": [("is_in_my_regions", "=", True)],
        }
        arch = self._search_arch(user, action)
        defaults = []
        for name, domain in filters.items():
            if action["context"].get(f"search_default_{name}"):
                self.assertIn(f'name="{name}"', arch)
                defaults.append(domain)
        domain = safe_eval(action["domain"])
        if defaults:
            domain += ["|"] * (len(defaults) - 1) + [
                leaf for leaves in defaults for leaf in leaves
            ]
        return self.env["crm.lead"].with_user(user).search(domain)

    def test_regional_manager_lands_on_his_regions(self):
        action = self._landing(self.regional_manager)
        self.assertEqual(action["res_model"], "crm.lead")
        self.assertEqual(action["context"].get("search_default_my_regions"), 1)
        self.assertNotIn("search_default_assigned_to_me", action["context"])
        self.assertIn("regions you manage", action["help"])
        self.assertNotIn("no Sales Team", action["help"])
        shown = self._shown(self.regional_manager, action)
        self.assertIn(self.lead_n, shown)
        self.assertIn(self.lead_nw, shown)
        self.assertNotIn(self.lead_s, shown)
        self.assertNotIn(self.lead_none, shown)

    def test_regional_manager_forecast(self):
        action = self._landing(self.regional_manager, "crm.action_opportunity_forecast")
        self.assertEqual(action["context"].get("search_default_my_regions"), 1)
        self.assertNotIn("search_default_assigned_to_me", action["context"])
        # Odoo's other defaults of the forecast stay
        self.assertEqual(action["context"].get("search_default_forecast"), 1)

    def test_salesperson_keeps_my_pipeline(self):
        for user in (self.salesman, self.sales_manager):
            action = self._landing(user)
            self.assertEqual(
                action["context"].get("search_default_assigned_to_me"), 1, user.name
            )
            self.assertNotIn("search_default_my_regions", action["context"])
        action = self._landing(self.salesman)
        self.assertEqual(self._shown(self.salesman, action), self.lead_s)
        # The filter is the regional managers' only
        self.assertNotIn('name="my_regions"', self._search_arch(self.salesman, action))

    def test_regional_manager_without_region_keeps_my_pipeline(self):
        action = self._landing(self.rita_2)
        self.assertEqual(action["context"].get("search_default_assigned_to_me"), 1)
        self.assertNotIn("search_default_my_regions", action["context"])

    def test_in_my_regions(self):
        """The field and its search follow the current user's managed regions, record
        rules aside (searched as superuser on behalf of the user)."""
        leads = self.lead_n | self.lead_nw | self.lead_s | self.lead_none
        mine, others = self.lead_n | self.lead_nw, self.lead_s | self.lead_none
        self.assertEqual(
            leads.with_user(self.regional_manager).mapped("is_in_my_regions"),
            [True, True, False, False],
        )
        self.assertEqual(
            leads.with_user(self.sales_manager).mapped("is_in_my_regions"),
            [False] * 4,
        )
        for user, expected in (
            (self.regional_manager, {True: mine, False: others}),
            (self.sales_manager, {True: self.env["crm.lead"], False: leads}),
        ):
            Lead = self.env["crm.lead"].with_user(user).sudo()
            for domain, value in (
                ([("is_in_my_regions", "=", True)], True),
                ([("is_in_my_regions", "!=", False)], True),
                ([("is_in_my_regions", "=", False)], False),
                ([("is_in_my_regions", "!=", True)], False),
            ):
                found = Lead.search([*domain, ("id", "in", leads.ids)])
                self.assertEqual(found, expected[value], (user.name, domain))
        with self.assertRaisesRegex(UserError, "only as set or not set"):
            self.env["crm.lead"].search([("is_in_my_regions", "in", [True])])

    def test_my_regions_on_tickets_orders_invoices(self):
        """The same My Regions filter on the other documents that carry a region: a
        ticket, an order and an invoice of a North customer are the regional manager's,
        those of a South customer are not; the filter is offered to him only."""
        north = self._customer("North Buyer", self.state_n)
        south = self._customer("South Buyer", self.state_s)
        for model, vals in (
            ("helpdesk.ticket", {"name": "Broken", "description": "It broke."}),
            ("sale.order", {}),
            ("account.move", {"move_type": "out_invoice"}),
        ):
            Model = self.env[model]
            docs = Model.create(
                [{**vals, "partner_id": partner.id} for partner in (north, south)]
            )
            self.assertEqual(docs.mapped("sales_region_id"), self.north | self.south)
            found = (
                Model.with_user(self.regional_manager)
                .sudo()
                .search([("is_in_my_regions", "=", True), ("id", "in", docs.ids)])
            )
            self.assertEqual(found, docs[0], model)
            for user, offered in (
                (self.regional_manager, True),
                (self.salesman, False),
            ):
                arch = Model.with_user(user).get_views([(False, "search")])["views"][
                    "search"
                ]["arch"]
                self.assertEqual('name="my_regions"' in arch, offered, (model, user))

    def test_my_teams_holds_the_offices_of_my_regions(self):
        """My Teams: a regional manager sees the offices of his regions beside the
        teams he is in; a salesperson his own teams only."""
        Team = self.env["crm.team"]
        north_office = Team.create(
            {"name": "North Office", "sales_region_id": self.north.id}
        )
        north_west_office = Team.create(
            {"name": "North-West Office", "sales_region_id": self.north_west.id}
        )
        south_office = Team.create(
            {"name": "South Office", "sales_region_id": self.south.id}
        )
        own_team = Team.create(
            {"name": "Sam's Team", "member_ids": [(4, self.salesman.id)]}
        )
        offices = north_office | north_west_office | south_office | own_team
        action = self.env.ref("crm_extended.crm_team_action_my_teams")
        domain = safe_eval(action.domain)
        for user, expected in (
            (self.regional_manager, north_office | north_west_office),
            (self.salesman, own_team),
            (self.rita_2, Team),
        ):
            found = Team.with_user(user).search([*domain, ("id", "in", offices.ids)])
            self.assertEqual(found, expected, user.name)
            self.assertEqual(
                offices.with_user(user).mapped("is_my_team"),
                [team in expected for team in offices],
                user.name,
            )
        with self.assertRaisesRegex(UserError, "only as set or not set"):
            Team.search([("is_my_team", "in", [True])])

    def test_my_regions_menu_for_regional_managers_only(self):
        menu = self.env.ref("crm_extended.crm_sales_region_menu_my_regions")
        visible = (
            self.env["ir.ui.menu"].with_user(self.regional_manager)._visible_menu_ids()
        )
        self.assertIn(menu.id, visible)
        visible = self.env["ir.ui.menu"].with_user(self.salesman)._visible_menu_ids()
        self.assertNotIn(menu.id, visible)
