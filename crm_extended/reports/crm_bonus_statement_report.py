from odoo import api, models

# Source lines shown per KPI on the PDF statement; the rest are counted
SOURCE_LINES_PER_KPI = 20


class CrmBonusStatementReport(models.AbstractModel):
    """PDF bonus statement: its KPIs, the plan's payout curve, the payout and the
    source lines of each KPI (the first ones, with a count of the others)."""

    _name = "report.crm_extended.report_crm_bonus_statement"
    _description = "Bonus Statement (PDF)"

    @api.model
    def _get_report_values(self, docids, data=None):
        docs = self.env["crm.bonus.statement"].browse(docids)
        sources = {}
        for doc in docs:
            groups = []
            for kpi in doc.kpi_ids:
                lines = doc.line_ids.filtered(
                    lambda line, kpi=kpi: line.statement_kpi_id == kpi
                ).sorted(lambda line: (line.date or doc.date_from, line.id))
                groups.append(
                    (
                        kpi,
                        lines[:SOURCE_LINES_PER_KPI],
                        max(len(lines) - SOURCE_LINES_PER_KPI, 0),
                    )
                )
            sources[doc.id] = groups
        return {
            "doc_ids": docids,
            "doc_model": "crm.bonus.statement",
            "docs": docs,
            "sources": sources,
        }
