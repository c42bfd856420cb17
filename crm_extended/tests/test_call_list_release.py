import logging
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import SQL

from .test_call_list import CallListCase, remove_pool, running_pool

NOW = datetime(2030, 1, 7, 10, 0)
LOGGER = "odoo.addons.crm_extended.models.crm_call_list_entry"
# Queries of a run (savepoint, the UPDATE, its release), for 1 and for 50 entries
RELEASE_QUERIES = 3


@tagged("post_install", "-at_install")
class TestCallListRelease(CallListCase):
    """Reserved entries left without an outcome go back to the queue after their
    list's release time."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls._callable(3)
        cls.Wizard = cls.env["crm.call.outcome.wizard"]

    def _pool(self, customers=None, **vals):
        """A running list of agents 1 and 2, undistributed: their common pool."""
        call_list = self._list(
            self.customers if customers is None else customers,
            agent_ids=[Command.set((self.agent_1 | self.agent_2).ids)],
            **vals,
        )
        call_list.action_build()
        call_list.action_start()
        return call_list

    def _reserve(self, agent):
        """The agent's "Next call", its entry read back as the test's user."""
        return self.Entry.with_user(agent).reserve_next(agent).with_env(self.env)

    def _release(self):
        return self.Entry._cron_release_reserved()

    def test_release_delay_setting(self):
        call_list = self._list(self.customers)
        self.assertEqual(call_list.release_delay_minutes, 30)
        with self.assertRaises(ValidationError):
            call_list.release_delay_minutes = -5

    def test_stale_entries_released_to_another_agent(self):
        call_list = self._pool(self.customers[:2])
        with freeze_time(NOW):
            first = self._reserve(self.agent_1)
            second = self._reserve(self.agent_1)
            self.assertFalse(self._reserve(self.agent_2))
        messages = call_list.message_ids
        with (
            freeze_time(NOW + timedelta(minutes=31)),
            self.assertLogs(LOGGER, logging.INFO) as logs,
        ):
            released = self._release()
        self.assertEqual(released & call_list.entry_ids, first | second)
        for entry in first | second:
            self.assertEqual(entry.state, "pending")
            self.assertFalse(entry.agent_id)
            self.assertFalse(entry.date_reserved)
            self.assertEqual(entry.attempt_count, 0)
        self.assertIn(f"{len(released)} reserved calls", logs.output[0])
        # Nothing posted per entry.
        self.assertEqual(call_list.message_ids, messages)
        # Another agent's "Next call" now gets them.
        with freeze_time(NOW + timedelta(minutes=32)):
            taken = self._reserve(self.agent_2) | self._reserve(self.agent_2)
        self.assertEqual(taken, first | second)
        self.assertEqual(taken.agent_id, self.agent_2)

    def test_callback_stays_callback(self):
        self._pool(self.customers[:1])
        with freeze_time(NOW):
            entry = self._reserve(self.agent_1)
            entry.with_user(self.agent_1).action_log_outcome(
                self.outcome["callback"], callback_at=NOW + timedelta(hours=1)
            )
        with freeze_time(NOW + timedelta(hours=1)):
            self.assertEqual(self._reserve(self.agent_1), entry)
        with freeze_time(NOW + timedelta(hours=1, minutes=31)):
            self.assertEqual(self._release() & entry, entry)
        self.assertEqual(entry.state, "callback")
        self.assertFalse(entry.agent_id)
        with freeze_time(NOW + timedelta(hours=1, minutes=32)):
            self.assertEqual(self._reserve(self.agent_2), entry)

    def test_fresh_and_started_entries_kept(self):
        call_list = self._pool(self.customers[:2])
        slow = self._pool(self.customers[2:], release_delay_minutes=60)
        with freeze_time(NOW):
            idle = self._reserve(self.agent_1)
            on_phone = self._reserve(self.agent_1)
            other_list = self._reserve(self.agent_1)
        self.assertEqual((idle | on_phone).call_list_id, call_list)
        self.assertEqual(other_list.call_list_id, slow)
        with freeze_time(NOW + timedelta(minutes=20)):
            call = on_phone.with_user(self.agent_1).action_start_call()
        self.assertEqual(call.date, NOW + timedelta(minutes=20))
        # Not yet 30 minutes since the reservation: kept.
        with freeze_time(NOW + timedelta(minutes=29)):
            self.assertFalse(self._release() & (idle | on_phone | other_list))
        self.assertEqual((idle | on_phone).mapped("state"), ["in_progress"] * 2)
        # 31 minutes: the idle one goes; the call started 11 minutes ago stays, as
        # does the entry of the list releasing after an hour.
        with freeze_time(NOW + timedelta(minutes=31)):
            self.assertEqual(self._release() & (idle | on_phone | other_list), idle)
        self.assertEqual(on_phone.state, "in_progress")
        self.assertEqual(on_phone.agent_id, self.agent_1)
        self.assertEqual(other_list.state, "in_progress")
        # 30 minutes after the start of the call, an hour after the reservation.
        with freeze_time(NOW + timedelta(minutes=51)):
            self.assertEqual(self._release() & (on_phone | other_list), on_phone)
        with freeze_time(NOW + timedelta(minutes=61)):
            self.assertEqual(self._release() & other_list, other_list)
        self.assertEqual(call.state, "open")

    def test_never_released_with_no_limit(self):
        call_list = self._pool(release_delay_minutes=0)
        with freeze_time(NOW):
            entry = self._reserve(self.agent_1)
        with freeze_time(NOW + timedelta(days=10)):
            self.assertFalse(self._release() & call_list.entry_ids)
        self.assertEqual(entry.state, "in_progress")
        self.assertEqual(entry.agent_id, self.agent_1)

    def test_release_query_count(self):
        """One UPDATE whatever the number of entries to release."""
        partners = self.Partner.create(
            [
                {
                    "name": f"Stale {i}",
                    "is_company": True,
                    "country_id": self.country.id,
                    "phone": f"+32 472 {i:06d}",
                }
                for i in range(51)
            ]
        )
        entries = self._pool(partners).entry_ids.sorted("id")
        counts = []
        for batch in (entries[:1], entries[1:]):
            self.env.flush_all()
            self.env.execute_query(
                SQL(
                    """UPDATE crm_call_list_entry
                          SET state = 'in_progress', agent_id = %s,
                              date_reserved = %s
                        WHERE id IN %s""",
                    self.agent_1.id,
                    NOW - timedelta(hours=1),
                    tuple(batch.ids),
                )
            )
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            with freeze_time(NOW), self.assertQueryCount(RELEASE_QUERIES):
                released = self._release()
            counts.append(self.cr.sql_log_count - before)
            self.assertEqual(released & entries, batch)
        self.assertEqual(counts[0], counts[1])
        self.assertEqual(set(entries.mapped("state")), {"pending"})

    # An outcome logged after the release ---------------------------------------

    def test_late_outcome_entry_still_free(self):
        """Nobody took the released entry: its agent takes it back and the call is
        logged, with its whole duration."""
        call_list = self._pool(self.customers[:1])
        with freeze_time(NOW):
            entry = self._reserve(self.agent_1)
        with freeze_time(NOW + timedelta(minutes=5)):
            call = entry.with_user(self.agent_1).action_start_call()
            wizard = self.Wizard.with_user(self.agent_1).create(
                {"entry_id": entry.id, "outcome_id": self.outcome["not_interested"].id}
            )
        with freeze_time(NOW + timedelta(minutes=40)):
            self.assertEqual(self._release() & call_list.entry_ids, entry)
        with freeze_time(NOW + timedelta(minutes=42)):
            wizard.action_log()
        self.assertEqual(entry.state, "done")
        self.assertEqual(entry.agent_id, self.agent_1)
        self.assertEqual(entry.attempt_count, 1)
        self.assertEqual(entry.phonecall_ids, call)
        self.assertEqual(call.state, "done")
        self.assertEqual(call.duration, 37)

    def test_late_outcome_entry_taken(self):
        """Another agent took the released entry: the late outcome is refused, with
        a clear message, and changes nothing."""
        call_list = self._pool(self.customers[:1])
        with freeze_time(NOW):
            entry = self._reserve(self.agent_1)
        late = entry.with_user(self.agent_1)
        with freeze_time(NOW + timedelta(minutes=31)):
            self._release()
        with freeze_time(NOW + timedelta(minutes=32)):
            self.assertEqual(self._reserve(self.agent_2), entry)
        with (
            freeze_time(NOW + timedelta(minutes=33)),
            self.assertRefused(UserError, "is in call with Bob Agent now"),
        ):
            late.action_log_outcome(self.outcome["not_interested"])
        with self.assertRefused(UserError, "is in call with Bob Agent now"):
            late.action_take_order()
        # Nor does a sales manager log a call an agent is in.
        with self.assertRefused(UserError, "is in call with Bob Agent now"):
            entry.with_user(self.sales_manager).action_log_outcome("NOT_INTERESTED")
        self.assertEqual(entry.state, "in_progress")
        self.assertEqual(entry.agent_id, self.agent_2)
        self.assertFalse(entry.phonecall_ids)
        with freeze_time(NOW + timedelta(minutes=34)):
            entry.with_user(self.agent_2).action_log_outcome("NO_ANSWER")
        with self.assertRefused(UserError, "is no longer yours"):
            late.action_log_outcome(self.outcome["not_interested"])
        self.assertEqual(entry.state, "pending")
        self.assertEqual(entry.attempt_count, 1)
        self.assertEqual(entry.phonecall_ids.user_id, self.agent_2)
        self.assertEqual(call_list.in_progress_count, 0)

    # Concurrency -----------------------------------------------------------

    def test_locked_entry_skipped(self):
        """An entry whose outcome is being logged at the moment of the release is
        left alone; the release skips it (SKIP LOCKED), never waits for it.

        The data is committed so that both transactions see it, and removed at the
        end; the release's transaction is never committed."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            call_list, partners, admin = running_pool(env, "Stale", 950)
            admin_id = admin.id
            Entry = env["crm.call.list.entry"].with_user(admin)
            with freeze_time(NOW):
                busy, idle = Entry.reserve_next(admin) | Entry.reserve_next(admin)
            ids = {
                "list": call_list.id,
                "partners": tuple(partners.ids),
                "busy": busy.id,
                "idle": idle.id,
            }

        self.addCleanup(remove_pool, self.registry, ids["list"], ids["partners"])
        cr_agent, cr_cron = self.registry.cursor(), self.registry.cursor()
        try:
            env_agent = api.Environment(cr_agent, admin_id, {})
            env_cron = api.Environment(cr_cron, SUPERUSER_ID, {})
            Cron = env_cron["crm.call.list.entry"]
            # The agent is logging the outcome (not committed yet): its row is locked.
            with freeze_time(NOW + timedelta(minutes=45)):
                env_agent["crm.call.list.entry"].browse(ids["busy"]).action_log_outcome(
                    "NOT_INTERESTED"
                )
                cr_cron.execute("SET LOCAL lock_timeout = '2s'")
                released = Cron._cron_release_reserved()
            self.assertIn(ids["idle"], released.ids)
            self.assertNotIn(ids["busy"], released.ids)
            cr_cron.rollback()

            # The agent gives up (rolled back): the next run releases it.
            cr_agent.rollback()
            with freeze_time(NOW + timedelta(minutes=50)):
                released = Cron._cron_release_reserved()
            self.assertIn(ids["busy"], released.ids)
            cr_cron.rollback()

            # The release's snapshot is taken, then the outcome is logged and
            # committed: that row cannot be locked any more (serialization
            # failure). The run releases nothing, the outcome stands; the next run
            # releases the others.
            cr_cron.execute("SELECT 1 FROM crm_call_list_entry LIMIT 1")
            with freeze_time(NOW + timedelta(minutes=55)):
                env_agent["crm.call.list.entry"].browse(ids["busy"]).action_log_outcome(
                    "NOT_INTERESTED"
                )
                cr_agent.commit()  # pylint: disable=invalid-commit
                with self.assertLogs(LOGGER, logging.INFO) as logs:
                    self.assertFalse(Cron._cron_release_reserved())
            self.assertIn("released next run", logs.output[0])
            cr_cron.rollback()
            with freeze_time(NOW + timedelta(minutes=55)):
                released = Cron._cron_release_reserved()
            self.assertIn(ids["idle"], released.ids)
            self.assertNotIn(ids["busy"], released.ids)
            self.assertEqual(Cron.browse(ids["busy"]).state, "done")
        finally:
            cr_agent.rollback()
            cr_cron.rollback()
            cr_agent.close()
            cr_cron.close()
