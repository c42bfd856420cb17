import datetime
import re
from io import BytesIO

from lxml import html
from openpyxl import load_workbook

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import freeze_time, tagged
from odoo.tools.misc import formatLang
from odoo.tools.pdf import PdfFileReader

from .common import CrmExtendedCase

XLSX_REPORT = "crm_extended.crm_forecast_xlsx_action"
PDF_REPORT = "crm_extended.crm_forecast_region_report_action"
SHEETS = ["Company", "Regions", "Teams", "Salespeople"]
WHO = {
    "company": ("Company",),
    "region": ("Region", "Region Code", "Parent Region"),
    "team": ("Sales Team", "Region"),
    "user": ("Salesperson", "Sales Team", "Region"),
}
COMMON = (
    "Sales Forecast",
    "Period Start",
    "Period End",
    "Status",
    "Opportunities",
    "Pipeline",
    "Best Case",
    "Commit",
    "Weighted",
    "Historical",
    "Submitted",
    "Adjustment",
    "Adjustment Note",
    "Forecast",
    "Won When Frozen",
    "Won to Date",
)
CLOSED = (
    "Actual",
    "Error Pipeline",
    "Error Best Case",
    "Error Commit",
    "Error Weighted",
    "Error Historical",
    "Error Forecast",
)
# Money columns and the line field each shows
MONEY = {
    "Pipeline": "amount_pipeline",
    "Best Case": "amount_best_case",
    "Commit": "amount_commit",
    "Weighted": "amount_weighted",
    "Historical": "amount_historical",
    "Submitted": "amount_submitted",
    "Adjustment": "amount_adjusted",
    "Forecast": "amount_forecast",
    "Won When Frozen": "amount_won_frozen",
    "Won to Date": "amount_won_to_date",
    "Actual": "amount_actual",
    "Error Pipeline": "error_pipeline",
    "Error Best Case": "error_best_case",
    "Error Commit": "error_commit",
    "Error Weighted": "error_weighted",
    "Error Historical": "error_historical",
    "Error Forecast": "error_forecast",
}
# Newest period first, then the rollup's order
ORDER = "date_from desc, forecast_id, level, sales_region_id, team_id, user_id, id"
NOTE = "Sue's deal with Kilo is as good as signed"


