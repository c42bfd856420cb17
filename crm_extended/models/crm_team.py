from datetime import datetime, time, timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class CrmTeam(models.Model):
    _inherit = "crm.team"

    sales_region_id = fields.Many2one(
        "crm.sales.region",
        index=True,
        tracking=True,
        help="The region this office belongs to. Its leads, orders and invoices take "
        "this region.",
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
