from odoo import _, models
from odoo.tools import split_every

from .crm_extended_xlsx import CrmExtendedXlsx

# Partners are read, and rows written, this many at a time: a bounded cache and a
# number of queries that grows with the batches, not with the partners.
BATCH_SIZE = 5000
PARTNER_FIELDS = [
    "complete_name",
    "city",
    "phone",
    "email",
    "sales_region_id",
    "state_id",
    "country_id",
    "user_id",
]


class PartnerRegionXlsx(CrmExtendedXlsx):
    """Customers by Sales Region: one row per customer, sorted by region, then name.

    Built to export a whole customer base (100,000 rows and more): the partners are
    searched once, under the user's record rules, then read in large batches with the
    names of their regions, states, countries and salespeople read once per batch;
    xlsxwriter streams the rows to disk (``constant_memory``).
    """

    _name = "report.crm_extended.partner_region_xlsx"
    _inherit = "report.report_xlsx.abstract"
    _description = "Customers by Sales Region (XLSX)"

    _partner_order = "sales_region_id, complete_name, id"

    def _get_partner_domain(self, data, objs):
        """Domain of the partners to export: the partners printed."""
        return [("id", "in", objs.ids)]

    def _get_columns(self):
        """(title, width) of each column, in the order of :meth:`_get_rows`."""
        return [
            (_("Region"), 30),
            (_("Region Code"), 12),
            (_("Customer"), 40),
            (_("City"), 20),
            (_("State"), 20),
            (_("Country"), 20),
            (_("Salesperson"), 25),
            (_("Phone"), 18),
            (_("Email"), 30),
        ]

    def _get_rows(self, data, objs):
        """Yield one tuple of cell values per partner, in report order."""
        Partner = self.env["res.partner"].with_context(active_test=False)
        domain = self._get_partner_domain(data, objs)
        # Record rules apply here: the user exports what they can read.
        partner_ids = list(Partner._search(domain, order=self._partner_order))
        for batch_ids in split_every(BATCH_SIZE, partner_ids):
            partners = Partner.browse(batch_ids)
            values = partners.read(PARTNER_FIELDS, load=None)
            # The names behind the many2one values are shown as the list view shows
            # them: read as superuser, the partner's own access decides.
            regions = self._read_names(
                "crm.sales.region", values, "sales_region_id", ["complete_name", "code"]
            )
            states = self._read_names("res.country.state", values, "state_id", ["name"])
            countries = self._read_names("res.country", values, "country_id", ["name"])
            users = self._read_names("res.users", values, "user_id", ["name"])
            no_region = {"complete_name": None, "code": None}
            for vals in values:
                region = regions.get(vals["sales_region_id"], no_region)
                yield (
                    region["complete_name"],
                    region["code"],
                    vals["complete_name"],
                    vals["city"] or None,
                    states.get(vals["state_id"], {}).get("name"),
                    countries.get(vals["country_id"], {}).get("name"),
                    users.get(vals["user_id"], {}).get("name"),
                    vals["phone"] or None,
                    vals["email"] or None,
                )
            # Keep the cache to one batch.
            partners.invalidate_recordset(PARTNER_FIELDS)

    def _read_names(self, model, values, field_name, fnames):
        """{id: {fname: value}} of the records ``values`` point to in ``field_name``."""
        ids = {vals[field_name] for vals in values if vals[field_name]}
        if not ids:
            return {}
        records_su = self.env[model].sudo().with_context(active_test=False)
        return {vals["id"]: vals for vals in records_su.browse(ids).read(fnames)}

    def generate_xlsx_report(self, workbook, data, objs):
        sheet = workbook.add_worksheet(_("Customers by Region"))
        columns = self._get_columns()
        self._write_header(sheet, columns, self._xlsx_formats(workbook).bold)
        row_index = 0
        for row_index, row in enumerate(self._get_rows(data, objs), start=1):
            for col, value in enumerate(row):
                if value:
                    sheet.write_string(row_index, col, value)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, row_index, len(columns) - 1)


class SalesRegionPartnerXlsx(models.AbstractModel):
    """Customers by Sales Region, printed from regions: the customers of the regions
    and of their sub-regions."""

    _name = "report.crm_extended.sales_region_partner_xlsx"
    _inherit = "report.crm_extended.partner_region_xlsx"
    _description = "Customers of Sales Regions (XLSX)"

    def _get_partner_domain(self, data, objs):
        # The customers the region's "Customers" button shows, sub-regions included.
        return [
            ("sales_region_id", "child_of", objs.ids),
            ("is_company", "=", True),
            ("active", "=", True),
        ]
