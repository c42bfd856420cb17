from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.osv import expression
from odoo.tools import escape_psql

# Fields of a region that decide which partners it covers: a change to any of them
# re-assigns the partners of the old and the new area.
AREA_FIELDS = ("country_ids", "state_ids", "parent_id", "active", "company_id")


class CrmSalesRegion(models.Model):
    _name = "crm.sales.region"
    _description = "Sales Region"
    _inherit = ["mail.thread"]
    _parent_name = "parent_id"
    _parent_store = True
    _rec_name = "complete_name"
    _order = "complete_name, id"
    _check_company_auto = True

    # Identity
    name = fields.Char(required=True, translate=True, tracking=True)
    complete_name = fields.Char(
        compute="_compute_complete_name", recursive=True, store=True, index="trigram"
    )
    code = fields.Char(
        required=True,
        tracking=True,
        help="Short code of the region, unique within its company.",
    )
    active = fields.Boolean(default=True, tracking=True)
    sequence = fields.Integer(default=10)
    color = fields.Integer()
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    description = fields.Html()

    # Hierarchy
    parent_id = fields.Many2one(
        "crm.sales.region",
        string="Parent Region",
        index=True,
        ondelete="restrict",
        check_company=True,
        tracking=True,
    )
    parent_path = fields.Char(index=True)
    child_ids = fields.One2many("crm.sales.region", "parent_id", string="Sub-regions")
    level = fields.Integer(
        compute="_compute_level",
        help="Depth in the region tree: 1 for a top-level region.",
    )

    # People and area
    manager_ids = fields.Many2many(
        "res.users",
        "crm_sales_region_manager_rel",
        "region_id",
        "user_id",
        string="Regional Managers",
        domain=[("share", "=", False)],
        help="Regional managers see the leads, orders, invoices and tickets of this "
        "region and of its sub-regions.",
    )
    country_ids = fields.Many2many(
        "res.country",
        "crm_sales_region_res_country_rel",
        "region_id",
        "country_id",
        string="Countries",
        help="Customers in these countries belong to this region, unless a region "
        "claims their state or a deeper region claims their country.",
    )
    state_ids = fields.Many2many(
        "res.country.state",
        "crm_sales_region_res_country_state_rel",
        "region_id",
        "state_id",
        string="States",
        help="Customers in these states belong to this region.",
    )
    team_ids = fields.One2many("crm.team", "sales_region_id", string="Offices")

    # Counters
    team_count = fields.Integer(compute="_compute_counts", string="Office Count")
    partner_count = fields.Integer(compute="_compute_counts", string="Customer Count")
    lead_count = fields.Integer(compute="_compute_counts", string="Opportunity Count")
    # Accounting
    analytic_account_id = fields.Many2one(
        "account.analytic.account",
        check_company=True,
        help="Bonus accruals of the salespeople of this region's offices (and of its "
        "sub-regions without their own) book their expense on this analytic account.",
    )

    _sql_constraints = [
        (
            "code_company_uniq",
            "unique(company_id, code)",
            "The code of a sales region must be unique per company.",
        ),
    ]

    @api.depends("name", "parent_id.complete_name")
    def _compute_complete_name(self):
        for region in self:
            if region.parent_id:
                region.complete_name = (
                    f"{region.parent_id.complete_name} / {region.name}"
                )
            else:
                region.complete_name = region.name

    @api.depends("parent_path")
    def _compute_level(self):
        for region in self:
            region.level = (region.parent_path or "").count("/") or 1

    def _compute_counts(self):
        # One grouped query per counter over the whole sub-tree of every region.
        subtree = self.search([("id", "child_of", self.ids)])
        counts = {}
        for model, field in (
            ("crm.team", "team_count"),
            ("res.partner", "partner_count"),
            ("crm.lead", "lead_count"),
        ):
            domain = [("sales_region_id", "in", subtree.ids)]
            if model == "res.partner":
                domain = expression.AND([domain, [("is_company", "=", True)]])
            counts[field] = dict(
                self.env[model]._read_group(domain, ["sales_region_id"], ["__count"])
            )
        for region in self:
            branch = subtree.filtered_domain([("id", "child_of", region.id)])
            for field, by_region in counts.items():
                region[field] = sum(by_region.get(r, 0) for r in branch)

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("parent_id")
    def _check_parent_id(self):
        if self._has_cycle():
            raise self._cycle_error()

    def _cycle_error(self):
        return ValidationError(
            _("A sales region cannot be its own parent or ancestor.")
        )

    @api.constrains("code", "company_id")
    def _check_code(self):
        for region in self:
            other = self.with_context(active_test=False).search(
                [
                    ("id", "!=", region.id),
                    ("company_id", "=", region.company_id.id),
                    ("code", "=ilike", escape_psql(region.code)),
                ],
                limit=1,
            )
            if other:
                raise ValidationError(
                    _(
                        "The code %(code)s is already used by the sales region "
                        "%(other)s.",
                        code=region.code,
                        other=other.display_name,
                    )
                )

    @api.constrains("state_ids", "country_ids", "parent_id", "company_id", "active")
    def _check_area(self):
        regions = self.search([("id", "child_of", self.ids)]).filtered("active")
        for region in regions:
            other = self.search(
                [
                    ("id", "!=", region.id),
                    ("company_id", "=", region.company_id.id),
                    ("state_ids", "in", region.state_ids.ids),
                ],
                limit=1,
            )
            if other:
                state = region.state_ids & other.state_ids
                raise ValidationError(
                    _(
                        "The state %(state)s is already claimed by the sales region "
                        "%(other)s.",
                        state=state[:1].display_name,
                        other=other.display_name,
                    )
                )
            same_country = self.search(
                [
                    ("id", "!=", region.id),
                    ("company_id", "=", region.company_id.id),
                    ("country_ids", "in", region.country_ids.ids),
                ]
            )
            other = same_country.filtered(
                lambda r, level=region.level: r.level == level
            )[:1]
            if other:
                country = region.country_ids & other.country_ids
                raise ValidationError(
                    _(
                        "The country %(country)s is already claimed by the sales "
                        "region %(other)s at the same level of the region tree.",
                        country=country[:1].display_name,
                        other=other.display_name,
                    )
                )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        regions = super().create(vals_list)
        regions._reassign_area(*regions._get_area())
        if any(vals.get("manager_ids") for vals in vals_list):
            self.env.registry.clear_cache()  # record rules read the managed regions
        return regions

    def write(self, vals):
        if vals.get("parent_id"):
            # Checked before the parent store is updated, which would refuse a cycle
            # with a less helpful message.
            parent = self.browse(vals["parent_id"])
            if parent & self.search([("id", "child_of", self.ids)]):
                raise self._cycle_error()
        area_changes = any(fname in vals for fname in AREA_FIELDS)
        if area_changes:
            old_states, old_countries = self._get_area()
        res = super().write(vals)
        if area_changes:
            new_states, new_countries = self._get_area()
            self._reassign_area(old_states | new_states, old_countries | new_countries)
        if "manager_ids" in vals or "parent_id" in vals or "active" in vals:
            self.env.registry.clear_cache()
        return res

    def unlink(self):
        states, countries = self._get_area()
        res = super().unlink()
        self._reassign_area(states, countries)
        self.env.registry.clear_cache()
        return res

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def _action_open_related(self, model, name, domain):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "view_mode": "list,form",
            "domain": domain,
            "context": {"default_sales_region_id": self.id},
        }

    def action_open_teams(self):
        return self._action_open_related(
            "crm.team", _("Offices"), [("sales_region_id", "child_of", self.id)]
        )

    def action_open_partners(self):
        return self._action_open_related(
            "res.partner",
            _("Customers"),
            [("sales_region_id", "child_of", self.id), ("is_company", "=", True)],
        )

    def action_open_leads(self):
        action = self._action_open_related(
            "crm.lead", _("Opportunities"), [("sales_region_id", "child_of", self.id)]
        )
        action["view_mode"] = "list,kanban,form"
        return action

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _get_area(self):
        """States and countries claimed by these regions and their sub-regions."""
        regions = self.with_context(active_test=False).search(
            [("id", "child_of", self.ids)]
        )
        return set(regions.state_ids.ids), set(regions.country_ids.ids)

    @api.model
    def _reassign_area(self, state_ids, country_ids):
        self.env["res.partner"]._sales_region_reassign(state_ids, country_ids)

    @api.model
    def _match_addresses(self, keys):
        """Best region for each address key ``(company_id, state_id, country_id)``.

        A region claiming the state beats one claiming the country; among those, the
        deepest region wins. An address of no company (a shared partner) is matched
        against the regions of every company, the lowest company id first. Only active
        regions count. Returns ``{key: region_id}`` for the keys that have a region.
        """
        states = {state for _company, state, _country in keys if state}
        countries = {country for _company, _state, country in keys if country}
        if not states and not countries:
            return {}
        domain = [
            "|",
            ("state_ids", "in", list(states)),
            ("country_ids", "in", list(countries)),
        ]
        companies = {company for company, _state, _country in keys}
        if None not in companies:
            domain = expression.AND([domain, [("company_id", "in", list(companies))]])
        regions_su = self.sudo().search_fetch(
            domain, ["state_ids", "country_ids", "parent_path", "company_id"]
        )
        by_state = defaultdict(list)
        by_country = defaultdict(list)
        for region in regions_su:
            rank = (region.level, -region.company_id.id, -region.id)
            for state_id in region.state_ids.ids:
                by_state[state_id].append((rank, region.company_id.id, region.id))
            for country_id in region.country_ids.ids:
                by_country[country_id].append((rank, region.company_id.id, region.id))

        def best(candidates, company):
            eligible = [c for c in candidates if company is None or c[1] == company]
            return max(eligible)[2] if eligible else False

        result = {}
        for key in keys:
            company, state, country = key
            region_id = best(by_state.get(state, ()), company) or best(
                by_country.get(country, ()), company
            )
            if region_id:
                result[key] = region_id
        return result
