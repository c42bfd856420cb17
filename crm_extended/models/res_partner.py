from odoo import api, fields, models
from odoo.tools import SQL

# Partner fields the region of a partner is computed from.
REGION_SOURCE_FIELDS = [
    "state_id",
    "country_id",
    "company_id",
    "commercial_partner_id",
    "sales_region_id",
    "sales_region_manual",
]


class ResPartner(models.Model):
    _inherit = "res.partner"

    sales_region_id = fields.Many2one(
        "crm.sales.region",
        compute="_compute_sales_region_id",
        store=True,
        readonly=False,
        index=True,
        ondelete="set null",
        tracking=True,
        help="Assigned from the address: a region claiming the state beats one "
        "claiming the country, the deepest region wins; contacts follow their company. "
        "Set by hand, it stays until it is cleared.",
    )
    sales_region_manual = fields.Boolean(
        string="Region Set by Hand",
        copy=False,
        help="The sales region was chosen by a user and is no longer assigned from "
        "the address.",
    )

    # Contacts follow their commercial entity: they depend on its address, not on its
    # region, so that the field is not recursive (Odoo computes recursive fields one
    # record at a time). A region set by hand on the entity reaches its contacts
    # through write().
    @api.depends(
        "sales_region_manual",
        "commercial_partner_id",
        "commercial_partner_id.state_id",
        "commercial_partner_id.country_id",
        "commercial_partner_id.company_id",
        "commercial_partner_id.sales_region_manual",
    )
    def _compute_sales_region_id(self):
        automatic = self.filtered(lambda p: not p.sales_region_manual)
        entities = automatic.commercial_partner_id
        matches = self.env["crm.sales.region"]._match_addresses(
            {entity._sales_region_key() for entity in entities}
        )
        Region = self.env["crm.sales.region"]
        for partner in automatic:
            entity = partner.commercial_partner_id
            if entity != partner and entity.sales_region_manual:
                partner.sales_region_id = entity.sales_region_id
            else:
                partner.sales_region_id = Region.browse(
                    matches.get(entity._sales_region_key())
                )

    def _sales_region_key(self):
        return (
            self.company_id.id or None,
            self.state_id.id or None,
            self.country_id.id or None,
        )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("sales_region_id"):
                vals["sales_region_manual"] = True
        return super().create(vals_list)

    def write(self, vals):
        if "sales_region_id" in vals:
            vals = dict(vals)
            if vals["sales_region_id"]:
                vals["sales_region_manual"] = True
            else:
                # Clearing the region hands it back to the address.
                vals.pop("sales_region_id")
                vals["sales_region_manual"] = False
        res = super().write(vals)
        if "sales_region_id" in vals:
            # The contacts of an entity whose region was set by hand follow it.
            contacts = self.search(
                [
                    ("commercial_partner_id", "in", self.ids),
                    ("id", "not in", self.ids),
                    ("sales_region_manual", "=", False),
                ]
            )
            self.env.add_to_compute(self._fields["sales_region_id"], contacts)
        return res

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _sales_region_reassign(self, state_ids, country_ids):
        """Re-assign the region of every partner in an area, set-based.

        Called when regions change which states and countries they claim. A constant
        number of queries whatever the number of partners: one read of the partners of
        the area, one update of those whose region changes, one for the contacts that
        follow them, one per document model that carries the region.
        """
        if not state_ids and not country_ids:
            return self.browse()
        self.flush_model(REGION_SOURCE_FIELDS)
        self.env["crm.sales.region"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT id, company_id, state_id, country_id, sales_region_id
                  FROM res_partner
                 WHERE id = commercial_partner_id
                   AND sales_region_manual IS NOT TRUE
                   AND (state_id = ANY(%s) OR country_id = ANY(%s))
                """,
                sorted(state_ids),
                sorted(country_ids),
            )
        )
        rows = self.env.cr.fetchall()
        matches = self.env["crm.sales.region"]._match_addresses(
            {
                (company, state, country)
                for _id, company, state, country, _region in rows
            }
        )
        changed_ids, region_ids = [], []
        for partner_id, company, state, country, current in rows:
            region_id = matches.get((company, state, country))
            if (region_id or None) != current:
                changed_ids.append(partner_id)
                region_ids.append(region_id or None)
        if not changed_ids:
            return self.browse()
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner p
                   SET sales_region_id = c.region_id
                  FROM unnest(%s::int[], %s::int[]) AS c(id, region_id)
                 WHERE p.id = c.id
                """,
                changed_ids,
                region_ids,
            )
        )
        # Contacts follow their commercial entity unless their region was set by hand.
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner c
                   SET sales_region_id = p.sales_region_id
                  FROM res_partner p
                 WHERE c.commercial_partner_id = p.id
                   AND c.id != p.id
                   AND p.id = ANY(%s)
                   AND c.sales_region_manual IS NOT TRUE
                   AND c.sales_region_id IS DISTINCT FROM p.sales_region_id
             RETURNING c.id
                """,
                changed_ids,
            )
        )
        changed_ids += [row[0] for row in self.env.cr.fetchall()]
        self.invalidate_model(["sales_region_id"])
        for model_name in self.env.registry.descendants(
            ["crm.sales.region.mixin"], "_inherit"
        ):
            model = self.env[model_name]
            if not model._abstract:
                model._sales_region_sync_partners(changed_ids)
        for model, partner_field, field in self._sales_region_related_fields():
            model.flush_model([partner_field, field.name])
            self.env.cr.execute(
                SQL(
                    """
                    UPDATE %(table)s AS t
                       SET %(field)s = p.sales_region_id
                      FROM res_partner p
                     WHERE t.%(partner_field)s = p.id
                       AND p.id = ANY(%(partner_ids)s)
                       AND t.%(field)s IS DISTINCT FROM p.sales_region_id
                    """,
                    table=SQL.identifier(model._table),
                    field=SQL.identifier(field.name),
                    partner_field=SQL.identifier(partner_field),
                    partner_ids=changed_ids,
                )
            )
            model.invalidate_model([field.name])
        return self.browse(changed_ids)

    def _sales_region_related_fields(self):
        """(model, partner field, field) of the stored fields related to a partner's
        sales region, e.g. ``calendar.event.sales_region_id``: the bulk path keeps
        them in step, as the ORM does when a partner's region changes."""
        for model in self.env.registry.values():
            if model._abstract or not model._auto:
                continue
            for field in model._fields.values():
                path = field.related.split(".") if field.related else []
                if not (field.store and path[1:] == ["sales_region_id"]):
                    continue
                partner_field = model._fields.get(path[0])
                if partner_field and partner_field.comodel_name == "res.partner":
                    yield self.env[model._name], path[0], field
