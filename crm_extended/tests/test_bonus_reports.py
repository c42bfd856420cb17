from datetime import date, datetime
from io import BytesIO

from openpyxl import load_workbook

from odoo.tests import tagged

from .test_bonus_accounting import BonusAccountingCase

XLSX_REPORT = "crm_extended.crm_bonus_payroll_xlsx_action"


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
