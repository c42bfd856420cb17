from odoo import api, fields, models
from odoo.tools.sql import column_exists, create_column

from .crm_stage import FORECAST_CATEGORIES

# KPIs a won opportunity adds its expected revenue to: the order it becomes is
# confirmed, then invoiced
BONUS_ESTIMATE_KPIS = ("confirmed_sales", "invoiced_revenue")


class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = ["crm.lead", "crm.sales.region.mixin"]

    forecast_category = fields.Selection(
        FORECAST_CATEGORIES,
        compute="_compute_forecast_category",
        store=True,
        readonly=False,
        tracking=True,
        help="Where the opportunity counts in the sales forecast: pipeline, best case "
        "(likely), commit (the salesperson commits to it) or omitted. Set by its "
        "stage; the salesperson can change it. Won and lost opportunities count as "
        "won or lost, whatever their category.",
    )
    # The stage that last set the category: only moving to another stage resets a
    # category the salesperson chose, not a recomputation landing on the same stage
    # (as a change of salesperson or team does).
    forecast_category_stage_id = fields.Many2one(
        "crm.stage",
        compute="_compute_forecast_category",
        store=True,
        readonly=True,
    )

    # Bonus: what winning the opportunity adds to its salesperson's payout
    bonus_estimate = fields.Monetary(
        string="Bonus Effect if Won",
        compute="_compute_bonus_estimate",
        currency_field="bonus_estimate_currency_id",
        help="Estimate only: what the salesperson's bonus of the current period would "
        "gain if this opportunity's expected revenue were confirmed (and invoiced) in "
        "the period, from the open bonus statement as last computed.",
    )
    bonus_estimate_currency_id = fields.Many2one(
        "res.currency", compute="_compute_bonus_estimate"
    )

    def _auto_init(self):
        # A million existing opportunities start in the pipeline category in one
        # UPDATE, not through the ORM's recomputation of a new stored field.
        if not column_exists(self.env.cr, "crm_lead", "forecast_category"):
            create_column(self.env.cr, "crm_lead", "forecast_category", "varchar")
            create_column(self.env.cr, "crm_lead", "forecast_category_stage_id", "int4")
            self.env.cr.execute(
                """UPDATE crm_lead
                      SET forecast_category = 'pipeline',
                          forecast_category_stage_id = stage_id"""
            )
        return super()._auto_init()

    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        # A category given at creation protects its computation, the stage that goes
        # with it included: record that stage, or the next recomputation would take
        # the category for the stage's.
        given = leads.filtered(
            lambda lead: lead.stage_id
            and lead.stage_id != lead.forecast_category_stage_id
        )
        for stage, stage_leads in given.grouped("stage_id").items():
            stage_leads.forecast_category_stage_id = stage
        leads._sync_stage_history()
        return leads

    # ------------------------------------------------------------------
    # STAGE HISTORY (crm.lead.stage.history)
    # ------------------------------------------------------------------

    # What a write may change of a lead's stage or outcome: the stage itself, the
    # team (a new team may move the lead to its first stage) and the archiving of
    # a lost or restored lead.
    _STAGE_HISTORY_FIELDS = ("stage_id", "team_id", "active")

    def write(self, vals):
        result = super().write(vals)
        if any(fname in vals for fname in self._STAGE_HISTORY_FIELDS):
            self._sync_stage_history()
        return result

    def _sync_stage_history(self):
        """One statement for all the leads, however many moved."""
        if not self:
            return
        self.env["crm.stage"].flush_model(["is_won"])
        self.flush_recordset(
            [
                "stage_id",
                "active",
                "user_id",
                "team_id",
                "sales_region_id",
                "company_id",
            ]
        )
        self.env["crm.lead.stage.history"]._sync(self.ids)

    # ------------------------------------------------------------------

    @api.depends("stage_id")
    def _compute_forecast_category(self):
        for lead in self:
            if (
                lead.forecast_category
                and lead.stage_id == lead.forecast_category_stage_id
            ):
                continue
            lead.forecast_category_stage_id = lead.stage_id
            lead.forecast_category = lead.stage_id.forecast_category or "pipeline"

    @api.depends_context("uid", "tz", "allowed_company_ids")
    @api.depends("user_id", "expected_revenue", "type", "active", "stage_id.is_won")
    def _compute_bonus_estimate(self):
        """Payout of the salesperson's current open statement with the expected
        revenue added to the achieved sales and invoiced revenue, minus its payout:
        one search for the statements of all the leads' salespeople, the statements'
        KPIs read at once."""
        open_leads = self.filtered(
            lambda lead: lead.type == "opportunity"
            and lead.active
            and not lead.stage_id.is_won
            and lead.expected_revenue
        )
        statements = open_leads.user_id._get_current_bonus_statements()
        today = fields.Date.context_today(self)
        rates = {}
        for lead in self:
            statement = lead in open_leads and statements.get(lead.user_id.id)
            lead.bonus_estimate_currency_id = (
                statement.currency_id if statement else lead.company_currency
            )
            lead.bonus_estimate = (
                lead._bonus_estimate_for(statement, today, rates) if statement else 0.0
            )

    def _bonus_estimate_for(self, statement, today, rates):
        self.ensure_one()
        company = statement.company_id
        from_currency = self.company_currency or company.currency_id
        key = (from_currency, statement.currency_id, company)
        if key not in rates:
            rates[key] = from_currency._convert(
                1.0, statement.currency_id, company, today, round=False
            )
        added = self.expected_revenue * rates[key]
        attainment = statement.attainment + sum(
            added / kpi.target * kpi.weight
            for kpi in statement.kpi_ids
            if kpi.kpi_type in BONUS_ESTIMATE_KPIS and kpi.target
        )
        if not attainment > statement.attainment:
            return 0.0
        factor = statement.plan_id._payout_factor(attainment)
        payout = statement.currency_id.round(statement.amount_on_target * factor / 100)
        return payout - statement.amount_payout
