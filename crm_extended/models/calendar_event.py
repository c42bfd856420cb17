from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..roles import has_role

SFA_KINDS = [
    ("visit", "Visit"),
    ("call", "Call"),
    ("meeting", "Meeting"),
    ("demo", "Demo"),
]
SFA_STATES = [
    ("planned", "Planned"),
    ("done", "Done"),
    ("cancelled", "Cancelled"),
    ("missed", "Missed"),
]
# Planned events a run of the missed-event job handles at most (then it reports the rest
# to the cron runner, which calls it again after committing).
MISSED_BATCH = 5000


class CalendarEvent(models.Model):
    _name = "calendar.event"
    _inherit = [
        "crm.contact.source.mixin",
        "crm.bonus.source.mixin",
        "calendar.event",
        "crm.protected.fields.mixin",
    ]

    # Done work counts for bonuses and the plan vs actual: it is done, with its
    # outcome, only through action_sfa_done (the Mark Done wizard), never written
    # directly, and what it was (a visit, a call) stays once done.
    _protected_fields = {
        "sfa_state": "",
        "sfa_outcome": "",
        "sfa_date_done": "",
        "sfa_kind": "",
        # Done work counts for bonuses and contacts where and when it was done:
        # only sales managers correct it.
        "start": "sales_team.group_sale_manager",
        "stop": "sales_team.group_sale_manager",
        "user_id": "sales_team.group_sale_manager",
        "sfa_partner_id": "sales_team.group_sale_manager",
    }
    _DONE_WORK_FIELDS = {"start", "stop", "user_id", "sfa_partner_id"}
    # Fields that move done work between bonus statements; work created done counts
    # at once
    _bonus_fields = {"sfa_state", "start", "user_id", "active", "sfa_kind"}
    _bonus_create = ("sfa_state", "done")
    # Fields that move the last contact of the customer of done work; work created
    # done is a contact at once
    _contact_fields = {"sfa_state", "start", "sfa_partner_id", "active"}
    _contact_create = ("sfa_state", "done")

    # SFA: customer work on the calendar
    sfa_kind = fields.Selection(
        SFA_KINDS,
        string="Customer Work",
        index=True,
        help="Visits, calls, meetings and demos with customers are followed up: they "
        "are done with an outcome, or missed.",
    )
    sfa_state = fields.Selection(
        SFA_STATES,
        string="Work Status",
        compute="_compute_sfa_state",
        store=True,
        readonly=False,
        index=True,
        tracking=True,
        copy=False,
    )
    sfa_outcome = fields.Text(string="Outcome", tracking=True, copy=False)
    sfa_partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        compute="_compute_sfa_partner_id",
        store=True,
        readonly=False,
        precompute=True,
        index=True,
        ondelete="set null",
        help="The customer this visit, call or meeting is with.",
    )
    sfa_date_done = fields.Datetime(string="Done On", readonly=True, copy=False)
    sales_region_id = fields.Many2one(
        related="sfa_partner_id.sales_region_id", store=True, index=True
    )
    sfa_team_id = fields.Many2one(
        related="user_id.sale_team_id", string="Office", store=True, index=True
    )
    visit_schedule_id = fields.Many2one(
        "crm.visit.schedule", index=True, ondelete="set null", copy=False, readonly=True
    )
    sfa_occurrence_date = fields.Date(
        copy=False,
        readonly=True,
        help="The date the visit schedule planned this visit for (it stays when the "
        "visit is moved).",
    )

    _sql_constraints = [
        (
            "visit_schedule_occurrence_uniq",
            "unique(visit_schedule_id, sfa_occurrence_date)",
            "A visit schedule plans one visit per date.",
        ),
    ]

    @api.depends("sfa_kind")
    def _compute_sfa_state(self):
        for event in self:
            if not event.sfa_kind:
                event.sfa_state = False
            elif not event.sfa_state:
                event.sfa_state = "planned"

    @api.depends("opportunity_id.partner_id")
    def _compute_sfa_partner_id(self):
        for event in self:
            if not event.sfa_partner_id and event.opportunity_id.partner_id:
                event.sfa_partner_id = (
                    event.opportunity_id.partner_id.commercial_partner_id
                )

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("sfa_state", "sfa_outcome")
    def _check_sfa_outcome(self):
        for event in self:
            if event.sfa_state == "done" and not (event.sfa_outcome or "").strip():
                raise ValidationError(
                    _(
                        "The customer work %(name)s is done: say its outcome.",
                        name=event.name,
                    )
                )

    @api.constrains("sfa_kind", "sfa_partner_id")
    def _check_sfa_partner(self):
        for event in self:
            if event.sfa_kind and not event.sfa_partner_id:
                raise ValidationError(
                    _(
                        "The customer work %(name)s needs a customer.",
                        name=event.name,
                    )
                )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def _protected_field_allowed(self, fname, value, creating):
        done = any(event.sfa_state == "done" for event in self)
        if fname == "sfa_state":
            # Planned, cancelled or missed as the calendar and the actions set them.
            return value != "done" and not done
        if fname == "sfa_kind" or fname in self._DONE_WORK_FIELDS:
            return not done or self._protected_value_unchanged(fname, value)
        if creating:
            return not value
        return self._protected_value_unchanged(fname, value)

    def _protected_fields_error(self, fnames):
        return AccessError(
            _(
                "Customer work is marked done, with its outcome, only with its Mark "
                "Done button, and done work stays as it was done (a sales manager "
                "corrects its date, salesperson or customer): you cannot set "
                "%(fields)s directly.",
                fields=", ".join(
                    self._fields[fname]._description_string(self.env)
                    for fname in fnames
                ),
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        # Planning customer work for someone else is changing their work.
        records._check_sfa_write_access()
        return records

    def write(self, vals):
        self._check_sfa_write_access()
        return super().write(vals)

    def unlink(self):
        self._check_sfa_write_access()
        return super().unlink()

    def _check_sfa_write_access(self):
        """Customer work is planned and changed by its salesperson, by whoever sees
        all sales documents, and by the regional managers of its customer's region."""
        if has_role(self.env, "sales_team.group_sale_salesman_all_leads"):
            return
        user = self.env.user
        others = self.filtered(lambda e: e.sfa_kind and e.user_id != user)
        if not others:
            return
        managed = user.sales_region_managed_ids
        if managed:
            scope = self.env["crm.sales.region"].search(
                [("id", "child_of", managed.ids)]
            )
            others = others.filtered(lambda e: e.sales_region_id not in scope)
        if others:
            raise AccessError(
                _(
                    "%(name)s is the customer work of %(owner)s: only they, their "
                    "managers and the regional managers of the customer can change it.",
                    name=others[0].name,
                    owner=others[0].user_id.name,
                )
            )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_sfa_done(self, outcome=None):
        """Mark planned (or missed) customer work done with its outcome; a call is
        logged in the call log (crm.phonecall), linked to the event."""
        outcome = (outcome or "").strip() or None
        for event in self:
            if not event.sfa_kind:
                raise UserError(
                    _("%(name)s is not a visit, call or meeting.", name=event.name)
                )
            if event.sfa_state not in ("planned", "missed"):
                raise UserError(
                    _(
                        "%(name)s is %(state)s: only planned or missed work can be "
                        "marked done.",
                        name=event.name,
                        state=dict(SFA_STATES)[event.sfa_state],
                    )
                )
        if not outcome and not all(self.mapped("sfa_outcome")):
            raise UserError(_("Say the outcome of the work to mark it done."))
        # Who may change this work may mark it done: the done state, its outcome and
        # the logged call are written as superuser, as only this action writes them.
        self.check_access("write")
        self._check_sfa_write_access()
        vals = {"sfa_state": "done", "sfa_date_done": fields.Datetime.now()}
        if outcome:
            vals["sfa_outcome"] = outcome
        events_su = self.sudo()
        events_su.write(vals)
        events_su.filtered(
            lambda e: e.sfa_kind == "call" and not e.phonecall_id
        )._sfa_log_calls()
        return True

    def action_sfa_cancel(self):
        for event in self:
            if event.sfa_state != "planned":
                raise UserError(
                    _("Only planned work can be cancelled (%(name)s).", name=event.name)
                )
        self.write({"sfa_state": "cancelled"})
        return True

    def action_sfa_replan(self):
        """Missed or cancelled work back to planned (once moved in the calendar)."""
        self.filtered(lambda e: e.sfa_state in ("missed", "cancelled")).write(
            {"sfa_state": "planned"}
        )
        return True

    def action_open_sfa_done_wizard(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Mark Done"),
            "res_model": "crm.sfa.done.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": self._name, "active_ids": self.ids},
        }

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _sfa_log_calls(self):
        """One held call in the call log per event, created together (in the name of
        the event's salesperson: called by action_sfa_done as superuser)."""
        calls = self.env["crm.phonecall"].create(
            [
                {
                    "name": event.name,
                    "partner_id": event.sfa_partner_id.id,
                    "opportunity_id": event.opportunity_id.id,
                    "user_id": event.user_id.id,
                    "date": event.start,
                    "duration": (event.duration or 0.0) * 60,
                    "description": event.sfa_outcome,
                    "state": "done",
                    "direction": "out",
                }
                for event in self
            ]
        )
        for event, call in zip(self, calls, strict=True):
            event.phonecall_id = call

    @api.model
    def _cron_mark_missed(self):
        """Planned work whose end has passed becomes missed, a batch at a time."""
        domain = [("sfa_state", "=", "planned"), ("stop", "<", fields.Datetime.now())]
        events = self.search(domain, limit=MISSED_BATCH, order="stop, id")
        events.write({"sfa_state": "missed"})
        remaining = self.search_count(domain) if len(events) == MISSED_BATCH else 0
        self.env["ir.cron"]._notify_progress(done=len(events), remaining=remaining)
        return events

    # ------------------------------------------------------------
    # CONTACT CADENCE
    # ------------------------------------------------------------

    def _contact_feedbacks(self):
        """Done work is a contact: its customer's follow-ups note the work (the
        latest of its customer here)."""
        done = self.filtered(
            lambda e: e.sfa_state == "done" and e.active and e.sfa_partner_id
        )
        if not done:
            return {}
        kinds = dict(self._fields["sfa_kind"]._description_selection(self.env))
        feedbacks = {}
        for event in done.sorted("start"):
            feedbacks[event.sfa_partner_id.commercial_partner_id.id] = _(
                "%(kind)s done: %(name)s",
                kind=kinds.get(event.sfa_kind),
                name=event.name,
            )
        return feedbacks

    # ------------------------------------------------------------
    # BONUS
    # ------------------------------------------------------------

    def _bonus_statement_keys(self):
        return [
            (rec.user_id.id, None, rec.start and rec.start.date())
            for rec in self
            if rec.sfa_state == "done" and rec.sfa_kind in ("visit", "call")
        ]
