import heapq
import re
from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_datetime, format_duration
from odoo.tools.safe_eval import safe_eval

from odoo.addons.phone_validation.tools import phone_validation

from ..roles import has_role
from ..text import name_list

try:
    import phonenumbers
except ImportError:  # phone_validation then leaves numbers as they are
    phonenumbers = None

# States of a list whose entries are being called: a partner on such a list is left out
# of every other list that is built.
ACTIVE_STATES = ("running", "paused")
# A number written in E.164 already: checked with one parse (see _format_number).
E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")


class CrmCallList(models.Model):
    _name = "crm.call.list"
    _description = "Call List"
    _inherit = ["mail.thread"]
    _order = "state_sequence, id desc"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
        tracking=True,
    )
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("running", "Running"),
            ("paused", "Paused"),
            ("done", "Closed"),
        ],
        string="Status",
        default="draft",
        required=True,
        copy=False,
        tracking=True,
        index=True,
    )
    state_sequence = fields.Integer(compute="_compute_state_sequence", store=True)

    # What to call
    source = fields.Selection(
        [("partner", "Customers and Contacts"), ("lead", "Opportunities")],
        default="partner",
        required=True,
        help="Call customers and contacts, or the opportunities matching the filter "
        "(one entry per customer, the most promising opportunity).",
    )
    filter_model = fields.Char(compute="_compute_filter_model")
    filter_domain = fields.Char(
        string="Filter",
        default="[]",
        help="Which customers or opportunities to call, on top of the options below.",
    )
    region_ids = fields.Many2many(
        "crm.sales.region",
        "crm_call_list_region_rel",
        "call_list_id",
        "region_id",
        string="Regions",
        help="Only customers of these sales regions (sub-regions included).",
    )
    category_ids = fields.Many2many(
        "res.partner.category",
        "crm_call_list_category_rel",
        "call_list_id",
        "category_id",
        string="Customer Tags",
        help="Only customers with one of these tags.",
    )
    lead_tag_ids = fields.Many2many(
        "crm.tag",
        "crm_call_list_lead_tag_rel",
        "call_list_id",
        "tag_id",
        string="Opportunity Tags",
        help="Only opportunities with one of these tags.",
    )
    salesperson_ids = fields.Many2many(
        "res.users",
        "crm_call_list_salesperson_rel",
        "call_list_id",
        "user_id",
        string="Salespeople",
        help="Only customers or opportunities of these salespeople.",
    )
    not_contacted_days = fields.Integer(
        string="Not Contacted For (Days)",
        help="Only customers whose last contact is older than this many days, or who "
        "were never contacted. 0: no condition.",
    )
    never_ordered = fields.Boolean(
        help="Only customers without any confirmed sales order."
    )
    has_open_opportunity = fields.Boolean(
        string="Has an Open Opportunity",
        help="Only customers with an open (not won, not lost) opportunity.",
    )

    # How to call
    agent_ids = fields.Many2many(
        "res.users",
        "crm_call_list_agent_rel",
        "call_list_id",
        "user_id",
        string="Agents",
        domain=lambda self: [
            ("share", "=", False),
            ("groups_id", "in", self.env.ref("crm_extended.group_telesales_agent").id),
        ],
        tracking=True,
    )
    distribution_method = fields.Selection(
        [
            ("round_robin", "Round Robin"),
            ("region", "By Region"),
            ("capacity", "By Capacity"),
        ],
        default="round_robin",
        required=True,
        help="Round robin: every agent gets as many entries (one more at most). By "
        "region: agents call the customers of the regions they serve, the rest goes "
        "round robin. By capacity: in proportion to each agent's calls per day.",
    )
    max_attempts = fields.Integer(
        default=3, help="Calls without reaching the customer before the entry fails."
    )
    retry_delay_hours = fields.Float(
        string="Retry After (Hours)",
        default=4.0,
        help="Time before an unanswered or busy number is called again.",
    )
    call_hour_from = fields.Float(
        string="Calling From", default=9.0, help="In the agent's time zone."
    )
    call_hour_to = fields.Float(
        string="Calling Until", default=18.0, help="In the agent's time zone."
    )
    release_delay_minutes = fields.Integer(
        string="Release After (Minutes)",
        default=30,
        help="A call reserved by an agent and left without an outcome this long (since "
        "it was reserved, or since its call started) goes back to the queue, for any "
        "agent of the list: an agent who closed the browser keeps no customer. "
        "0: never.",
    )
    date_start = fields.Datetime(string="Started", readonly=True, copy=False)
    date_done = fields.Datetime(string="Closed", readonly=True, copy=False)

    # Entries and progress
    entry_ids = fields.One2many("crm.call.list.entry", "call_list_id")
    entry_count = fields.Integer(compute="_compute_progress")
    pending_count = fields.Integer(compute="_compute_progress", string="To Call")
    in_progress_count = fields.Integer(compute="_compute_progress", string="In Call")
    callback_count = fields.Integer(compute="_compute_progress", string="Callbacks")
    done_count = fields.Integer(compute="_compute_progress", string="Done")
    failed_count = fields.Integer(compute="_compute_progress", string="Failed")
    skipped_count = fields.Integer(compute="_compute_progress", string="Skipped")
    unassigned_count = fields.Integer(
        compute="_compute_progress",
        string="Unassigned",
        help="Entries of no agent: the list's common pool, which any of its agents "
        "takes with Next Call.",
    )
    progress = fields.Float(
        compute="_compute_progress",
        help="Share of the entries that are finished (done, failed or skipped).",
    )

    @api.depends("state")
    def _compute_state_sequence(self):
        order = {"running": 1, "paused": 2, "draft": 3, "done": 4}
        for call_list in self:
            call_list.state_sequence = order.get(call_list.state, 5)

    @api.depends("source")
    def _compute_filter_model(self):
        for call_list in self:
            call_list.filter_model = (
                "crm.lead" if call_list.source == "lead" else "res.partner"
            )

    def _compute_progress(self):
        counts = defaultdict(int)
        for call_list, state, agent, count in self.env[
            "crm.call.list.entry"
        ]._read_group(
            [("call_list_id", "in", self.ids)],
            ["call_list_id", "state", "agent_id"],
            ["__count"],
        ):
            counts[call_list.id, state] += count
            counts[call_list.id, "all"] += count
            if not agent:
                counts[call_list.id, "unassigned"] += count
        for call_list in self:
            key = call_list.id
            call_list.entry_count = counts[key, "all"]
            call_list.pending_count = counts[key, "pending"]
            call_list.in_progress_count = counts[key, "in_progress"]
            call_list.callback_count = counts[key, "callback"]
            call_list.done_count = counts[key, "done"]
            call_list.failed_count = counts[key, "failed"]
            call_list.skipped_count = counts[key, "skipped"]
            call_list.unassigned_count = counts[key, "unassigned"]
            finished = (
                counts[key, "done"] + counts[key, "failed"] + counts[key, "skipped"]
            )
            call_list.progress = (
                100.0 * finished / counts[key, "all"] if counts[key, "all"] else 0.0
            )

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("max_attempts", "retry_delay_hours", "not_contacted_days")
    def _check_attempts(self):
        for call_list in self:
            if call_list.max_attempts < 1:
                raise ValidationError(
                    _("A call list needs at least one attempt per entry.")
                )
            if call_list.retry_delay_hours < 0 or call_list.not_contacted_days < 0:
                raise ValidationError(
                    _(
                        "The retry delay and the days without contact cannot be "
                        "negative."
                    )
                )

    @api.constrains("release_delay_minutes")
    def _check_release_delay(self):
        if any(call_list.release_delay_minutes < 0 for call_list in self):
            raise ValidationError(
                _("The release time of reserved calls cannot be negative (0: never).")
            )

    @api.constrains("call_hour_from", "call_hour_to")
    def _check_call_hours(self):
        for call_list in self:
            if not (0 <= call_list.call_hour_from < call_list.call_hour_to <= 24):
                raise ValidationError(
                    _(
                        "The calling hours of %(name)s must be within the day and "
                        "start before they end.",
                        name=call_list.name,
                    )
                )

    @api.constrains("filter_domain", "source")
    def _check_filter_domain(self):
        for call_list in self:
            call_list._filter_domain()

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def write(self, vals):
        res = super().write(vals)
        if "agent_ids" in vals:
            # Agents joined or left a list being called: hand the untouched entries
            # out again; entries already worked stay with their agent.
            self.filtered(lambda c: c.state in ACTIVE_STATES)._distribute()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_called(self):
        called = self.filtered(lambda call_list: call_list.state != "draft")
        if called:
            raise UserError(
                _(
                    "Call lists that have been called cannot be deleted, archive them "
                    "instead: %(lists)s.",
                    lists=name_list(self.env, called.mapped("name")),
                )
            )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_build(self):
        # Sales managers build lists (the write access is theirs): checked before
        # the entries are replaced in SQL.
        self.check_access("write")
        for call_list in self:
            if call_list.state != "draft":
                raise UserError(
                    _(
                        "Only a draft call list can be built: %(name)s is not a draft.",
                        name=call_list.name,
                    )
                )
            call_list._build()
        return True

    def action_distribute(self):
        # Sales managers distribute (the write access is theirs): checked before
        # the entries are handed out in SQL.
        self.check_access("write")
        for call_list in self:
            if call_list.state == "done":
                raise UserError(
                    _(
                        "The call list %(name)s is closed: it cannot be distributed.",
                        name=call_list.name,
                    )
                )
            call_list._check_agents()
        self._distribute()
        return True

    def action_start(self):
        self.check_access("write")
        for call_list in self:
            if call_list.state not in ("draft", "paused"):
                raise UserError(
                    _(
                        "Only a draft or paused call list can be started: %(name)s is "
                        "%(state)s.",
                        name=call_list.name,
                        state=dict(self._fields["state"].selection)[call_list.state],
                    )
                )
            call_list._check_agents()
            if not call_list.entry_ids:
                raise UserError(
                    _(
                        "The call list %(name)s has no entries: build it first.",
                        name=call_list.name,
                    )
                )
        self.filtered(lambda c: c.state == "draft").date_start = fields.Datetime.now()
        self.write({"state": "running"})
        return True

    def action_pause(self):
        self.check_access("write")
        not_running = self.filtered(lambda call_list: call_list.state != "running")
        if not_running:
            raise UserError(
                _(
                    "Only running call lists can be paused, not %(lists)s.",
                    lists=name_list(self.env, not_running.mapped("name")),
                )
            )
        self.write({"state": "paused"})
        return True

    def action_done(self):
        self.check_access("write")
        closed = self.filtered(lambda call_list: call_list.state == "done")
        if closed:
            raise UserError(
                _(
                    "Closed already: %(lists)s.",
                    lists=name_list(self.env, closed.mapped("name")),
                )
            )
        self.write({"state": "done", "date_done": fields.Datetime.now()})
        return True

    def action_open_entries(self):
        """The list's entries; with ``crm_call_list_entry_state`` in the context (the
        counters of the form), those of that state only."""
        self.ensure_one()
        self.check_access("read")
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.crm_call_list_entry_action"
        )
        action["domain"] = [("call_list_id", "=", self.id)]
        action["context"] = {
            "default_call_list_id": self.id,
            "search_default_group_agent": 1,
        }
        states = dict(
            self.env["crm.call.list.entry"]
            ._fields["state"]
            ._description_selection(self.env)
        )
        state = self.env.context.get("crm_call_list_entry_state")
        if state in states:
            action["domain"].append(("state", "=", state))
            action["name"] = states[state]
        return action

    # ------------------------------------------------------------
    # BUSINESS: the agents' queues
    # ------------------------------------------------------------

    @api.model
    def _no_call_due_message(self):
        """Why "Next call" finds no call due for the current user, and what to do:
        they are the agent of no running list (or their lists are paused), every
        call is made, the calling hours are over or to come, or the next call's
        time is to come. Read when the queue is empty only: a few queries."""
        user = self.env.user
        now = fields.Datetime.now()
        # The user's lists and the entries of their queue are counted as superuser,
        # as the queue is read: only their names and counts are told.
        lists_su = self.sudo().search(
            [
                ("agent_ids", "in", user.id),
                ("state", "in", ACTIVE_STATES),
                ("company_id", "in", user.company_ids.ids),
            ],
            order="name, id",
        )
        running_su = lists_su.filtered(lambda call_list: call_list.state == "running")
        paused_su = lists_su - running_su
        if not running_su and paused_su:
            return _(
                "No call is due: your call lists are paused (%(lists)s). Their calls "
                "come back to your queue when a sales manager resumes them.",
                lists=name_list(self.env, paused_su.mapped("name")),
            )
        if not running_su and has_role(self.env, "sales_team.group_sale_manager"):
            return _(
                "No call is due: you are not an agent of any running call list. Add "
                "yourself to the agents of a call list to take its calls."
            )
        if not running_su:
            return _(
                "No call is due: you are not an agent of any running call list. A "
                "sales manager adds you to the agents of a call list; its calls then "
                "come to your queue."
            )
        Entry_su = self.env["crm.call.list.entry"].sudo()
        queue = [
            ("call_list_id", "in", running_su.ids),
            ("state", "in", ("pending", "callback")),
            "|",
            ("agent_id", "=", user.id),
            ("agent_id", "=", False),
        ]
        groups = Entry_su._read_group(queue, ["call_list_id"], ["__count"])
        if not groups:
            return _(
                "No call is due: every call of your running call lists is made "
                "(%(lists)s).",
                lists=name_list(self.env, running_su.mapped("name")),
            )
        reasons = []
        hour = Entry_su._local_hour(user, now)
        closed = [
            call_list
            for call_list, __ in groups
            if not call_list.call_hour_from <= hour < call_list.call_hour_to
        ]
        if closed:
            reasons.append(
                _(
                    "Outside the calling hours, in your time zone: %(lists)s.",
                    lists=name_list(
                        self.env,
                        [
                            _(
                                "%(list)s calls from %(start)s to %(end)s",
                                list=call_list.name,
                                start=format_duration(call_list.call_hour_from),
                                end=format_duration(call_list.call_hour_to),
                            )
                            for call_list in closed
                        ],
                    ),
                )
            )
        # Due now and within the hours, yet not given: held back by the queue.
        held_count = Entry_su.search_count(
            [
                *queue,
                "|",
                ("date_next_attempt", "=", False),
                ("date_next_attempt", "<=", now),
                "|",
                ("state", "=", "callback"),
                ("call_list_id", "not in", [call_list.id for call_list in closed]),
            ]
        )
        if held_count:
            reasons.append(
                _(
                    "Calls due now but held back: %(count)s. Their customers do not "
                    "want to be called or their numbers are blacklisted (a sales "
                    "manager takes them off the list), or another agent is taking "
                    "them this very moment.",
                    count=held_count,
                )
            )
        next_su = Entry_su.search(
            [*queue, ("date_next_attempt", ">", now)],
            order="date_next_attempt, id",
            limit=1,
        )
        if next_su:
            reasons.append(
                _(
                    "The next call, %(customer)s, is due on %(when)s.",
                    customer=next_su.partner_id.display_name or next_su.phone,
                    when=format_datetime(
                        self.env,
                        next_su.date_next_attempt,
                        tz=user.tz or "UTC",
                        dt_format="short",
                    ),
                )
            )
        return _("No call is due now. %(reasons)s", reasons=" ".join(reasons))

    # ------------------------------------------------------------
    # BUSINESS: building
    # ------------------------------------------------------------

    def _check_agents(self):
        for call_list in self:
            if not call_list.agent_ids:
                raise UserError(
                    _(
                        "The call list %(name)s has no agents: add the telesales "
                        "agents who call it.",
                        name=call_list.name,
                    )
                )

    def _filter_domain(self):
        """The list's own filter as a domain of its source model."""
        self.ensure_one()
        try:
            domain = safe_eval(
                self.filter_domain or "[]",
                {"uid": self.env.uid, "context_today": fields.Date.context_today},
            )
            # Builds the query, which checks the fields, without running it.
            self.env[self.filter_model]._search(domain)
        except Exception as error:  # noqa: BLE001 - every bad filter is a user error
            raise ValidationError(
                _(
                    "The filter of the call list %(name)s is not valid: %(error)s",
                    name=self.name,
                    error=error,
                )
            ) from error
        return domain

    def _source_domain(self):
        """Filter and ready options as one domain on the source model."""
        self.ensure_one()
        lead = self.source == "lead"
        partner = "partner_id." if lead else ""
        domain = list(self._filter_domain())
        if self.region_ids:
            domain.append(("sales_region_id", "child_of", self.region_ids.ids))
        if self.category_ids:
            domain.append((f"{partner}category_id", "in", self.category_ids.ids))
        if lead and self.lead_tag_ids:
            domain.append(("tag_ids", "in", self.lead_tag_ids.ids))
        if self.salesperson_ids:
            domain.append(("user_id", "in", self.salesperson_ids.ids))
        if self.not_contacted_days:
            since = fields.Datetime.now() - timedelta(days=self.not_contacted_days)
            last = f"{partner}commercial_partner_id.date_last_contact"
            domain += ["|", (last, "=", False), (last, "<", since)]
        return domain

    def _candidates_sql(self):
        """The partners (and opportunities) to call with their numbers, the country
        to read them in, and why they are left out: one query over the ORM's search
        of the source model, so that the user's record rules apply."""
        self.ensure_one()
        model = self.env[self.filter_model]
        subquery = model._search(self._source_domain()).subselect()
        other_lists = SQL(
            """EXISTS (
                SELECT 1 FROM crm_call_list_entry oe
                JOIN crm_call_list ol ON ol.id = oe.call_list_id
                WHERE oe.partner_id = p.id AND ol.id != %s AND ol.state IN %s
            )""",
            self.id,
            ACTIVE_STATES,
        )
        conditions = []
        if self.never_ordered:
            conditions.append(
                SQL(
                    """NOT EXISTS (
                        SELECT 1 FROM sale_order so
                        JOIN res_partner sp ON sp.id = so.partner_id
                        WHERE sp.commercial_partner_id = p.commercial_partner_id
                          AND so.state = 'sale'
                    )"""
                )
            )
        if self.has_open_opportunity:
            conditions.append(
                SQL(
                    """EXISTS (
                        SELECT 1 FROM crm_lead ol
                        JOIN res_partner lp ON lp.id = ol.partner_id
                        LEFT JOIN crm_stage os ON os.id = ol.stage_id
                        WHERE lp.commercial_partner_id = p.commercial_partner_id
                          AND ol.active AND ol.type = 'opportunity'
                          AND NOT COALESCE(os.is_won, FALSE)
                    )"""
                )
            )
        where = SQL(" AND ").join(conditions) if conditions else SQL("TRUE")
        if self.source == "lead":
            # One entry per customer: its most promising opportunity.
            return SQL(
                """SELECT DISTINCT ON (COALESCE(l.partner_id, -l.id))
                       l.partner_id, l.id,
                       COALESCE(NULLIF(l.phone, ''), p.phone),
                       COALESCE(NULLIF(l.mobile, ''), p.mobile),
                       c.code, c.phone_code,
                       COALESCE(l.sales_region_id, p.sales_region_id),
                       COALESCE(l.priority, '0'),
                       COALESCE(p.call_do_not_call OR cp.call_do_not_call, FALSE),
                       (%(other_lists)s OR EXISTS (
                           SELECT 1 FROM crm_call_list_entry le
                           JOIN crm_call_list ll ON ll.id = le.call_list_id
                           WHERE le.lead_id = l.id AND ll.id != %(list_id)s
                             AND ll.state IN %(active)s))
                  FROM crm_lead l
             LEFT JOIN res_partner p ON p.id = l.partner_id
             LEFT JOIN res_partner cp ON cp.id = p.commercial_partner_id
             LEFT JOIN res_country c
                    ON c.id = COALESCE(l.country_id, p.country_id, cp.country_id)
                 WHERE l.id IN %(subquery)s AND %(where)s
              ORDER BY COALESCE(l.partner_id, -l.id), l.priority DESC, l.id DESC""",
                other_lists=other_lists,
                list_id=self.id,
                active=ACTIVE_STATES,
                subquery=subquery,
                where=where,
            )
        return SQL(
            """SELECT p.id, NULL::integer, p.phone, p.mobile, c.code, c.phone_code,
                      p.sales_region_id, '0',
                      COALESCE(p.call_do_not_call OR cp.call_do_not_call, FALSE),
                      %(other_lists)s
                 FROM res_partner p
                 JOIN res_partner cp ON cp.id = p.commercial_partner_id
            LEFT JOIN res_country c ON c.id = COALESCE(p.country_id, cp.country_id)
                WHERE p.id IN %(subquery)s AND %(where)s
             ORDER BY p.id""",
            other_lists=other_lists,
            subquery=subquery,
            where=where,
        )

    def _build(self):
        """Fill the list from its filter and options, set-based.

        One query reads the candidates with their numbers and exclusion flags; the
        numbers are formatted to E.164 in Python with Odoo's phone validation (the
        phonenumbers library has no SQL counterpart); one query reads which of them
        are blacklisted; the entries go in with one INSERT ... SELECT FROM unnest() of
        arrays: a constant number of queries whatever the size of the list.
        Building a draft list again replaces its entries.
        """
        self.ensure_one()
        self.env.flush_all()
        rows = self.env.execute_query(self._candidates_sql())
        if not rows:
            raise UserError(
                _(
                    "No customer matches the filter and options of the call list "
                    "%(name)s: widen the filter.",
                    name=self.name,
                )
            )
        company_country = self.company_id.country_id
        excluded = defaultdict(int)
        candidates = []
        formatted = {}
        for row in rows:
            partner_id, lead_id, phone, mobile, code, phone_code = row[:6]
            region_id, priority, do_not_call, elsewhere = row[6:]
            if do_not_call:
                excluded["do_not_call"] += 1
                continue
            if elsewhere:
                excluded["other_list"] += 1
                continue
            if not code:
                code, phone_code = company_country.code, company_country.phone_code
            numbers = []
            for raw in (phone, mobile):
                if not raw:
                    continue
                key = (raw, code)
                if key not in formatted:
                    formatted[key] = self._format_number(raw, code, phone_code)
                if formatted[key]:
                    numbers.append(formatted[key])
            if not numbers:
                excluded["no_phone"] += 1
                continue
            candidates.append((partner_id, lead_id, numbers, region_id, priority))
        all_numbers = list({n for candidate in candidates for n in candidate[2]})
        blacklisted = {
            number
            for (number,) in self.env.execute_query(
                SQL(
                    "SELECT number FROM phone_blacklist "
                    "WHERE active AND number = ANY(%s::varchar[])",
                    all_numbers,
                )
            )
        }
        values = []
        for partner_id, lead_id, numbers, region_id, priority in candidates:
            if blacklisted.intersection(numbers):
                excluded["blacklisted"] += 1
                continue
            values.append((partner_id, lead_id, numbers[0], region_id, priority))
        if not values:
            raise UserError(
                _(
                    "All %(count)s customers matching the call list %(name)s are "
                    "excluded (no usable phone number, blacklisted, do not call or "
                    "on another running list).",
                    count=len(rows),
                    name=self.name,
                )
            )
        self.env.execute_query(
            SQL("DELETE FROM crm_call_list_entry WHERE call_list_id = %s", self.id)
        )
        now = fields.Datetime.now()
        partner_ids, lead_ids, phones, region_ids, priorities = map(
            list, zip(*values, strict=True)
        )
        self.env.execute_query(
            SQL(
                """INSERT INTO crm_call_list_entry
                    (call_list_id, company_id, partner_id, lead_id, phone,
                     sales_region_id, priority, state, attempt_count,
                     create_uid, create_date, write_uid, write_date)
                SELECT %s, %s, v.partner_id, v.lead_id, v.phone, v.region_id,
                       v.priority, 'pending', 0, %s, %s, %s, %s
                  FROM unnest(%s::int[], %s::int[], %s::varchar[], %s::int[],
                              %s::varchar[])
                       WITH ORDINALITY AS v(partner_id, lead_id, phone, region_id,
                                            priority, n)
              ORDER BY v.n
                ON CONFLICT DO NOTHING""",
                self.id,
                self.company_id.id,
                self.env.uid,
                now,
                self.env.uid,
                now,
                partner_ids,
                lead_ids,
                phones,
                region_ids,
                priorities,
            )
        )
        self.env["crm.call.list.entry"].invalidate_model()
        self.invalidate_recordset(["entry_ids"])
        self.message_post(
            body=_(
                "List built: %(count)s entries. Left out: %(no_phone)s without a "
                "usable phone number, %(blacklisted)s blacklisted, %(do_not_call)s "
                "do not call, %(other_list)s on another running list.",
                count=len(values),
                no_phone=excluded["no_phone"],
                blacklisted=excluded["blacklisted"],
                do_not_call=excluded["do_not_call"],
                other_list=excluded["other_list"],
            )
        )
        return excluded

    @api.model
    def _format_number(self, number, country_code, country_phone_code):
        """The number in E.164, or False when it cannot be read.

        A number already written in E.164 (as most stored numbers are) that is valid
        as it is takes one parse: Odoo's phone_format parses every number twice with a
        formatting in between, which made most of the time of building a large list.
        Any other number, and an E.164 one that is not valid as written (phone_format
        repairs some, e.g. a trunk prefix after the country code), goes through
        phone_format.
        """
        if phonenumbers and E164_RE.fullmatch(number):
            try:
                parsed = phonenumbers.parse(number)
            except phonenumbers.NumberParseException:
                parsed = None
            if parsed and phonenumbers.is_valid_number(parsed):
                return phonenumbers.format_number(
                    parsed, phonenumbers.PhoneNumberFormat.E164
                )
        try:
            return phone_validation.phone_format(
                number,
                country_code,
                country_phone_code,
                force_format="E164",
                raise_exception=True,
            )
        except UserError:
            return False

    # ------------------------------------------------------------
    # BUSINESS: distribution
    # ------------------------------------------------------------

    def _distribute(self):
        """Hand the list's untouched entries (pending, never attempted) to its
        agents: one read of those entries, the assignment in memory, one UPDATE of
        the entries whose agent changes."""
        Entry = self.env["crm.call.list.entry"]
        for call_list in self:
            call_list._check_agents()
            rows = self.env.execute_query(
                SQL(
                    """SELECT id, agent_id, sales_region_id FROM crm_call_list_entry
                        WHERE call_list_id = %s AND state = 'pending'
                          AND attempt_count = 0
                     ORDER BY priority DESC, id""",
                    call_list.id,
                )
            )
            agents = call_list.agent_ids.sorted("id")
            if call_list.distribution_method == "region":
                assignment = call_list._assign_by_region(rows, agents)
            else:
                weights = {agent.id: 1 for agent in agents}
                if call_list.distribution_method == "capacity" and any(
                    agent.call_capacity > 0 for agent in agents
                ):
                    weights = {
                        agent.id: max(agent.call_capacity, 0) for agent in agents
                    }
                assignment = call_list._assign_weighted(rows, weights)
            changes = [
                (entry_id, assignment[entry_id])
                for entry_id, agent_id, _region in rows
                if assignment[entry_id] != agent_id
            ]
            if changes:
                ids, agent_ids = zip(*changes, strict=True)
                self.env.execute_query(
                    SQL(
                        """UPDATE crm_call_list_entry e
                              SET agent_id = v.agent_id, write_uid = %s,
                                  write_date = %s
                             FROM unnest(%s::int[], %s::int[]) AS v(id, agent_id)
                            WHERE e.id = v.id""",
                        self.env.uid,
                        fields.Datetime.now(),
                        list(ids),
                        list(agent_ids),
                    )
                )
        Entry.invalidate_model(["agent_id", "write_uid", "write_date"])

    @api.model
    def _assign_weighted(self, rows, weights):
        """{entry id: agent id}, in proportion to the weights (largest remainders:
        agents of equal weight get counts that differ by one at most). Entries keep
        their agent while that agent is under its share, so that a change of agents
        moves as few entries as possible."""
        total = sum(weights.values())
        count = len(rows)
        quotas = {agent: count * weight / total for agent, weight in weights.items()}
        targets = {agent: int(quota) for agent, quota in quotas.items()}
        rest = count - sum(targets.values())
        for agent in sorted(quotas, key=lambda a: (-(quotas[a] - targets[a]), a))[
            :rest
        ]:
            targets[agent] += 1
        counts = defaultdict(int)
        assignment = {}
        loose = []
        for entry_id, agent_id, _region in rows:
            if agent_id in targets and counts[agent_id] < targets[agent_id]:
                assignment[entry_id] = agent_id
                counts[agent_id] += 1
            else:
                loose.append(entry_id)
        # The loose entries go round the agents that are under their share.
        loose.reverse()
        while loose:
            for agent in sorted(targets):
                if loose and counts[agent] < targets[agent]:
                    assignment[loose.pop()] = agent
                    counts[agent] += 1
        return assignment

    def _assign_by_region(self, rows, agents):
        """{entry id: agent id}: an entry of a region some agents serve (served
        regions include their sub-regions) goes to the least loaded of them; the
        others go to the least loaded agent of all."""
        Region = self.env["crm.sales.region"].with_context(active_test=False)
        served = defaultdict(list)
        for agent in agents:
            if agent.call_region_ids:
                for region in Region.search(
                    [("id", "child_of", agent.call_region_ids.ids)]
                ):
                    served[region.id].append(agent.id)
        counts = {agent.id: 0 for agent in agents}
        assignment = {}
        leftovers = []
        for entry_id, _agent_id, region_id in rows:
            eligible = served.get(region_id)
            if not eligible:
                leftovers.append(entry_id)
                continue
            agent_id = min(eligible, key=lambda a: (counts[a], a))
            assignment[entry_id] = agent_id
            counts[agent_id] += 1
        heap = [(count, agent_id) for agent_id, count in counts.items()]
        heapq.heapify(heap)
        for entry_id in leftovers:
            count, agent_id = heapq.heappop(heap)
            assignment[entry_id] = agent_id
            heapq.heappush(heap, (count + 1, agent_id))
        return assignment
