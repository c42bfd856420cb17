from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column

# Newly stale opportunities a run of the daily job handles at most; it reports the
# rest to the cron runner, which commits and calls it again.
STALE_BATCH = 2000
# Opportunities a digest lists one by one (the totals count them all)
STALE_DIGEST_LINES = 50
# Messages on an opportunity that count as activity: notes, messages sent and
# received; and, whatever its type, the message of an activity marked done.
ACTIVITY_MESSAGE_TYPES = ("comment", "email")
# Set by the daily job only
STALE_JOB_FIELDS = ("date_last_activity", "stale_notice")


class CrmLead(models.Model):
    """Pipeline monitoring: when something last happened on an opportunity, how
    long it has been in its stage, whether it is stale (open, and nothing happened
    for longer than its stage allows), and the daily job that gives the owner of a
    newly stale opportunity an activity and the managers a digest of the stale ones
    in their scope."""

    _inherit = "crm.lead"

    # Pipeline monitoring
    days_in_stage = fields.Integer(
        string="Days in Stage",
        compute="_compute_days_in_stage",
        help="Days since the opportunity entered its current stage.",
    )
    date_last_activity = fields.Datetime(
        string="Last Activity",
        compute="_compute_date_last_activity",
        store=True,
        copy=False,
        help="The last call held, customer work done, message or note logged, or "
        "activity marked done on this opportunity.",
    )
    is_stale = fields.Boolean(
        string="Stale",
        compute="_compute_is_stale",
        search="_search_is_stale",
        help="Open opportunity on which nothing happened (no call, meeting, message, "
        "activity done or move to its stage) for longer than its stage allows.",
    )
    # What the daily job told about the opportunity's being stale: its owner got an
    # activity ("new"), then the managers a digest ("digest"); cleared once it is no
    # longer stale, so that it is told again when it goes stale again.
    stale_notice = fields.Selection(
        [("new", "Owner Told"), ("digest", "In a Digest")],
        readonly=True,
        copy=False,
    )

    def _auto_init(self):
        # A million existing opportunities get their last activity in one UPDATE,
        # not through the ORM's recomputation of a new stored field.
        if not column_exists(self.env.cr, "crm_lead", "date_last_activity"):
            create_column(self.env.cr, "crm_lead", "date_last_activity", "timestamp")
            self.env.cr.execute(
                SQL(
                    """UPDATE crm_lead l
                          SET date_last_activity = src.day
                         FROM (%s) AS src
                        WHERE src.lead_id = l.id""",
                    self._last_activity_sql(
                        None,
                        with_events=column_exists(
                            self.env.cr, "calendar_event", "sfa_state"
                        ),
                    ),
                )
            )
        return super()._auto_init()

    @api.depends("date_last_stage_update")
    @api.depends_context("tz")
    def _compute_days_in_stage(self):
        today = fields.Date.context_today(self)
        for lead in self:
            entered = lead.date_last_stage_update
            lead.days_in_stage = (
                (today - fields.Date.context_today(self, entered)).days
                if entered
                else 0
            )

    @api.depends(
        "phonecall_ids.state",
        "phonecall_ids.date",
        "phonecall_ids.active",
        "calendar_event_ids.sfa_state",
        "calendar_event_ids.start",
        "calendar_event_ids.active",
    )
    def _compute_date_last_activity(self):
        """One query for all the leads; messages trigger it from ``message_post``."""
        ids = [lead._origin.id for lead in self if lead._origin.id]
        latest = {}
        if ids:
            self.env["crm.phonecall"].flush_model(
                ["state", "date", "active", "opportunity_id"]
            )
            self.env["calendar.event"].flush_model(
                ["sfa_state", "start", "active", "opportunity_id"]
            )
            self.env["mail.message"].flush_model(
                ["model", "res_id", "message_type", "mail_activity_type_id", "date"]
            )
            latest = dict(self.env.execute_query(self._last_activity_sql(ids)))
        for lead in self:
            lead.date_last_activity = latest.get(lead._origin.id, False)

    @api.depends(
        "active",
        "type",
        "stage_id.is_won",
        "stage_id.stale_after_days",
        "date_last_activity",
        "date_last_stage_update",
    )
    def _compute_is_stale(self):
        now = fields.Datetime.now()
        for lead in self:
            lead.is_stale = lead._stale_since(now)

    def _search_is_stale(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(
                _(
                    "Search on Stale only as set or not set, not %(operator)s "
                    "%(value)s.",
                    operator=operator,
                    value=value,
                )
            )
        self._stale_flush()
        stale = SQL(
            "(SELECT l.id FROM crm_lead l JOIN crm_stage s ON s.id = l.stage_id "
            "WHERE %s)",
            self._stale_sql(fields.Datetime.now()),
        )
        return [("id", "in" if (operator == "=") == value else "not in", stale)]

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                self._check_stale_job_fields(vals)
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._check_stale_job_fields(vals)
        return super().write(vals)

    def _check_stale_job_fields(self, vals):
        refused = [fname for fname in STALE_JOB_FIELDS if fname in vals]
        if refused:
            raise AccessError(
                _(
                    "You cannot set %(fields)s of an opportunity: the system keeps "
                    "them from what happens on it.",
                    fields=", ".join(
                        self._fields[fname]._description_string(self.env)
                        for fname in refused
                    ),
                )
            )

    def message_post(self, **kwargs):
        message = super().message_post(**kwargs)
        if (
            message.message_type in ACTIVITY_MESSAGE_TYPES
            or message.mail_activity_type_id
        ):
            self.env.add_to_compute(self._fields["date_last_activity"], self)
        return message

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _stale_since(self, now):
        """Whether this opportunity is stale at ``now``: the rule of
        ``_stale_sql``, on one record."""
        self.ensure_one()
        days = self.stage_id.stale_after_days
        if not (
            self.active
            and self.type == "opportunity"
            and self.stage_id
            and not self.stage_id.is_won
            and days > 0
        ):
            return False
        dates = [
            day
            for day in (
                self.date_last_activity,
                self.date_last_stage_update,
                self.create_date,
            )
            if day
        ]
        return bool(dates) and max(dates) < now - timedelta(days=days)

    @api.model
    def _stale_flush(self):
        """Write pending changes of what ``_stale_sql`` reads."""
        self.flush_model(
            [
                "active",
                "type",
                "stage_id",
                "date_last_activity",
                "date_last_stage_update",
                "create_date",
            ]
        )
        self.env["crm.stage"].flush_model(["is_won", "stale_after_days"])

    @api.model
    def _stale_sql(self, now, lead="l", stage="s"):
        """SQL condition: the lead under alias ``lead``, joined to its stage under
        ``stage``, is stale at ``now``: an open opportunity of a stage with a stale
        delay, on which nothing happened (activity, move to its stage, creation)
        for longer than that delay."""
        lead, stage = SQL.identifier(lead), SQL.identifier(stage)
        return SQL(
            """(%(l)s.active AND %(l)s.type = 'opportunity'
                AND %(s)s.is_won IS NOT TRUE AND %(s)s.stale_after_days > 0
                AND GREATEST(%(l)s.date_last_activity, %(l)s.date_last_stage_update,
                             %(l)s.create_date)
                    < %(now)s::timestamp
                      - make_interval(days => %(s)s.stale_after_days))""",
            l=lead,
            s=stage,
            now=now,
        )

    @api.model
    def _last_activity_sql(self, lead_ids, with_events=True):
        """SQL: (lead id, last activity) of these leads (all when None): the
        latest held call, done customer work, logged message or activity done
        (without customer work when ``with_events`` is false: on installation,
        before its column exists)."""
        if lead_ids is None:
            of_message = of_event = of_call = SQL()
        else:
            ids = list(lead_ids)
            of_message = SQL(" AND m.res_id = ANY(%s)", ids)
            of_event = SQL(" AND e.opportunity_id = ANY(%s)", ids)
            of_call = SQL(" AND c.opportunity_id = ANY(%s)", ids)
        return SQL(
            """SELECT src.lead_id, max(src.day) AS day
                 FROM (SELECT m.res_id AS lead_id, m.date AS day
                         FROM mail_message m
                        WHERE m.model = 'crm.lead'
                          AND (m.message_type IN %(types)s
                               OR m.mail_activity_type_id IS NOT NULL)%(of_message)s
%(events)s
                       UNION ALL
                       SELECT c.opportunity_id, c.date
                         FROM crm_phonecall c
                        WHERE c.state = 'done' AND c.active
                          AND c.opportunity_id IS NOT NULL%(of_call)s
                      ) AS src
                 JOIN crm_lead lead ON lead.id = src.lead_id
                WHERE src.day IS NOT NULL
                GROUP BY src.lead_id""",
            types=ACTIVITY_MESSAGE_TYPES,
            of_message=of_message,
            events=SQL(
                """ UNION ALL
                       SELECT e.opportunity_id, e.start
                         FROM calendar_event e
                        WHERE e.sfa_state = 'done' AND e.active
                          AND e.opportunity_id IS NOT NULL%s""",
                of_event,
            )
            if with_events
            else SQL(),
            of_call=of_call,
        )

    # ------------------------------------------------------------
    # AUTOMATION
    # ------------------------------------------------------------

    @api.model
    def _cron_stale_opportunities(self, batch_size=STALE_BATCH):
        """Tell about newly stale opportunities: their owners get one activity
        each, then every sales manager and regional manager with newly stale
        opportunities in their scope a digest of all the stale ones there.

        Resumable and idempotent: an opportunity is told about once while it stays
        stale (``stale_notice``: "new" once its owner has his activity, "digest"
        once the managers had their digest; cleared when it is no longer stale). A
        run takes the next batch of newly stale ones (one query finds them, one
        ``create`` makes their activities) and reports the rest to the cron
        runner, which commits and calls it again; the digests go out when none is
        left. Run again on the same stale set, it creates and sends nothing.
        """
        activity_type = self.env.ref(
            "crm_extended.mail_activity_type_stale_opportunity",
            raise_if_not_found=False,
        )
        if not activity_type:
            return 0
        self.env.flush_all()
        now = fields.Datetime.now()
        # Forget what was told about those no longer stale
        self.env.cr.execute(
            SQL(
                """UPDATE crm_lead SET stale_notice = NULL
                    WHERE id IN (SELECT l.id FROM crm_lead l
                                  WHERE l.stale_notice IS NOT NULL
                                 EXCEPT
                                 SELECT l.id FROM crm_lead l
                                   JOIN crm_stage s ON s.id = l.stage_id
                                  WHERE l.stale_notice IS NOT NULL AND %s)""",
                self._stale_sql(now),
            )
        )
        # Newly stale: one query, at most a batch
        rows = self.env.execute_query(
            SQL(
                """SELECT l.id, u.id
                     FROM crm_lead l
                     JOIN crm_stage s ON s.id = l.stage_id
                LEFT JOIN res_users u ON u.id = l.user_id AND u.active
                    WHERE l.stale_notice IS NULL AND %(stale)s
                    ORDER BY l.id
                    LIMIT %(limit)s""",
                stale=self._stale_sql(now),
                limit=batch_size,
            )
        )
        if rows:
            self._stale_activities_create(activity_type, rows)
            self.env.cr.execute(
                SQL(
                    "UPDATE crm_lead SET stale_notice = 'new' WHERE id = ANY(%s)",
                    [lead_id for lead_id, _user_id in rows],
                )
            )
            self.invalidate_model(["stale_notice"])
        if len(rows) == batch_size:
            remaining = self.env.execute_query(
                SQL(
                    """SELECT count(*) FROM crm_lead l
                         JOIN crm_stage s ON s.id = l.stage_id
                        WHERE l.stale_notice IS NULL AND %s""",
                    self._stale_sql(now),
                )
            )[0][0]
            self.env["ir.cron"]._notify_progress(done=len(rows), remaining=remaining)
            return len(rows)
        sent = self._stale_digests_send()
        self.env["ir.cron"]._notify_progress(done=len(rows) + sent, remaining=0)
        return len(rows) + sent

    @api.model
    def _stale_activities_create(self, activity_type, rows):
        """One activity for the owner of each of these newly stale opportunities
        ((lead id, active owner id or None)) that has none open of the type yet,
        in one ``create``."""
        with_owner = [(lead_id, user_id) for lead_id, user_id in rows if user_id]
        if not with_owner:
            return
        # The literal array lets the planner count the leads of this batch.
        open_ids = {
            res_id
            for (res_id,) in self.env.execute_query(
                SQL(
                    """SELECT res_id FROM mail_activity
                        WHERE res_model = 'crm.lead' AND activity_type_id = %s
                          AND active AND res_id = ANY(%s)""",
                    activity_type.id,
                    [lead_id for lead_id, _user_id in with_owner],
                )
            )
        }
        todo = [row for row in with_owner if row[0] not in open_ids]
        if not todo:
            return
        Activity = (
            self.env["mail.activity"]
            .sudo()
            .with_context(mail_activity_quick_update=True)
        )
        # Activities name their record one at a time: read the names at once.
        self.browse(lead_id for lead_id, _user_id in todo).with_env(
            Activity.env
        ).mapped("display_name")
        model_id = self.env["ir.model"]._get_id("crm.lead")
        today = fields.Date.context_today(self)
        Activity.create(
            [
                {
                    "res_model_id": model_id,
                    "res_id": lead_id,
                    "activity_type_id": activity_type.id,
                    "summary": activity_type.summary or activity_type.name,
                    "user_id": user_id,
                    "date_deadline": today,
                }
                for lead_id, user_id in todo
            ]
        )

    @api.model
    def _stale_digest_recipients(self):
        """{user: domain of the opportunities in their scope}: sales managers see
        all those of their companies, regional managers those of the regions they
        manage and below."""
        Users = self.env["res.users"]
        managers = Users.search(
            [("groups_id", "in", self.env.ref("sales_team.group_sale_manager").id)]
        )
        regionals = Users.search(
            [
                (
                    "groups_id",
                    "in",
                    self.env.ref("crm_extended.group_regional_manager").id,
                ),
                ("sales_region_managed_ids", "!=", False),
                ("id", "not in", managers.ids),
            ]
        )
        scopes = {}
        for user in managers:
            scopes[user] = [("company_id", "in", [False, *user.company_ids.ids])]
        for user in regionals:
            scopes[user] = [
                ("company_id", "in", [False, *user.company_ids.ids]),
                ("sales_region_id", "child_of", user.sales_region_managed_ids.ids),
            ]
        return scopes

    @api.model
    def _stale_digests_send(self):
        """Send the digests of the opportunities told about as "new", then mark them
        as in a digest. Returns the number of digests sent."""
        template = self.env.ref(
            "crm_extended.mail_template_stale_digest", raise_if_not_found=False
        )
        Lead = self.sudo()
        if not template or not Lead.search_count(
            [("stale_notice", "=", "new")], limit=1
        ):
            return 0
        sent = 0
        for user, scope in self._stale_digest_recipients().items():
            stale_scope = [("stale_notice", "!=", False), *scope]
            if not Lead.search_count([("stale_notice", "=", "new"), *scope], limit=1):
                continue
            totals = Lead._read_group(
                stale_scope, ["company_id"], ["__count", "expected_revenue:sum"]
            )
            leads = Lead.search(
                stale_scope, order="date_last_activity, id", limit=STALE_DIGEST_LINES
            )
            template.with_context(
                stale_leads=leads,
                stale_totals=totals,
                stale_count=sum(count for _company, count, _sum in totals),
            ).send_mail(user.id, email_layout_xmlid="mail.mail_notification_light")
            sent += 1
        self.env.cr.execute(
            "UPDATE crm_lead SET stale_notice = 'digest' WHERE stale_notice = 'new'"
        )
        self.invalidate_model(["stale_notice"])
        return sent
