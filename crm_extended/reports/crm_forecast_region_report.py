from collections import defaultdict

from odoo import _, api, models
from odoo.exceptions import UserError

from ..text import name_list


class CrmForecastRegionReport(models.AbstractModel):
    """Region summary of a forecast (PDF), printed from region lines: the region's
    figures by method, the lines beneath it (sub-regions, teams, salespeople) and
    the adjustments made in its part of the rollup."""

    _name = "report.crm_extended.report_crm_forecast_region"
    _description = "Sales Forecast Region Summary"

    def _get_methods(self):
        """(label, amount field, error field) of each forecasting method."""
        return [
            (_("Pipeline"), "amount_pipeline", "error_pipeline"),
            (_("Best Case"), "amount_best_case", "error_best_case"),
            (_("Commit"), "amount_commit", "error_commit"),
            (_("Weighted"), "amount_weighted", "error_weighted"),
            (_("Historical Win Rate"), "amount_historical", "error_historical"),
            (_("Manager's Forecast"), "amount_forecast", "error_forecast"),
        ]

    @api.model
    def _get_report_values(self, docids, data=None):
        docs = self.env["crm.forecast.line"].browse(docids)
        not_regions = docs.filtered(lambda line: line.level != "region")
        if not_regions:
            raise UserError(
                _(
                    "The region summary prints the sales region lines of a forecast; "
                    "%(lines)s is not one.",
                    lines=name_list(self.env, not_regions.mapped("name")),
                )
            )
        # The lines of the forecasts in one query, under the user's record rules:
        # the summary shows what the user may read beneath the region.
        lines = self.env["crm.forecast.line"].search(
            [("forecast_id", "in", docs.forecast_id.ids)]
        )
        children = defaultdict(list)
        for line in lines:
            children[line.parent_id.id].append(line)

        def subtree(line, depth):
            for child in children[line.id]:
                yield depth, child
                yield from subtree(child, depth + 1)

        rows, adjustments = {}, {}
        for doc in docs:
            rows[doc.id] = list(subtree(doc, 0))
            adjustments[doc.id] = [
                line
                for line in [doc] + [row[1] for row in rows[doc.id]]
                if line.is_adjusted
            ]
        return {
            "doc_ids": docids,
            "doc_model": "crm.forecast.line",
            "docs": docs,
            "rows": rows,
            "adjustments": adjustments,
            "methods": self._get_methods(),
        }
