import re
from datetime import date, datetime
from io import BytesIO

from lxml import html
from openpyxl import load_workbook

from odoo.tests import tagged
from odoo.tools.pdf import PdfFileReader

from .test_bonus_accounting import BonusAccountingCase

XLSX_REPORT = "crm_extended.crm_bonus_payroll_xlsx_action"
PDF_REPORT = "crm_extended.crm_bonus_statement_report_action"


@tagged("post_install", "-at_install")
class TestBonusReports(BonusAccountingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._configure_company()
        cls.ann_statement = cls._approved_statement(cls.ann, 750)
        cls.ann_statement.action_post()
        cls.bob_statement = cls._approved_statement(
            cls.bob, 250, achieved={"confirmed_sales": (2000, 500)}
        )

    def _workbook(self, statements, user=None):
        content, file_type = (
            self.env["ir.actions.report"]
            .with_user(user or self.accountant)
            ._render(XLSX_REPORT, statements.ids)
        )
        self.assertEqual(file_type, "xlsx")
        return load_workbook(BytesIO(content))

    def test_payroll_xlsx(self):
        statements = self.ann_statement | self.bob_statement
        sheet = self._workbook(statements).active
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        self.assertEqual(
            rows[0],
            [
                "Salesperson",
                "Employee",
                "Period Start",
                "Period End",
                "Bonus Plan",
                "Confirmed Sales Target",
                "Confirmed Sales Achieved",
                "Confirmed Sales Attainment (%)",
                "Visits Done Target",
                "Visits Done Achieved",
                "Visits Done Attainment (%)",
                "Weighted Attainment (%)",
                "Payout",
                "Currency",
                "Status",
                "Accrual Entry",
            ],
        )
        feb_1, feb_28 = datetime(2025, 2, 1), datetime(2025, 2, 28)
        currency = self.company_b.currency_id.name
        self.assertEqual(
            rows[1],
            [
                "Ann Accrual",
                None,
                feb_1,
                feb_28,
                self.plan.name,
                1000,
                1200,
                120,
                10,
                8,
                80,
                # 120 × 60 % + 80 × 40 %
                104,
                750,
                currency,
                "Posted",
                self.ann_statement.move_id.name,
            ],
        )
        self.assertEqual(
            rows[2],
            [
                "Bob Accrual",
                None,
                feb_1,
                feb_28,
                self.plan.name,
                2000,
                500,
                25,
                0,
                0,
                0,
                15,
                250,
                currency,
                "Approved",
                None,
            ],
        )
        self.assertEqual(rows[3][0], "Total")
        self.assertEqual(rows[3][12:14], [1000, currency])
        self.assertEqual(len(rows), 4)
        # numbers are numbers
        self.assertEqual(sheet.cell(2, 13).data_type, "n")
        self.assertEqual(sheet.cell(2, 3).value.date(), date(2025, 2, 1))

    def test_payroll_xlsx_kpi_columns_present_only(self):
        sheet = self._workbook(self.bob_statement).active
        header = [cell.value for cell in sheet[1]]
        # Bob's plan has both KPIs: both columns; no other KPI
        self.assertNotIn("Margin Target", header)
        self.assertIn("Visits Done Target", header)

    def _html_text(self, statements, user=None):
        Report = self.env["ir.actions.report"].with_user(user or self.accountant)
        content, __ = Report._render_qweb_html(PDF_REPORT, statements.ids)
        text = html.fromstring(content).text_content()
        return re.sub(r"\s+", " ", text.replace("\xa0", " "))

    def test_statement_pdf_html(self):
        statement = self.ann_statement
        kpi = statement.kpi_ids.filtered(lambda k: k.kpi_type == "visits_done")
        # 23 source lines of visits: 20 shown, 3 counted
        self.env.cr.execute(
            """
            INSERT INTO crm_bonus_statement_line
                   (statement_id, statement_kpi_id, kpi_type, company_id, user_id,
                    date, amount)
            SELECT %s, %s, 'visits_done', %s, %s, '2025-02-10', 1
              FROM generate_series(1, 23)
            """,
            [statement.id, kpi.id, self.company_b.id, self.ann.id],
        )
        self.env.invalidate_all()
        text = self._html_text(statement)
        for expected in (
            "Bonus Statement",
            "Ann Accrual",
            self.plan.name,
            "Posted",
            statement.move_id.name,
            "Confirmed Sales",
            "Visits Done",
            "Weighted Attainment (%) 104.0",
            "and 3 more source lines",
        ):
            self.assertIn(expected, text)
        # the salesperson prints their own statement
        self.assertIn("Ann Accrual", self._html_text(statement, user=self.ann))

    def test_statement_pdf(self):
        content, file_type = (
            self.env["ir.actions.report"]
            .with_user(self.accountant)
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(PDF_REPORT, self.bob_statement.ids)
        )
        self.assertEqual(file_type, "pdf")
        self.assertTrue(content.startswith(b"%PDF"))
        reader = PdfFileReader(BytesIO(content), strict=False)
        text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
        self.assertIn("Bob Accrual", text)
        self.assertIn("Confirmed Sales", text)
        self.assertIn("Approved", text)
