from collections import defaultdict

from odoo import _

from ..models.crm_bonus_plan import KPI_TYPES, MONEY_KPIS
from .crm_extended_xlsx import CrmExtendedXlsx

# The number formats of the figures by kind: amounts in the currency of the row,
# named in the currency column.
FORMATS = {
    "percent": {"num_format": "0.00"},
    "number": {"num_format": "#,##0.##"},
    "money": {"num_format": "#,##0.00"},
}


class CrmBonusPayrollXlsx(CrmExtendedXlsx):
    """Payroll export of bonus statements: one row per statement (salesperson,
    employee when the HR app is installed, period, each KPI's target, achievement
    and attainment, weighted attainment, payout, currency, status and accrual
    entry), then a total of the payouts per currency. Figures are numbers, dates
    are dates; KPIs have columns only when one of the statements has them."""

    _name = "report.crm_extended.crm_bonus_payroll_xlsx"
    _inherit = "report.report_xlsx.abstract"
    _description = "Bonus Payroll Export (XLSX)"

    # A row per statement, built in memory.
    _constant_memory = False

    def _get_statements(self, objs):
        return objs.sorted(
            lambda s: (s.date_from, s.user_id.name or "", s.currency_id.name, s.id)
        )

    def _employee_name(self, user):
        """The name of the salesperson's employee when the HR app is installed."""
        if "employee_id" in user._fields:
            return user.sudo().employee_id.name or None
        return None

    def _get_columns(self, kpi_types):
        """(title, width, kind, getter) of the columns; ``kind`` is ``text``,
        ``date``, ``percent``, ``number`` or ``money``."""
        states = dict(
            self.env["crm.bonus.statement"]
            ._fields["state"]
            ._description_selection(self.env)
        )
        kpi_labels = dict(
            self.env["crm.bonus.statement.kpi"]
            ._fields["kpi_type"]
            ._description_selection(self.env)
        )

        def kpi_value(kpi_type, fname):
            def getter(statement, kpis):
                kpi = kpis.get((statement.id, kpi_type))
                return kpi[fname] if kpi else None

            return getter

        columns = [
            (_("Salesperson"), 25, "text", lambda s, k: s.user_id.name),
            (_("Employee"), 25, "text", lambda s, k: self._employee_name(s.user_id)),
            (_("Period Start"), 12, "date", lambda s, k: s.date_from),
            (_("Period End"), 12, "date", lambda s, k: s.date_to),
            (_("Bonus Plan"), 25, "text", lambda s, k: s.plan_id.name),
        ]
        for kpi_type in kpi_types:
            label = kpi_labels[kpi_type]
            kind = "money" if kpi_type in MONEY_KPIS else "number"
            columns += [
                (
                    _("%(kpi)s Target", kpi=label),
                    14,
                    kind,
                    kpi_value(kpi_type, "target"),
                ),
                (
                    _("%(kpi)s Achieved", kpi=label),
                    14,
                    kind,
                    kpi_value(kpi_type, "achieved"),
                ),
                (
                    _("%(kpi)s Attainment (%%)", kpi=label),
                    14,
                    "percent",
                    kpi_value(kpi_type, "attainment"),
                ),
            ]
        columns += [
            (_("Weighted Attainment (%)"), 14, "percent", lambda s, k: s.attainment),
            (_("Payout"), 15, "money", lambda s, k: s.amount_payout),
            (_("Currency"), 9, "text", lambda s, k: s.currency_id.name),
            (_("Status"), 10, "text", lambda s, k: states.get(s.state)),
            (
                _("Accrual Entry"),
                20,
                "text",
                lambda s, k: s.move_id.sudo().name or None,
            ),
        ]
        return columns

    def generate_xlsx_report(self, workbook, data, objs):
        statements = self._get_statements(objs)
        kpis = {(kpi.statement_id.id, kpi.kpi_type): kpi for kpi in statements.kpi_ids}
        present = {kpi_type for __, kpi_type in kpis}
        kpi_types = [kpi_type for kpi_type, __ in KPI_TYPES if kpi_type in present]
        columns = self._get_columns(kpi_types)
        formats = self._xlsx_formats(workbook)
        sheet = workbook.add_worksheet(_("Bonus Payroll"))
        self._write_header(sheet, columns, formats.header)
        row = 0
        totals = defaultdict(float)
        for statement in statements:
            row += 1
            totals[statement.currency_id] += statement.amount_payout
            for col, (__, __, kind, getter) in enumerate(columns):
                value = getter(statement, kpis)
                if value is None or value is False:
                    continue
                if kind == "text":
                    sheet.write_string(row, col, value)
                elif kind == "date":
                    sheet.write_datetime(row, col, value, formats.date)
                else:
                    sheet.write_number(row, col, value, formats(FORMATS[kind]))
        sheet.freeze_panes(1, 0)
        if row:
            sheet.autofilter(0, 0, row, len(columns) - 1)
        # One total per currency, under the payout column
        payout_col = next(
            col for col, column in enumerate(columns) if column[0] == _("Payout")
        )
        for currency, total in sorted(totals.items(), key=lambda t: t[0].name):
            row += 1
            sheet.write_string(row, 0, _("Total"), formats.bold)
            sheet.write_number(
                row, payout_col, total, formats(FORMATS["money"], bold=True)
            )
            sheet.write_string(row, payout_col + 1, currency.name, formats.bold)
