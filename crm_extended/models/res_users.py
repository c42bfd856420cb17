from odoo import api, fields, models

from ..roles import has_role
from .crm_bonus_statement import OPEN_STATES


class ResUsers(models.Model):
    _inherit = "res.users"

    sales_region_managed_ids = fields.Many2many(
        "crm.sales.region",
        "crm_sales_region_manager_rel",
        "user_id",
        "region_id",
        string="Managed Sales Regions",
        help="Sales regions this user manages as regional manager, sub-regions "
        "included.",
    )
    # Telesales
    call_capacity = fields.Integer(
        string="Calls per Day",
        default=60,
        help="How many calls this telesales agent makes in a day; call lists "
        "distributed by capacity give each agent a share in proportion.",
    )
    call_region_ids = fields.Many2many(
        "crm.sales.region",
        "crm_call_region_user_rel",
        "user_id",
        "region_id",
        string="Served Regions",
        help="Sales regions whose customers this telesales agent calls when a call "
        "list is distributed by region (sub-regions included).",
    )

    call_auto_dial = fields.Boolean(
        string="Auto-dial",
        help="Once the outcome of a call is logged, the next call of the queue "
        "opens and is dialed.",
    )

    # Bonus: an estimate of the current period's payout
    bonus_estimate = fields.Monetary(
        string="My Bonus Estimate",
        compute="_compute_bonus_estimate",
        currency_field="bonus_estimate_currency_id",
        help="Estimate only: the payout of the current period's open bonus statement "
        "as last computed; it changes until the statement is approved.",
    )
    bonus_estimate_currency_id = fields.Many2one(
        "res.currency", compute="_compute_bonus_estimate"
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + [
            "call_auto_dial",
            "bonus_estimate",
            "bonus_estimate_currency_id",
        ]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + ["call_auto_dial"]

    @api.depends_context("uid", "tz", "allowed_company_ids")
    def _compute_bonus_estimate(self):
        statements = self._get_current_bonus_statements()
        for user in self:
            statement = statements.get(user.id)
            user.bonus_estimate = statement.amount_payout if statement else 0.0
            # without a statement, the current company's currency: the user's
            # own company may be one the current user does not work in now
            user.bonus_estimate_currency_id = (
                statement.currency_id if statement else self.env.company.currency_id
            )

    def write(self, vals):
        res = super().write(vals)
        if "sales_region_managed_ids" in vals:
            self.env.registry.clear_cache()  # record rules read the managed regions
        return res

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    def _get_current_bonus_statements(self):
        """{user id: open statement covering today} of these users, in one search
        whatever their number, as superuser records: only for the users whose bonus
        the current user may see (their own, or any for bonus managers), and only
        in the companies the current user works in now (``env.companies``)."""
        users = self
        if not has_role(self.env, "crm_extended.group_bonus_manager"):
            users &= self.env.user
        if not users:
            return {}
        today = fields.Date.context_today(self)
        statements_su = (
            self.env["crm.bonus.statement"]
            .sudo()
            .search(
                [
                    ("user_id", "in", users.ids),
                    ("company_id", "in", self.env.companies.ids),
                    ("state", "in", OPEN_STATES),
                    ("date_from", "<=", today),
                    ("date_to", ">=", today),
                ]
            )
        )
        result = {}
        for statement_su in statements_su:
            result.setdefault(statement_su.user_id.id, statement_su)
        return result
