from datetime import datetime, time, timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..roles import check_role, has_role
from .crm_forecast import FORECAST_METHODS


class CrmTeam(models.Model):
    _inherit = "crm.team"

    sales_region_id = fields.Many2one(
        "crm.sales.region",
        index=True,
        tracking=True,
        help="The region this office belongs to. Its leads, orders and invoices take "
        "this region.",
    )
    # My Teams: the offices I work in, lead, or oversee as a regional manager
    is_my_team = fields.Boolean(
        string="My Team",
        compute="_compute_is_my_team",
        search="_search_is_my_team",
        help="You are a member or the leader of this office, or it belongs to a "
        "sales region you manage (or below one).",
    )

    # Dashboard counters of the office's salespeople
    contact_overdue_count = fields.Integer(
        string="Overdue Contacts", compute="_compute_sfa_dashboard"
    )
    sfa_week_planned_count = fields.Integer(
        string="Customer Work This Week", compute="_compute_sfa_dashboard"
    )
    sfa_week_done_count = fields.Integer(
        string="Customer Work Done This Week", compute="_compute_sfa_dashboard"
    )

    # Dashboard forecast of the office: the running period and past accuracy
    forecast_amount_current = fields.Monetary(
        string="Forecast This Period",
        compute="_compute_forecast_dashboard",
        help="The office's forecast in the running forecast: the manager's forecast "
        "of its open opportunities plus what was already won when it was frozen.",
    )
    forecast_won_current = fields.Monetary(
        string="Won This Period",
        compute="_compute_forecast_dashboard",
        help="Won so far in the running forecast's period, as last refreshed.",
    )
    forecast_best_method = fields.Selection(
        FORECAST_METHODS,
        string="Most Accurate Method",
        compute="_compute_forecast_dashboard",
        help="The forecasting method with the lowest MAPE over the office's last "
        "closed periods (as many as the company's Accuracy Periods setting).",
    )
    forecast_best_mape = fields.Float(
        string="MAPE of the Most Accurate Method (%)",
        compute="_compute_forecast_dashboard",
        digits=(16, 2),
    )

    # Dashboard bonus estimates: the current user's own, and for bonus managers the
    # office's total; estimates until the statements are approved
    has_bonus_estimate = fields.Boolean(compute="_compute_bonus_estimate")
    bonus_estimate = fields.Monetary(
        string="My Bonus Estimate",
        compute="_compute_bonus_estimate",
        currency_field="bonus_estimate_currency_id",
        help="Estimate only: the payout of your open bonus statement of the current "
        "period as last computed, on the offices you are a member of; it changes "
        "until the statement is approved.",
    )
    bonus_estimate_currency_id = fields.Many2one(
        "res.currency", compute="_compute_bonus_estimate"
    )
    bonus_estimate_attainment = fields.Float(
        string="My Bonus Attainment (%)",
        compute="_compute_bonus_estimate",
        digits=(16, 2),
    )
    bonus_estimate_team = fields.Monetary(
        string="Team Bonus Estimate",
        compute="_compute_bonus_estimate_team",
        currency_field="bonus_estimate_team_currency_id",
        groups="crm_extended.group_bonus_manager",
        help="Estimate only: the payouts of the office members' open bonus statements "
        "of the current period as last computed, in the office's company currency.",
    )
    bonus_estimate_team_currency_id = fields.Many2one(
        "res.currency",
        compute="_compute_bonus_estimate_team",
        groups="crm_extended.group_bonus_manager",
    )
    bonus_estimate_team_count = fields.Integer(
        string="Current Bonus Statements",
        compute="_compute_bonus_estimate_team",
        groups="crm_extended.group_bonus_manager",
    )

    def _compute_sfa_dashboard(self):
        """One grouped read per counter for all the offices shown, by salesperson."""
        users = self.member_ids
        today = fields.Date.context_today(self)
        monday = today - timedelta(days=today.weekday())
        week = [
            ("start", ">=", datetime.combine(monday, time.min)),
            ("start", "<", datetime.combine(monday + timedelta(days=7), time.min)),
        ]
        overdue = dict(
            self.env["res.partner"]._read_group(
                [("is_contact_overdue", "=", True), ("user_id", "in", users.ids)],
                ["user_id"],
                ["__count"],
            )
        )
        planned, done = {}, {}
        for user, state, count in self.env["calendar.event"]._read_group(
            [
                ("user_id", "in", users.ids),
                ("sfa_state", "in", ("planned", "done", "missed")),
                *week,
            ],
            ["user_id", "sfa_state"],
            ["__count"],
        ):
            planned[user] = planned.get(user, 0) + count
            if state == "done":
                done[user] = done.get(user, 0) + count
        for team in self:
            team.contact_overdue_count = sum(overdue.get(u, 0) for u in team.member_ids)
            team.sfa_week_planned_count = sum(
                planned.get(u, 0) for u in team.member_ids
            )
            team.sfa_week_done_count = sum(done.get(u, 0) for u in team.member_ids)

    def _compute_forecast_dashboard(self):
        """From the office's lines of the forecasts: one grouped read for the running
        period, one for the accuracy per company of the offices shown."""
        today = fields.Date.context_today(self)
        current = {
            (team, period_type): (forecast + won_frozen, won)
            for team, period_type, forecast, won_frozen, won in self.env[
                "crm.forecast.line"
            ]._read_group(
                [
                    ("level", "=", "team"),
                    ("team_id", "in", self.ids),
                    ("state", "in", ("draft", "frozen")),
                    ("date_from", "<=", today),
                    ("date_to", ">=", today),
                ],
                ["team_id", "period_type"],
                [
                    "amount_forecast:sum",
                    "amount_won_frozen:sum",
                    "amount_won_to_date:sum",
                ],
            )
        }
        accuracy = {}
        for company, teams in self.grouped(
            lambda team: team.company_id or self.env.company
        ).items():
            accuracy.update(
                self.env["crm.forecast.accuracy.report"]._accuracy_summary(
                    [
                        ("level", "=", "team"),
                        ("team_id", "in", teams.ids),
                        ("company_id", "=", company.id),
                        ("period_type", "=", company.crm_forecast_period_type),
                    ],
                    periods=company.crm_forecast_accuracy_periods,
                    groupby="team_id",
                )
            )
        for team in self:
            period_type = (team.company_id or self.env.company).crm_forecast_period_type
            forecast, won = current.get((team, period_type), (0.0, 0.0))
            team.forecast_amount_current = forecast
            team.forecast_won_current = won
            summary = accuracy.get(team, {})
            best = summary.get("best_method") or False
            team.forecast_best_method = best
            team.forecast_best_mape = summary[best]["mape"] if best else 0.0

    @api.depends_context("uid", "tz", "allowed_company_ids")
    def _compute_bonus_estimate(self):
        """The current user's open statement covering today, on the offices they are
        a member of: one search whatever the number of offices."""
        user = self.env.user
        statement = user._get_current_bonus_statements().get(user.id)
        for team in self:
            shown = bool(statement) and user in team.member_ids
            team.has_bonus_estimate = shown
            team.bonus_estimate = statement.amount_payout if shown else 0.0
            team.bonus_estimate_attainment = statement.attainment if shown else 0.0
            team.bonus_estimate_currency_id = (
                statement.currency_id
                if shown
                else (team.company_id or self.env.company).currency_id
            )

    @api.depends_context("uid", "tz", "allowed_company_ids")
    def _compute_bonus_estimate_team(self):
        """For bonus managers only: the payouts of the members' open statements
        covering today, converted to the office's company currency. One search for
        the members of all the offices shown, one read of the rates per company."""
        statements = {}
        if has_role(self.env, "crm_extended.group_bonus_manager"):
            statements = self.member_ids._get_current_bonus_statements()
        today = fields.Date.context_today(self)
        statement_currencies = self.env["res.currency"].union(
            *(statement.currency_id for statement in statements.values())
        )
        for company, teams in self.grouped(
            lambda team: team.company_id or self.env.company
        ).items():
            currency = company.currency_id
            rates = (
                (currency | statement_currencies)._get_rates(company, today)
                if statements
                else {}
            )
            for team in teams:
                team_statements = [
                    statements[user.id]
                    for user in team.member_ids
                    if user.id in statements
                ]
                team.bonus_estimate_team_currency_id = currency
                team.bonus_estimate_team_count = len(team_statements)
                team.bonus_estimate_team = currency.round(
                    sum(
                        statement.amount_payout
                        * rates[currency.id]
                        / rates[statement.currency_id.id]
                        for statement in team_statements
                    )
                )

    @api.model
    def _action_update_to_pipeline(self, action):
        """Opening CRM (My Pipeline, and the Forecast): a regional manager lands on
        the opportunities of the regions he manages, not on Odoo's "assigned to me"
        filter, which is empty for someone who owns few opportunities himself.
        Salespeople keep Odoo's default."""
        action = super()._action_update_to_pipeline(action)
        if not (
            has_role(self.env, "crm_extended.group_regional_manager")
            and self.env.user.sales_region_managed_ids
        ):
            return action
        context = action["context"]
        context.pop("search_default_assigned_to_me", None)
        context["search_default_my_regions"] = 1
        action["help"] = Markup(
            '<p class="o_view_nocontent_smiling_face">%s</p><p>%s</p>'
        ) % (
            _("No opportunity in your regions"),
            _(
                "The opportunities of the customers and offices of the sales regions "
                "you manage, and of their sub-regions, show here."
            ),
        )
        return action

    def _my_teams_domain(self):
        managed = self.env.user.sales_region_managed_ids
        domain = [
            "|",
            ("member_ids", "in", [self.env.uid]),
            ("user_id", "=", self.env.uid),
        ]
        if managed:
            domain = ["|", *domain, ("sales_region_id", "child_of", managed.ids)]
        return domain

    @api.depends_context("uid")
    def _compute_is_my_team(self):
        mine = self.search(self._my_teams_domain())
        for team in self:
            team.is_my_team = team in mine

    def _search_is_my_team(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(
                _(
                    "Search on My Team only as set or not set, not "
                    "%(operator)s %(value)s.",
                    operator=operator,
                    value=value,
                )
            )
        mine = self.with_context(active_test=False)._search(self._my_teams_domain())
        return [("id", "in" if (operator == "=") == value else "not in", mine)]

    def action_open_forecast_accuracy(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.crm_forecast_accuracy_report_action"
        )
        action["domain"] = [("level", "=", "team"), ("team_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_open_bonus_estimate(self):
        """The current user's open statement of the current period, else their
        statements."""
        self.ensure_one()
        user = self.env.user
        statement_su = user._get_current_bonus_statements().get(user.id)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.crm_bonus_statement_action_my"
        )
        if statement_su:
            action.update(
                res_id=statement_su.id, view_mode="form", views=[(False, "form")]
            )
        return action

    def action_open_bonus_estimate_team(self):
        """The office members' open statements of the current period."""
        self.ensure_one()
        check_role(
            self.env,
            "crm_extended.group_bonus_manager",
            _("Only bonus managers see the bonus estimates of an office."),
        )
        statements = self.member_ids._get_current_bonus_statements()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.crm_bonus_statement_action"
        )
        action["name"] = _(
            "Current Bonus Statements of %(team)s", team=self.display_name
        )
        action["domain"] = [
            ("id", "in", [statement.id for statement in statements.values()])
        ]
        action["context"] = {"create": False}
        return action

    def action_open_overdue_contacts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "contacts.action_contacts"
        )
        action["domain"] = [("user_id", "in", self.member_ids.ids)]
        action["context"] = {"search_default_filter_contact_overdue": 1}
        return action

    def action_open_week_work(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.calendar_event_action_team"
        )
        action["domain"] = [
            ("sfa_kind", "!=", False),
            ("user_id", "in", self.member_ids.ids),
        ]
        return action

    @api.constrains("sales_region_id", "company_id")
    def _check_sales_region_company(self):
        for team in self:
            region = team.sales_region_id
            if region and team.company_id and region.company_id != team.company_id:
                raise ValidationError(
                    _(
                        "The office %(team)s belongs to %(company)s; the sales region "
                        "%(region)s belongs to %(region_company)s.",
                        team=team.display_name,
                        company=team.company_id.display_name,
                        region=region.display_name,
                        region_company=region.company_id.display_name,
                    )
                )
