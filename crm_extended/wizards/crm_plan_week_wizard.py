from datetime import datetime, time, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import format_date, format_duration

from ..roles import has_role
from ..text import name_list

# Customers proposed at most in one week, most overdue first.
MAX_PROPOSALS = 25
SLOT_STEP = timedelta(minutes=30)


def _next_monday(today):
    return today + timedelta(days=(7 - today.weekday()) % 7)


class CrmPlanWeekWizard(models.TransientModel):
    _name = "crm.plan.week.wizard"
    _description = "Plan My Week"

    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        required=True,
        default=lambda self: self.env.user,
    )
    week_start = fields.Date(
        required=True,
        default=lambda self: _next_monday(fields.Date.context_today(self)),
        help="The Monday of the week to plan.",
    )
    sfa_kind = fields.Selection(
        [("visit", "Visits"), ("call", "Calls")],
        string="Plan",
        default="visit",
        required=True,
    )
    duration = fields.Float(
        default=1.0, help="Duration of each visit or call, in hours."
    )
    line_ids = fields.One2many("crm.plan.week.line", "wizard_id", string="Proposals")
    proposal_message = fields.Text(
        readonly=True,
        help="Why the last proposal left customers out, or found none, and what to do.",
    )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._check_plan_for(
            self.env["res.users"].browse(
                vals["user_id"] for vals in vals_list if vals.get("user_id")
            )
        )
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("user_id"):
            self._check_plan_for(self.env["res.users"].browse(vals["user_id"]))
        return super().write(vals)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_propose(self):
        """Propose the customers whose contact is due, fitted into free working time."""
        self.ensure_one()
        self._check_plan_for(self.user_id)
        if self.duration <= 0:
            raise UserError(_("The duration of a visit or call must be positive."))
        self.line_ids.unlink()
        proposals, message = self._propose()
        self.proposal_message = message
        self.env["crm.plan.week.line"].create(
            [
                {
                    "wizard_id": self.id,
                    "partner_id": partner.id,
                    "start": start,
                    "stop": start + timedelta(hours=self.duration),
                }
                for partner, start in proposals
            ]
        )
        return self._reopen()

    def action_confirm(self):
        """Book the chosen proposals on the salesperson's calendar."""
        self.ensure_one()
        self._check_plan_for(self.user_id)
        lines = self.line_ids.filtered("selected")
        if not lines:
            raise UserError(_("Choose at least one customer to book."))
        kind = {"visit": _("Visit"), "call": _("Call")}[self.sfa_kind]
        Event = self.env["calendar.event"]
        if self.user_id != self.env.user:
            # Checked above: the manager plans the salesperson's week, whose customers
            # may lie outside the regions the manager sees.
            Event = Event.sudo()
        events = Event.with_context(no_mail_to_attendees=True).create(
            [
                {
                    "name": _(
                        "%(kind)s: %(customer)s",
                        kind=kind,
                        customer=line.partner_id.display_name,
                    ),
                    "sfa_kind": self.sfa_kind,
                    "sfa_partner_id": line.partner_id.id,
                    "user_id": self.user_id.id,
                    "partner_ids": [fields.Command.set(self.user_id.partner_id.ids)],
                    "start": line.start,
                    "stop": line.stop,
                }
                for line in lines
            ]
        )
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.calendar_event_action_my_week"
        )
        action["context"] = {
            "search_default_my_work": 1,
            "initial_date": str(self.week_start),
        }
        action["domain"] = (
            [("id", "in", events.ids)] if len(events) < 50 else action["domain"]
        )
        return action

    def _check_plan_for(self, users):
        """One plans one's own week; sales managers plan anyone's, regional managers
        the weeks of the members of the offices of their regions (and below)."""
        others = users - self.env.user
        if not others or has_role(self.env, "sales_team.group_sale_manager"):
            return
        user = self.env.user
        if has_role(self.env, "crm_extended.group_regional_manager"):
            regions = self.env["crm.sales.region"].search(
                [("id", "child_of", user.sales_region_managed_ids.ids)]
            )
            teams = self.env["crm.team"].search(
                [("sales_region_id", "in", regions.ids)]
            )
            others -= teams.member_ids
        if others:
            raise AccessError(
                _(
                    "You cannot plan the week of %(name)s: only sales managers, and "
                    "the regional managers of their office's region, plan the week of "
                    "another salesperson.",
                    name=others[0].name,
                )
            )

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Plan My Week"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "context": {"dialog_size": "extra-large"},
        }

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _candidates(self, week_end):
        """(customers, planned): the customers of the salesperson, or of their office's
        region, whose contact is due by the end of the week and who have no customer
        work planned yet; and those due who have."""
        user = self.user_id
        region = user.sale_team_id.sales_region_id
        domain = [
            ("is_company", "=", True),
            ("date_next_contact", "<=", week_end),
            ("contact_interval_days", ">", 0),
        ]
        if region:
            domain += [
                "|",
                ("user_id", "=", user.id),
                ("sales_region_id", "child_of", region.id),
            ]
        else:
            domain += [("user_id", "=", user.id)]
        partners = self.env["res.partner"].search(
            domain, order="date_next_contact, id", limit=MAX_PROPOSALS * 2
        )
        planned = {
            partner
            for [partner] in self.env["calendar.event"]._read_group(
                [
                    ("sfa_partner_id", "in", partners.ids),
                    ("sfa_state", "=", "planned"),
                    ("start", ">=", fields.Datetime.now()),
                ],
                ["sfa_partner_id"],
            )
        }
        return (
            [partner for partner in partners if partner not in planned][:MAX_PROPOSALS],
            partners.filtered(lambda partner: partner in planned),
        )

    def _free_slots(self, start_utc, end_utc):
        """Working intervals of the salesperson in the week (UTC, naive), without the
        time their calendar already holds."""
        user = self.user_id
        resource_calendar = (
            user.resource_calendar_id or user.company_id.resource_calendar_id
        )
        tz = pytz.timezone(user.tz or resource_calendar.tz or "UTC")
        start = pytz.utc.localize(start_utc)
        end = pytz.utc.localize(end_utc)
        if resource_calendar:
            intervals = resource_calendar._work_intervals_batch(start, end, tz=tz)[
                False
            ]
            work = [
                (
                    a.astimezone(pytz.utc).replace(tzinfo=None),
                    b.astimezone(pytz.utc).replace(tzinfo=None),
                )
                for a, b, _meta in intervals
            ]
        else:
            work = []
            day = start_utc
            while day < end_utc:
                if day.weekday() < 5:
                    local = tz.localize(datetime.combine(day.date(), time(9)))
                    begin = local.astimezone(pytz.utc).replace(tzinfo=None)
                    work.append((begin, begin + timedelta(hours=8)))
                day += timedelta(days=1)
        busy = [
            (event.start, event.stop)
            for event in self.env["calendar.event"].search(
                [
                    ("start", "<", end_utc),
                    ("stop", ">", start_utc),
                    "|",
                    ("user_id", "=", user.id),
                    ("partner_ids", "in", user.partner_id.ids),
                ]
            )
        ]
        return work, busy

    def _propose(self):
        """([(partner, start)], message): each due customer in the first free working
        slot; the message says why customers due were left out, or none proposed,
        and what to do (False when all the customers due were proposed)."""
        user = self.user_id
        tz = pytz.timezone(user.tz or "UTC")
        week_start = tz.localize(datetime.combine(self.week_start, time.min))
        start_utc = week_start.astimezone(pytz.utc).replace(tzinfo=None)
        end_utc = start_utc + timedelta(days=7)
        week_end = self.week_start + timedelta(days=6)
        week = format_date(self.env, self.week_start)
        now = fields.Datetime.now()
        if end_utc <= now:
            return [], _(
                "The week of %(week)s is over: choose the Monday of a week to come.",
                week=week,
            )
        candidates, planned = self._candidates(week_end)
        if not candidates:
            if planned:
                return [], _(
                    "Every customer due by %(date)s already has a visit or call "
                    "planned (%(names)s): nothing is left to propose. Choose a later "
                    "week to plan the next ones.",
                    date=format_date(self.env, week_end),
                    names=name_list(self.env, planned),
                )
            return [], _(
                "No customer of %(user)s, or of the region of their office, is due for "
                "contact by %(date)s. A customer is due when the contact interval set "
                "on it (or on its tags) has passed since its last visit or call: "
                "choose a later week, or set contact intervals on the customers.",
                user=user.name,
                date=format_date(self.env, week_end),
            )
        work, busy = self._free_slots(max(start_utc, now), end_utc)
        if not work:
            calendar = user.resource_calendar_id or user.company_id.resource_calendar_id
            if not calendar:
                return [], _(
                    "%(user)s has no working hours left in the week of %(week)s "
                    "(without a working schedule: Monday to Friday, 9:00 to 17:00): "
                    "choose a week to come.",
                    user=user.name,
                    week=week,
                )
            return [], _(
                "%(user)s has no working hours left in the week of %(week)s on the "
                "working schedule %(schedule)s (public holidays excluded): choose "
                "another week, or add working hours to the schedule.",
                user=user.name,
                week=week,
                schedule=calendar.display_name,
            )
        length = timedelta(hours=self.duration)
        proposals = []
        for partner in candidates:
            slot = self._first_free(work, busy, length)
            if not slot:
                break
            busy.append((slot, slot + length))
            proposals.append((partner, slot))
        left = candidates[len(proposals) :]
        if not proposals:
            return [], _(
                "No free slot of %(duration)s is left in the working hours of %(user)s "
                "in the week of %(week)s: their calendar is full. Choose a shorter "
                "duration or another week.",
                duration=format_duration(self.duration),
                user=user.name,
                week=week,
            )
        if left:
            return proposals, _(
                "Customers due who did not fit in the free working time of the week: "
                "%(names)s. Choose a shorter duration, or plan them in another week.",
                names=name_list(self.env, [partner.display_name for partner in left]),
            )
        return proposals, False

    @api.model
    def _first_free(self, work, busy, length):
        for begin, end in work:
            slot = begin
            while slot + length <= end:
                clash = next(
                    (b for a, b in busy if a < slot + length and b > slot), None
                )
                if not clash:
                    return slot
                slot = max(slot + SLOT_STEP, clash)
        return None


class CrmPlanWeekLine(models.TransientModel):
    _name = "crm.plan.week.line"
    _description = "Plan My Week: proposal"
    _order = "start, id"

    wizard_id = fields.Many2one(
        "crm.plan.week.wizard", required=True, ondelete="cascade"
    )
    selected = fields.Boolean(string="Book", default=True)
    partner_id = fields.Many2one("res.partner", string="Customer", required=True)
    date_next_contact = fields.Date(related="partner_id.date_next_contact")
    city = fields.Char(related="partner_id.city")
    start = fields.Datetime(required=True)
    stop = fields.Datetime(required=True)
