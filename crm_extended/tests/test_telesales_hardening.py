"""Telesales over JSON-RPC: every public method and every writable field of call
lists, entries and outcomes is reachable by every role with access to the model,
whatever the views show. These tests call them as each role would."""

import functools
import json
from datetime import datetime, timedelta
from unittest.mock import patch

import psycopg2
from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import AccessError, UserError
from odoo.service.model import retrying
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CrmExtendedTourCase
from .test_call_list import CallListCase, remove_pool, running_pool

NOW = datetime(2030, 1, 7, 10, 0)
# Refused over RPC: a role without the right, or an entry that is not the user's
REFUSED = (AccessError, UserError)


@tagged("post_install", "-at_install")
class TestTelesalesHardening(CallListCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls._callable(4)
        cls.portal = cls._user("portal", "crmx_portal", "Pat Portal")
        cls.accountant = cls._user(
            "employee,accountant", "crmx_accountant", "Alex Accountant"
        )
        cls.other_company = cls.env["res.company"].create({"name": "Other Telesales"})
        cls.Wizard = cls.env["crm.call.outcome.wizard"]

    def _entry(self, agent=None, customers=None, **vals):
        """A running list of ``agent``'s, its first entry reserved by them, as them."""
        agent = agent or self.agent_1
        customers = self.customers if customers is None else customers
        call_list = self._running(customers, agent_ids=agent.ids, **vals)
        entry = self.Entry.with_user(agent).reserve_next(agent)
        self.assertEqual(entry.call_list_id, call_list)
        return entry

    def _assert_untouched(self, entry):
        entry.invalidate_recordset()
        self.assertEqual(entry.state, "in_progress")
        self.assertEqual(entry.attempt_count, 0)
        self.assertFalse(entry.outcome_id)
        self.assertFalse(entry.sudo().phonecall_ids)

    # 1. Agents change their entries through the actions only ------------------

    def test_agent_writes_only_the_note(self):
        entry = self._entry()
        other_entry = entry.call_list_id.entry_ids - entry
        lead = self.env["crm.lead"].create({"name": "Someone's deal"})
        order = self.env["sale.order"].create(
            {"partner_id": self.customers[3].id, "user_id": self.salesman.id}
        )
        other_list = self._running(self._callable(1, start=40))
        forbidden = {
            "partner_id": other_entry[0].partner_id.id,
            "call_list_id": other_list.id,
            "lead_id": lead.id,
            "order_id": order.id,
            "state": "done",
            "attempt_count": 0,
            "agent_id": self.agent_2.id,
            "phone": "+32 470 99 99 00",
            "priority": "3",
            "date_next_attempt": NOW,
            "date_reserved": False,
            "outcome_id": self.outcome["order_taken"].id,
            "sales_region_id": self.north.id,
            "company_id": self.other_company.id,
            "phonecall_ids": [Command.create({"name": "Fake call"})],
            "order_state": "sale",
        }
        as_agent = entry.with_user(self.agent_1)
        for fname, value in forbidden.items():
            with (
                self.subTest(field=fname),
                self.assertRefused(AccessError, "cannot set"),
            ):
                as_agent.write({fname: value})
        entry.invalidate_recordset()
        self.assertEqual(entry.partner_id, self.customers[0])
        self.assertEqual(entry.state, "in_progress")
        self.assertEqual(entry.agent_id, self.agent_1)
        self.assertFalse(entry.order_id)
        self.assertEqual(order.state, "draft")
        # The note stays theirs.
        as_agent.write({"note": "Speaks Dutch"})
        self.assertEqual(entry.note, "Speaks Dutch")
        # Sales managers change entries directly.
        entry.with_user(self.sales_manager).write(
            {"priority": "2", "agent_id": self.agent_2.id, "state": "pending"}
        )
        self.assertEqual(entry.agent_id, self.agent_2)

    def test_actions_still_write_for_agents(self):
        """The actions write the protected fields for the agent after their checks:
        call, order, outcome."""
        entry = self._entry()
        entry.action_take_order()
        self.assertTrue(entry.order_id)
        self.assertEqual(entry.order_id.user_id, self.agent_1)
        entry.action_log_outcome("NOT_INTERESTED", note="Next year")
        self.assertEqual(entry.state, "done")
        self.assertEqual(entry.attempt_count, 1)
        self.assertEqual(entry.sudo().phonecall_ids.order_id, entry.order_id)

    def test_entry_relations_check_company(self):
        entry = self._entry()
        foreign = self.Partner.create(
            {"name": "Foreign Customer", "company_id": self.other_company.id}
        )
        manager_entry = entry.with_user(self.sales_manager)
        with self.assertRefused(UserError, "Incompatible companies"):
            manager_entry.write({"partner_id": foreign.id})
        foreign_outcome = self.env["crm.call.outcome"].create(
            {
                "name": "Foreign",
                "code": "FOREIGN",
                "company_id": self.other_company.id,
            }
        )
        with self.assertRefused(UserError, "Incompatible companies"):
            manager_entry.write({"outcome_id": foreign_outcome.id})
        self.assertEqual(entry.partner_id, self.customers[0])

    def test_release_own_entry_or_manager(self):
        entry = self._entry()
        with self.assertRefused(AccessError, ""):
            entry.with_user(self.agent_2).action_release()
        for user in (self.salesman, self.portal, self.accountant):
            with self.subTest(user=user.name), self.assertRefused(AccessError, ""):
                entry.with_user(user).action_release()
        self.assertEqual(entry.state, "in_progress")
        entry.action_release()
        self.assertEqual(entry.state, "pending")
        self.assertFalse(entry.date_reserved)
        again = self.Entry.with_user(self.agent_1).reserve_next(self.agent_1)
        again.with_user(self.sales_manager).action_release()
        self.assertEqual(again.state, "pending")

    # 2. One reservation, one outcome ------------------------------------------

    def test_double_click_logs_once(self):
        with freeze_time(NOW):
            entry = self._entry()
            call = entry.action_log_outcome("NO_ANSWER")
            with self.assertRefused(UserError, "is logged already"):
                entry.action_log_outcome("NO_ANSWER")
            # The wizard's button pressed twice: the same.
            second = self._entry(
                agent=self.agent_2, customers=self._callable(2, start=50)
            )
            wizard = self.Wizard.with_user(self.agent_2).create(
                {
                    "entry_id": second.id,
                    "outcome_id": self.outcome["callback"].id,
                    "callback_at": NOW + timedelta(hours=2),
                }
            )
            wizard.action_log()
            with self.assertRefused(UserError, "is logged already"):
                wizard.action_log()
        self.assertEqual(entry.state, "pending")
        self.assertEqual(entry.attempt_count, 1)
        self.assertEqual(entry.sudo().phonecall_ids, call)
        self.assertEqual(second.state, "callback")
        self.assertEqual(second.attempt_count, 1)
        self.assertEqual(len(second.sudo().phonecall_ids), 1)

    def test_retry_without_delay_logs_once(self):
        """A retry delay of 0 makes the entry due at once: still one outcome per
        call; pressing Call starts the next one."""
        with freeze_time(NOW):
            entry = self._entry(retry_delay_hours=0)
            entry.action_log_outcome("NO_ANSWER")
        with freeze_time(NOW + timedelta(seconds=1)):
            with self.assertRefused(UserError, "press Call to call again"):
                entry.action_log_outcome("NO_ANSWER")
            self.assertEqual(entry.attempt_count, 1)
            entry.action_start_call()
            entry.action_log_outcome("NO_ANSWER")
        self.assertEqual(entry.attempt_count, 2)
        self.assertEqual(len(entry.sudo().phonecall_ids), 2)

    def test_queue_entry_logged_without_call_once(self):
        """An entry of the queue logged without pressing Call: its first outcome
        is taken, not a second one."""
        call_list = self._running(self.customers, agent_ids=self.agent_1.ids)
        entry = call_list.entry_ids[0].with_user(self.agent_1)
        self.assertEqual(entry.state, "pending")
        entry.action_log_outcome("NO_ANSWER")
        with self.assertRefused(UserError, "is logged already"):
            entry.action_log_outcome("NOT_INTERESTED")
        with self.assertRefused(UserError, "is logged already"):
            entry.action_open_outcome_wizard()
        self.assertEqual(entry.attempt_count, 1)

    def test_concurrent_outcomes_log_once(self):
        """Two requests log the outcome of one reservation at the same moment: the
        second waits for the first, fails to serialize and is retried, as Odoo
        retries a request; the retry is refused. One call, one attempt.

        The data is committed so that both transactions see it, and removed at the
        end."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            call_list, partners, admin = running_pool(env, "Twice", 980)
            with freeze_time(NOW):
                entry = env["crm.call.list.entry"].with_user(admin).reserve_next(admin)
            ids = {
                "list": call_list.id,
                "partners": tuple(partners.ids),
                "entry": entry.id,
                "admin": admin.id,
            }

        self.addCleanup(remove_pool, self.registry, ids["list"], ids["partners"])
        cr_1, cr_2 = self.registry.cursor(), self.registry.cursor()
        try:
            env_1 = api.Environment(cr_1, ids["admin"], {})
            env_2 = api.Environment(cr_2, ids["admin"], {})
            # The second request has read its snapshot when the first one logs the
            # outcome and commits.
            cr_2.execute("SELECT 1 FROM crm_call_list_entry LIMIT 1")
            with freeze_time(NOW + timedelta(minutes=3)):
                env_1["crm.call.list.entry"].browse(ids["entry"]).action_log_outcome(
                    "NO_ANSWER"
                )
                cr_1.commit()  # pylint: disable=invalid-commit
                log_outcome = (
                    env_2["crm.call.list.entry"].browse(ids["entry"]).action_log_outcome
                )
                tries = []

                def second():
                    try:
                        return log_outcome("NO_ANSWER")
                    except Exception as error:
                        tries.append(type(error))
                        raise

                with (
                    mute_logger("odoo.sql_db", "odoo.service.model"),
                    self.assertRaisesRegex(UserError, "is logged already"),
                ):
                    retrying(second, env_2)
            # The first try failed to serialize; the retry was refused.
            self.assertEqual(tries, [psycopg2.errors.SerializationFailure, UserError])
            cr_2.rollback()
            entry = env_2["crm.call.list.entry"].sudo().browse(ids["entry"])
            self.assertEqual(entry.attempt_count, 1)
            self.assertEqual(len(entry.phonecall_ids), 1)
            self.assertEqual(entry.state, "pending")
        finally:
            cr_1.rollback()
            cr_2.rollback()
            cr_1.close()
            cr_2.close()

    # 3. Every public method checks the caller ----------------------------------

    def test_list_actions_managers_only(self):
        call_list = self._list(self.customers, agent_ids=self.agent_1.ids)
        List = type(self.CallList)
        for user in (self.agent_1, self.salesman, self.portal, self.accountant):
            as_user = call_list.with_user(user)
            for method in (
                "action_build",
                "action_distribute",
                "action_start",
                "action_pause",
                "action_done",
            ):
                with (
                    self.subTest(user=user.name, method=method),
                    patch.object(List, "_build") as build,
                    patch.object(List, "_distribute") as distribute,
                    self.assertRefused(AccessError, ""),
                ):
                    getattr(as_user, method)()
                build.assert_not_called()
                distribute.assert_not_called()
        for user in (self.salesman, self.portal, self.accountant):
            with self.assertRefused(AccessError, ""):
                call_list.with_user(user).action_open_entries()
        self.assertEqual(call_list.state, "draft")
        self.assertFalse(call_list.entry_ids)
        # The agent reads their list, never reruns its distribution in SQL.
        call_list.action_build()
        call_list.action_distribute()
        call_list.action_start()
        call_list.entry_ids.sudo().agent_id = False
        with self.assertRefused(AccessError, ""):
            call_list.with_user(self.agent_1).action_distribute()
        self.assertFalse(call_list.entry_ids.agent_id)
        self.assertEqual(
            call_list.with_user(self.agent_1).action_open_entries()["res_model"],
            self.Entry._name,
        )

    def test_queue_agents_and_managers_only(self):
        call_list = self._running(self.customers, agent_ids=self.agent_1.ids)
        for user in (self.salesman, self.portal, self.accountant):
            Entry = self.Entry.with_user(user)
            with self.subTest(user=user.name):
                with self.assertRefused(AccessError, ""):
                    Entry.reserve_next(user)
                with self.assertRefused(AccessError, ""):
                    Entry.action_next_call()
                with self.assertRefused(AccessError, ""):
                    Entry.reserve_next(self.agent_1)
        with self.assertRefused(AccessError, "your own queue"):
            self.Entry.with_user(self.agent_2).reserve_next(self.agent_1)
        self.assertEqual(call_list.in_progress_count, 0)
        # Sales managers may take the next call of an agent.
        entry = self.Entry.with_user(self.sales_manager).reserve_next(self.agent_1)
        self.assertEqual(entry.agent_id, self.agent_1)

    def _entry_actions(self, entry):
        """Each public action of the agent's screen on ``entry``."""
        return {
            "action_start_call": entry.action_start_call,
            "action_call": entry.action_call,
            "action_open_opportunities": entry.action_open_opportunities,
            "action_open_outcome_wizard": entry.action_open_outcome_wizard,
            "action_take_order": entry.action_take_order,
            "action_confirm_order": entry.action_confirm_order,
            "action_log_outcome": functools.partial(
                entry.action_log_outcome, "NOT_INTERESTED"
            ),
            "action_release": entry.action_release,
        }

    def test_entry_actions_other_roles(self):
        entry = self._entry()
        entry.action_take_order()
        entry.order_id.order_line = [Command.create({"product_id": self._product().id})]
        pending = (entry.call_list_id.entry_ids - entry)[0]
        for user, errors in (
            (self.salesman, AccessError),
            (self.portal, AccessError),
            (self.accountant, AccessError),
            (self.agent_2, REFUSED),
        ):
            for target in (entry, pending):
                for method, action in self._entry_actions(
                    target.with_user(user)
                ).items():
                    with (
                        self.subTest(user=user.name, entry=target.id, method=method),
                        self.assertRefused(errors, ""),
                    ):
                        action()
        self.assertEqual(entry.state, "in_progress")
        self.assertEqual(entry.agent_id, self.agent_1)
        self.assertEqual(entry.order_id.state, "draft")
        self.assertEqual(pending.state, "pending")
        self.assertEqual(len(entry.sudo().phonecall_ids), 1)
        self.assertFalse(pending.sudo().phonecall_ids)

    def test_wizard_only_for_own_calls(self):
        entry = self._entry()
        for user in (self.salesman, self.portal, self.accountant):
            with self.subTest(user=user.name), self.assertRefused(AccessError, ""):
                self.Wizard.with_user(user).create({"entry_id": entry.id})
        # Another agent cannot open it on the entry to read the customer.
        with self.assertRefused(UserError, "is in call with Ann Agent"):
            self.Wizard.with_user(self.agent_2).create({"entry_id": entry.id})
        self._assert_untouched(entry)

    # 4. The dialer opens telephony URLs only -----------------------------------

    def test_dial_only_telephony_urls(self):
        Entry = self.Entry.with_user(self.agent_1)
        for url in ("tel:+32470000000", "sip:100@pbx.example", "CALLTO:+32470000000"):
            action = Entry._dial_client_action(
                {"type": "ir.actions.act_url", "url": url}
            )
            self.assertEqual(action["params"]["url"], url)
        for url in (
            "https://evil.example/phish",
            "javascript:alert(1)",
            "/web/login",
            " tel:+32470000000",
            "tel:",
            "tel:+32 470",
            False,
        ):
            with self.subTest(url=url), self.assertRefused(UserError, "only tel:"):
                Entry._dial_client_action({"type": "ir.actions.act_url", "url": url})
        # A dialer provider giving a web page: refused, no call opened.
        entry = self._entry()
        with (
            patch.object(
                type(self.Entry),
                "_dial_action",
                return_value={"type": "ir.actions.act_url", "url": "https://x.test"},
            ),
            self.assertRefused(UserError, "only tel:"),
        ):
            entry.action_call()
        self._assert_untouched(entry)

    # 5. Outcomes of another company ---------------------------------------------

    def test_outcome_of_another_company(self):
        foreign = self.env["crm.call.outcome"].create(
            {
                "name": "Foreign Deal",
                "code": "FOREIGN",
                "action": "order_taken",
                "company_id": self.other_company.id,
            }
        )
        for user in (self.agent_1, self.sales_manager):
            self.assertFalse(
                self.env["crm.call.outcome"]
                .with_user(user)
                .search([("id", "=", foreign.id)])
            )
        entry = self._entry()
        with self.assertRefused(UserError, "belongs to Other Telesales"):
            entry.action_log_outcome(foreign.id)
        self._assert_untouched(entry)
        # Even for a user of both companies, and through the wizard.
        self.agent_1.company_ids |= self.other_company
        wizard = self.Wizard.with_user(self.agent_1).create(
            {"entry_id": entry.id, "outcome_id": foreign.id}
        )
        with self.assertRefused(UserError, "belongs to Other Telesales"):
            wizard.action_log()
        self._assert_untouched(entry)

    # 6. Bad input over RPC: a clear error, nothing written ----------------------

    def test_bad_inputs_clear_errors(self):
        entry = self._entry()
        two = (self.outcome["no_answer"] | self.outcome["not_interested"]).ids
        for outcome in ([two[0]], two, True, {"id": two[0]}, 1.5):
            with (
                self.subTest(outcome=outcome),
                self.assertRefused(UserError, "Choose one outcome"),
            ):
                entry.action_log_outcome(outcome)
        with self.assertRefused(UserError, "not several"):
            entry.action_log_outcome(
                self.outcome["no_answer"] | self.outcome["not_interested"]
            )
        for callback_at in ("tomorrow-ish", 42, ["2030-01-08 10:00:00"]):
            with (
                self.subTest(callback_at=callback_at),
                self.assertRefused(UserError, "is not a date and time"),
            ):
                entry.action_log_outcome("CALLBACK", callback_at=callback_at)
        with self.assertRefused(UserError, "must be a text"):
            entry.action_log_outcome("NOT_INTERESTED", note={"text": "hi"})
        self._assert_untouched(entry)
        # A date and time as sent by the web client is taken.
        entry.action_log_outcome(
            "CALLBACK", callback_at=json.loads('"2099-01-08 10:00:00"')
        )
        self.assertEqual(entry.date_next_attempt, datetime(2099, 1, 8, 10, 0))

    # 7. Calls are written by the actions, as the agent's -----------------------

    def test_phonecalls_written_by_the_actions(self):
        """The call's user, outcome, order and entry are refused to a direct write
        (crm.phonecall's protected fields): the agent's actions set them."""
        entry = self._entry()
        call = entry.action_start_call()
        entry.action_take_order()
        entry.order_id.order_line = [Command.create({"product_id": self._product().id})]
        entry.action_confirm_order()
        queued = (entry.call_list_id.entry_ids - entry)[0].with_user(self.agent_1)
        logged = queued.action_log_outcome("NO_ANSWER")
        self.assertEqual(call.user_id, self.agent_1)
        self.assertEqual(call.order_id, entry.order_id)
        self.assertEqual(call.call_outcome_id, self.outcome["order_taken"])
        self.assertEqual(logged.user_id, self.agent_1)
        self.assertEqual(logged.call_outcome_id, self.outcome["no_answer"])
        # Returned in the agent's environment, not as superuser.
        self.assertFalse(call.env.su)
        self.assertFalse(logged.env.su)
        with self.assertRefused(AccessError, "logged through the call list"):
            call.with_user(self.agent_1).write({"call_outcome_id": False})

    def _product(self):
        return self.env["product.product"].create(
            {"name": "Hardened Widget", "list_price": 10.0}
        )


@tagged("post_install", "-at_install")
class TestDialActionClient(CrmExtendedTourCase):
    """The web client's dial action opens telephony URLs only."""

    def test_dial_action_opens_only_telephony_urls(self):
        code = """
            const {crmExtendedDialAction, dialer, isDialUrl} = odoo.loader.modules.get(
                "@crm_extended/js/dial_action"
            );
            // What the softphone would be given, instead of opening it
            const dialed = [];
            dialer.open = (url) => dialed.push(url);
            const notified = [];
            const env = {services: {notification: {
                add: (message, options) => notified.push(options.type),
            }}};
            const next = {type: "ir.actions.act_window_close"};
            const good = ["tel:+32470000000", "sip:100@pbx.example",
                          "callto:+32470000000"];
            for (const url of good) {
                if (!isDialUrl(url)) {
                    throw new Error(`refused ${url}`);
                }
                if (crmExtendedDialAction(env, {params: {url, next}}) !== next) {
                    throw new Error("the next action is lost");
                }
            }
            if (dialed.join() !== good.join() || notified.length) {
                throw new Error(`dialed: ${dialed}, notifications: ${notified}`);
            }
            const bad = ["javascript:console.error('dial opened javascript:')",
                         "https://example.com/", "/web/login", " tel:+3247",
                         "tel:"];
            for (const url of bad) {
                if (isDialUrl(url)) {
                    throw new Error(`accepted ${url}`);
                }
                if (crmExtendedDialAction(env, {params: {url, next}}) !== next) {
                    throw new Error("the next action is lost");
                }
            }
            const dangers = notified.filter((type) => type === "danger");
            if (dangers.length !== bad.length || dialed.length !== good.length) {
                throw new Error(`dialed: ${dialed}, notifications: ${notified}`);
            }
            console.log("test successful");
        """
        self.browser_js("/odoo", code, "odoo.isReady === true", login="admin")
