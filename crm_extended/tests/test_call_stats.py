from datetime import date, datetime, timedelta
from io import BytesIO

from freezegun import freeze_time
from openpyxl import load_workbook

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .test_call_list import CallListCase

D1 = datetime(2030, 1, 7)
D2 = datetime(2030, 1, 8)
XLSX_REPORT = "crm_extended.crm_call_list_stats_xlsx_action"
FIGURES = [
    "call_count",
    "reached_count",
    "reach_rate",
    "called_count",
    "contact_count",
    "calls_per_contact",
    "order_count",
    "order_confirmed_count",
    "conversion_rate",
    "amount_revenue",
    "duration_total",
    "duration_avg",
]
RATES = ("reach_rate", "calls_per_contact", "conversion_rate", "duration_avg")
AGGREGATES = [f"{f}:{'avg' if f in RATES else 'sum'}" for f in FIGURES]
HEADER = (
    "Agent",
    "Calls",
    "Calls Reaching",
    "Reach Rate (%)",
    "Customers Called",
    "Customers Reached",
    "Calls per Contact",
    "Orders Taken",
    "Confirmed Orders",
    "Conversion (%)",
    "Confirmed Revenue",
    "Call Time (min)",
    "Average Call (min)",
)


@tagged("post_install", "-at_install")
class TestCallStats(CallListCase):
    """Ann calls c1 (no answer, then order taken: a confirmed order of 1,000) and
    c2 (not interested) on day 1; Bob calls c3 (no answer on day 1, interested on
    day 2, a quotation of 500 not confirmed) and c4 (wrong number, day 2).

    Per agent, by hand:
    - Ann: 3 calls (1 + 5 + 2 min), 2 reaching, 2 customers called and reached,
      1 order confirmed for 1,000.
    - Bob: 3 calls (1 + 4 + 1 min), 1 reaching, 2 customers called, 1 reached,
      1 order taken (a quotation: no revenue).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann, cls.bob = cls.agent_1, cls.agent_2
        cls.customers = cls._callable(4)
        cls.product = cls.env["product.product"].create(
            {"name": "Phone Widget", "list_price": 1.0, "taxes_id": [Command.clear()]}
        )
        with freeze_time(D1):
            cls.call_list = cls._running_list(cls.customers)
        entries = {e.partner_id: e for e in cls.call_list.entry_ids}
        cls.e1, cls.e2, cls.e3, cls.e4 = (entries[c] for c in cls.customers)
        (cls.e1 | cls.e2).agent_id = cls.ann
        (cls.e3 | cls.e4).agent_id = cls.bob

        cls._call(cls.e1, cls.ann, D1.replace(hour=9), 1, "NO_ANSWER")
        cls._call(cls.e2, cls.ann, D1.replace(hour=10), 2, "NOT_INTERESTED")
        cls._call(cls.e3, cls.bob, D1.replace(hour=11), 1, "NO_ANSWER")
        cls._call(cls.e1, cls.ann, D1.replace(hour=14), 5, "ORDER")
        cls._call(cls.e3, cls.bob, D2.replace(hour=11), 4, "INTERESTED")
        cls._call(cls.e4, cls.bob, D2.replace(hour=12), 1, "WRONG_NUMBER")

        cls.order = cls._order(cls.customers[0], cls.ann, 1000.0, D1.replace(hour=15))
        cls.order.action_confirm()
        cls.quotation = cls._order(
            cls.customers[2], cls.bob, 500.0, D2.replace(hour=12, minute=30)
        )
        cls.e1.order_id = cls.order
        cls.e3.order_id = cls.quotation
        cls.Report = cls.env["crm.call.stats.report"]

    @classmethod
    def _running_list(cls, partners):
        call_list = cls.CallList.create(
            {
                "name": "Winter campaign",
                "filter_domain": repr([("id", "in", partners.ids)]),
                "agent_ids": [Command.set((cls.agent_1 | cls.agent_2).ids)],
                "call_hour_from": 0.0,
                "call_hour_to": 24.0,
                "max_attempts": 3,
            }
        )
        call_list.action_build()
        call_list.action_distribute()
        call_list.action_start()
        return call_list

    @classmethod
    def _call(cls, entry, agent, start, minutes, outcome):
        """The agent calls the entry at ``start`` for ``minutes`` and logs the
        outcome."""
        with freeze_time(start):
            entry.with_user(agent).action_start_call()
        with freeze_time(start + timedelta(minutes=minutes)):
            call = entry.with_user(agent).action_log_outcome(outcome)
        assert call.duration == minutes, (call.duration, minutes)
        return call

    @classmethod
    def _order(cls, partner, agent, amount, when):
        return cls.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "user_id": agent.id,
                "date_order": when,
                "order_line": [
                    Command.create(
                        {
                            "product_id": cls.product.id,
                            "product_uom_qty": 1,
                            "price_unit": amount,
                            "tax_id": [Command.clear()],
                        }
                    )
                ],
            }
        )

    # Helpers ------------------------------------------------------------

    def _stats(self, groupby, user=None, domain=None):
        Report = self.Report.with_user(user) if user else self.Report
        return {
            tuple(keys): dict(zip(FIGURES, values, strict=True))
            for *keys, values in (
                (*group[: len(groupby)], group[len(groupby) :])
                for group in Report._read_group(
                    domain or [("call_list_id", "=", self.call_list.id)],
                    groupby,
                    AGGREGATES,
                )
            )
        }

    def assertFigures(self, figures, expected):
        for fname, value in expected.items():
            self.assertAlmostEqual(figures[fname], value, places=2, msg=fname)

    # Tests --------------------------------------------------------------

    def test_figures_per_agent(self):
        stats = self._stats(["agent_id"])
        self.assertEqual(set(stats), {(self.ann,), (self.bob,)})
        self.assertFigures(
            stats[self.ann,],
            {
                "call_count": 3,
                "reached_count": 2,
                "reach_rate": 200 / 3,
                "called_count": 2,
                "contact_count": 2,
                "calls_per_contact": 1.5,
                "order_count": 1,
                "order_confirmed_count": 1,
                "conversion_rate": 50.0,
                "amount_revenue": 1000.0,
                "duration_total": 8.0,
                "duration_avg": 8 / 3,
            },
        )
        self.assertFigures(
            stats[self.bob,],
            {
                "call_count": 3,
                "reached_count": 1,
                "reach_rate": 100 / 3,
                "called_count": 2,
                "contact_count": 1,
                "calls_per_contact": 3.0,
                "order_count": 1,
                "order_confirmed_count": 0,
                "conversion_rate": 100.0,
                "amount_revenue": 0.0,
                "duration_total": 6.0,
                "duration_avg": 2.0,
            },
        )

    def test_rows_per_agent_and_day(self):
        rows = self.Report.search_read(
            [("call_list_id", "=", self.call_list.id)],
            ["agent_id", "date", *FIGURES],
            order="agent_id, date",
        )
        got = {
            (row["agent_id"][0], row["date"]): {f: row[f] for f in FIGURES}
            for row in rows
        }
        self.assertEqual(
            set(got),
            {
                (self.ann.id, date(2030, 1, 7)),
                (self.bob.id, date(2030, 1, 7)),
                (self.bob.id, date(2030, 1, 8)),
            },
        )
        # Bob's first day: one unanswered call, c3 called but not reached yet.
        self.assertFigures(
            got[self.bob.id, date(2030, 1, 7)],
            {
                "call_count": 1,
                "reached_count": 0,
                "reach_rate": 0.0,
                "called_count": 1,
                "contact_count": 0,
                "calls_per_contact": 0.0,
                "order_count": 0,
                "conversion_rate": 0.0,
                "duration_avg": 1.0,
            },
        )
        # Day 2: c3 is reached (called the day before: not called again), c4 is
        # called; the quotation counts on the day of its order.
        self.assertFigures(
            got[self.bob.id, date(2030, 1, 8)],
            {
                "call_count": 2,
                "reached_count": 1,
                "reach_rate": 50.0,
                "called_count": 1,
                "contact_count": 1,
                "calls_per_contact": 2.0,
                "order_count": 1,
                "conversion_rate": 100.0,
                "duration_total": 5.0,
                "duration_avg": 2.5,
            },
        )

    def test_rates_of_a_group_are_rates_of_its_sums(self):
        (total,) = self._stats(["call_list_id"]).values()
        self.assertFigures(
            total,
            {
                "call_count": 6,
                "reached_count": 3,
                "reach_rate": 50.0,
                "called_count": 4,
                "contact_count": 3,
                "calls_per_contact": 2.0,
                "order_count": 2,
                "order_confirmed_count": 1,
                "conversion_rate": 200 / 3,
                "amount_revenue": 1000.0,
                "duration_total": 14.0,
                "duration_avg": 14 / 6,
            },
        )
        # The mean of the three rows' reach rates (66.7, 0 and 50 %) would be wrong.
        rows = self.Report.search([("call_list_id", "=", self.call_list.id)])
        self.assertNotAlmostEqual(sum(rows.mapped("reach_rate")) / len(rows), 50.0)
        # The web client's grouped read gives the same figures.
        (group,) = self.Report.read_group(
            [("call_list_id", "=", self.call_list.id)],
            ["reach_rate:avg", "conversion_rate:avg", "call_count:sum"],
            ["call_list_id"],
        )
        self.assertAlmostEqual(group["reach_rate"], 50.0, places=2)
        self.assertAlmostEqual(group["conversion_rate"], 200 / 3, places=2)
        self.assertEqual(group["call_count"], 6)

    def test_cancelled_order_and_open_call_do_not_count(self):
        self.quotation._action_cancel()
        with freeze_time(D2.replace(hour=16)):
            self.e2.write({"state": "pending"})
            self.e2.with_user(self.ann).action_start_call()  # open, not logged
        stats = self._stats(["agent_id"])
        self.assertEqual(stats[self.bob,]["order_count"], 0)
        self.assertEqual(stats[self.ann,]["call_count"], 3)

    def test_revenue_in_company_currency(self):
        currency = self.env["res.currency"].create(
            {"name": "QXD", "symbol": "Q", "rounding": 0.01}
        )
        self.env["res.currency.rate"].create(
            {"currency_id": currency.id, "name": "2030-01-01", "rate": 4.0}
        )
        pricelist = self.env["product.pricelist"].create(
            {"name": "QXD", "currency_id": currency.id}
        )
        order = self._order(self.customers[1], self.ann, 400.0, D1.replace(hour=16))
        order.pricelist_id = pricelist
        order.order_line.price_unit = 400.0
        order.action_confirm()
        self.e2.order_id = order
        stats = self._stats(["agent_id"])
        # 400 QXD at 4 QXD for 1 company currency: 100
        self.assertAlmostEqual(stats[self.ann,]["amount_revenue"], 1100.0, places=2)

    def test_access_per_role(self):
        # An agent sees their own rows, a sales manager everybody's.
        self.assertEqual(set(self._stats(["agent_id"], user=self.ann)), {(self.ann,)})
        self.assertEqual(set(self._stats(["agent_id"], user=self.bob)), {(self.bob,)})
        self.assertFalse(self._stats(["agent_id"], user=self.agent_3))
        self.assertEqual(
            set(self._stats(["agent_id"], user=self.sales_manager)),
            {(self.ann,), (self.bob,)},
        )
        # A salesperson who is no telesales agent has no access.
        with self.assertRaises(AccessError):
            self.Report.with_user(self.salesman).search([])
        # Another company's lists stay out.
        other = self.env["res.company"].create({"name": "Stats Other Co"})
        self.sales_manager.company_ids = [Command.link(other.id)]
        self.env.cr.execute(
            "UPDATE crm_call_list SET company_id = %s WHERE id = %s",
            (other.id, self.call_list.id),
        )
        self.env.invalidate_all()
        manager_report = self.Report.with_user(self.sales_manager).with_context(
            allowed_company_ids=[self.company.id]
        )
        self.assertFalse(
            manager_report.search([("call_list_id", "=", self.call_list.id)])
        )

    # XLSX ---------------------------------------------------------------

    def _sheet(self, call_lists, user=None):
        Report = self.env["ir.actions.report"]
        if user:
            Report = Report.with_user(user)
        content, file_type = Report._render(XLSX_REPORT, call_lists.ids)
        self.assertEqual(file_type, "xlsx")
        workbook = load_workbook(BytesIO(content))
        self.assertEqual(len(workbook.worksheets), 1)
        return workbook.worksheets[0]

    def assertRow(self, row, expected):
        self.assertEqual(row[0], expected[0])
        self.assertEqual(len(row), len(expected))
        for col, (value, wanted) in enumerate(zip(row, expected, strict=True)):
            if col:
                self.assertAlmostEqual(value, wanted, places=6, msg=HEADER[col])

    def test_xlsx(self):
        spring = self.CallList.create({"name": "Spring campaign"})
        sheet = self._sheet(self.call_list | spring, user=self.sales_manager)
        rows = list(sheet.iter_rows(values_only=True))
        self.assertEqual(len(rows), 9)
        self.assertEqual(rows[0][0], "Winter campaign (Running)")
        self.assertEqual(rows[1], HEADER)
        ann = ("Ann Agent", 3, 2, 2 / 3, 2, 2, 1.5, 1, 1, 0.5, 1000, 8, 8 / 3)
        bob = ("Bob Agent", 3, 1, 1 / 3, 2, 1, 3, 1, 0, 1, 0, 6, 2)
        total = ("Total", 6, 3, 0.5, 4, 3, 2, 2, 1, 2 / 3, 1000, 14, 14 / 6)
        self.assertRow(rows[2], ann)
        self.assertRow(rows[3], bob)
        self.assertRow(rows[4], total)
        self.assertEqual(rows[5], (None,) * 13)
        # A list without calls: its header and zero totals
        self.assertEqual(rows[6][0], "Spring campaign (Draft)")
        self.assertEqual(rows[7], HEADER)
        self.assertRow(rows[8], ("Total", *(0,) * 12))
        # Numbers with their formats; the totals are bold
        self.assertEqual(sheet["D3"].number_format, "0.0%")
        self.assertEqual(sheet["B3"].data_type, "n")
        self.assertIn("#,##0.00", sheet["K3"].number_format)
        self.assertTrue(sheet["A5"].font.b)
        self.assertTrue(sheet["B5"].font.b)
        self.assertFalse(sheet["B3"].font.b)

    def test_xlsx_agent_gets_own_figures(self):
        rows = list(
            self._sheet(self.call_list, user=self.bob).iter_rows(values_only=True)
        )
        self.assertEqual(len(rows), 4)
        bob = ("Bob Agent", 3, 1, 1 / 3, 2, 1, 3, 1, 0, 1, 0, 6, 2)
        self.assertRow(rows[2], bob)
        self.assertRow(rows[3], ("Total", *bob[1:]))

    def test_days_are_the_agents(self):
        """A call's day is the agent's: for Bob in Auckland (UTC+13 in January),
        his calls at 11:00 and 12:00 UTC and his quotation at 12:30 UTC fall on
        the next day; Ann, without a timezone, keeps UTC days."""
        self.bob.tz = "Pacific/Auckland"
        self.env.flush_all()
        stats = self._stats(["agent_id", "date:day"])
        self.assertEqual(
            {
                (agent.id, day): figures["call_count"]
                for (agent, day), figures in stats.items()
            },
            {
                (self.ann.id, date(2030, 1, 7)): 3,
                (self.bob.id, date(2030, 1, 8)): 1,
                (self.bob.id, date(2030, 1, 9)): 2,
            },
        )
        self.assertEqual(stats[self.bob, date(2030, 1, 9)]["order_count"], 1)
