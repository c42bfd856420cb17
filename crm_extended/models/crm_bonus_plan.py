from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare, formatLang

from ..roles import check_role
from .crm_forecast import period_bounds

# Key performance indicators a bonus plan can weigh, public names (crm.bonus.*.kpi_type)
KPI_TYPES = [
    ("confirmed_sales", "Confirmed Sales"),
    ("invoiced_revenue", "Invoiced Revenue"),
    ("paid_revenue", "Paid Revenue"),
    ("margin", "Margin"),
    ("new_customers", "New Customers"),
    ("visits_done", "Visits Done"),
    ("calls_done", "Calls Done"),
]
# KPIs counted in money (the others count documents): product filters apply to them
MONEY_KPIS = ("confirmed_sales", "invoiced_revenue", "paid_revenue", "margin")
PERIOD_TYPES = [("month", "Month"), ("quarter", "Quarter"), ("year", "Year")]


def bonus_period_bounds(company, period_type, day):
    """First and last day of the bonus period of ``company`` holding ``day``: a
    calendar month, a quarter or a year of the company's fiscal year."""
    if period_type == "year":
        dates = company.compute_fiscalyear_dates(day)
        return (
            fields.Date.to_date(dates["date_from"]),
            fields.Date.to_date(dates["date_to"]),
        )
    return period_bounds(company, period_type, day)


