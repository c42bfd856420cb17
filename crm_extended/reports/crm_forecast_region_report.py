from collections import defaultdict

from odoo import _, api, models
from odoo.exceptions import UserError

from ..text import name_list


class CrmForecastRegionReport(models.AbstractModel):
    """Region summary of a forecast (PDF), printed from forecast lines: the region's
    figures by method, the lines beneath it (sub-regions, teams, salespeople) and
    the adjustments made in its part of the rollup.

    Printed from lines of any level, it summarizes their regions: a region line its
    own, a team or salesperson line the region of its team, the company line every
    region of its forecast."""

    _name = "report.crm_extended.report_crm_forecast_region"
    _description = "Sales Forecast Region Summary"

    def _get_methods(self):
        """(label, amount field, error field) of each forecasting method."""
        return [
            (_("Pipeline"), "amount_pipeline", "error_pipeline"),
            (_("Best Case"), "amount_best_case", "error_best_case"),
            (_("Commit"), "amount_commit", "error_commit"),
            (_("Weighted"), "amount_weighted", "error_weighted"),
            (_("Historical"), "amount_historical", "error_historical"),
            (_("Forecast"), "amount_forecast", "error_forecast"),
        ]

    @api.model
    def _get_region_lines(self, docids):
        """The region lines to print for the lines ``docids``, each once, in the
        rollup's order; only those the user may read."""
        lines = self.env["crm.forecast.line"].browse(docids)
        whole = lines.filtered(lambda line: line.level == "company").forecast_id
        wanted = {
            (line.forecast_id.id, line.sales_region_id.id)
            for line in lines
            if line.level != "company" and line.sales_region_id
        }
        regions = self._search_region_lines(lines.forecast_id).filtered(
            lambda region: region.forecast_id in whole
            or (region.forecast_id.id, region.sales_region_id.id) in wanted
        )
        if not regions:
            raise UserError(
                _(
                    "The region summary prints the sales regions of forecast lines; "
                    "none of yours is in a region you may read: %(lines)s.",
                    lines=name_list(self.env, lines.mapped("name")),
                )
            )
        return regions

    @api.model
    def _search_region_lines(self, forecasts):
        """The region lines of ``forecasts`` the user may read, in one query, a
        region before its sub-regions."""
        regions = self.env["crm.forecast.line"].search(
            [("forecast_id", "in", forecasts.ids), ("level", "=", "region")]
        )
        return regions.sorted(
            lambda line: (
                -line.forecast_id.date_from.toordinal(),
                line.forecast_id.id,
                line.sales_region_id.display_name,
            )
        )

    @api.model
    def _get_report_values(self, docids, data=None):
        docs = self._get_region_lines(docids)
        return self._get_summary_values(docs)

    @api.model
    def _get_summary_values(self, docs):
        """The values of the template for the region lines ``docs``."""
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
            "doc_ids": docs.ids,
            "doc_model": "crm.forecast.line",
            "docs": docs,
            "rows": rows,
            "adjustments": adjustments,
            "methods": self._get_methods(),
        }


class CrmForecastRegionsReport(models.AbstractModel):
    """The region summaries of whole forecasts (PDF): one per region of the
    forecast the user may read."""

    _name = "report.crm_extended.report_crm_forecast_regions"
    _inherit = "report.crm_extended.report_crm_forecast_region"
    _description = "Sales Forecast Region Summaries"

    @api.model
    def _get_report_values(self, docids, data=None):
        forecasts = self.env["crm.forecast"].browse(docids)
        docs = self._search_region_lines(forecasts)
        if not docs:
            raise UserError(
                _(
                    "%(forecasts)s: no sales region you may read. Compute the "
                    "forecast first, or ask a sales manager for the summary.",
                    forecasts=name_list(self.env, forecasts.mapped("name")),
                )
            )
        return self._get_summary_values(docs)
