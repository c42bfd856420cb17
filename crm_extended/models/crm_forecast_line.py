from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare, formatLang

from ..roles import check_role

# What a manager may still change on the lines of a frozen forecast
ADJUSTMENT_FIELDS = {"amount_adjusted", "adjustment_note", "is_adjusted"}
# Bounds of a manager's adjusted forecast, in the company's currency: a forecast
# of revenue is not negative, and beyond a trillion a figure's cents no longer
# survive the sums of the rollup (floating point)
ADJUSTMENT_MIN = 0.0
ADJUSTMENT_MAX = 1e12
# An adjustment below the submitted figure divided by this, or above it multiplied
# by this, is accepted with a warning: a typing error is more likely than a forecast
# halved or doubled
ADJUSTMENT_WARNING_FACTOR = 2.0


class CrmForecastLine(models.Model):
    _name = "crm.forecast.line"
    _description = "Sales Forecast Line"
    _inherit = ["mail.thread"]
    # Levels sort company, region, team, user: top down
    _order = (
        "date_from desc, forecast_id desc, level, sales_region_id, team_id, user_id, id"
    )
    _check_company_auto = True
    _rec_name = "name"

    forecast_id = fields.Many2one(
        "crm.forecast",
        string="Sales Forecast",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one("res.company", required=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    # Copies of the forecast's period, for grouping and record rules
    period_type = fields.Selection(
        [("month", "Month"), ("quarter", "Quarter")], readonly=True
    )
    date_from = fields.Date(string="Period Start", readonly=True, index=True)
    date_to = fields.Date(string="Period End", readonly=True)
    state = fields.Selection(
        [("draft", "Draft"), ("frozen", "Frozen"), ("closed", "Closed")],
        string="Status",
        readonly=True,
    )
    # Where the line sits in the rollup
    level = fields.Selection(
        [
            ("user", "Salesperson"),
            ("team", "Sales Team"),
            ("region", "Sales Region"),
            ("company", "Company"),
        ],
        required=True,
        readonly=True,
        index=True,
    )
    parent_id = fields.Many2one(
        "crm.forecast.line", string="Rolls Up Into", readonly=True, index=True
    )
    child_ids = fields.One2many("crm.forecast.line", "parent_id", readonly=True)
    is_top_level = fields.Boolean(
        string="Top Level",
        compute="_compute_is_top_level",
        search="_search_is_top_level",
        help="The line heads the part of the rollup you may read: the company for "
        "sales managers, the highest of their regions for regional managers, their "
        "own line for salespeople. These lines add up without counting anything "
        "twice.",
    )
    name = fields.Char(compute="_compute_name")
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    sales_region_id = fields.Many2one("crm.sales.region", readonly=True, index=True)
    opportunity_count = fields.Integer(string="Opportunities", readonly=True)
    # Figures of the period's open opportunities
    amount_pipeline = fields.Monetary(
        string="Pipeline",
        readonly=True,
        help="Expected revenue of the open opportunities closing in the period, "
        "except those omitted.",
    )
    amount_best_case = fields.Monetary(
        string="Best Case", readonly=True, help="Best case and commit opportunities."
    )
    amount_commit = fields.Monetary(string="Commit", readonly=True)
    amount_weighted = fields.Monetary(
        string="Weighted", readonly=True, help="Expected revenue × probability."
    )
    amount_historical = fields.Monetary(
        string="Historical",
        readonly=True,
        help="Expected revenue × the historical win rate of the opportunity's stage in "
        "its sales team (the company's when the team has too few closed "
        "opportunities).",
    )
    amount_submitted = fields.Monetary(
        string="Submitted",
        readonly=True,
        help="The commit of a salesperson; for a team, region or company, the sum of "
        "the forecasts just below it.",
    )
    is_adjusted = fields.Boolean(string="Adjusted", tracking=True)
    amount_adjusted = fields.Monetary(
        string="Adjustment",
        tracking=True,
        help="A manager's forecast replacing the submitted figure of this line.",
    )
    adjustment_note = fields.Text(tracking=True)
    amount_forecast = fields.Monetary(
        string="Forecast",
        readonly=True,
        help="The adjustment when there is one, else the submitted figure.",
    )
    # Outcome
    amount_won_to_date = fields.Monetary(string="Won to Date", readonly=True)
    amount_won_frozen = fields.Monetary(
        string="Won When Frozen",
        readonly=True,
        help="Already won in the period when the forecast was frozen: every method's "
        "forecast is this plus its open amount.",
    )
    amount_actual = fields.Monetary(
        string="Actual", readonly=True, help="Won in the period, once it is closed."
    )
    error_pipeline = fields.Monetary(readonly=True)
    error_best_case = fields.Monetary(readonly=True)
    error_commit = fields.Monetary(readonly=True)
    error_weighted = fields.Monetary(readonly=True)
    error_historical = fields.Monetary(readonly=True)
    error_forecast = fields.Monetary(readonly=True)

    _sql_constraints = [
        (
            "adjustment_note_required",
            "CHECK(NOT is_adjusted OR adjustment_note IS NOT NULL)",
            "An adjusted forecast needs a note.",
        ),
    ]

    @api.depends("level", "user_id", "team_id", "sales_region_id", "company_id")
    def _compute_name(self):
        for line in self:
            line.name = {
                "user": line.user_id.name,
                "team": line.team_id.name,
                "region": line.sales_region_id.display_name,
                "company": line.company_id.name,
            }.get(line.level) or _("Unassigned")

    @api.depends("parent_id")
    @api.depends_context("uid")
    def _compute_is_top_level(self):
        readable = self.parent_id._filtered_access("read")
        for line in self:
            line.is_top_level = line.parent_id not in readable

    def _search_is_top_level(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Top Level is searched as set or not set."))
        # The parent is searched under the user's record rules: a parent the user
        # may not read leaves the line at the top of what the user reads
        top = (operator == "=") == value
        return [("parent_id", "not any" if top else "any", [])]

    @api.constrains("is_adjusted", "adjustment_note")
    def _check_adjustment_note(self):
        for line in self:
            if line.is_adjusted and not (line.adjustment_note or "").strip():
                raise ValidationError(
                    _(
                        "Say why the forecast of %(line)s is adjusted: the note is "
                        "mandatory.",
                        line=line.name,
                    )
                )

    @api.constrains("is_adjusted", "amount_adjusted")
    def _check_amount_adjusted(self):
        # Every line, adjusted or not: an amount stored with the adjustment off is
        # applied as soon as the adjustment is switched on
        for line in self:
            amount = line.amount_adjusted
            if (
                float_compare(amount, ADJUSTMENT_MIN, precision_digits=2) < 0
                or float_compare(amount, ADJUSTMENT_MAX, precision_digits=2) > 0
            ):
                raise ValidationError(
                    _(
                        "The adjusted forecast of %(line)s, %(amount)s, is out of "
                        "bounds: it is between %(min)s and %(max)s.",
                        line=line.name,
                        amount=formatLang(
                            self.env, amount, currency_obj=line.currency_id
                        ),
                        min=formatLang(
                            self.env, ADJUSTMENT_MIN, currency_obj=line.currency_id
                        ),
                        max=formatLang(
                            self.env, ADJUSTMENT_MAX, currency_obj=line.currency_id
                        ),
                    )
                )

    @api.onchange("amount_adjusted")
    def _onchange_amount_adjusted(self):
        """Warn, without refusing, when the adjustment is far from the submitted
        figure: below half of it or above double."""
        amount, submitted = self.amount_adjusted, self.amount_submitted
        if float_compare(amount, ADJUSTMENT_MIN, precision_digits=2) < 0:
            return None
        low = float_compare(
            amount * ADJUSTMENT_WARNING_FACTOR, submitted, precision_digits=2
        )
        high = float_compare(
            amount, submitted * ADJUSTMENT_WARNING_FACTOR, precision_digits=2
        )
        if low >= 0 and high <= 0:
            return None
        money = {
            "amount": formatLang(self.env, amount, currency_obj=self.currency_id),
            "submitted": formatLang(self.env, submitted, currency_obj=self.currency_id),
        }
        if low < 0:
            message = _(
                "%(amount)s is less than half the submitted %(submitted)s: check "
                "the figure before you save it.",
                **money,
            )
        else:
            message = _(
                "%(amount)s is more than double the submitted %(submitted)s: check "
                "the figure before you save it.",
                **money,
            )
        return {
            "warning": {
                "title": _("Adjustment far from the submitted figure"),
                "message": message,
            }
        }

    # ------------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise UserError(_("Forecast lines are computed by their forecast."))
        return super().create(vals_list)

    def write(self, vals):
        self._check_manager()
        changed = set(vals) - ADJUSTMENT_FIELDS
        # Chatter bookkeeping is not a change of the figures
        changed = {name for name in changed if not name.startswith("message_")}
        if changed:
            raise UserError(_("Forecast figures are computed; only adjust them."))
        if any(line.state == "closed" for line in self):
            raise UserError(_("A closed forecast cannot be adjusted."))
        if "amount_adjusted" in vals and "is_adjusted" not in vals:
            vals = dict(vals, is_adjusted=True)
        res = super().write(vals)
        if not self.env.context.get("crm_forecast_no_rollup"):
            for forecast in self.forecast_id:
                forecast._rollup_forecast()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_frozen(self):
        if any(line.state != "draft" for line in self):
            raise UserError(_("Frozen and closed forecasts cannot be deleted."))

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    def _check_manager(self):
        """The caller is a sales manager who may change these lines: checked
        before anything is written."""
        check_role(
            self.env,
            "sales_team.group_sale_manager",
            _("Only sales managers adjust forecasts."),
        )
        self.check_access("write")

    def action_clear_adjustment(self):
        self._check_manager()
        self.write({"is_adjusted": False, "amount_adjusted": 0.0})
        return True