class CrmBonusPlan(models.Model):
    _name = "crm.bonus.plan"
    _description = "Bonus Plan"
    _inherit = ["mail.thread", "crm.protected.fields.mixin"]
    _order = "company_id, date_start desc, id desc"
    _check_company_auto = True

    # Set by the approval and the replacement only, after their checks
    _protected_fields = dict.fromkeys(
        ("state", "date_approved", "approved_by_id", "replaced_by_id", "replaces_id"),
        "",
    )

    # Fields an approved plan keeps as they are
    _APPROVED_FROZEN = {
        "name",
        "company_id",
        "currency_id",
        "period_type",
        "kpi_ids",
        "level_ids",
        "threshold",
        "cap",
        "date_start",
        "date_end",
        "state",
    }

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    currency_id = fields.Many2one(
        "res.currency",
        default=lambda self: self.env.company.currency_id,
        help="Currency of the targets and of the payout. Sales and revenue are counted "
        "in the company's currency and converted at the rate of the period's last day.",
    )
    period_type = fields.Selection(
        PERIOD_TYPES, string="Period", required=True, default="month"
    )
    date_start = fields.Date(
        string="Valid From",
        required=True,
        default=lambda self: fields.Date.context_today(self).replace(day=1),
        tracking=True,
    )
    date_end = fields.Date(string="Valid Until", tracking=True, copy=False)
    state = fields.Selection(
        [("draft", "Draft"), ("approved", "Approved")],
        default="draft",
        required=True,
        tracking=True,
        copy=False,
    )
    kpi_ids = fields.One2many("crm.bonus.plan.kpi", "plan_id", string="KPIs", copy=True)
    level_ids = fields.One2many(
        "crm.bonus.plan.level", "plan_id", string="Payout Curve", copy=True
    )
    threshold = fields.Float(
        string="Threshold (%)",
        help="Below this weighted attainment nothing is paid.",
    )
    cap = fields.Float(
        string="Cap (%)",
        default=200.0,
        help="The payout factor never exceeds this percentage of the on-target bonus.",
    )
    weight_total = fields.Float(compute="_compute_weight_total", string="Total Weight")
    replaced_by_id = fields.Many2one(
        "crm.bonus.plan", readonly=True, copy=False, index=True
    )
    replaces_id = fields.Many2one("crm.bonus.plan", readonly=True, copy=False)
    date_approved = fields.Datetime(string="Approved On", readonly=True, copy=False)
    approved_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    # Accounting: empty fields take the company's bonus accounting defaults
    journal_id = fields.Many2one(
        "account.journal",
        string="Bonus Journal",
        domain="[('type', '=', 'general')]",
        check_company=True,
        help="Journal of the bonus accrual entries; empty: the company's default.",
    )
    expense_account_id = fields.Many2one(
        "account.account",
        string="Bonus Expense Account",
        domain="[('internal_group', '=', 'expense')]",
        check_company=True,
        help="Debited by the bonus accrual entries; empty: the company's default.",
    )
    payable_account_id = fields.Many2one(
        "account.account",
        string="Bonus Payable Account",
        domain="[('reconcile', '=', True), "
        "('account_type', 'not in', ('asset_receivable', 'asset_cash'))]",
        check_company=True,
        help="Credited by the bonus accrual entries and reconciled with the payment of "
        "the bonus; empty: the company's default.",
    )

    _sql_constraints = [
        (
            "threshold_range",
            "CHECK(threshold >= 0)",
            "The threshold of a bonus plan cannot be negative.",
        ),
        ("cap_positive", "CHECK(cap > 0)", "The cap of a bonus plan must be positive."),
    ]

    @api.depends("kpi_ids.weight")
    def _compute_weight_total(self):
        for plan in self:
            plan.weight_total = sum(plan.kpi_ids.mapped("weight"))

    @api.constrains("currency_id")
    def _check_currency_id(self):
        for plan in self:
            if not plan.currency_id:
                raise ValidationError(
                    _(
                        "The bonus plan %(name)s needs a currency: targets and "
                        "payouts are amounts in it.",
                        name=plan.name,
                    )
                )

    @api.constrains("kpi_ids")
    def _check_weights(self):
        for plan in self:
            if plan.kpi_ids and float_compare(plan.weight_total, 100.0, 2):
                raise ValidationError(
                    _(
                        "The KPI weights of the bonus plan %(name)s sum to "
                        "%(total)s %%, not 100 %%.",
                        name=plan.name,
                        total=round(plan.weight_total, 2),
                    )
                )

    @api.constrains("level_ids", "cap", "threshold")
    def _check_levels(self):
        for plan in self:
            levels = plan.level_ids.sorted(lambda lv: (lv.sequence, lv.id))
            previous = None
            for level in levels:
                if previous and (
                    level.attainment <= previous.attainment
                    or level.payout_factor < previous.payout_factor
                ):
                    raise ValidationError(
                        _(
                            "The payout levels of the bonus plan %(name)s are out of "
                            "order: after %(prev_att)s %% → %(prev_pay)s %% comes "
                            "%(att)s %% → %(pay)s %%. Attainments must increase and "
                            "payout factors must not decrease.",
                            name=plan.name,
                            prev_att=previous.attainment,
                            prev_pay=previous.payout_factor,
                            att=level.attainment,
                            pay=level.payout_factor,
                        )
                    )
                previous = level
            if not levels:
                continue
            at_target = plan._curve_factor(100.0)
            if float_compare(plan.cap, at_target, precision_digits=2) < 0:
                raise ValidationError(
                    _(
                        "The cap of the bonus plan %(name)s, %(cap)s %%, is below "
                        "its payout at 100 %% attainment, %(payout)s %%: a "
                        "salesperson on target would not get the on-target bonus. "
                        "Set the cap to %(payout)s %% or more.",
                        name=plan.name,
                        cap=formatLang(self.env, plan.cap),
                        payout=formatLang(self.env, at_target),
                    )
                )
            top = max(levels.mapped("attainment"))
            if float_compare(plan.threshold, top, precision_digits=2) > 0:
                raise ValidationError(
                    _(
                        "The threshold of the bonus plan %(name)s, %(threshold)s %%, "
                        "is above its highest payout level, %(top)s %%: nothing "
                        "would be paid at any of its levels. Set the threshold to "
                        "%(top)s %% or less.",
                        name=plan.name,
                        threshold=formatLang(self.env, plan.threshold),
                        top=formatLang(self.env, top),
                    )
                )

    @api.constrains("payable_account_id")
    def _check_payable_account_id(self):
        for plan in self:
            if plan.payable_account_id and not plan.payable_account_id.reconcile:
                raise ValidationError(
                    _(
                        "The bonus payable account %(account)s of the bonus plan "
                        "%(name)s must allow reconciliation: the bonus is paid when "
                        "its payable line is reconciled.",
                        account=plan.payable_account_id.display_name,
                        name=plan.name,
                    )
                )

    @api.constrains("date_start", "date_end")
    def _check_dates(self):
        for plan in self:
            if plan.date_end and plan.date_end < plan.date_start:
                raise ValidationError(
                    _(
                        "The bonus plan %(name)s ends before it starts.",
                        name=plan.name,
                    )
                )

    # ------------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------------

    def write(self, vals):
        if self._APPROVED_FROZEN & set(vals):
            self._check_draft()
        return super().write(vals)

    def _check_lines_editable(self):
        self._check_draft()

    def _check_draft(self):
        approved = self.filtered(lambda plan: plan.state != "draft")
        if approved:
            raise UserError(
                _(
                    "The bonus plan %(name)s is approved and cannot be changed: "
                    "replace it by a new plan from a date instead.",
                    name=approved[0].name,
                )
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_approved(self):
        approved = self.filtered(lambda plan: plan.state != "draft")
        if approved:
            raise UserError(
                _(
                    "The bonus plan %(name)s is approved and cannot be deleted.",
                    name=approved[0].name,
                )
            )

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    def _check_bonus_manager(self):
        """The caller manages bonuses and may change these plans: checked before
        anything is done."""
        check_role(
            self.env,
            "crm_extended.group_bonus_manager",
            _("Only bonus managers approve and replace bonus plans."),
        )
        self.check_access("write")

    def action_approve(self):
        self._check_bonus_manager()
        for plan in self:
            if plan.state != "draft":
                raise UserError(
                    _("The bonus plan %(name)s is already approved.", name=plan.name)
                )
            if not plan.kpi_ids or not plan.level_ids:
                raise UserError(
                    _(
                        "The bonus plan %(name)s needs KPIs and payout levels to be "
                        "approved.",
                        name=plan.name,
                    )
                )
            # Lines may have been edited one by one: check the whole again.
            plan._check_weights()
            plan._check_levels()
        self.sudo().write(
            {
                "state": "approved",
                "date_approved": fields.Datetime.now(),
                "approved_by_id": self.env.user.id,
            }
        )
        return True

    def action_replace(self, date):
        """Copy an approved plan into a new draft plan valid from ``date`` (a date
        or a string YYYY-MM-DD); the approved plan ends the day before. Returns
        the new plan."""
        self.ensure_one()
        self._check_bonus_manager()
        given = date
        try:
            date = fields.Date.to_date(date)
        except (TypeError, ValueError):
            date = None
        if not date:
            raise UserError(
                _(
                    "The bonus plan %(name)s is replaced from a date such as "
                    "2025-04-01: %(value)s is not a date.",
                    name=self.name,
                    value=repr(given),
                )
            )
        if self.state != "approved":
            raise UserError(
                _(
                    "Only an approved bonus plan is replaced; %(name)s is still a "
                    "draft and can be changed as it is.",
                    name=self.name,
                )
            )
        if self.replaced_by_id:
            raise UserError(
                _(
                    "The bonus plan %(name)s is already replaced by %(other)s.",
                    name=self.name,
                    other=self.replaced_by_id.name,
                )
            )
        if date <= self.date_start or (self.date_end and date > self.date_end):
            raise UserError(
                _(
                    "The bonus plan %(name)s can be replaced from a day after its "
                    "start %(start)s and within its validity.",
                    name=self.name,
                    start=self.date_start,
                )
            )
        new_plan = self.copy(
            {
                "name": _("%(name)s (from %(date)s)", name=self.name, date=date),
                "date_start": date,
                "date_end": self.date_end,
            }
        )
        new_plan.sudo().replaces_id = self
        # The only change an approved plan accepts: it ends where its successor starts.
        super(CrmBonusPlan, self.sudo()).write(
            {"date_end": date - relativedelta(days=1), "replaced_by_id": new_plan.id}
        )
        return new_plan

    def action_open_replace(self):
        """The replacing draft plan, created from the first day of the next period."""
        self.ensure_one()
        self._check_bonus_manager()
        start, end = bonus_period_bounds(
            self.company_id, self.period_type, fields.Date.context_today(self)
        )
        new_plan = self.action_replace(max(end + relativedelta(days=1), start))
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": new_plan.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    def _payout_factor(self, attainment):
        """Payout factor in percent at the weighted ``attainment`` (percent).

        0 below the threshold; from (0 %, 0 %) to the first level, between levels and
        past the last level (on the last segment's slope, so levels above 100 % act
        as accelerators) the factor is linear; it never exceeds the cap."""
        self.ensure_one()
        if attainment < self.threshold or attainment <= 0:
            return 0.0
        return min(self._curve_factor(attainment), self.cap)

    def _curve_factor(self, attainment):
        """The payout curve at ``attainment`` (percent, above 0), threshold and cap
        aside (see ``_payout_factor``)."""
        self.ensure_one()
        points = [(0.0, 0.0)] + [
            (level.attainment, level.payout_factor)
            for level in self.level_ids.sorted(lambda lv: (lv.sequence, lv.id))
            if level.attainment > 0
        ]
        if len(points) == 1:
            return 0.0
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            if attainment <= x1:
                break
        return y0 + (y1 - y0) * (attainment - x0) / (x1 - x0)

    def _period_bounds(self, day):
        self.ensure_one()
        return bonus_period_bounds(self.company_id, self.period_type, day)

    def _get_bonus_accounting(self):
        """(journal, expense account, payable account) of the plan's accrual
        entries: the plan's own, else the company's defaults; empty records where
        neither is set."""
        self.ensure_one()
        company = self.company_id
        return (
            self.journal_id or company.crm_bonus_journal_id,
            self.expense_account_id or company.crm_bonus_expense_account_id,
            self.payable_account_id or company.crm_bonus_payable_account_id,
        )
