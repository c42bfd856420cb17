from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .test_call_list import CallListCase, e164, remove_pool, running_pool

NOW = datetime(2030, 1, 7, 10, 0)


@tagged("post_install", "-at_install")
class TestCallQueue(CallListCase):
    def _reserve(self, agent):
        return self.Entry.with_user(agent).reserve_next(agent)

    @freeze_time(NOW)
    def test_reserve_order_and_hours(self):
        customers = self._callable(4)
        call_list = self._running(customers, agent_ids=self.agent_1.ids)
        entries = {e.partner_id: e for e in call_list.entry_ids}
        first, second, third, fourth = (entries[c] for c in customers)
        fourth.priority = "2"
        second.write({"attempt_count": 1})
        third.date_next_attempt = NOW + timedelta(hours=1)
        self.assertEqual(self._reserve(self.agent_1), fourth)
        self.assertEqual(fourth.state, "in_progress")
        self.assertEqual(fourth.date_reserved, NOW)
        self.assertEqual(self._reserve(self.agent_1), first)
        self.assertEqual(self._reserve(self.agent_1), second)
        # The third is not due yet; the others are reserved.
        self.assertFalse(self._reserve(self.agent_1))
        # Another agent never gets them.
        self.assertFalse(self._reserve(self.agent_2))
        (first | second).action_release()
        self.assertEqual(first.state, "pending")
        # Outside the calling hours nothing is given, a callback that is due is.
        call_list.write({"call_hour_from": 14.0, "call_hour_to": 18.0})
        self.assertFalse(self._reserve(self.agent_1))
        first.write({"state": "callback", "date_next_attempt": NOW})
        self.assertEqual(self._reserve(self.agent_1), first)
        # Paused lists give nothing.
        call_list.write({"call_hour_from": 0.0, "call_hour_to": 24.0})
        call_list.action_pause()
        self.assertFalse(self._reserve(self.agent_1))

    @freeze_time(NOW)
    def test_reserve_skips_do_not_call_and_blacklisted(self):
        customers = self._callable(3)
        call_list = self._running(customers, agent_ids=self.agent_1.ids)
        self.env.cr.execute(  # marked behind the ORM's back: still never dialed
            "UPDATE res_partner SET call_do_not_call = TRUE WHERE id = %s",
            (customers[0].id,),
        )
        self.env["phone.blacklist"].create({"number": e164(1)})
        self.assertEqual(self._reserve(self.agent_1).partner_id, customers[2])
        self.assertFalse(self._reserve(self.agent_1))
        self.assertEqual(call_list.in_progress_count, 1)

    def test_reserve_only_own_queue(self):
        with self.assertRaises(AccessError):
            self.Entry.with_user(self.agent_1).reserve_next(self.agent_2)

    def test_reserve_concurrent_cursors(self):
        """Two transactions pressing "Next call" at once never get the same entry.

        The data is committed so that both transactions see it, and removed at the
        end; each reservation stays uncommitted and holds its row lock."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            call_list, partners, admin = running_pool(env, "Concurrent", 900)
            list_id, partner_ids, admin_id = call_list.id, partners.ids, admin.id

        self.addCleanup(remove_pool, self.registry, list_id, partner_ids)
        cr_1, cr_2 = self.registry.cursor(), self.registry.cursor()
        try:
            env_1 = api.Environment(cr_1, admin_id, {})
            env_2 = api.Environment(cr_2, admin_id, {})
            entry_1 = env_1["crm.call.list.entry"].reserve_next(env_1.user)
            entry_2 = env_2["crm.call.list.entry"].reserve_next(env_2.user)
            self.assertTrue(entry_1)
            self.assertTrue(entry_2)
            self.assertNotEqual(entry_1.id, entry_2.id)
            # Both entries are taken: a third press finds nothing.
            self.assertFalse(env_2["crm.call.list.entry"].reserve_next(env_2.user))
            self.assertEqual(entry_1.agent_id.id, admin_id)
            cr_1.rollback()
            cr_2.rollback()

            # A request reads one snapshot: cursor 2 takes it, then cursor 1
            # reserves the first entry and commits. Cursor 2 cannot lock that row
            # any more (serialization failure): it takes the next one instead.
            cr_2.execute("SELECT 1 FROM crm_call_list_entry LIMIT 1")
            taken = env_1["crm.call.list.entry"].reserve_next(env_1.user)
            cr_1.commit()
            other = env_2["crm.call.list.entry"].reserve_next(env_2.user)
            self.assertTrue(other)
            self.assertNotEqual(other.id, taken.id)
        finally:
            cr_1.rollback()
            cr_2.rollback()
            cr_1.close()
            cr_2.close()


@tagged("post_install", "-at_install")
class TestCallOutcomes(CallListCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls._callable(3)

    def _entry(self, **vals):
        self._running(self.customers, agent_ids=self.agent_1.ids, **vals)
        entry = self.Entry.with_user(self.agent_1).reserve_next(self.agent_1)
        self.assertTrue(entry)
        return entry

    def test_retry_until_max_attempts(self):
        with freeze_time(NOW):
            entry = self._entry(max_attempts=2, retry_delay_hours=3)
            call = entry.action_log_outcome("NO_ANSWER")
        self.assertEqual(call.call_list_entry_id, entry)
        self.assertEqual(call.call_outcome_id, self.outcome["no_answer"])
        self.assertEqual(call.user_id, self.agent_1)
        self.assertEqual(call.state, "done")
        self.assertEqual(entry.state, "pending")
        self.assertEqual(entry.attempt_count, 1)
        self.assertEqual(entry.date_next_attempt, NOW + timedelta(hours=3))
        with freeze_time(NOW + timedelta(hours=2)):
            self.assertNotEqual(
                self.Entry.with_user(self.agent_1).reserve_next(self.agent_1), entry
            )
        with freeze_time(NOW + timedelta(hours=3)):
            entry.action_release()  # the other entries reserved meanwhile aside
            again = self.Entry.with_user(self.agent_1)
            reserved = again.reserve_next(self.agent_1)
            while reserved and reserved != entry:
                reserved = again.reserve_next(self.agent_1)
            self.assertEqual(reserved, entry)
            entry.with_user(self.agent_1).action_log_outcome(self.outcome["no_answer"])
        self.assertEqual(entry.state, "failed")
        self.assertEqual(entry.attempt_count, 2)
        self.assertEqual(len(entry.phonecall_ids), 2)

    def test_callback(self):
        with freeze_time(NOW):
            entry = self._entry()
            agent_entry = entry.with_user(self.agent_1)
            with self.assertRefused(UserError, "in the past"):
                agent_entry.action_log_outcome(
                    self.outcome["callback"], callback_at=NOW - timedelta(minutes=1)
                )
            with self.assertRefused(UserError, "time to call back"):
                agent_entry.action_log_outcome(self.outcome["callback"])
            self.assertEqual(entry.state, "in_progress")
            self.assertFalse(entry.phonecall_ids)
            later = NOW + timedelta(days=1)
            agent_entry.action_log_outcome(
                self.outcome["callback"], note="After lunch", callback_at=later
            )
        self.assertEqual(entry.state, "callback")
        self.assertEqual(entry.date_next_attempt, later)
        self.assertEqual(entry.note, "After lunch")

    def test_wrong_number_and_missing_outcome(self):
        entry = self._entry().with_user(self.agent_1)
        with self.assertRefused(UserError, "Choose the outcome"):
            entry.action_log_outcome(False)
        with self.assertRefused(UserError, "Choose the outcome"):
            entry.action_log_outcome("NO_SUCH_CODE")
        self.assertFalse(entry.phonecall_ids)
        entry.action_log_outcome(self.outcome["wrong_number"].id)
        self.assertEqual(entry.state, "failed")
        with self.assertRefused(UserError, "is finished"):
            entry.action_log_outcome(self.outcome["interested"])

    def test_do_not_call(self):
        entry = self._entry()
        partner = entry.partner_id
        # The same customer waits on another running list.
        self.agent_2.call_capacity = 60
        other = self._list(partner, name="Other", agent_ids=self.agent_2.ids)
        # Built while the first list runs, the customer is left out.
        with self.assertRefused(UserError, "another running list"):
            other.action_build()
        entry_su = entry.sudo()
        other_entry = self.Entry.create(
            {"call_list_id": other.id, "partner_id": partner.id, "phone": e164(0)}
        )
        other.action_distribute()
        other.action_start()
        agent_entry = entry.with_user(self.agent_1)
        with self.assertRefused(UserError, "needs a note"):
            agent_entry.action_log_outcome(self.outcome["do_not_call"])
        agent_entry.action_log_outcome(self.outcome["do_not_call"], note="Angry")
        self.assertTrue(partner.call_do_not_call)
        self.assertEqual(entry_su.state, "skipped")
        self.assertEqual(other_entry.state, "skipped")
        self.assertFalse(self.Entry.with_user(self.agent_2).reserve_next(self.agent_2))

    def test_do_not_call_set_on_partner(self):
        call_list = self._running(self.customers, agent_ids=self.agent_1.ids)
        self.customers[0].call_do_not_call = True
        entries = {e.partner_id: e for e in call_list.entry_ids}
        self.assertEqual(entries[self.customers[0]].state, "skipped")
        self.assertEqual(entries[self.customers[1]].state, "pending")

    def test_interested_creates_or_updates_opportunity(self):
        entry = self._entry().with_user(self.agent_1)
        call = entry.action_log_outcome(self.outcome["interested"], note="Wants a demo")
        lead = entry.lead_id
        self.assertTrue(lead)
        self.assertEqual(lead.type, "opportunity")
        self.assertEqual(lead.partner_id, entry.partner_id)
        self.assertEqual(lead.user_id, self.agent_1)
        self.assertEqual(call.opportunity_id, lead)
        self.assertEqual(entry.state, "done")
        # Another entry of a customer with an open opportunity updates it.
        customer = self.customers[1]
        existing = self.env["crm.lead"].create(
            {
                "name": "Existing",
                "type": "lead",
                "partner_id": customer.id,
                "user_id": self.salesman.id,
            }
        )
        existing.type = "opportunity"
        second = self.Entry.search([("partner_id", "=", customer.id)])
        second.sudo().agent_id = self.agent_1
        second.with_user(self.agent_1).action_log_outcome(self.outcome["interested"])
        self.assertEqual(second.lead_id, existing)
        self.assertEqual(existing.user_id, self.salesman)

    def test_order_taken_and_duration(self):
        with freeze_time(NOW):
            entry = self._entry().with_user(self.agent_1)
            call = entry.action_start_call()
            self.assertEqual(call.state, "open")
            self.assertEqual(call.date, NOW)
            self.assertEqual(entry.phone_url, f"tel:{entry.phone}")
        with freeze_time(NOW + timedelta(minutes=4, seconds=30)):
            logged = entry.action_log_outcome(self.outcome["order_taken"])
        self.assertEqual(logged, call)
        self.assertEqual(call.state, "done")
        self.assertAlmostEqual(call.duration, 4.5)
        self.assertEqual(entry.state, "done")
        self.assertEqual(entry.call_list_id.done_count, 1)
        self.assertAlmostEqual(entry.call_list_id.progress, 100.0 / 3)


@tagged("post_install", "-at_install")
class TestCallListAccess(CallListCase):
    def test_access_per_role(self):
        customers = self._callable(4)
        mine = self._running(customers[:2], agent_ids=self.agent_1.ids)
        theirs = self._running(customers[2:], agent_ids=self.agent_2.ids)
        List = self.CallList.with_user(self.agent_1)
        Entry = self.Entry.with_user(self.agent_1)
        self.assertEqual(List.search([("id", "in", (mine | theirs).ids)]), mine)
        self.assertEqual(
            Entry.search([("id", "in", (mine | theirs).entry_ids.ids)]), mine.entry_ids
        )
        with self.assertRaises(AccessError):
            theirs.entry_ids[0].with_user(self.agent_1).read(["phone"])
        with self.assertRaises(AccessError):
            List.create({"name": "Mine now"})
        with self.assertRaises(AccessError):
            mine.with_user(self.agent_1).write({"max_attempts": 9})
        entry = Entry.reserve_next(self.agent_1)
        entry.action_log_outcome("NOT_INTERESTED")
        other_call = (
            theirs.entry_ids[0]
            .with_user(self.agent_2)
            .action_log_outcome("NOT_INTERESTED")
        )
        calls = (
            self.env["crm.phonecall"]
            .with_user(self.agent_1)
            .search([("call_list_id", "in", (mine | theirs).ids)])
        )
        self.assertEqual(calls, entry.phonecall_ids)
        self.assertNotIn(other_call, calls)
        # Sales managers see and run every list; plain salespeople none.
        manager_lists = self.CallList.with_user(self.sales_manager).search(
            [("id", "in", (mine | theirs).ids)]
        )
        self.assertEqual(manager_lists, mine | theirs)
        manager_calls = (
            self.env["crm.phonecall"]
            .with_user(self.sales_manager)
            .search([("call_list_id", "in", (mine | theirs).ids)])
        )
        self.assertEqual(len(manager_calls), 2)
        with self.assertRaises(AccessError):
            self.CallList.with_user(self.salesman).search([])

    def test_company_rule(self):
        other_company = self.env["res.company"].create({"name": "Other Telesales"})
        customer = self._callable(1)
        call_list = self._list(customer, company_id=other_company.id)
        self.assertFalse(
            self.CallList.with_user(self.sales_manager).search(
                [("id", "=", call_list.id)]
            )
        )


@tagged("post_install", "-at_install")
class TestCallQueueButtons(CallListCase):
    def test_next_call_dial_and_entries_buttons(self):
        call_list = self._running(self._callable(1), agent_ids=self.agent_1.ids)
        action = call_list.action_open_entries()
        self.assertEqual(action["res_model"], "crm.call.list.entry")
        self.assertEqual(action["domain"], [("call_list_id", "=", call_list.id)])
        Entry = self.Entry.with_user(self.agent_1)
        action = Entry.action_next_call()
        entry = call_list.entry_ids
        self.assertEqual(action["res_id"], entry.id)
        self.assertEqual(entry.state, "in_progress")
        dial = entry.with_user(self.agent_1).action_call()
        # The tel: URL opened as is by the web client (act_url would prefix "/").
        self.assertEqual(dial["tag"], "crm_extended_dial")
        self.assertEqual(dial["params"]["url"], f"tel:{entry.phone}")
        self.assertEqual(entry.phonecall_ids.state, "open")
        # Nothing due any more: a notification, no error.
        action = Entry.action_next_call()
        self.assertEqual(action["tag"], "display_notification")
