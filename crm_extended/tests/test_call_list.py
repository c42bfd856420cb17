from collections import Counter
from datetime import datetime, timedelta

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CrmExtendedCase


def belgian_mobile(index):
    """A valid Belgian mobile number, written the way people type it."""
    return f"+32 470 {index // 100:02d} {index % 100:02d} 00"


def e164(index):
    return f"+32470{index // 100:02d}{index % 100:02d}00"


def running_pool(env, name, first_phone):
    """In ``env`` (a cursor of its own, for the concurrency tests): two partners
    with the phones ``e164(first_phone)`` and next, on a running call list of the
    admin, undistributed (the agents' common pool). Returns (list, partners,
    admin)."""
    admin = env.ref("base.user_admin")
    partners = env["res.partner"].create(
        [{"name": f"{name} {i}", "phone": e164(first_phone + i)} for i in range(2)]
    )
    call_list = env["crm.call.list"].create(
        {
            "name": name,
            "filter_domain": repr([("id", "in", partners.ids)]),
            "agent_ids": [Command.set(admin.ids)],
            "call_hour_from": 0.0,
            "call_hour_to": 24.0,
        }
    )
    call_list.action_build()
    call_list.action_start()
    return call_list, partners, admin


def remove_pool(registry, list_id, partner_ids):
    """Remove what ``running_pool`` committed, with the calls logged on it: the
    cleanup of the concurrency tests."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        call_list = env["crm.call.list"].browse(list_id)
        env["crm.phonecall"].search([("call_list_id", "=", call_list.id)]).unlink()
        call_list.write({"state": "draft"})
        call_list.unlink()
        env["res.partner"].browse(partner_ids).unlink()


class CallListCase(CrmExtendedCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agents = cls.env["res.users"]
        for login, name in (("a1", "Ann"), ("a2", "Bob"), ("a3", "Cid")):
            cls.agents |= cls._user(
                "telesales_agent", f"crmx_agent_{login}", f"{name} Agent", tz="UTC"
            )
        cls.agent_1, cls.agent_2, cls.agent_3 = cls.agents
        cls.sales_manager.tz = "UTC"
        cls.north, cls.north_west, cls.south = cls._region_tree()
        cls.CallList = cls.env["crm.call.list"]
        cls.Entry = cls.env["crm.call.list.entry"]
        cls.outcome = {
            code: cls.env.ref(f"crm_extended.crm_call_outcome_{code}")
            for code in (
                "interested",
                "order_taken",
                "callback",
                "not_interested",
                "no_answer",
                "wrong_number",
                "do_not_call",
            )
        }

    @classmethod
    def _callable(cls, count, start=0, **vals):
        return cls.Partner.browse(
            cls._customer(
                f"Callable {start + i}", phone=belgian_mobile(start + i), **vals
            ).id
            for i in range(count)
        )

    def _list(self, partners, **vals):
        return self.CallList.create(
            {
                "name": "Winter campaign",
                "filter_domain": repr([("id", "in", partners.ids)]),
                "agent_ids": [Command.set(self.agents.ids)],
                "call_hour_from": 0.0,
                "call_hour_to": 24.0,
                **vals,
            }
        )

    def _running(self, partners, **vals):
        call_list = self._list(partners, **vals)
        call_list.action_build()
        call_list.action_distribute()
        call_list.action_start()
        return call_list


@tagged("post_install", "-at_install")
class TestCallListBuild(CallListCase):
    def test_build_exclusions(self):
        good = self._callable(3)
        mobile_only = self._customer("Mobile Only", mobile=belgian_mobile(50))
        no_phone = self._customer("No Phone")
        bad_phone = self._customer("Bad Phone", phone="12")
        blacklisted = self._customer("Blacklisted", phone=belgian_mobile(60))
        self.env["phone.blacklist"].create({"number": belgian_mobile(60)})
        unblocked = self._customer("Unblocked", phone=belgian_mobile(61))
        self.env["phone.blacklist"].create(
            {"number": belgian_mobile(61), "active": False}
        )
        do_not_call = self._customer(
            "Do Not Call", phone=belgian_mobile(70), call_do_not_call=True
        )
        contact_of_dnc = self.Partner.create(
            {"name": "Its Contact", "parent_id": do_not_call.id, "phone": e164(71)}
        )
        elsewhere = self._customer("Elsewhere", phone=belgian_mobile(80))
        self._running(elsewhere)
        everyone = (
            good
            | mobile_only
            | no_phone
            | bad_phone
            | blacklisted
            | unblocked
            | do_not_call
            | contact_of_dnc
            | elsewhere
        )
        call_list = self._list(everyone)
        call_list.action_build()
        entries = call_list.entry_ids
        self.assertEqual(entries.partner_id, good | mobile_only | unblocked)
        self.assertEqual(
            sorted(entries.mapped("phone")),
            sorted([e164(i) for i in (0, 1, 2, 50, 61)]),
        )
        self.assertEqual(set(entries.mapped("state")), {"pending"})
        self.assertEqual(call_list.entry_count, 5)
        self.assertEqual(call_list.pending_count, 5)
        self.assertEqual(call_list.unassigned_count, 5)
        self.assertIn("2 without a usable phone number", call_list.message_ids[0].body)
        # Built again (still a draft): the same entries, not twice.
        call_list.action_build()
        self.assertEqual(len(call_list.entry_ids), 5)

    def test_ready_options(self):
        customers = self._callable(6)
        north, north_west, south, tagged_c, owned, quiet = customers
        north.state_id = self.state_n
        north_west.state_id = self.state_w
        south.state_id = self.state_s
        tag = self.env["res.partner.category"].create({"name": "VIP"})
        tagged_c.category_id = tag
        owned.user_id = self.salesman

        def built(**options):
            call_list = self._list(customers, **options)
            call_list.action_build()
            return call_list.entry_ids.partner_id

        self.assertEqual(built(region_ids=self.north.ids), north | north_west)
        self.assertEqual(built(category_ids=tag.ids), tagged_c)
        self.assertEqual(built(salesperson_ids=self.salesman.ids), owned)

        # Not contacted for 30 days: never contacted, or last contact 31 days ago.
        now = datetime(2030, 3, 1, 12)
        with freeze_time(now):
            self.env.cr.execute(
                "UPDATE res_partner SET date_last_contact = %s WHERE id = %s",
                (now - timedelta(days=2), quiet.id),
            )
            self.env.cr.execute(
                "UPDATE res_partner SET date_last_contact = %s WHERE id = %s",
                (now - timedelta(days=31), owned.id),
            )
            self.Partner.invalidate_model(["date_last_contact"])
            self.assertEqual(built(not_contacted_days=30), customers - quiet)

        # Never ordered: one customer has a confirmed order, another a quotation.
        product = self.env["product.product"].create({"name": "Widget"})
        for partner, confirm in ((north, True), (south, False)):
            order = self.env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "order_line": [Command.create({"product_id": product.id})],
                }
            )
            if confirm:
                order.action_confirm()
        self.assertEqual(built(never_ordered=True), customers - north)

        # Has an open opportunity: won and lost ones do not count.
        Lead = self.env["crm.lead"]
        Lead.create({"name": "Open", "type": "opportunity", "partner_id": south.id})
        won = Lead.create(
            {"name": "Won", "type": "opportunity", "partner_id": quiet.id}
        )
        won.action_set_won()
        lost = Lead.create(
            {"name": "Lost", "type": "opportunity", "partner_id": owned.id}
        )
        lost.action_set_lost()
        self.assertEqual(built(has_open_opportunity=True), south)

    def test_lead_source(self):
        customer = self._customer("Lead Corp", phone=belgian_mobile(5))
        Lead = self.env["crm.lead"]
        low = Lead.create({"name": "Low", "partner_id": customer.id, "priority": "0"})
        high = Lead.create({"name": "High", "partner_id": customer.id, "priority": "2"})
        no_partner = Lead.create(
            {
                "name": "Walk-in",
                "phone": belgian_mobile(6),
                "country_id": self.country.id,
            }
        )
        tag = self.env["crm.tag"].create({"name": "Hot"})
        (high | no_partner).tag_ids = tag
        call_list = self.CallList.create(
            {
                "name": "Leads",
                "source": "lead",
                "filter_domain": repr([("id", "in", (low | high | no_partner).ids)]),
            }
        )
        call_list.action_build()
        entries = call_list.entry_ids.sorted("id")
        self.assertEqual(entries.lead_id, high | no_partner)
        by_lead = {entry.lead_id: entry for entry in entries}
        self.assertEqual(by_lead[high].partner_id, customer)
        self.assertEqual(by_lead[high].priority, "2")
        self.assertEqual(by_lead[no_partner].phone, e164(6))
        call_list.entry_ids.unlink()
        call_list.lead_tag_ids = tag
        call_list.filter_domain = repr([("id", "in", low.ids + no_partner.ids)])
        call_list.action_build()
        self.assertEqual(call_list.entry_ids.lead_id, no_partner)

    def test_bad_input(self):
        customers = self._callable(2)
        call_list = self._list(customers, filter_domain="[('id', '=', 0)]")
        with self.assertRefused(UserError, "No customer matches"):
            call_list.action_build()
        self.assertFalse(call_list.entry_ids)
        with self.assertRefused(ValidationError, "not valid"):
            call_list.filter_domain = "[('no_such_field', '=', 1)]"
        with self.assertRefused(ValidationError, "not valid"):
            call_list.filter_domain = "[("
        # Everything matching is excluded: a clear error, nothing written.
        do_not_call = self._customer("DNC", phone=e164(9), call_do_not_call=True)
        call_list.filter_domain = repr([("id", "=", do_not_call.id)])
        with self.assertRefused(UserError, "are excluded"):
            call_list.action_build()
        self.assertFalse(call_list.entry_ids)
        # Started without agents, or empty.
        call_list.filter_domain = repr([("id", "in", customers.ids)])
        with self.assertRefused(UserError, "has no entries"):
            call_list.action_start()
        call_list.action_build()
        call_list.agent_ids = False
        with self.assertRefused(UserError, "has no agents"):
            call_list.action_start()
        with self.assertRefused(UserError, "has no agents"):
            call_list.action_distribute()
        self.assertEqual(call_list.state, "draft")
        with self.assertRefused(ValidationError, "calling hours"):
            call_list.write({"call_hour_from": 20.0, "call_hour_to": 8.0})
        with self.assertRefused(ValidationError, "at least one attempt"):
            call_list.max_attempts = 0

    @mute_logger("odoo.sql_db")
    def test_one_partner_once_per_list(self):
        customer = self._customer("Once", phone=e164(1))
        call_list = self._list(customer)
        call_list.action_build()
        with self.assertRefused(IntegrityError, "partner_uniq"):
            self.Entry.create({"call_list_id": call_list.id, "partner_id": customer.id})

    def test_malformed_phone_number(self):
        customer = self._customer("Typo", phone=e164(1))
        call_list = self._list(customer)
        call_list.action_build()
        entry = call_list.entry_ids
        with self.assertRefused(UserError, "cannot be dialed"):
            entry.phone = "+32 12"
        self.assertEqual(entry.phone, e164(1))
        entry.phone = "+32 470 99 88 77"
        self.assertEqual(entry.phone, "+32470998877")


@tagged("post_install", "-at_install")
class TestCallListDistribution(CallListCase):
    def _counts(self, call_list):
        return self._count(call_list.entry_ids)

    def _count(self, entries):
        return Counter(entry.agent_id.login for entry in entries)

    def test_round_robin(self):
        call_list = self._list(self._callable(10))
        call_list.action_build()
        call_list.action_distribute()
        counts = self._counts(call_list)
        self.assertEqual(sorted(counts.values()), [3, 3, 4])
        self.assertEqual(set(call_list.entry_ids.agent_id), set(self.agents))
        self.assertEqual(call_list.unassigned_count, 0)
        # Distributing again changes nothing.
        before = {e.id: e.agent_id for e in call_list.entry_ids}
        call_list.action_distribute()
        self.assertEqual(before, {e.id: e.agent_id for e in call_list.entry_ids})

    def test_capacity(self):
        self.agent_1.call_capacity = 80
        self.agent_2.call_capacity = 40
        self.agent_3.call_capacity = 40
        call_list = self._list(self._callable(17), distribution_method="capacity")
        call_list.action_build()
        call_list.action_distribute()
        counts = self._counts(call_list)
        # 17 * 80/160 = 8.5, 4.25, 4.25: agent 1 gets 8 or 9, the equal ones differ
        # by one at most.
        self.assertIn(counts[self.agent_1.login], (8, 9))
        self.assertLessEqual(
            abs(counts[self.agent_2.login] - counts[self.agent_3.login]), 1
        )
        self.assertEqual(sum(counts.values()), 17)

    def test_region(self):
        self.agent_1.call_region_ids = self.north
        self.agent_2.call_region_ids = self.south
        north = self._callable(4, state=self.state_n)
        north_west = self._callable(2, start=10, state=self.state_w)
        south = self._callable(1, start=20, state=self.state_s)
        elsewhere = self._callable(5, start=30, state=self.state_e)
        call_list = self._list(
            north | north_west | south | elsewhere, distribution_method="region"
        )
        call_list.action_build()
        call_list.action_distribute()
        agent_of = {e.partner_id: e.agent_id for e in call_list.entry_ids}
        for partner in north | north_west:
            self.assertEqual(agent_of[partner], self.agent_1)
        self.assertEqual(agent_of[south], self.agent_2)
        # Leftovers go to the least loaded: agent 3 first, then agent 2.
        counts = self._counts(call_list)
        self.assertEqual(counts[self.agent_1.login], 6)
        self.assertEqual(counts[self.agent_2.login], 3)
        self.assertEqual(counts[self.agent_3.login], 3)

    def test_redistribution_keeps_worked_entries(self):
        call_list = self._running(self._callable(12), agent_ids=self.agents[:2].ids)
        counts = self._counts(call_list)
        self.assertEqual(sorted(counts.values()), [6, 6])
        # Agent 1 works one entry.
        worked = self.Entry.with_user(self.agent_1).reserve_next(self.agent_1)
        worked.with_user(self.agent_1).action_log_outcome(self.outcome["no_answer"])
        self.assertEqual(worked.attempt_count, 1)
        # A third agent joins: the 11 untouched entries are shared out again.
        call_list.agent_ids = [Command.link(self.agent_3.id)]
        untouched = call_list.entry_ids - worked
        counts = self._count(untouched)
        self.assertEqual(sorted(counts.values()), [3, 4, 4])
        self.assertEqual(worked.agent_id, self.agent_1)
        # Agent 2 leaves: nothing of theirs is left untouched, the rest is fair.
        call_list.agent_ids = [Command.unlink(self.agent_2.id)]
        self.assertNotIn(self.agent_2, untouched.agent_id)
        counts = self._count(untouched)
        self.assertLessEqual(max(counts.values()) - min(counts.values()), 1)
        self.assertEqual(worked.agent_id, self.agent_1)
