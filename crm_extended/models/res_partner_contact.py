from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

# Customers a run of the follow-up job handles at most, for each kind of work (new
# follow-ups, follow-ups to close); it reports the rest to the cron runner, which
# commits and calls it again.
FOLLOWUP_BATCH = 2000

# The last contact of a commercial entity comes from what happens with any of its
# members (itself and its contacts): done customer work, held calls, confirmed orders.
LAST_CONTACT_DEPENDS = [
    "commercial_partner_id",
    "commercial_member_ids",
    "commercial_member_ids.sfa_contact_event_ids.sfa_state",
    "commercial_member_ids.sfa_contact_event_ids.start",
    "commercial_member_ids.sfa_contact_event_ids.active",
    "commercial_member_ids.phonecall_ids.state",
    "commercial_member_ids.phonecall_ids.date",
    "commercial_member_ids.phonecall_ids.active",
    "commercial_member_ids.sale_order_ids.state",
    "commercial_member_ids.sale_order_ids.date_order",
]


class ResPartner(models.Model):
    """Contact cadence: how often a customer must be contacted (its tags, else its
    company's setting, or set by hand), its last contact (the done visits and calls,
    held phone calls and confirmed orders of the entity and its contacts), the next
    contact due, and the daily job that gives the salesperson of an overdue customer
    a follow-up and closes those no longer due. Done work and held phone calls close
    their customers' follow-ups at once: ``crm.contact.source.mixin``."""

    _inherit = "res.partner"

    # Contact cadence (commercial entities that are customers; contacts follow their
    # company: their calls, visits and orders count for it)
    contact_interval_days = fields.Integer(
        string="Contact Every (Days)",
        compute="_compute_contact_interval_days",
        store=True,
        readonly=False,
        help="How often this customer must be contacted; 0: no contact cadence. "
        "Defaults from its tags (the shortest interval wins), else from the company "
        "setting. Set by hand, it stays until 'set by hand' is cleared.",
    )
    contact_interval_manual = fields.Boolean(
        string="Interval Set by Hand",
        copy=False,
        help="The contact interval was chosen by a user and no longer follows the "
        "tags and the company setting.",
    )
    date_last_contact = fields.Datetime(
        string="Last Contact",
        compute="_compute_date_last_contact",
        store=True,
        copy=False,
        help="The last done visit, call or meeting, held phone call or confirmed order "
        "of this customer or one of its contacts.",
    )
    date_next_contact = fields.Date(
        string="Next Contact Due",
        compute="_compute_date_next_contact",
        store=True,
        index=True,
        copy=False,
        help="Last contact (or creation, if never contacted) plus the contact "
        "interval.",
    )
    is_contact_overdue = fields.Boolean(
        string="Contact Overdue",
        compute="_compute_is_contact_overdue",
        search="_search_is_contact_overdue",
    )
    # Itself and its contacts at any depth: the path the last contact depends through.
    commercial_member_ids = fields.One2many(
        "res.partner", "commercial_partner_id", string="Commercial Entity Members"
    )
    sfa_contact_event_ids = fields.One2many(
        "calendar.event", "sfa_partner_id", string="Customer Work"
    )

    @api.depends(
        "contact_interval_manual",
        "customer_rank",
        "commercial_partner_id",
        "company_id",
        "category_id.contact_interval_days",
    )
    def _compute_contact_interval_days(self):
        for partner in self.filtered(lambda p: not p.contact_interval_manual):
            partner.contact_interval_days = partner._contact_interval_default()

    @api.depends(*LAST_CONTACT_DEPENDS)
    def _compute_date_last_contact(self):
        entities = self.browse(
            partner._origin.id
            for partner in self
            if partner._origin.id
            and partner.commercial_partner_id._origin.id == partner._origin.id
        )
        latest = entities._contact_last_dates()
        for partner in self:
            partner.date_last_contact = latest.get(partner._origin.id, False)

    @api.depends("date_last_contact", "contact_interval_days", "create_date")
    def _compute_date_next_contact(self):
        for partner in self:
            start = partner.date_last_contact or partner.create_date
            if partner.contact_interval_days > 0 and start:
                partner.date_next_contact = start.date() + timedelta(
                    days=partner.contact_interval_days
                )
            else:
                partner.date_next_contact = False

    @api.depends("date_next_contact")
    def _compute_is_contact_overdue(self):
        today = fields.Date.context_today(self)
        for partner in self:
            partner.is_contact_overdue = bool(
                partner.date_next_contact and partner.date_next_contact < today
            )

    def _search_is_contact_overdue(self, operator, value):
        if operator not in ("=", "!="):
            return NotImplemented
        today = fields.Date.context_today(self)
        if (operator == "=") == bool(value):
            return [("date_next_contact", "<", today)]
        return [
            "|",
            ("date_next_contact", "=", False),
            ("date_next_contact", ">=", today),
        ]

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("contact_interval_days")
    def _check_contact_interval_days(self):
        for partner in self:
            if partner.contact_interval_days < 0:
                raise ValidationError(
                    _(
                        "The contact interval of %(name)s cannot be negative "
                        "(0: no contact cadence).",
                        name=partner.display_name,
                    )
                )

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _contact_interval_default(self):
        """The interval of this partner when nobody set it: the shortest of its tags,
        else its company's default; none for contacts and non-customers."""
        self.ensure_one()
        if self.commercial_partner_id != self or self.customer_rank <= 0:
            return 0
        intervals = [
            days
            for days in self.category_id.mapped("contact_interval_days")
            if days > 0
        ]
        if intervals:
            return min(intervals)
        return (self.company_id or self.env.company).crm_contact_interval_days

    def _contact_interval_mark_manual(self):
        """A written interval that differs from the default was set by hand (forms
        send the recomputed default back: that one is not)."""
        by_hand = self.filtered(
            lambda p: not p.contact_interval_manual
            and p.contact_interval_days != p._contact_interval_default()
        )
        if by_hand:
            by_hand.write({"contact_interval_manual": True})

    @api.model
    def _contact_interval_reset(self, companies):
        """Recompute the interval of the customers following these companies' default
        (and of those without a company)."""
        partners = self.with_context(active_test=False).search(
            [
                ("contact_interval_manual", "=", False),
                ("customer_rank", ">", 0),
                ("company_id", "in", [False, *companies.ids]),
            ]
        )
        for fname in ("contact_interval_days", "date_next_contact"):
            self.env.add_to_compute(self._fields[fname], partners)

    def _contact_last_dates(self):
        """{commercial entity id: its last contact} for these commercial entities:
        the latest done visit or call, or confirmed order, of the entity or of any
        of its contacts (archived ones too). One query whatever their number, the
        entities given as a literal array, which the planner counts."""
        if not self:
            return {}
        self.env["calendar.event"].flush_model(
            ["sfa_state", "active", "sfa_partner_id", "start"]
        )
        self.env["crm.phonecall"].flush_model(["state", "active", "partner_id", "date"])
        self.env["sale.order"].flush_model(["state", "partner_id", "date_order"])
        self.flush_model(["commercial_partner_id"])
        rows = self.env.execute_query(
            SQL(
                """SELECT m.commercial_partner_id, max(done.day)
                     FROM (SELECT e.sfa_partner_id AS partner_id, e.start AS day
                             FROM calendar_event e
                            WHERE e.sfa_state = 'done' AND e.active
                              AND e.sfa_partner_id IN %(members)s
                           UNION ALL
                           SELECT c.partner_id, c.date
                             FROM crm_phonecall c
                            WHERE c.state = 'done' AND c.active
                              AND c.partner_id IN %(members)s
                           UNION ALL
                           SELECT o.partner_id, o.date_order
                             FROM sale_order o
                            WHERE o.state = 'sale'
                              AND o.partner_id IN %(members)s
                          ) AS done
                     JOIN res_partner m ON m.id = done.partner_id
                    GROUP BY m.commercial_partner_id""",
                members=SQL(
                    "(SELECT id FROM res_partner "
                    "WHERE commercial_partner_id = ANY(%s))",
                    list(self.ids),
                ),
            )
        )
        return {entity_id: day for entity_id, day in rows if day}

    @api.model
    def _cron_contact_followups(self, batch_size=FOLLOWUP_BATCH):
        """One follow-up activity per overdue customer for its salesperson, and the
        open ones of customers no longer overdue marked done (those of a visit or call
        marked done, or a phone call held, are closed at once: ``_contact_logged``;
        the job closes the rest, e.g. after an order or a change of cadence).

        Resumable and idempotent: each run takes the next batch of work still to do (a
        customer without an open follow-up, a follow-up whose customer is no longer
        overdue), so that a run interrupted, or called again, never duplicates. A
        bounded number of queries per batch to create; it reports the rest to the cron
        runner, which commits and calls it again.
        """
        activity_type = self.env.ref(
            "crm_extended.mail_activity_type_contact_due", raise_if_not_found=False
        )
        if not activity_type:
            return 0
        self.env.flush_all()
        Activity = self.env["mail.activity"].with_context(
            mail_activity_quick_update=True
        )
        today = fields.Date.context_today(self)

        # Follow-ups of customers that were contacted since (or lost their cadence)
        closed = self._contact_followups_close(activity_type, today, limit=batch_size)

        # Overdue customers with a salesperson and no open follow-up yet
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id, p.user_id, p.date_next_contact
                  FROM (%(missing)s ORDER BY 1 LIMIT %(limit)s) AS missing
                  JOIN res_partner p ON p.id = missing.id
                 ORDER BY p.id
                """,
                missing=self._contact_followups_missing_sql(activity_type, today),
                limit=batch_size,
            )
        )
        rows = self.env.cr.fetchall()
        if rows:
            model_id = self.env["ir.model"]._get_id("res.partner")
            # Activities name their record one at a time: read the names at once.
            self.browse(row[0] for row in rows).with_env(Activity.sudo().env).mapped(
                "display_name"
            )
            Activity.create(
                [
                    {
                        "res_model_id": model_id,
                        "res_id": partner_id,
                        "activity_type_id": activity_type.id,
                        "summary": activity_type.summary or activity_type.name,
                        "user_id": user_id,
                        "date_deadline": date_next,
                    }
                    for partner_id, user_id, date_next in rows
                ]
            )

        done = closed + len(rows)
        remaining = 0
        if closed == batch_size or len(rows) == batch_size:
            remaining = self._contact_followups_remaining(activity_type, today)
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
    def _contact_logged(self, feedbacks):
        """A contact was just logged with these customers (a visit or call marked done,
        a phone call held): ``feedbacks`` is {commercial partner id: what was logged}.
        Their follow-ups that the new last contact makes no longer due are closed now,
        not at the next run of the daily job. A constant number of queries whatever
        the number of customers, and then the job's closing of each follow-up."""
        # The type's id from the cached XML id, no query (a deleted type takes its
        # XML id with it).
        type_id = self.env["ir.model.data"]._xmlid_to_res_id(
            "crm_extended.mail_activity_type_contact_due", raise_if_not_found=False
        )
        if not feedbacks or not type_id:
            return 0
        activity_type = self.env["mail.activity.type"].browse(type_id)
        # The closing reads these columns in SQL: the new last contact first.
        self.flush_model(
            ["active", "commercial_partner_id", "customer_rank", "date_next_contact"]
        )
        self.env["mail.activity"].flush_model(
            ["res_model", "res_id", "activity_type_id", "active"]
        )
        today = fields.Date.context_today(self)
        return self._contact_followups_close(activity_type, today, feedbacks=feedbacks)

    @api.model
    def _contact_followups_close(
        self, activity_type, today, limit=None, feedbacks=None
    ):
        """Mark done the open follow-ups of customers no longer overdue, the lowest
        customer ids first, at most ``limit``, with the feedback "contact logged";
        with ``feedbacks`` ({commercial partner id: feedback}) only those of these
        customers, each with its own feedback. Returns how many were closed.

        Shared by the daily job and by the work that logs a contact (visits, calls,
        phone calls): one query finds the follow-ups, then one ``action_feedback``
        per feedback text posts the usual message on each customer.
        """
        partner_ids = sorted(feedbacks) if feedbacks is not None else None
        self.env.cr.execute(
            SQL(
                """
                SELECT a.id, a.res_id
                  FROM (%(stale)s ORDER BY 1 LIMIT %(limit)s) AS stale
                  JOIN mail_activity a ON a.res_id = stale.res_id
                 WHERE a.res_model = 'res.partner'
                   AND a.activity_type_id = %(type)s
                   AND a.active
                 ORDER BY a.id
                 LIMIT %(limit)s
                """,
                type=activity_type.id,
                stale=self._contact_followups_stale_sql(
                    activity_type, today, partner_ids
                ),
                limit=limit,
            )
        )
        rows = self.env.cr.fetchall()
        by_feedback = defaultdict(list)
        logged = _("contact logged")
        for activity_id, partner_id in rows:
            by_feedback[(feedbacks or {}).get(partner_id, logged)].append(activity_id)
        # The follow-ups are the job's own system activities, and the job runs as the
        # superuser (its cron user is root): whoever logs the contact closes them as
        # the job would, also when they are assigned to another salesperson whose
        # customer they may not write. Only follow-ups the job would close on its
        # next run are selected above; the message is authored by the current user.
        activities_su = (
            self.env["mail.activity"]
            .sudo()
            .with_context(mail_activity_quick_update=True)
        )
        for feedback, activity_ids in by_feedback.items():
            activities_su.browse(activity_ids).action_feedback(feedback=feedback)
        return len(rows)

    @api.model
    def _contact_overdue_sql(self, today, alias="p"):
        """SQL condition: the partner under ``alias`` is a customer whose contact is
        overdue (the same rule as ``is_contact_overdue``, for customers)."""
        return SQL(
            """(%(p)s.active
                AND %(p)s.id = %(p)s.commercial_partner_id
                AND %(p)s.customer_rank > 0
                AND %(p)s.date_next_contact < %(today)s)""",
            p=SQL.identifier(alias),
            today=today,
        )

    # The two sets below are written as EXCEPT, not as (NOT) EXISTS: PostgreSQL
    # computes a set difference by hashing or sorting, in one pass whatever its
    # statistics say. An anti-join is planned from the statistics, and while a run
    # creates thousands of follow-ups (one transaction, or faster than autovacuum
    # analyses) they still say the table has none: the planner then chose a nested
    # loop that re-read every new follow-up for each customer, and each batch took
    # longer than the one before.

    @api.model
    def _contact_followups_open_sql(self, activity_type, partner_ids=None):
        return SQL(
            """SELECT a.res_id
                 FROM mail_activity a
                WHERE a.res_model = 'res.partner'
                  AND a.activity_type_id = %(type)s
                  AND a.active%(of_partners)s""",
            type=activity_type.id,
            of_partners=self._contact_partners_sql(
                SQL.identifier("a", "res_id"), partner_ids
            ),
        )

    @api.model
    def _contact_followups_stale_sql(self, activity_type, today, partner_ids=None):
        """Ids of partners with an open follow-up who are no longer overdue (only
        among ``partner_ids`` if given)."""
        return SQL(
            "%(open)s EXCEPT SELECT p.id FROM res_partner p WHERE %(overdue)s%(of)s",
            open=self._contact_followups_open_sql(activity_type, partner_ids),
            overdue=self._contact_overdue_sql(today),
            of=self._contact_partners_sql(SQL.identifier("p", "id"), partner_ids),
        )

    @api.model
    def _contact_partners_sql(self, column, partner_ids):
        """SQL: `` AND <column> = ANY(partner_ids)``, nothing when not given."""
        if partner_ids is None:
            return SQL()
        return SQL(" AND %s = ANY(%s)", column, list(partner_ids))

    @api.model
    def _contact_followups_missing_sql(self, activity_type, today):
        """Ids of overdue customers with an active salesperson and no open
        follow-up."""
        return SQL(
            """SELECT p.id
                 FROM res_partner p
                 JOIN res_users u ON u.id = p.user_id AND u.active
                WHERE %(overdue)s
               EXCEPT %(open)s""",
            overdue=self._contact_overdue_sql(today),
            open=self._contact_followups_open_sql(activity_type),
        )

    @api.model
    def _contact_followups_remaining(self, activity_type, today):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT (SELECT count(*) FROM (%(stale)s) AS stale)
                     + (SELECT count(*) FROM (%(missing)s) AS missing)
                """,
                stale=self._contact_followups_stale_sql(activity_type, today),
                missing=self._contact_followups_missing_sql(activity_type, today),
            )
        )
        return self.env.cr.fetchone()[0]
