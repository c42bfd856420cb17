import calendar as calendar_lib
from collections import defaultdict
from datetime import date, datetime, time, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

WEEKDAYS = [
    ("0", "Monday"),
    ("1", "Tuesday"),
    ("2", "Wednesday"),
    ("3", "Thursday"),
    ("4", "Friday"),
    ("5", "Saturday"),
    ("6", "Sunday"),
]
# Schedules one run of the planning job handles at most; the cron runner calls it again
# for the rest after committing.
PLAN_BATCH = 500


class CrmVisitSchedule(models.Model):
    _name = "crm.visit.schedule"
    _description = "Recurring Visit Schedule"
    _inherit = ["mail.thread"]
    _order = "partner_id, id"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        check_company=True,
        tracking=True,
        domain="[('is_company', '=', True)]",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        index=True,
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
        tracking=True,
    )
    sfa_kind = fields.Selection(
        [("visit", "Visit"), ("call", "Call")],
        string="Kind",
        default="visit",
        required=True,
    )
    interval_type = fields.Selection(
        [("weeks", "Every N weeks"), ("per_month", "N times a month")],
        string="Frequency",
        default="weeks",
        required=True,
        tracking=True,
    )
    interval = fields.Integer(
        default=1,
        required=True,
        tracking=True,
        help="Every how many weeks, or how many times a month.",
    )
    weekday = fields.Selection(WEEKDAYS, default="0", required=True)
    hour = fields.Float(
        string="Time", default=9.0, help="Time of day, in the salesperson's time zone."
    )
    duration = fields.Float(default=1.0, help="Duration of each visit, in hours.")
    date_start = fields.Date(required=True, default=fields.Date.context_today)
    date_end = fields.Date()
    event_ids = fields.One2many("calendar.event", "visit_schedule_id", string="Visits")
    event_count = fields.Integer(
        compute="_compute_event_count", string="Planned Visits"
    )
    sales_region_id = fields.Many2one(
        related="partner_id.sales_region_id", store=True, index=True
    )

    @api.depends("partner_id", "sfa_kind", "interval_type", "interval", "weekday")
    def _compute_name(self):
        kinds = dict(self._fields["sfa_kind"]._description_selection(self.env))
        days = dict(self._fields["weekday"]._description_selection(self.env))
        for schedule in self:
            schedule.name = _(
                "%(kind)s %(customer)s %(rhythm)s",
                kind=kinds.get(schedule.sfa_kind, ""),
                customer=schedule.partner_id.display_name or "",
                rhythm=schedule._rhythm_text(days.get(schedule.weekday, "")),
            )

    def _rhythm_text(self, day):
        """How often, as people say it: "every Monday", "every 2 weeks on Monday",
        "once a month on Monday", "twice a month...", "3 times a month..."."""
        count = self.interval
        if self.interval_type == "weeks":
            if count == 1:
                return _("every %(day)s", day=day)
            return _("every %(count)s weeks on %(day)s", count=count, day=day)
        if count == 1:
            return _("once a month on %(day)s", day=day)
        if count == 2:
            return _("twice a month on %(day)s", day=day)
        return _("%(count)s times a month on %(day)s", count=count, day=day)

    def _compute_event_count(self):
        counts = dict(
            self.env["calendar.event"]._read_group(
                [("visit_schedule_id", "in", self.ids)],
                ["visit_schedule_id"],
                ["__count"],
            )
        )
        for schedule in self:
            schedule.event_count = counts.get(schedule, 0)

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("interval", "interval_type")
    def _check_interval(self):
        for schedule in self:
            if schedule.interval <= 0:
                raise ValidationError(
                    _("The interval of a visit schedule must be 1 or more.")
                )
            if schedule.interval_type == "per_month" and schedule.interval > 5:
                raise ValidationError(
                    _(
                        "A weekday comes at most 5 times a month: plan 5 visits or "
                        "fewer."
                    )
                )

    @api.constrains("user_id")
    def _check_user_id(self):
        for schedule in self:
            if not schedule.user_id:
                raise ValidationError(
                    _(
                        "The visit schedule of %(customer)s needs a salesperson.",
                        customer=schedule.partner_id.display_name,
                    )
                )

    @api.constrains("date_start", "date_end", "hour", "duration")
    def _check_dates(self):
        for schedule in self:
            if schedule.date_end and schedule.date_end < schedule.date_start:
                raise ValidationError(
                    _("A visit schedule cannot end before it starts.")
                )
            if not 0 <= schedule.hour < 24:
                raise ValidationError(_("The time of a visit must be within the day."))
            if schedule.duration <= 0:
                raise ValidationError(_("The duration of a visit must be positive."))

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_events(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Visits"),
            "res_model": "calendar.event",
            "view_mode": "list,calendar,form",
            "domain": [("visit_schedule_id", "=", self.id)],
        }

    def action_plan_now(self):
        self._plan_visits()
        return self.action_open_events() if len(self) == 1 else True

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _occurrences(self, date_from, date_to):
        """Dates of this schedule's visits between two dates, both included."""
        self.ensure_one()
        first = max(date_from, self.date_start)
        last = min(date_to, self.date_end) if self.date_end else date_to
        if first > last:
            return []
        weekday = int(self.weekday)
        if self.interval_type == "weeks":
            anchor = self.date_start + timedelta(
                days=(weekday - self.date_start.weekday()) % 7
            )
            step = timedelta(weeks=self.interval)
            if anchor < first:
                periods = (first - anchor).days // step.days
                anchor += step * periods
                if anchor < first:
                    anchor += step
            result = []
            while anchor <= last:
                result.append(anchor)
                anchor += step
            return result
        result = []
        year, month = first.year, first.month
        while date(year, month, 1) <= last:
            days = [
                date(year, month, day)
                for day in range(1, calendar_lib.monthrange(year, month)[1] + 1)
                if date(year, month, day).weekday() == weekday
            ]
            count = min(self.interval, len(days))
            picked = [days[(i * len(days)) // count] for i in range(count)]
            result += [day for day in picked if first <= day <= last]
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return result

    def _start_datetime(self, day):
        """UTC start of the visit on ``day`` at the schedule's hour, in the
        salesperson's time zone."""
        tz = pytz.timezone(self.user_id.tz or "UTC")
        hours = int(self.hour)
        minutes = round((self.hour - hours) * 60)
        local = tz.localize(datetime.combine(day, time(hours, min(minutes, 59))))
        return local.astimezone(pytz.utc).replace(tzinfo=None)

    def _plan_visits(self, today=None):
        """Plan the visits of these schedules over the horizon, set-based.

        One read of the visits already planned from these schedules, one count of the
        salespeople's customer work per day, one create of what is missing. A visit
        that exists for a schedule and date (moved or cancelled included) is never
        planned again; a day on which the salesperson already has a full day of
        customer work is skipped.
        """
        today = today or fields.Date.context_today(self)
        company = self.env.company
        horizon = today + timedelta(weeks=company.crm_visit_horizon_weeks or 4)
        max_per_day = company.crm_visit_max_per_day or 6
        Event = self.env["calendar.event"].with_context(active_test=False)
        existing = {
            (schedule.id, day)
            for schedule, day in Event._read_group(
                [
                    ("visit_schedule_id", "in", self.ids),
                    ("sfa_occurrence_date", ">=", today),
                ],
                ["visit_schedule_id", "sfa_occurrence_date:day"],
            )
        }
        wanted = []
        for schedule in self:
            for day in schedule._occurrences(today, horizon):
                if (schedule.id, day) not in existing:
                    wanted.append((schedule, day))
        if not wanted:
            return Event.browse()
        busy = defaultdict(int)
        for user, day, count in Event._read_group(
            [
                ("user_id", "in", self.user_id.ids),
                ("sfa_kind", "!=", False),
                ("sfa_state", "!=", "cancelled"),
                ("start", ">=", datetime.combine(today, time.min)),
                ("start", "<", datetime.combine(horizon + timedelta(days=1), time.min)),
            ],
            ["user_id", "start:day"],
            ["__count"],
        ):
            busy[user.id, day.date() if isinstance(day, datetime) else day] = count
        vals_list = []
        for schedule, day in wanted:
            key = (schedule.user_id.id, day)
            if busy[key] >= max_per_day:
                continue
            busy[key] += 1
            start = schedule._start_datetime(day)
            vals_list.append(
                {
                    "name": schedule.name,
                    "sfa_kind": schedule.sfa_kind,
                    "sfa_partner_id": schedule.partner_id.id,
                    "user_id": schedule.user_id.id,
                    "partner_ids": [
                        fields.Command.set(schedule.user_id.partner_id.ids)
                    ],
                    "start": start,
                    "stop": start + timedelta(hours=schedule.duration),
                    "duration": schedule.duration,
                    "visit_schedule_id": schedule.id,
                    "sfa_occurrence_date": day,
                }
            )
        return Event.with_context(no_mail_to_attendees=True).create(vals_list)

    @api.model
    def _cron_plan_visits(self):
        """Keep the next visits of every active schedule planned, a batch at a time:
        schedules are taken in id order after the last one the previous run handled."""
        param = self.env["ir.config_parameter"].sudo()
        last_id = int(param.get_param("crm_extended.visit_plan_last_id", 0))
        today = fields.Date.context_today(self)
        domain = [
            ("id", ">", last_id),
            "|",
            ("date_end", "=", False),
            ("date_end", ">=", today),
        ]
        schedules = self.search(domain, order="id", limit=PLAN_BATCH)
        for company, company_schedules in schedules.grouped("company_id").items():
            company_schedules.with_company(company)._plan_visits(today)
        remaining = 0
        if len(schedules) == PLAN_BATCH:
            remaining = self.search_count([("id", ">", schedules[-1].id), *domain[1:]])
        param.set_param(
            "crm_extended.visit_plan_last_id", schedules[-1].id if remaining else 0
        )
        self.env["ir.cron"]._notify_progress(done=len(schedules), remaining=remaining)
        return schedules
