from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..roles import has_role

# Partner fields the region of a partner is computed from.
REGION_SOURCE_FIELDS = [
    "state_id",
    "country_id",
    "company_id",
    "commercial_partner_id",
    "sales_region_id",
    "sales_region_manual",
]

# Fields of a customer that its salesperson, sales managers and the regional managers
# of its region change, nobody else: where it is sold and whether it may be called.
CUSTOMER_GUARDED_FIELDS = ("sales_region_id", "sales_region_manual", "call_do_not_call")


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
    # Customer work (the contact cadence is in res_partner_contact.py)
    sfa_event_count = fields.Integer(
        string="Customer Work Count", compute="_compute_sfa_event_count"
    )
    # Customer history
    interaction_count = fields.Integer(
        string="History",
        compute="_compute_interaction_count",
        groups="sales_team.group_sale_salesman",
        help="Calls, visits, messages, quotations, orders, invoices, payments and "
        "tickets of the customer that you may read.",
    )
    # Telesales
    call_do_not_call = fields.Boolean(
        string="Do Not Call",
        copy=False,
        tracking=True,
        help="Never call this contact from a call list: it is left out of new lists "
        "and its open entries of running lists are skipped.",
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

    def _compute_sfa_event_count(self):
        counts = dict(
            self.env["calendar.event"]._read_group(
                [("sfa_partner_id", "in", self.commercial_partner_id.ids)],
                ["sfa_partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.sfa_event_count = counts.get(partner.commercial_partner_id, 0)

    def _compute_interaction_count(self):
        counts = dict(
            self.env["crm.customer.interaction"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids)],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.interaction_count = counts.get(partner.commercial_partner_id, 0)

    def action_view_interactions(self):
        """The history of the customer: its own and its contacts' documents."""
        return self.env["crm.customer.interaction"]._action_for_partners(self)

    def action_open_sfa_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.calendar_event_action_team"
        )
        action["domain"] = [("sfa_partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {
            "default_sfa_partner_id": self.commercial_partner_id.id,
            "default_sfa_kind": "visit",
        }
        action["views"] = [
            (self.env.ref("crm_extended.calendar_event_view_list_sfa").id, "list"),
            (
                self.env.ref("crm_extended.calendar_event_view_calendar_sfa").id,
                "calendar",
            ),
            (False, "form"),
        ]
        return action

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._check_customer_guarded_fields(vals_list, creating=True)
        for vals in vals_list:
            if vals.get("sales_region_id"):
                vals["sales_region_manual"] = True
            elif "sales_region_id" in vals:
                # No region (a new record's form sends the empty field): the address
                # assigns it, as when a region is cleared.
                del vals["sales_region_id"]
        partners = super().create(vals_list)
        # An interval given at creation is a choice: see _contact_interval_mark_manual.
        given = [
            partner
            for partner, vals in zip(partners, vals_list, strict=True)
            if "contact_interval_days" in vals
            and not vals.get("contact_interval_manual")
        ]
        if given:
            self.browse(p.id for p in given)._contact_interval_mark_manual()
        return partners

    def write(self, vals):
        self._check_customer_guarded_fields([vals])
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
        if "contact_interval_days" in vals and "contact_interval_manual" not in vals:
            self._contact_interval_mark_manual()
        if vals.get("call_do_not_call"):
            self._call_skip_open_entries()
        return res

    def _check_customer_guarded_fields(self, vals_list, creating=False):
        """The region and the do-not-call flag of a customer are changed by its
        salesperson, by sales managers, and by the regional managers of its region
        (into a region they manage, for a region). The customer is the commercial
        entity: its salesperson and its region decide for its contacts too.

        Writing the current value, and the region the address gives (the form sends
        it back when the address changes), is no change and passes. Sales managers
        pass before any work per record, whatever their number; otherwise a constant
        number of queries.
        """
        if self.env.su or not any(
            fname in vals for vals in vals_list for fname in CUSTOMER_GUARDED_FIELDS
        ):
            return
        user = self.env.user
        if has_role(self.env, "sales_team.group_sale_manager"):
            return
        scope = self.env["crm.sales.region"]
        if has_role(self.env, "crm_extended.group_regional_manager"):
            scope = scope.search(
                [("id", "child_of", user.sales_region_managed_ids.ids)]
            )
        if creating:
            for vals in vals_list:
                self._check_customer_guarded_create(vals, scope)
            return
        [vals] = vals_list
        # Others' customers: of another salesperson, or of nobody.
        partners = self.filtered(lambda p: p.commercial_partner_id.user_id != user)
        for fname in CUSTOMER_GUARDED_FIELDS:
            if fname not in vals or not partners:
                continue
            value = vals[fname]
            field = self._fields[fname]
            changed = partners.filtered(
                lambda p, f=field, v=value: p[f.name]
                != f.convert_to_record(f.convert_to_cache(v, p, validate=False), p)
            )
            if not changed or (
                fname == "sales_region_id"
                and changed._sales_region_expected(vals) == {value or False}
            ):
                continue
            allowed = changed.filtered(
                lambda p: p.commercial_partner_id.sales_region_id
                and p.commercial_partner_id.sales_region_id <= scope
            )
            if (
                fname == "sales_region_id"
                and value
                and not scope.browse(value) <= scope
            ):
                allowed = self.browse()
            if changed - allowed:
                raise self._customer_guarded_error(fname, (changed - allowed)[:1])

    def _check_customer_guarded_create(self, vals, scope):
        """On a new partner: the creator's own new customer (or a contact of their
        customer) takes any value; otherwise only the default, the region its address
        gives, or, for a regional manager, a customer of their regions."""
        guarded = {f: vals[f] for f in CUSTOMER_GUARDED_FIELDS if vals.get(f)}
        if not guarded:
            return
        parent = self.browse(vals.get("parent_id"))
        entity = (
            parent.commercial_partner_id
            if parent and not vals.get("is_company")
            else self.browse()
        )
        owner_id = entity.user_id.id if entity else vals.get("user_id")
        if owner_id == self.env.uid:
            return
        expected = self._sales_region_expected(vals)
        region = entity.sales_region_id
        if not entity:
            # A new customer's region: the one given, else its address's.
            region = self.env["crm.sales.region"].browse(
                vals.get("sales_region_id") or next(iter(expected), False)
            )
        for fname, value in guarded.items():
            if fname == "sales_region_id" and expected == {value}:
                continue
            new_region = region
            if fname == "sales_region_id":
                new_region = region.browse(value)
            if not (region and region <= scope and new_region <= scope):
                raise self._customer_guarded_error(fname, self.browse())

    def _customer_guarded_error(self, fname, partner):
        return AccessError(
            _(
                "You cannot change %(field)s of %(customer)s: only its salesperson, "
                "the sales managers and the regional managers of its sales region "
                "(within the regions they manage) may.",
                field=self._fields[fname]._description_string(self.env),
                customer=partner.display_name or _("a customer of someone else"),
            )
        )

    def _sales_region_expected(self, vals):
        """The region ids the address gives to these partners once ``vals`` are
        written (to a new partner when ``self`` is empty), as
        ``_compute_sales_region_id`` assigns it; empty when one has its region set
        by hand. One address match for all."""
        if vals.get("sales_region_manual") or any(self.mapped("sales_region_manual")):
            return set()
        Region = self.env["crm.sales.region"]
        keys, expected = [], set()
        for partner in self or [self]:
            is_company = vals.get("is_company", partner.is_company)
            parent = (
                self.browse(vals["parent_id"])
                if "parent_id" in vals
                else partner.parent_id
            )
            entity = parent.commercial_partner_id if parent and not is_company else None
            if entity and entity.sales_region_manual:
                expected.add(entity.sales_region_id.id or False)
            elif entity:
                keys.append(entity._sales_region_key())
            else:
                keys.append(
                    (
                        vals.get("company_id", partner.company_id.id) or None,
                        vals.get("state_id", partner.state_id.id) or None,
                        vals.get("country_id", partner.country_id.id) or None,
                    )
                )
        matches = Region._match_addresses(set(keys))
        expected.update(matches.get(key, False) for key in keys)
        return expected

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _call_skip_open_entries(self):
        """Do-not-call partners (and the contacts of a do-not-call company) are never
        dialed: their open entries of every call list are skipped, in one write."""
        entries_su = (
            self.env["crm.call.list.entry"]
            .sudo()
            .search(
                [
                    ("partner_id", "child_of", self.ids),
                    ("state", "in", ("pending", "callback")),
                ]
            )
        )
        entries_su.write({"state": "skipped"})

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
