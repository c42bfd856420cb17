from odoo import _

from .crm_extended_xlsx import CrmExtendedXlsx, XlsxFormats

# (field of crm.call.stats.report, kind) of the figures, in column order after the
# agent. Counts and sums add up; rates are the rates of the sums (see the report).
FIGURES = [
    ("call_count", "integer"),
    ("reached_count", "integer"),
    ("reach_rate", "percent"),
    ("called_count", "integer"),
    ("contact_count", "integer"),
    ("calls_per_contact", "decimal"),
    ("order_count", "integer"),
    ("order_confirmed_count", "integer"),
    ("conversion_rate", "percent"),
    ("amount_revenue", "money"),
    ("duration_total", "decimal"),
    ("duration_avg", "decimal"),
]
RATE_FIELDS = ("reach_rate", "calls_per_contact", "conversion_rate", "duration_avg")
# The number formats of the figures by kind (amounts: their currency's format)
FORMATS = {
    "integer": XlsxFormats.INTEGER,
    "percent": {"num_format": "0.0%"},
    "decimal": {"num_format": "0.00"},
}
# The title of a list's block
TITLE = {"bold": True, "font_size": 13}


class CrmCallListStatsXlsx(CrmExtendedXlsx):
    """Statistics of call lists: one sheet, a block per printed list with a row per
    agent and the list's totals.

    Figures are numbers: counts, rates as percentages (0.25 shown 25.0 %), revenue in
    the company's currency format, call time in minutes. They come from
    ``crm.call.stats.report`` under the user's record rules: an agent exports their
    own figures, a sales manager everybody's. Two grouped reads in all.
    """

    _name = "report.crm_extended.crm_call_list_stats_xlsx"
    _inherit = "report.report_xlsx.abstract"
    _description = "Call List Statistics (XLSX)"

    # A few rows per list, built in memory.
    _constant_memory = False

    def _get_columns(self):
        """(title, width) of the columns: the agent, then the figures."""
        Report = self.env["crm.call.stats.report"]
        return [(_("Agent"), 30)] + [
            (Report._fields[fname]._description_string(self.env), 14)
            for fname, __ in FIGURES
        ]

    def _get_stats(self, objs):
        """({(list id, agent): {fname: value}}, {list id: {fname: value}}): the
        figures per list and agent, and per list."""
        Report = self.env["crm.call.stats.report"]
        domain = [("call_list_id", "in", objs.ids)]
        aggregates = [
            f"{fname}:{'avg' if fname in RATE_FIELDS else 'sum'}"
            for fname, __ in FIGURES
        ]
        by_agent = {}
        for call_list, agent, *values in Report._read_group(
            domain, ["call_list_id", "agent_id"], aggregates
        ):
            by_agent[call_list.id, agent] = self._figures(values)
        totals = {}
        for call_list, *values in Report._read_group(
            domain, ["call_list_id"], aggregates
        ):
            totals[call_list.id] = self._figures(values)
        return by_agent, totals

    def _figures(self, values):
        figures = {}
        for (fname, kind), value in zip(FIGURES, values, strict=True):
            value = value or 0
            if kind == "percent":
                value /= 100.0
            figures[fname] = value
        return figures

    def generate_xlsx_report(self, workbook, data, objs):
        by_agent, totals = self._get_stats(objs)
        formats = self._xlsx_formats(workbook)

        def cell_format(kind, currency, bold):
            more = {"bold": True} if bold else {}
            if kind == "money":
                return formats.money(currency, **more)
            return formats(FORMATS[kind], **more)

        def write_figures(row, figures, currency, bold=False):
            for col, (fname, kind) in enumerate(FIGURES, start=1):
                sheet.write_number(
                    row, col, figures.get(fname, 0), cell_format(kind, currency, bold)
                )

        sheet = workbook.add_worksheet(_("Call Statistics"))
        columns = self._get_columns()
        states = dict(
            self.env["crm.call.list"]._fields["state"]._description_selection(self.env)
        )
        row = 0
        for call_list in objs:
            currency = call_list.company_id.currency_id
            sheet.write_string(
                row,
                0,
                _(
                    "%(list)s (%(state)s)",
                    list=call_list.name,
                    state=states[call_list.state],
                ),
                formats(TITLE),
            )
            row += 1
            self._write_header(sheet, columns, formats.header, row=row)
            agents = sorted(
                (agent for list_id, agent in by_agent if list_id == call_list.id),
                key=lambda agent: (not agent, agent.name or "", agent.id),
            )
            for agent in agents:
                row += 1
                sheet.write_string(row, 0, agent.name if agent else _("No Agent"))
                write_figures(row, by_agent[call_list.id, agent], currency)
            row += 1
            sheet.write_string(row, 0, _("Total"), formats.bold)
            write_figures(row, totals.get(call_list.id, {}), currency, bold=True)
            row += 2
