from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import CrmExtendedCase

# Queries of one region write that re-assigns its area, whatever the number of partners.
MAX_REASSIGN_QUERIES = 40


class CountryRegionCase(CrmExtendedCase):
    """Crmxland: the country at the top, North as a sub-region by state."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls._region(
            "Crmxland", "QX-ALL", country_ids=[Command.set(cls.country.ids)]
        )
        cls.north = cls._region(
            "North",
            "QX-N",
            parent_id=cls.root.id,
            state_ids=[Command.set(cls.state_n.ids)],
        )


@tagged("post_install", "-at_install")
class TestSalesRegionAssignment(CountryRegionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # South as a second sub-region by state.
        cls.south = cls._region(
            "South",
            "QX-S",
            parent_id=cls.root.id,
            state_ids=[Command.set(cls.state_s.ids)],
        )
        cls.team_north = cls.env["crm.team"].create(
            {"name": "North Office", "sales_region_id": cls.north.id}
        )
        cls.team_free = cls.env["crm.team"].create({"name": "Office without region"})

    def test_hierarchy(self):
        self.assertEqual(self.north.complete_name, "Crmxland / North")
        self.assertEqual(self.north.level, 2)
        self.assertEqual(self.root.child_ids, self.north | self.south)
        found = self.Region.search([("id", "child_of", self.root.id)])
        self.assertEqual(found, self.root | self.north | self.south)
        self.root.name = "Crmx"
        self.assertEqual(self.south.complete_name, "Crmx / South")

    def test_state_beats_country(self):
        in_north = self._customer("North Corp", self.state_n)
        in_east = self._customer("East Corp", self.state_e)
        no_state = self._customer("Stateless Corp", country=self.country)
        elsewhere = self._customer("Abroad Corp", country=self.country_2)
        self.assertEqual(in_north.sales_region_id, self.north)
        self.assertEqual(in_east.sales_region_id, self.root)
        self.assertEqual(no_state.sales_region_id, self.root)
        self.assertFalse(elsewhere.sales_region_id)

    def test_deepest_country_region_wins(self):
        customer = self._customer("East Corp", self.state_e)
        self.assertEqual(customer.sales_region_id, self.root)
        deep = self._region(
            "Crmxland core",
            "QX-CORE",
            parent_id=self.north.id,
            country_ids=[Command.set(self.country.ids)],
        )
        self.assertEqual(customer.sales_region_id, deep)
        # A state claim still beats the deeper country claim.
        self.assertEqual(
            self._customer("North 2", self.state_n).sales_region_id, self.north
        )

    def test_address_change(self):
        customer = self._customer("Mover", self.state_n)
        customer.state_id = self.state_s
        self.assertEqual(customer.sales_region_id, self.south)
        customer.write({"state_id": False, "country_id": self.country_2.id})
        self.assertFalse(customer.sales_region_id)

    def test_contacts_follow_commercial_entity(self):
        company = self._customer("Parent Corp", self.state_n)
        contact = self.Partner.create(
            {"name": "Jane", "parent_id": company.id, "type": "other"}
        )
        contact.write({"state_id": self.state_s.id, "country_id": self.country.id})
        self.assertEqual(contact.sales_region_id, self.north)
        company.state_id = self.state_s
        self.assertEqual(contact.sales_region_id, self.south)
        # and in the set-based path too
        self.south.state_ids = [Command.clear()]
        self.assertEqual(company.sales_region_id, self.root)
        self.assertEqual(contact.sales_region_id, self.root)
        # A region set by hand on the company reaches its contacts, every time.
        company.sales_region_id = self.north
        self.assertEqual(contact.sales_region_id, self.north)
        company.sales_region_id = self.south
        self.assertEqual(contact.sales_region_id, self.south)
        company.sales_region_id = False
        self.assertEqual(contact.sales_region_id, self.root)

    def test_manual_region_stays(self):
        customer = self._customer("Picky Corp", self.state_n)
        with Form(customer) as form:
            form.sales_region_id = self.south
        self.assertTrue(customer.sales_region_manual)
        customer.state_id = self.state_e
        self.assertEqual(customer.sales_region_id, self.south)
        self.north.state_ids = [Command.link(self.state_e.id)]
        self.assertEqual(
            customer.sales_region_id, self.south, "bulk re-assignment skips it"
        )
        # Clearing the region hands it back to the address.
        customer.sales_region_id = False
        self.assertFalse(customer.sales_region_manual)
        self.assertEqual(customer.sales_region_id, self.north)

    def test_manual_region_at_creation(self):
        customer = self._customer(
            "Chosen Corp", self.state_n, sales_region_id=self.south.id
        )
        self.assertEqual(customer.sales_region_id, self.south)
        self.assertTrue(customer.sales_region_manual)

    def test_area_change_reassigns(self):
        east = self._customer("East Corp", self.state_e)
        west = self._customer("West Corp", self.state_w)
        self.assertEqual(east.sales_region_id, self.root)
        self.north.state_ids = [Command.link(self.state_e.id)]
        self.assertEqual(east.sales_region_id, self.north)
        self.assertEqual(west.sales_region_id, self.root)
        self.north.state_ids = [Command.unlink(self.state_e.id)]
        self.assertEqual(east.sales_region_id, self.root)
        # Archiving a region hands its customers to the next best one.
        north_customer = self._customer("North Corp", self.state_n)
        self.north.active = False
        self.assertEqual(north_customer.sales_region_id, self.root)
        self.north.active = True
        self.assertEqual(north_customer.sales_region_id, self.north)
        # Deleting a region too.
        self.north.unlink()
        self.assertEqual(north_customer.sales_region_id, self.root)

    def test_reparenting_changes_depth(self):
        customer = self._customer("East Corp", self.state_e)
        other = self._region(
            "Other", "QX-O", country_ids=[Command.set(self.country_2.ids)]
        )
        deep = self._region(
            "Deep",
            "QX-D",
            parent_id=other.id,
            country_ids=[Command.set(self.country.ids)],
        )
        self.assertEqual(customer.sales_region_id, deep)
        with self.assertRefused(ValidationError, "same level"):
            # at the top, it would claim Crmxland beside the root region
            deep.parent_id = False
        self.assertEqual(deep.parent_id, other)
        deep.parent_id = self.north
        self.assertEqual(deep.level, 3)
        self.assertEqual(customer.sales_region_id, deep)

    def test_documents_take_team_then_partner_region(self):
        customer = self._customer("Doc Corp", self.state_s)
        lead = self.env["crm.lead"].create(
            {"name": "Deal", "partner_id": customer.id, "team_id": self.team_north.id}
        )
        self.assertEqual(lead.sales_region_id, self.north)
        lead.team_id = self.team_free
        self.assertEqual(lead.sales_region_id, self.south)
        customer.state_id = self.state_n
        self.assertEqual(lead.sales_region_id, self.north)
        self.team_free.sales_region_id = self.root
        self.assertEqual(lead.sales_region_id, self.root)

    def test_documents_follow_bulk_reassignment(self):
        customer = self._customer("Bulk Corp", self.state_e)
        contact = self.Partner.create({"name": "Bob", "parent_id": customer.id})
        product = self.env["product.product"].create(
            {"name": "Widget", "list_price": 10}
        )
        order = self.env["sale.order"].create(
            {
                "partner_id": contact.id,
                "team_id": self.team_free.id,
                "order_line": [Command.create({"product_id": product.id})],
            }
        )
        lead = self.env["crm.lead"].create(
            {"name": "Deal", "partner_id": contact.id, "team_id": self.team_free.id}
        )
        ticket = self.env["helpdesk.ticket"].create(
            {"name": "Broken", "description": "It broke", "partner_id": customer.id}
        )
        draft, posted = self.env["account.move"].create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": customer.id,
                    "invoice_line_ids": [
                        Command.create({"product_id": product.id, "price_unit": 10})
                    ],
                }
                for _i in range(2)
            ]
        )
        posted.action_post()
        for doc in (order, lead, ticket, draft, posted):
            self.assertEqual(doc.sales_region_id, self.root, doc._name)
        self.north.state_ids = [Command.link(self.state_e.id)]
        for doc in (order, lead, ticket, draft):
            self.assertEqual(doc.sales_region_id, self.north, doc._name)
        self.assertEqual(
            posted.sales_region_id, self.root, "a posted invoice keeps its region"
        )
        # The ORM path keeps posted invoices as well.
        customer.state_id = self.state_s
        self.assertEqual(draft.sales_region_id, self.south)
        self.assertEqual(posted.sales_region_id, self.root)

    def test_vendor_bills_have_no_region(self):
        customer = self._customer("Supplier Corp", self.state_n)
        bill = self.env["account.move"].create(
            {"move_type": "in_invoice", "partner_id": customer.id}
        )
        self.assertFalse(bill.sales_region_id)

    def test_search_by_region_subtree(self):
        self._customer("N", self.state_n)
        self._customer("S", self.state_s)
        self._customer("E", self.state_e)
        found = self.Partner.search(
            [
                ("sales_region_id", "child_of", self.root.id),
                ("name", "in", ["N", "S", "E"]),
            ]
        )
        self.assertEqual(len(found), 3)
        found = self.Partner.search(
            [
                ("sales_region_id", "child_of", self.north.id),
                ("name", "in", ["N", "S", "E"]),
            ]
        )
        self.assertEqual(found.mapped("name"), ["N"])

    def test_counters(self):
        self._customer("N", self.state_n)
        self._customer("S", self.state_s)
        self.assertEqual(self.north.team_count, 1)
        self.assertEqual(self.root.team_count, 1)
        self.assertEqual(self.north.partner_count, 1)
        self.assertEqual(self.root.partner_count, 2)


@tagged("post_install", "-at_install")
class TestSalesRegionConstraints(CountryRegionCase):
    def test_parent_cycle(self):
        with self.assertRefused(ValidationError, "own parent or ancestor"):
            self.root.parent_id = self.north
        with self.assertRefused(ValidationError, "own parent or ancestor"):
            self.north.parent_id = self.north
        self.assertFalse(self.root.parent_id)

    @mute_logger("odoo.sql_db")
    def test_duplicate_code(self):
        with self.assertRefused(
            ValidationError, r"already used by the sales region Crmxland"
        ):
            self._region("Copy", "qx-all")
        other_company = self.env["res.company"].create({"name": "Other Co"})
        # The same code is fine in another company.
        self._region("Elsewhere", "QX-ALL", company_id=other_company.id)

    def test_same_state_twice(self):
        with self.assertRefused(ValidationError, r"Crmx North.*Crmxland / North"):
            self._region("Rival", "QX-R", state_ids=[Command.set(self.state_n.ids)])
        south = self._region("South", "QX-S", state_ids=[Command.set(self.state_s.ids)])
        with self.assertRefused(ValidationError, "already claimed"):
            south.state_ids = [Command.link(self.state_n.id)]
        self.assertEqual(south.state_ids, self.state_s, "no partial write")

    def test_same_country_same_level(self):
        with self.assertRefused(ValidationError, r"Crmxland.*same level"):
            self._region("Rival", "QX-R", country_ids=[Command.set(self.country.ids)])
        # One level down it is allowed: the deeper region wins.
        child = self._region(
            "Core",
            "QX-C",
            parent_id=self.root.id,
            country_ids=[Command.set(self.country.ids)],
        )
        self.assertEqual(child.level, 2)

    def test_other_company_may_claim_the_same_area(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        region = self._region(
            "Theirs",
            "T",
            company_id=other_company.id,
            state_ids=[Command.set(self.state_n.ids)],
            country_ids=[Command.set(self.country.ids)],
        )
        self.assertTrue(region)


@tagged("post_install", "-at_install")
class TestSalesRegionMultiCompany(CrmExtendedCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Crmx B"})
        cls.region_a = cls._region(
            "A North", "A-N", state_ids=[Command.set(cls.state_n.ids)]
        )
        cls.region_b = cls._region(
            "B North",
            "B-N",
            company_id=cls.company_b.id,
            state_ids=[Command.set(cls.state_n.ids)],
        )

    def test_partner_of_a_company_gets_its_company_region(self):
        partner_b = self._customer("B Corp", self.state_n, company_id=self.company_b.id)
        partner_a = self._customer("A Corp", self.state_n, company_id=self.company.id)
        self.assertEqual(partner_b.sales_region_id, self.region_b)
        self.assertEqual(partner_a.sales_region_id, self.region_a)
        # A shared partner takes the region of the lowest company id.
        shared = self._customer("Shared Corp", self.state_n)
        first = min(self.region_a | self.region_b, key=lambda r: r.company_id.id)
        self.assertEqual(shared.sales_region_id, first)

    def test_document_never_takes_another_company_region(self):
        shared = self._customer("Shared Corp", self.state_n)
        lead_a, lead_b = self.env["crm.lead"].create(
            [
                {
                    "name": "A deal",
                    "partner_id": shared.id,
                    "company_id": self.company.id,
                },
                {
                    "name": "B deal",
                    "partner_id": shared.id,
                    "company_id": self.company_b.id,
                },
            ]
        )
        self.assertEqual(shared.sales_region_id, self.region_a)
        self.assertEqual(lead_a.sales_region_id, self.region_a)
        self.assertFalse(lead_b.sales_region_id, "region A belongs to another company")

    def test_region_rule(self):
        user_a = self.salesman
        self.assertIn(self.region_a, self.Region.with_user(user_a).search([]))
        self.assertNotIn(self.region_b, self.Region.with_user(user_a).search([]))


@tagged("post_install", "-at_install")
class TestSalesRegionBulk(CrmExtendedCase):
    def _count_queries(self, func):
        self.env.flush_all()
        before = self.cr.sql_log_count
        func()
        self.env.flush_all()
        return self.cr.sql_log_count - before

    def _make_partners(self, count, state):
        return self.Partner.create(
            [
                {
                    "name": f"Bulk {state.code} {i}",
                    "is_company": True,
                    "state_id": state.id,
                    "country_id": self.country.id,
                }
                for i in range(count)
            ]
        )

    def test_reassignment_query_count_is_constant(self):
        """Re-assigning N partners costs the same number of queries for any N."""
        small = self._make_partners(10, self.state_n)
        large = self._make_partners(300, self.state_s)
        self.env["crm.lead"].create(
            [{"name": f"L{p.id}", "partner_id": p.id} for p in (small | large)[:50]]
        )
        region_n = self._region("N", "N")
        region_s = self._region("S", "S")
        queries_small = self._count_queries(
            lambda: region_n.write({"state_ids": [Command.set(self.state_n.ids)]})
        )
        queries_large = self._count_queries(
            lambda: region_s.write({"state_ids": [Command.set(self.state_s.ids)]})
        )
        self.assertEqual(set(small.mapped("sales_region_id")), {region_n})
        self.assertEqual(set(large.mapped("sales_region_id")), {region_s})
        self.assertEqual(queries_small, queries_large)
        self.assertLessEqual(queries_large, MAX_REASSIGN_QUERIES)

    def test_bulk_matches_orm(self):
        """The set-based path and the ORM compute agree on every partner."""
        partners = self._make_partners(20, self.state_n) | self._make_partners(
            20, self.state_e
        )
        self._region("Top", "TOP", country_ids=[Command.set(self.country.ids)])
        self._region("N", "N", state_ids=[Command.set(self.state_n.ids)])
        bulk = {p.id: p.sales_region_id for p in partners}
        self.env.add_to_compute(self.Partner._fields["sales_region_id"], partners)
        partners._recompute_recordset(["sales_region_id"])
        self.assertEqual({p.id: p.sales_region_id for p in partners}, bulk)
        self.assertTrue(all(bulk.values()))

    def _recompute_queries(self, records):
        field = records._fields["sales_region_id"]

        def recompute():
            self.env.add_to_compute(field, records)
            records._recompute_recordset(["sales_region_id"])

        self.env.invalidate_all()
        return self._count_queries(recompute)

    def test_partner_compute_query_count(self):
        """The address match of a batch of partners does not query per partner."""
        self._region("N", "N", state_ids=[Command.set(self.state_n.ids)])
        small = self._make_partners(5, self.state_n)
        large = self._make_partners(200, self.state_n)
        queries_small = self._recompute_queries(small)
        queries_large = self._recompute_queries(large)
        self.assertEqual(queries_small, queries_large)
        self.assertLessEqual(queries_large, 8)
        self.assertEqual(len(large.sales_region_id), 1)

    def test_document_compute_query_count(self):
        """The region of a batch of documents does not query per document."""
        region = self._region("N", "N", state_ids=[Command.set(self.state_n.ids)])
        team = self.env["crm.team"].create({"name": "T", "sales_region_id": region.id})
        partners = self._make_partners(200, self.state_n)
        leads = self.env["crm.lead"].create(
            [
                {
                    "name": f"L{i}",
                    "partner_id": partner.id,
                    "team_id": team.id if i % 2 else False,
                }
                for i, partner in enumerate(partners)
            ]
        )
        queries_small = self._recompute_queries(leads[:5])
        queries_large = self._recompute_queries(leads)
        self.assertEqual(queries_small, queries_large)
        self.assertLessEqual(queries_large, 8)
        self.assertEqual(leads.sales_region_id, region)
