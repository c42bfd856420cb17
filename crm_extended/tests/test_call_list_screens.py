import re
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .test_call_list import CallListCase

# A Monday, 10:00 UTC
NOW = datetime(2030, 1, 7, 10, 0)


@tagged("post_install", "-at_install")
class TestNextCallWhenNothingIsDue(CallListCase):
    """With nothing due, Next Call says why and what to do, in the agent's words:
    a notification, never an error."""

    def _next_call(self, user):
        action = self.Entry.with_user(user).action_next_call()
        self.assertEqual(action["tag"], "display_notification")
        return action["params"]["message"]

    @freeze_time(NOW)
    def test_not_an_agent_of_a_running_list(self):
        self._running(self._callable(1), agent_ids=self.agent_1.ids)
        # Sales managers see every entry but call none of a list they are no
        # agent of; an agent of no list has nothing either.
        for user, what_to_do in (
            (self.sales_manager, "Add yourself to the agents of a call list"),
            (self.agent_2, "A sales manager adds you to the agents of a call list"),
        ):
            message = self._next_call(user)
            self.assertIn("No call is due", message)
            self.assertIn("you are not an agent of any running call list", message)
            self.assertIn(what_to_do, message)
        # The agent of the list gets its call.
        self.assertEqual(
            self.Entry.with_user(self.agent_1).action_next_call()["res_model"],
            self.Entry._name,
        )

    @freeze_time(NOW)
    def test_paused_lists_named_a_few(self):
        customers = self._callable(5)
        for index, customer in enumerate(customers):
            call_list = self._running(
                customer, name=f"Campaign {index}", agent_ids=self.agent_1.ids
            )
            call_list.action_pause()
        message = self._next_call(self.agent_1)
        self.assertIn("your call lists are paused", message)
        self.assertIn("Campaign 0, Campaign 1, Campaign 2 and 2 others", message)
        self.assertNotIn("Campaign 3", message)

    @freeze_time(NOW)
    def test_every_call_made(self):
        call_list = self._running(self._callable(2), agent_ids=self.agent_1.ids)
        for entry in call_list.entry_ids:
            entry.with_user(self.agent_1).action_log_outcome(
                self.outcome["not_interested"]
            )
        message = self._next_call(self.agent_1)
        self.assertIn("every call of your running call lists is made", message)
        self.assertIn("Winter campaign", message)

    def test_outside_calling_hours_in_the_agents_time_zone(self):
        self.agent_1.tz = "Europe/Brussels"  # UTC+1 in January
        self._running(
            self._callable(1),
            agent_ids=self.agent_1.ids,
            call_hour_from=9.0,
            call_hour_to=17.5,
        )
        # 16:45 UTC is 17:45 in Brussels: after the list's hours.
        with freeze_time(datetime(2030, 1, 7, 16, 45)):
            message = self._next_call(self.agent_1)
        self.assertIn("Outside the calling hours, in your time zone", message)
        self.assertIn("Winter campaign calls from 09:00 to 17:30", message)
        # 16:15 UTC is 17:15 there: the call is given.
        with freeze_time(datetime(2030, 1, 7, 16, 15)):
            action = self.Entry.with_user(self.agent_1).action_next_call()
        self.assertEqual(action["res_model"], self.Entry._name)

    @freeze_time(NOW)
    def test_next_call_to_come(self):
        self.agent_1.tz = "Europe/Brussels"
        customers = self._callable(2)
        call_list = self._running(customers, agent_ids=self.agent_1.ids)
        first, second = (
            call_list.entry_ids.filtered(lambda e, c=c: e.partner_id == c)
            for c in customers
        )
        first.with_user(self.agent_1).action_log_outcome(
            self.outcome["callback"], callback_at=NOW + timedelta(hours=3)
        )
        second.with_user(self.agent_1).action_log_outcome(
            self.outcome["callback"], callback_at=NOW + timedelta(hours=2)
        )
        message = self._next_call(self.agent_1)
        # The earliest, at 12:00 UTC: 13:00 in Brussels
        self.assertIn("The next call, Callable 1, is due on 1/7/30, 1:00", message)
        self.assertNotIn("Outside the calling hours", message)

    @freeze_time(NOW)
    def test_calls_left_that_cannot_be_made(self):
        call_list = self._running(self._callable(1), agent_ids=self.agent_1.ids)
        self.env["phone.blacklist"].create({"number": call_list.entry_ids.phone})
        message = self._next_call(self.agent_1)
        self.assertIn("Calls due now but held back: 1.", message)
        self.assertNotIn("next call", message)


