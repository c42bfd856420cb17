from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

# Contact cadence when no tag says otherwise (days)
DEFAULT_CONTACT_INTERVAL = 30


class ResCompany(models.Model):
    _inherit = "res.company"

    crm_visit_horizon_weeks = fields.Integer(
        string="Visit Planning Horizon",
        default=4,
        help="How many weeks ahead recurring visit schedules keep visits planned.",
    )
    crm_visit_max_per_day = fields.Integer(
        string="Customer Work per Day",
        default=6,
        help="A salesperson with this many visits, calls or meetings on a day has a "
        "full day: recurring visits are not planned on it.",
    )
    crm_contact_interval_days = fields.Integer(
        string="Default Contact Interval (Days)",
        default=DEFAULT_CONTACT_INTERVAL,
        help="How often a customer must be contacted when none of its tags says "
        "otherwise; 0: no contact cadence by default.",
    )
    crm_forecast_period_type = fields.Selection(
        [("month", "Month"), ("quarter", "Quarter")],
        string="Forecast Period",
        default="month",
        required=True,
        help="The period of the forecasts the scheduled jobs create and freeze.",
    )
    crm_forecast_lookback_months = fields.Integer(
        string="Win Rate Lookback (Months)",
        default=12,
        help="Opportunities closed in this many months before a forecast give the "
        "historical win rate of each stage.",
    )
    crm_forecast_min_samples = fields.Integer(
        string="Win Rate Minimum Samples",
        default=20,
        help="A sales team with fewer closed opportunities than this in the lookback "
        "window uses the company's win rates instead of its own.",
    )
    crm_forecast_accuracy_periods = fields.Integer(
        string="Accuracy Periods",
        default=6,
        help="How many closed forecasts the accuracy figures of the dashboards cover.",
    )
    # Telesales
    crm_call_dialer_provider = fields.Selection(
        [("tel", "Phone link (tel:)")],
        string="Dialer",
        default="tel",
        required=True,
        help="How the agents' calls are dialed. The phone link hands the number to "
        "the computer's softphone; a VoIP integration adds its own provider.",
    )
    # Bonuses: accounting defaults of the bonus plans
    crm_bonus_journal_id = fields.Many2one(
        "account.journal",
        string="Bonus Journal",
        domain="[('type', '=', 'general'), ('company_id', '=', id)]",
        help="Journal of the bonus accrual entries of plans without their own.",
    )
    crm_bonus_expense_account_id = fields.Many2one(
        "account.account",
        string="Bonus Expense Account",
        domain="[('internal_group', '=', 'expense')]",
        help="Expense account of the bonus accruals of plans without their own.",
    )
    crm_bonus_payable_account_id = fields.Many2one(
        "account.account",
        string="Bonus Payable Account",
        domain="[('reconcile', '=', True), "
        "('account_type', 'not in', ('asset_receivable', 'asset_cash'))]",
        help="Payable account of the bonus accruals of plans without their own; it "
        "must allow reconciliation.",
    )

    @api.constrains(
        "crm_forecast_lookback_months",
        "crm_forecast_min_samples",
        "crm_forecast_accuracy_periods",
    )
    def _check_crm_forecast_settings(self):
        for company in self:
            if (
                company.crm_forecast_lookback_months < 1
                or company.crm_forecast_min_samples < 1
                or company.crm_forecast_accuracy_periods < 1
            ):
                raise ValidationError(
                    _(
                        "The forecast lookback, minimum samples and accuracy periods "
                        "of %(company)s must be at least 1.",
                        company=company.name,
                    )
                )

    @api.constrains("crm_contact_interval_days")
    def _check_crm_contact_interval_days(self):
        for company in self:
            if company.crm_contact_interval_days < 0:
                raise ValidationError(
                    _(
                        "The default contact interval of %(company)s cannot be "
                        "negative.",
                        company=company.name,
                    )
                )

    def write(self, vals):
        changed = self.browse()
        if "crm_contact_interval_days" in vals:
            changed = self.filtered(
                lambda c: c.crm_contact_interval_days
                != vals["crm_contact_interval_days"]
            )
        res = super().write(vals)
        if changed:
            self.env["res.partner"]._contact_interval_reset(changed)
        return res

    @api.constrains("crm_bonus_payable_account_id")
    def _check_crm_bonus_payable_account_id(self):
        for company in self:
            account = company.crm_bonus_payable_account_id
            if account and not account.reconcile:
                raise ValidationError(
                    _(
                        "The bonus payable account %(account)s of %(company)s must "
                        "allow reconciliation.",
                        account=account.display_name,
                        company=company.name,
                    )
                )