@tagged("post_install", "-at_install")
@freeze_time("2025-03-10 12:00:00")
class TestForecastReports(CrmExtendedCase):
    """March 2025, computed on the 10th. The North Office (region Forecast North,
    managed by Rita) has Sam and Sue:

    - Sam: 10,000 at 60 % in commit, 5,000 at 20 % in the pipeline;
    - Sue: 8,000 at 50 % in best case, and 3,000 won on 5 March.

    The sales manager adjusts the office's forecast to 12,500 with a note.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.region = cls._region(
            "Forecast North",
            "FC-N",
            manager_ids=[Command.set(cls.regional_manager.ids)],
        )
        cls.team = cls.env["crm.team"].create(
            {
                "name": "North Office",
                "sales_region_id": cls.region.id,
                "member_ids": [Command.set((cls.salesman | cls.salesman_2).ids)],
            }
        )
        Stage = cls.env["crm.stage"]
        cls.stage_open = Stage.create({"name": "FC Qualified", "sequence": 1})
        cls.stage_won = Stage.create({"name": "FC Won", "sequence": 90, "is_won": True})
        customer = cls._customer("Kilo Corp", cls.state_n)

        def opportunity(name, user, revenue, probability, category, **vals):
            return {
                "name": name,
                "type": "opportunity",
                "partner_id": customer.id,
                "user_id": user.id,
                "team_id": cls.team.id,
                "stage_id": cls.stage_open.id,
                "expected_revenue": revenue,
                "probability": probability,
                "forecast_category": category,
                "date_deadline": datetime.date(2025, 3, 20),
                **vals,
            }

        cls.leads = cls.env["crm.lead"].create(
            [
                opportunity("Big Deal", cls.salesman, 10000, 60, "commit"),
                opportunity("Small Deal", cls.salesman, 5000, 20, "pipeline"),
                opportunity("Medium Deal", cls.salesman_2, 8000, 50, "best_case"),
                opportunity(
                    "Done Deal",
                    cls.salesman_2,
                    3000,
                    100,
                    "commit",
                    stage_id=cls.stage_won.id,
                ),
                # Closes in April: not in March's forecast
                opportunity(
                    "Later Deal",
                    cls.salesman,
                    7000,
                    90,
                    "commit",
                    date_deadline=datetime.date(2025, 4, 15),
                ),
            ]
        )
        cls.leads[3].date_closed = datetime.datetime(2025, 3, 5, 10, 0)
        Forecast = cls.env["crm.forecast"].with_user(cls.sales_manager)
        cls.forecast = Forecast.create(
            {"period_type": "month", "date_from": "2025-03-01"}
        )
        cls.forecast.action_compute()
        cls.Line = cls.env["crm.forecast.line"]
        cls.region_line = cls._line("region", sales_region_id=cls.region.id)
        cls.team_line = cls._line("team", team_id=cls.team.id)
        cls.sam_line = cls._line("user", user_id=cls.salesman.id)
        cls.sue_line = cls._line("user", user_id=cls.salesman_2.id)
        cls.team_line.with_user(cls.sales_manager).write(
            {"amount_adjusted": 12500, "adjustment_note": NOTE}
        )

    @classmethod
    def _line(cls, level, **where):
        line = cls.Line.search(
            [("forecast_id", "=", cls.forecast.id), ("level", "=", level)]
            + [(fname, "=", value) for fname, value in where.items()]
        )
        assert len(line) == 1, (level, where, line)
        return line

    # Helpers ------------------------------------------------------------

    def _workbook(self, user):
        content, file_type = (
            self.env["ir.actions.report"]
            .with_user(user)
            ._render(XLSX_REPORT, self.forecast.ids)
        )
        self.assertEqual(file_type, "xlsx")
        return load_workbook(BytesIO(content))

    def _expected_row(self, line, closed=False):
        """The row the export should show for ``line``, as openpyxl reads it."""
        region = line.sales_region_id.display_name or None
        who = {
            "company": (line.company_id.name,),
            "region": (
                region,
                line.sales_region_id.code,
                line.sales_region_id.parent_id.display_name or None,
            ),
            "team": (line.team_id.name, region),
            "user": (line.user_id.name, line.team_id.name or None, region),
        }[line.level]
        row = (
            *who,
            line.forecast_id.name,
            datetime.datetime.combine(line.date_from, datetime.time.min),
            datetime.datetime.combine(line.date_to, datetime.time.min),
            dict(line._fields["state"].selection)[line.state],
            line.opportunity_count,
            line.amount_pipeline,
            line.amount_best_case,
            line.amount_commit,
            line.amount_weighted,
            line.amount_historical,
            line.amount_submitted,
            line.amount_adjusted if line.is_adjusted else None,
            line.adjustment_note or None,
            line.amount_forecast,
            line.amount_won_frozen,
            line.amount_won_to_date,
        )
        if closed:
            # Only the lines of closed forecasts have an actual
            row += tuple(
                line[MONEY[title]] if line.state == "closed" else None
                for title in CLOSED
            )
        return row

    def _check_sheets(self, workbook, lines, closed=False):
        """Each sheet holds a header and one row per line of its level, cell by cell:
        numbers as numbers in the currency's format, dates as dates."""
        self.assertEqual(workbook.sheetnames, SHEETS)
        symbol = self.forecast.currency_id.symbol
        for sheet, level in zip(
            workbook.worksheets, ("company", "region", "team", "user"), strict=True
        ):
            header = WHO[level] + COMMON + (CLOSED if closed else ())
            rows = list(sheet.iter_rows())
            self.assertEqual(tuple(cell.value for cell in rows[0]), header)
            self.assertTrue(all(cell.font.b for cell in rows[0]))
            self.assertEqual(sheet.freeze_panes, "A2")
            level_lines = lines.filtered(lambda line, lv=level: line.level == lv)
            self.assertEqual(len(rows) - 1, len(level_lines), sheet.title)
            for cells, line in zip(rows[1:], level_lines, strict=True):
                values = tuple(cell.value for cell in cells)
                # Empty trailing cells are not written
                values += (None,) * (len(header) - len(values))
                self.assertEqual(values, self._expected_row(line, closed))
                for title, cell in zip(header, cells, strict=False):
                    if title in MONEY and cell.value is not None:
                        self.assertEqual(cell.data_type, "n", title)
                        self.assertIsInstance(cell.value, int | float)
                        self.assertIn(symbol, cell.number_format, title)
                        self.assertEqual(cell.value, line[MONEY[title]], title)
                    elif title.startswith("Period"):
                        self.assertTrue(cell.is_date, title)
                    elif title == "Opportunities":
                        self.assertEqual(cell.data_type, "n")

    def _row(self, workbook, sheet_name, first_cell):
        sheet = workbook[sheet_name]
        header = [cell.value for cell in sheet[1]]
        for row in sheet.iter_rows(min_row=2, values_only=True):
            if row[0] == first_cell:
                return dict(zip(header, row, strict=False))
        self.fail(f"{first_cell} not on {sheet_name}")

    def _html_text(self, lines, user=None):
        Report = self.env["ir.actions.report"].with_user(user or self.sales_manager)
        content, __ = Report._render_qweb_html(PDF_REPORT, lines.ids)
        text = html.fromstring(content).text_content()
        return re.sub(r"\s+", " ", text.replace("\xa0", " "))

    def _amount(self, value):
        return formatLang(self.env, value)

    # Tests: XLSX --------------------------------------------------------------

    def test_forecast_xlsx(self):
        lines = self.Line.with_user(self.sales_manager).search(
            [("forecast_id", "=", self.forecast.id)]
        )
        workbook = self._workbook(self.sales_manager)
        self._check_sheets(workbook, lines)
        # The known figures, read back
        sam = self._row(workbook, "Salespeople", "Sam Sales")
        self.assertEqual(sam["Sales Team"], "North Office")
        self.assertEqual(sam["Region"], "Forecast North")
        self.assertEqual(sam["Opportunities"], 2)
        self.assertEqual(sam["Pipeline"], 15000)
        self.assertEqual(sam["Best Case"], 10000)
        self.assertEqual(sam["Commit"], 10000)
        self.assertEqual(sam["Weighted"], 7000)
        self.assertEqual(sam["Forecast"], 10000)
        self.assertIsNone(sam["Adjustment"])
        sue = self._row(workbook, "Salespeople", "Sue Sales")
        self.assertEqual(sue["Pipeline"], 8000)
        self.assertEqual(sue["Best Case"], 8000)
        self.assertEqual(sue["Commit"], 0)
        self.assertEqual(sue["Weighted"], 4000)
        self.assertEqual(sue["Won to Date"], 3000)
        team = self._row(workbook, "Teams", "North Office")
        self.assertEqual(team["Pipeline"], 23000)
        self.assertEqual(team["Submitted"], 10000)
        self.assertEqual(team["Adjustment"], 12500)
        self.assertEqual(team["Adjustment Note"], NOTE)
        self.assertEqual(team["Forecast"], 12500)
        region = self._row(workbook, "Regions", "Forecast North")
        self.assertEqual(region["Region Code"], "FC-N")
        self.assertEqual(region["Pipeline"], 23000)
        self.assertEqual(region["Forecast"], 12500)
        self.assertEqual(region["Status"], "Draft")
        company = self._row(workbook, "Company", self.company.name)
        self.assertEqual(company["Forecast"], self.forecast.amount_forecast)
        self.assertGreaterEqual(company["Pipeline"], 23000)
        self.assertNotIn("Actual", [cell.value for cell in workbook["Company"][1]])

    def test_forecast_xlsx_closed(self):
        self.forecast.with_user(self.sales_manager).action_freeze()
        with freeze_time("2025-04-02 08:00:00"):
            self.forecast.with_user(self.sales_manager).action_close()
        self.assertEqual(self.forecast.state, "closed")
        lines = self.Line.search([("forecast_id", "=", self.forecast.id)])
        workbook = self._workbook(self.sales_manager)
        self._check_sheets(workbook, lines, closed=True)
        sue = self._row(workbook, "Salespeople", "Sue Sales")
        self.assertEqual(sue["Status"], "Closed")
        self.assertEqual(sue["Won When Frozen"], 3000)
        self.assertEqual(sue["Actual"], 3000)
        # commit + won when frozen − actual
        self.assertEqual(sue["Error Commit"], 0)
        self.assertEqual(sue["Error Pipeline"], 8000)
        sam = self._row(workbook, "Salespeople", "Sam Sales")
        self.assertEqual(sam["Actual"], 0)
        self.assertEqual(sam["Error Commit"], 10000)
        team = self._row(workbook, "Teams", "North Office")
        # The adjustment survived the freeze: 12,500 + 3,000 won − 3,000
        self.assertEqual(team["Adjustment Note"], NOTE)
        self.assertEqual(team["Error Forecast"], 12500)

    def test_forecast_xlsx_two_forecasts(self):
        """February closed and March in draft, printed together: the actual and
        errors columns are there, empty on March's rows."""
        february = (
            self.env["crm.forecast"]
            .with_user(self.sales_manager)
            .create({"period_type": "month", "date_from": "2025-02-01"})
        )
        february.action_freeze()
        february.action_close()
        self.assertEqual(february.name, "February 2025")
        forecasts = self.forecast | february
        lines = self.Line.search([("forecast_id", "in", forecasts.ids)], order=ORDER)
        content, __ = (
            self.env["ir.actions.report"]
            .with_user(self.sales_manager)
            ._render(XLSX_REPORT, forecasts.ids)
        )
        workbook = load_workbook(BytesIO(content))
        self._check_sheets(workbook, lines, closed=True)
        rows = list(workbook["Salespeople"].iter_rows(min_row=2, values_only=True))
        sam_rows = [row for row in rows if row[0] == "Sam Sales"]
        # The newest period first
        self.assertEqual(
            [row[3:5] for row in sam_rows],
            [
                ("March 2025", datetime.datetime(2025, 3, 1)),
                ("February 2025", datetime.datetime(2025, 2, 1)),
            ],
        )
        actual = len(WHO["user"] + COMMON)
        self.assertIsNone(sam_rows[0][actual])
        self.assertEqual(sam_rows[1][actual], 0)

    def test_forecast_xlsx_salesman_gets_own_line(self):
        # Record rules apply: Sam reads his own line only, no rollup.
        workbook = self._workbook(self.salesman)
        self._check_sheets(workbook, self.sam_line)
        for name in ("Company", "Regions", "Teams"):
            self.assertEqual(workbook[name].max_row, 1, name)
        rows = list(workbook["Salespeople"].iter_rows(min_row=2, values_only=True))
        self.assertEqual([row[0] for row in rows], ["Sam Sales"])

    def test_forecast_xlsx_regional_manager_gets_region(self):
        workbook = self._workbook(self.regional_manager)
        lines = self.region_line | self.team_line | self.sam_line | self.sue_line
        self._check_sheets(workbook, lines)

    def test_forecast_xlsx_note_is_text(self):
        # A note is data: never turned into a formula
        self.region_line.with_user(self.sales_manager).write(
            {"amount_adjusted": 20000, "adjustment_note": "=SUM(A1:A9)"}
        )
        workbook = self._workbook(self.sales_manager)
        region = self._row(workbook, "Regions", "Forecast North")
        self.assertEqual(region["Adjustment Note"], "=SUM(A1:A9)")
        self.assertEqual(region["Forecast"], 20000)

    def test_forecast_xlsx_query_count(self):
        """The export reads the lines and the names behind them once, whatever the
        number of salespeople."""
        Report = self.env["ir.actions.report"].with_user(self.sales_manager)

        def count_queries():
            Report._render(XLSX_REPORT, self.forecast.ids)  # warm the caches
            self.env.flush_all()
            self.env.invalidate_all()
            start = self.cr.sql_log_count
            Report._render(XLSX_REPORT, self.forecast.ids)
            return self.cr.sql_log_count - start

        few = count_queries()
        more_users = self.env["res.users"].create(
            [
                {
                    "name": f"Extra Seller {i:02d}",
                    "login": f"fc_extra_{i}",
                    "groups_id": [
                        Command.set(self.env.ref("sales_team.group_sale_salesman").ids)
                    ],
                }
                for i in range(12)
            ]
        )
        self.team.member_ids = [Command.link(user.id) for user in more_users]
        self.forecast.with_user(self.sales_manager).action_compute()
        self.assertEqual(
            self.Line.search_count(
                [
                    ("forecast_id", "=", self.forecast.id),
                    ("level", "=", "user"),
                    ("team_id", "=", self.team.id),
                ]
            ),
            14,
        )
        self.assertEqual(count_queries(), few)
        # Finding the report, one search for the lines, then one read per model
        # behind them (forecasts, companies, currencies, regions, teams, users and
        # their partners) and the user's language
        self.assertEqual(few, 13)

    # Tests: region PDF --------------------------------------------------------

    def test_region_summary_text(self):
        text = self._html_text(self.region_line)
        for expected in (
            "Forecast North",
            "March 2025",
            "North Office",
            "Sam Sales",
            "Sue Sales",
            "Historical",
            NOTE,
        ):
            self.assertIn(expected, text)
        # The methods are named as in the rollup and the export
        for former in ("Historical Win Rate", "Manager's Forecast"):
            self.assertNotIn(former, text)
        self.assertIn(self.forecast.currency_id.symbol, text)
        region = self.region_line
        for value in (
            region.amount_pipeline,
            region.amount_best_case,
            region.amount_weighted,
            region.amount_historical,
            region.amount_forecast,
            self.sam_line.amount_weighted,
            self.sue_line.amount_won_to_date,
        ):
            self.assertIn(self._amount(value), text)
        self.assertEqual(self._amount(region.amount_pipeline), "23,000.00")
        self.assertIn(self._amount(12500), text)
        # Salespeople sit beneath their team
        self.assertLess(text.index("North Office"), text.index("Sam Sales"))
        self.assertNotIn("Actual", text)

    def test_region_summary_closed(self):
        self.forecast.with_user(self.sales_manager).action_freeze()
        with freeze_time("2025-04-02 08:00:00"):
            self.forecast.with_user(self.sales_manager).action_close()
        # Freezing computes the lines again
        region_line = self._line("region", sales_region_id=self.region.id)
        text = self._html_text(region_line)
        self.assertIn("Actual", text)
        self.assertIn(NOTE, text)
        self.assertIn(self._amount(region_line.amount_actual), text)
        self.assertEqual(region_line.amount_actual, 3000)
        self.assertIn(self._amount(region_line.error_pipeline), text)

    def test_region_summary_regional_manager(self):
        text = self._html_text(self.region_line, user=self.regional_manager)
        self.assertIn("Sue Sales", text)
        self.assertIn(NOTE, text)

    def test_region_summary_pdf(self):
        content, file_type = (
            self.env["ir.actions.report"]
            .with_user(self.sales_manager)
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(PDF_REPORT, self.region_line.ids)
        )
        self.assertEqual(file_type, "pdf")
        self.assertTrue(content.startswith(b"%PDF"))
        reader = PdfFileReader(BytesIO(content), strict=False)
        text = " ".join(page.extract_text() for page in reader.pages)
        text = re.sub(r"\s+", " ", text)
        self.assertIn("Forecast North", text)
        self.assertIn("North Office", text)
        self.assertIn(self._amount(self.region_line.amount_pipeline), text)

    def test_region_summary_of_a_salesperson_line(self):
        """Printed on a salesperson's line, the summary is the one of its region."""
        text = self._html_text(self.sam_line)
        self.assertEqual(text, self._html_text(self.region_line))
        self.assertIn("Forecast North", text)
        # Sam himself reads no region line
        with self.assertRaisesRegex(UserError, "Sam Sales"):
            self._html_text(self.sam_line, user=self.salesman)
