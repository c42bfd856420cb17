from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_call_list import CallListCase, e164

NOW = datetime(2030, 1, 7, 10, 0)


@tagged("post_install", "-at_install")
class TestCallAgent(CallListCase):
    """The agent's screen: logging outcomes through the wizard, auto-dial, the dialer
    provider, taking and confirming orders, the overdue invoices warning."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls._callable(3)
        cls.pricelist = cls.env["product.pricelist"].create(
            {"name": "Telesales prices", "currency_id": cls.company.currency_id.id}
        )
        cls.customers[0].property_product_pricelist = cls.pricelist
        cls.product = cls.env["product.product"].create(
            {"name": "Phone Widget", "list_price": 40.0, "type": "consu"}
        )
        cls.Wizard = cls.env["crm.call.outcome.wizard"]

    def _entry(self, agent=None):
        agent = agent or self.agent_1
        self._running(self.customers, agent_ids=agent.ids)
        entry = self.Entry.with_user(agent).reserve_next(agent)
        self.assertTrue(entry)
        return entry

    def _wizard(self, entry, **vals):
        return self.Wizard.with_user(entry.env.user).create(
            {"entry_id": entry.id, **vals}
        )

    def _assert_untouched(self, entry):
        self.assertEqual(entry.state, "in_progress")
        self.assertEqual(entry.attempt_count, 0)
        self.assertFalse(entry.outcome_id)
        self.assertFalse(entry.phonecall_ids)

    # The Log Outcome wizard -------------------------------------------------

    @freeze_time(NOW)
    def test_wizard_logs_outcome(self):
        entry = self._entry()
        wizard = self._wizard(entry, outcome_id=self.outcome["not_interested"].id)
        action = wizard.action_log()
        self.assertEqual(action, {"type": "ir.actions.act_window_close"})
        self.assertEqual(entry.state, "done")
        self.assertEqual(entry.outcome_id, self.outcome["not_interested"])
        self.assertEqual(entry.phonecall_ids.call_outcome_id, entry.outcome_id)

    def test_wizard_defaults_to_active_entry(self):
        entry = self._entry()
        wizard = self.Wizard.with_user(self.agent_1).with_context(
            active_model=entry._name, active_id=entry.id
        )
        self.assertEqual(wizard.default_get(["entry_id"])["entry_id"], entry.id)
        action = entry.action_open_outcome_wizard()
        self.assertEqual(action["res_model"], self.Wizard._name)
        self.assertEqual(action["context"]["default_entry_id"], entry.id)

    @freeze_time(NOW)
    def test_wizard_required_inputs(self):
        entry = self._entry()
        with self.assertRefused(UserError, "Choose the outcome"):
            self._wizard(entry).action_log()
        self._assert_untouched(entry)
        with self.assertRefused(UserError, "needs a note"):
            self._wizard(
                entry, outcome_id=self.outcome["do_not_call"].id, note="  "
            ).action_log()
        self._assert_untouched(entry)
        self.assertFalse(entry.partner_id.call_do_not_call)
        with self.assertRefused(UserError, "needs the time to call back"):
            self._wizard(entry, outcome_id=self.outcome["callback"].id).action_log()
        self._assert_untouched(entry)
        with self.assertRefused(UserError, "is in the past"):
            self._wizard(
                entry,
                outcome_id=self.outcome["callback"].id,
                callback_at=NOW - timedelta(hours=1),
            ).action_log()
        self._assert_untouched(entry)
        # With its inputs, each is logged.
        self._wizard(
            entry,
            outcome_id=self.outcome["callback"].id,
            callback_at=NOW + timedelta(days=1),
            note="Call back tomorrow",
        ).action_log()
        self.assertEqual(entry.state, "callback")
        self.assertEqual(entry.date_next_attempt, NOW + timedelta(days=1))
        self.assertEqual(entry.note, "Call back tomorrow")

    # Auto-dial ----------------------------------------------------------------

    @freeze_time(NOW)
    def test_auto_dial_opens_and_dials_next_entry(self):
        self.agent_1.call_auto_dial = True
        entry = self._entry()
        action = self._wizard(
            entry, outcome_id=self.outcome["no_answer"].id
        ).action_log()
        following = entry.call_list_id.entry_ids.filtered(
            lambda e: e.state == "in_progress"
        )
        self.assertEqual(len(following), 1)
        self.assertNotEqual(following, entry)
        self.assertEqual(following.agent_id, self.agent_1)
        self.assertEqual(action["type"], "ir.actions.client")
        self.assertEqual(action["tag"], "crm_extended_dial")
        self.assertEqual(action["params"]["url"], f"tel:{following.phone}")
        self.assertEqual(action["params"]["next"]["res_model"], self.Entry._name)
        self.assertEqual(action["params"]["next"]["res_id"], following.id)
        # Its call is open, with its start time.
        self.assertEqual(following.phonecall_ids.state, "open")
        self.assertEqual(following.phonecall_ids.date, NOW)

    @freeze_time(NOW)
    def test_auto_dial_off_and_empty_queue(self):
        entry = self._entry()
        self.assertFalse(entry._action_after_outcome())
        self.agent_1.call_auto_dial = True
        self.Entry.search(
            [("call_list_id", "=", entry.call_list_id.id), ("id", "!=", entry.id)]
        ).write({"state": "done"})
        action = self._wizard(
            entry, outcome_id=self.outcome["not_interested"].id
        ).action_log()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("No call is due", action["params"]["message"])

    # The dialer provider ------------------------------------------------------

    def test_dialer_tel_provider(self):
        entry = self._entry()
        self.assertEqual(self.company.crm_call_dialer_provider, "tel")
        self.assertEqual(
            entry._dial_action(),
            {
                "type": "ir.actions.act_url",
                "url": f"tel:{e164(0)}",
                "target": "self",
            },
        )
        action = entry.action_call()
        self.assertEqual(action["tag"], "crm_extended_dial")
        self.assertEqual(
            action["params"],
            {"url": f"tel:{e164(0)}", "next": {"type": "ir.actions.act_window_close"}},
        )
        self.assertEqual(entry.phonecall_ids.state, "open")

    def test_dialer_unknown_provider(self):
        entry = self._entry()
        # A provider whose module is gone: its value is still in the database.
        self.env.cr.execute(
            "UPDATE res_company SET crm_call_dialer_provider = 'gone_voip' "
            "WHERE id = %s",
            (self.company.id,),
        )
        self.company.invalidate_recordset(["crm_call_dialer_provider"])
        with self.assertRefused(UserError, "dialer gone_voip is not available"):
            entry.action_call()
        self.assertFalse(entry.phonecall_ids)

    def test_dialer_setting(self):
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.crm_call_dialer_provider, "tel")

    def test_call_opens_phonecall(self):
        entry = self._entry()
        entry.action_call()
        call = entry.phonecall_ids
        self.assertEqual(call.call_list_entry_id, entry)
        self.assertEqual(call.state, "open")
        self.assertEqual(call.user_id, self.agent_1)
        # Pressed again: the same call.
        entry.action_call()
        self.assertEqual(entry.phonecall_ids, call)

    # Taking the order ---------------------------------------------------------

    def test_take_and_confirm_order(self):
        entry = self._entry()
        self.assertEqual(entry.partner_id, self.customers[0])
        action = entry.action_take_order()
        order = entry.order_id
        self.assertEqual(action["res_model"], "sale.order")
        self.assertEqual(action["res_id"], order.id)
        self.assertEqual(order.partner_id, self.customers[0])
        self.assertEqual(order.pricelist_id, self.pricelist)
        self.assertEqual(order.user_id, self.agent_1)
        self.assertEqual(order.state, "draft")
        call = entry.phonecall_ids
        self.assertEqual(call.order_id, order)
        self.assertEqual(call.state, "open")
        # Taken again: the same quotation.
        entry.action_take_order()
        self.assertEqual(entry.order_id, order)
        # No product yet: refused, nothing written.
        with self.assertRefused(UserError, "has no products"):
            entry.action_confirm_order()
        self.assertEqual(order.state, "draft")
        self.assertEqual(entry.state, "in_progress")
        order.write(
            {
                "order_line": [
                    Command.create(
                        {"product_id": self.product.id, "product_uom_qty": 3}
                    )
                ]
            }
        )
        self.assertFalse(entry.action_confirm_order())
        self.assertEqual(order.state, "sale")
        self.assertEqual(entry.state, "done")
        self.assertEqual(entry.outcome_id, self.outcome["order_taken"])
        self.assertEqual(call.state, "done")
        self.assertEqual(call.call_outcome_id, self.outcome["order_taken"])
        with self.assertRefused(UserError, "finished"):
            entry.action_confirm_order()

    def test_confirm_without_order(self):
        entry = self._entry()
        with self.assertRefused(UserError, "Take the order first"):
            entry.action_confirm_order()
        self._assert_untouched(entry)

    def test_confirm_order_auto_dial(self):
        self.agent_1.call_auto_dial = True
        entry = self._entry()
        entry.action_take_order()
        entry.order_id.order_line = [Command.create({"product_id": self.product.id})]
        action = entry.action_confirm_order()
        self.assertEqual(action["tag"], "crm_extended_dial")
        self.assertNotEqual(action["params"]["next"]["res_id"], entry.id)

    # Overdue invoices ---------------------------------------------------------

    def _invoice(self, partner, due, post=True, paid=False):
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": due - timedelta(days=30),
                "invoice_date_due": due,
                "invoice_line_ids": [
                    Command.create({"product_id": self.product.id, "price_unit": 100})
                ],
            }
        )
        if post:
            invoice.action_post()
        if paid:
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=invoice.ids
            ).create({"payment_date": due})._create_payments()
        return invoice

    @freeze_time(date(2030, 1, 7))
    def test_overdue_invoices_warning(self):
        overdue, not_due, paid, draft, clean = self._callable(5, start=20)
        late = self._invoice(overdue, date(2030, 1, 1))
        self._invoice(not_due, date(2030, 1, 20))
        self._invoice(paid, date(2030, 1, 1), paid=True)
        self._invoice(draft, date(2030, 1, 1), post=False)
        contact = self.Partner.create(
            {"name": "Buyer", "parent_id": overdue.id, "phone": e164(30)}
        )
        call_list = self._running(
            overdue | not_due | paid | draft | clean | contact,
            agent_ids=self.agent_1.ids,
        )
        entries = {e.partner_id: e.with_user(self.agent_1) for e in call_list.entry_ids}
        self.assertTrue(entries[overdue].has_overdue_invoices)
        self.assertTrue(entries[contact].has_overdue_invoices, "its company's")
        self.assertEqual(entries[overdue].overdue_amount, late.amount_total)
        for partner in (not_due, paid, draft, clean):
            self.assertFalse(entries[partner].has_overdue_invoices, partner.name)
        # One query for all the entries.
        records = call_list.entry_ids.with_user(self.agent_1)
        records.mapped("partner_id.commercial_partner_id.name")
        records.invalidate_recordset(["has_overdue_invoices", "overdue_amount"])
        with self.assertQueryCount(1):
            records.mapped("has_overdue_invoices")
        # Taking the order warns without blocking, then opens the quotation.
        entry = entries[overdue]
        entry.action_start_call()
        action = entry.action_take_order()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("overdue invoices", action["params"]["message"])
        self.assertEqual(action["params"]["next"]["res_id"], entry.order_id.id)
        self.assertEqual(entries[clean].action_take_order()["res_model"], "sale.order")

    def test_customer_history(self):
        entry = self._entry()
        lead = self.env["crm.lead"].create(
            {
                "name": "Big deal",
                "type": "opportunity",
                "partner_id": entry.partner_id.id,
                "user_id": self.agent_1.id,
            }
        )
        entry.action_log_outcome("NO_ANSWER")
        entry.invalidate_recordset()
        self.assertEqual(entry.partner_opportunity_ids, lead)
        self.assertEqual(entry.partner_phonecall_ids, entry.phonecall_ids)
