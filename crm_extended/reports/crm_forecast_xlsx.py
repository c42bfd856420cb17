from odoo import _

from ..models.crm_forecast import FORECAST_METHODS, LINE_FIGURES
from .crm_extended_xlsx import CrmExtendedXlsx

# The fields of the lines the report reads, in one query
LINE_FIELDS = [
    "forecast_id",
    "company_id",
    "currency_id",
    "state",
    "level",
    "user_id",
    "team_id",
    "sales_region_id",
    *LINE_FIGURES,
    "amount_submitted",
    "is_adjusted",
    "amount_adjusted",
    "adjustment_note",
    "amount_forecast",
    "amount_won_frozen",
    "amount_actual",
    *(f"error_{method}" for method, __ in FORECAST_METHODS),
]


class CrmForecastXlsx(CrmExtendedXlsx):
    """A forecast and its rollup: one sheet per level (company, regions, teams,
    salespeople), one row per line the user may read.

    Amounts are numbers in the company's currency format, period bounds are dates.
    The actual and each method's error (forecast − actual) are added once a printed
    forecast is closed. Lines are searched under the user's record rules: a
    salesperson exports their own line only, a regional manager the lines of their
    regions.
    """

    _name = "report.crm_extended.crm_forecast_xlsx"
    _inherit = "report.report_xlsx.abstract"
    _description = "Sales Forecast (XLSX)"

    # The newest period first, then the rollup's order
    _line_order = (
        "date_from desc, forecast_id, level, sales_region_id, team_id, user_id, id"
    )

    # ------------------------------------------------------------------
    # Layout
    # ------------------------------------------------------------------

    def _get_levels(self):
        """(level, sheet name) in sheet order."""
        return [
            ("company", _("Company")),
            ("region", _("Regions")),
            ("team", _("Teams")),
            ("user", _("Salespeople")),
        ]

    def _get_columns(self, level, closed):
        """(title, width, kind, getter) of the columns of a level's sheet. ``kind``
        is ``text``, ``date``, ``integer`` or ``money``; ``getter`` takes a line and
        returns the cell's value, ``None`` for an empty cell."""

        def field(fname):
            return lambda line: line[fname]

        def name(fname, attribute="name"):
            return lambda line: line[fname][attribute] or None

        def when_closed(fname):
            return lambda line: line[fname] if line.state == "closed" else None

        region = (_("Region"), 30, "text", name("sales_region_id", "display_name"))
        team = (_("Sales Team"), 25, "text", name("team_id"))
        who = {
            "company": [(_("Company"), 30, "text", name("company_id"))],
            "region": [
                region,
                (_("Region Code"), 12, "text", name("sales_region_id", "code")),
                (
                    _("Parent Region"),
                    30,
                    "text",
                    lambda line: line.sales_region_id.parent_id.display_name or None,
                ),
            ],
            "team": [team, region],
            "user": [(_("Salesperson"), 25, "text", name("user_id")), team, region],
        }[level]
        states = dict(
            self.env["crm.forecast.line"]
            ._fields["state"]
            ._description_selection(self.env)
        )
        columns = [
            *who,
            (_("Sales Forecast"), 20, "text", lambda line: line.forecast_id.name),
            (_("Period Start"), 12, "date", lambda line: line.forecast_id.date_from),
            (_("Period End"), 12, "date", lambda line: line.forecast_id.date_to),
            (_("Status"), 10, "text", lambda line: states.get(line.state)),
            (_("Opportunities"), 13, "integer", field("opportunity_count")),
            (_("Pipeline"), 15, "money", field("amount_pipeline")),
            (_("Best Case"), 15, "money", field("amount_best_case")),
            (_("Commit"), 15, "money", field("amount_commit")),
            (_("Weighted"), 15, "money", field("amount_weighted")),
            (_("Historical"), 15, "money", field("amount_historical")),
            (_("Submitted"), 15, "money", field("amount_submitted")),
            (
                _("Adjustment"),
                15,
                "money",
                lambda line: line.amount_adjusted if line.is_adjusted else None,
            ),
            (
                _("Adjustment Note"),
                40,
                "text",
                lambda line: line.adjustment_note or None,
            ),
            (_("Forecast"), 15, "money", field("amount_forecast")),
            (_("Won When Frozen"), 15, "money", field("amount_won_frozen")),
            (_("Won to Date"), 15, "money", field("amount_won_to_date")),
        ]
        if closed:
            columns += [
                (_("Actual"), 15, "money", when_closed("amount_actual")),
                (_("Error Pipeline"), 15, "money", when_closed("error_pipeline")),
                (_("Error Best Case"), 15, "money", when_closed("error_best_case")),
                (_("Error Commit"), 15, "money", when_closed("error_commit")),
                (_("Error Weighted"), 15, "money", when_closed("error_weighted")),
                (
                    _("Error Historical"),
                    15,
                    "money",
                    when_closed("error_historical"),
                ),
                (_("Error Forecast"), 15, "money", when_closed("error_forecast")),
            ]
        return columns

    # ------------------------------------------------------------------
    # Data
    # ------------------------------------------------------------------

    def _get_lines(self, data, objs):
        """The lines of the printed forecasts the user may read, in report order,
        fetched in one query (record rules apply)."""
        return self.env["crm.forecast.line"].search_fetch(
            [("forecast_id", "in", objs.ids)], LINE_FIELDS, order=self._line_order
        )

    # ------------------------------------------------------------------
    # Rendering
    # ------------------------------------------------------------------

    def generate_xlsx_report(self, workbook, data, objs):
        lines = self._get_lines(data, objs)
        closed = any(state == "closed" for state in lines.mapped("state"))
        formats = self._xlsx_formats(workbook)
        for level, sheet_name in self._get_levels():
            sheet = workbook.add_worksheet(sheet_name)
            columns = self._get_columns(level, closed)
            self._write_header(sheet, columns, formats.header)
            row = 0
            for line in lines.filtered(lambda line, level=level: line.level == level):
                row += 1
                for col, (__, __, kind, getter) in enumerate(columns):
                    value = getter(line)
                    if value is None:
                        continue
                    if kind == "money":
                        sheet.write_number(
                            row, col, value, formats.money(line.currency_id)
                        )
                    elif kind == "integer":
                        sheet.write_number(row, col, value, formats.integer)
                    elif kind == "date":
                        sheet.write_datetime(row, col, value, formats.date)
                    else:
                        sheet.write_string(row, col, value)
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, row, len(columns) - 1)
