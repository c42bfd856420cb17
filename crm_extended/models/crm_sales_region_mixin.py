from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL


class CrmSalesRegionMixin(models.AbstractModel):
    """The sales region of a business document: its sales team's region, else its
    partner's.

    A region of another company than the document's is never used. Models using it have
    ``partner_id`` and ``company_id``; ``_sales_region_team_field`` names their sales
    team field (a ``crm.team``), or is empty when they have none.
    """

    _name = "crm.sales.region.mixin"
    _description = "Sales Region of a Document"
    _sales_region_team_field = "team_id"

    sales_region_id = fields.Many2one(
        "crm.sales.region",
        compute="_compute_sales_region_id",
        store=True,
        index=True,
        ondelete="set null",
        help="The region of the sales team, else the region of the customer.",
    )
    # The regional managers' view of their documents (the My Regions filters)
    is_in_my_regions = fields.Boolean(
        string="In My Regions",
        compute="_compute_is_in_my_regions",
        search="_search_is_in_my_regions",
        help="The document's sales region is one you manage, or below one.",
    )

    def _sales_region_depends(self):
        deps = ["partner_id.sales_region_id", "company_id"]
        if self._sales_region_team_field:
            deps.append(f"{self._sales_region_team_field}.sales_region_id")
        return deps

    @api.depends(lambda self: self._sales_region_depends())
    def _compute_sales_region_id(self):
        team_field = self._sales_region_team_field
        for record in self:
            candidates = [record.partner_id.sales_region_id]
            if team_field:
                candidates.insert(0, record[team_field].sales_region_id)
            record.sales_region_id = next(
                (
                    region
                    for region in candidates
                    if region
                    and (
                        not record.company_id or region.company_id == record.company_id
                    )
                ),
                False,
            )

    @api.depends_context("uid")
    @api.depends("sales_region_id")
    def _compute_is_in_my_regions(self):
        mine = self.env["crm.sales.region"].search(self._my_regions_domain())
        for record in self:
            record.is_in_my_regions = record.sales_region_id in mine

    def _search_is_in_my_regions(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(
                _(
                    "Search on In My Regions only as set or not set, not "
                    "%(operator)s %(value)s.",
                    operator=operator,
                    value=value,
                )
            )
        mine = self.env["crm.sales.region"]._search(self._my_regions_domain())
        if (operator == "=") == value:
            return [("sales_region_id", "in", mine)]
        return [
            "|",
            ("sales_region_id", "=", False),
            ("sales_region_id", "not in", mine),
        ]

    @api.model
    def _my_regions_domain(self):
        """The regions the current user manages and their sub-regions."""
        managed = self.env.user.sales_region_managed_ids
        return [("id", "child_of", managed.ids)] if managed else [("id", "=", False)]

    def _sales_region_sync_where(self):
        """Extra condition on the documents the bulk sync may touch (alias ``d``)."""
        return SQL("TRUE")

    @api.model
    def _sales_region_sync_partners(self, partner_ids):
        """Re-derive the region of the documents of these partners in one query.

        The set-based twin of ``_compute_sales_region_id``, for bulk region changes.
        """
        team_field = self._sales_region_team_field
        if team_field:
            team_join = SQL(
                "LEFT JOIN crm_team tm ON tm.id = d.%s "
                "LEFT JOIN crm_sales_region tr ON tr.id = tm.sales_region_id",
                SQL.identifier(team_field),
            )
            team_region = SQL(
                "CASE WHEN d.company_id IS NULL OR tr.company_id = d.company_id "
                "THEN tr.id END"
            )
        else:
            team_join, team_region = SQL(""), SQL("NULL::int")
        self.flush_model(
            [
                "partner_id",
                "company_id",
                "sales_region_id",
                *([team_field] if team_field else []),
            ]
        )
        self.env["crm.team"].flush_model(["sales_region_id"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE %(table)s AS target
                   SET sales_region_id = src.region_id
                  FROM (
                        SELECT d.id,
                               COALESCE(
                                   %(team_region)s,
                                   CASE WHEN d.company_id IS NULL
                                          OR pr.company_id = d.company_id
                                        THEN pr.id END
                               ) AS region_id
                          FROM %(table)s AS d
                          JOIN res_partner p ON p.id = d.partner_id
                     LEFT JOIN crm_sales_region pr ON pr.id = p.sales_region_id
                               %(team_join)s
                         WHERE d.partner_id = ANY(%(partner_ids)s)
                           AND %(where)s
                       ) AS src
                 WHERE target.id = src.id
                   AND target.sales_region_id IS DISTINCT FROM src.region_id
                """,
                table=SQL.identifier(self._table),
                team_region=team_region,
                team_join=team_join,
                partner_ids=list(partner_ids),
                where=self._sales_region_sync_where(),
            )
        )
        self.invalidate_model(["sales_region_id"])