@tagged("post_install", "-at_install")
class TestCallListScreens(CallListCase):
    """What the sales managers' screens of call lists say and open."""

    @freeze_time(NOW)
    def test_counters_open_their_entries(self):
        call_list = self._running(self._callable(3), agent_ids=self.agent_1.ids)
        done = call_list.entry_ids[0]
        done.with_user(self.agent_1).action_log_outcome(self.outcome["not_interested"])
        self.assertEqual((call_list.pending_count, call_list.done_count), (2, 1))
        Entry = self.Entry.with_user(self.sales_manager)
        CallList = call_list.with_user(self.sales_manager)
        for state, count in (("pending", 2), ("done", 1)):
            action = CallList.with_context(
                crm_call_list_entry_state=state
            ).action_open_entries()
            self.assertEqual(len(Entry.search(action["domain"])), count)
        self.assertEqual(action["name"], "Done")
        # Without a state (Entries), or with a state that is none: all of them.
        for context in ({}, {"crm_call_list_entry_state": "no_such_state"}):
            action = CallList.with_context(**context).action_open_entries()
            self.assertEqual(Entry.search(action["domain"]), call_list.entry_ids)

    def test_refusals_name_a_few_lists(self):
        lists = self.CallList.browse()
        for index, customer in enumerate(self._callable(5)):
            lists |= self._list(customer, name=f"Campaign {index}")
        lists.action_build()
        lists.action_start()
        CallList = lists.with_user(self.sales_manager)
        few = "Campaign 0, Campaign 1, Campaign 2 and 2 others"
        with self.assertRefused(UserError, f"cannot be deleted.*{few}"):
            CallList.unlink()
        CallList.action_pause()
        with self.assertRefused(UserError, f"Only running call lists.*{few}"):
            CallList.action_pause()
        self.assertEqual(set(lists.mapped("state")), {"paused"})
        CallList[:1].action_done()
        with self.assertRefused(UserError, "Closed already: Campaign 0."):
            CallList.action_done()
        self.assertEqual(lists.mapped("state").count("done"), 1)
        # A draft list is deleted.
        draft = self._list(self._callable(1, start=10), name="Draft campaign")
        draft.with_user(self.sales_manager).unlink()
        self.assertFalse(draft.exists())

    def test_status_labels(self):
        call_list = self._list(self._callable(1))
        self.assertEqual(call_list._fields["state"].string, "Status")
        states = dict(call_list._fields["state"]._description_selection(self.env))
        self.assertEqual(states["done"], "Closed")


@tagged("post_install", "-at_install")
class TestCallsOfCallLists(CallListCase):
    """A call made from a call list is the telesales actions' record: the agent
    reads it in Phone Calls and writes its description, but its status, date,
    duration, customer and archiving, which the telesales statistics count, are
    corrected by sales managers only."""

    def _logged_calls(self, count):
        call_list = self._running(self._callable(count), agent_ids=self.agent_1.ids)
        calls = self.env["crm.phonecall"]
        for entry in call_list.entry_ids:
            calls |= entry.with_user(self.agent_1).action_log_outcome(
                self.outcome["no_answer"]
            )
        return calls

    def _call_count(self, call_list):
        self.env.flush_all()
        return sum(
            self.env["crm.call.stats.report"]
            .search([("call_list_id", "=", call_list.id)])
            .mapped("call_count")
        )

    @freeze_time(NOW)
    def test_agent_cannot_rewrite_a_logged_call(self):
        call = self._logged_calls(1)
        call_list = call.call_list_id
        self.assertEqual(self._call_count(call_list), 1)
        agent_call = call.with_user(self.agent_1)
        for vals in (
            {"state": "cancel"},
            {"date": NOW - timedelta(days=3)},
            {"duration": 12.0},
            {"partner_id": self._callable(1, start=20).id},
            {"active": False},
        ):
            with self.assertRefused(AccessError, "Calls logged through a call list"):
                agent_call.write(vals)
        with self.assertRefused(AccessError, "A sales manager corrects them"):
            agent_call.action_archive()
        self.assertEqual((call.state, call.date, call.active), ("done", NOW, True))
        self.assertEqual(self._call_count(call_list), 1)
        # What the agent said, and a form sending back the values, pass.
        agent_call.write({"description": "Voicemail", "state": "done", "date": NOW})
        self.assertEqual(call.description, "Voicemail")
        # A sales manager corrects the call: it no longer counts.
        call.with_user(self.sales_manager).write({"state": "cancel"})
        self.assertEqual(self._call_count(call_list), 0)

    @freeze_time(NOW)
    def test_refusal_names_a_few_calls(self):
        calls = self._logged_calls(5).sorted("id")
        names = calls.mapped("name")
        few = re.escape(f"{', '.join(names[:3])} and 2 others.")
        with self.assertRefused(AccessError, few):
            calls.with_user(self.agent_1).write({"active": False})
        self.assertTrue(all(calls.mapped("active")))

    def test_other_calls_stay_their_salespersons(self):
        call = (
            self.env["crm.phonecall"]
            .with_user(self.salesman)
            .create({"name": "Follow-up", "partner_id": self._callable(1).id})
        )
        call.write({"state": "done", "date": NOW, "duration": 3.0})
        call.action_archive()
        self.assertEqual((call.state, call.active), ("done", False))


@tagged("post_install", "-at_install")
class TestCallOutcomeScreens(CallListCase):
    @freeze_time(NOW)
    def test_logged_outcomes_are_archived_not_deleted(self):
        call_list = self._running(self._callable(1), agent_ids=self.agent_1.ids)
        call_list.entry_ids.with_user(self.agent_1).action_log_outcome(
            self.outcome["not_interested"]
        )
        unused = self.env["crm.call.outcome"].create(
            {"name": "Unused", "code": "UNUSED", "action": "retry"}
        )
        outcomes = self.env["crm.call.outcome"].with_user(self.sales_manager)
        with self.assertRefused(UserError, "archive them instead: Not Interested."):
            (outcomes.browse(self.outcome["not_interested"].id) | unused).unlink()
        self.assertTrue(unused.exists())
        unused.with_user(self.sales_manager).unlink()
        self.assertFalse(unused.exists())
