import re
from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from odoo.addons.crm.models.crm_stage import AVAILABLE_PRIORITIES
from odoo.addons.phone_validation.tools import phone_validation

from ..roles import has_role

# How many of a customer's last calls and open opportunities the agent's screen shows
HISTORY_LIMIT = 5
# The URLs a dialer may open: a number for the softphone, nothing else (no http:,
# javascript:, ...). The same rule as static/src/js/dial_action.js.
DIAL_URL_RE = re.compile(r"(?:tel|sip|callto):\S+", re.IGNORECASE)
# Who may change an entry directly; agents change theirs through the actions.
ENTRY_MANAGER_GROUP = "sales_team.group_sale_manager"


class CrmCallListEntry(models.Model):
    _name = "crm.call.list.entry"
    _inherit = ["crm.protected.fields.mixin"]
    _description = "Call List Entry"
    _order = "priority desc, attempt_count, date_next_attempt, id"
    _rec_name = "partner_id"
    _check_company_auto = True
    # Agents write the note of their entries; everything else changes through the
    # actions (Next call, Call, Log outcome, Take order, Put back), which check the
    # caller first: the customer, the order, the state and the counters feed the
    # queue, the statistics and the bonuses. Sales managers change them directly.
    _protected_fields = dict.fromkeys(
        (
            "call_list_id",
            "company_id",
            "call_list_state",
            "partner_id",
            "lead_id",
            "phone",
            "phone_url",
            "phone_display",
            "sales_region_id",
            "agent_id",
            "state",
            "priority",
            "attempt_count",
            "date_next_attempt",
            "date_last_attempt",
            "date_reserved",
            "outcome_id",
            "phonecall_ids",
            "phonecall_count",
            "order_id",
            "order_state",
            "partner_phonecall_ids",
            "partner_opportunity_ids",
            "currency_id",
            "has_overdue_invoices",
            "overdue_amount",
            "is_editable",
            "has_open_call",
            "contact_id",
            "contact_name",
            "contact_function",
            "contact_phone_display",
            "opportunity_count",
            "opportunity_amount",
            "ticket_count",
            "ticket_priority",
            "last_call_date",
            "last_call_outcome_id",
            "last_call_note",
        ),
        ENTRY_MANAGER_GROUP,
    )

    call_list_id = fields.Many2one(
        "crm.call.list",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    call_list_state = fields.Selection(
        related="call_list_id.state", string="List State"
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    lead_id = fields.Many2one(
        "crm.lead",
        string="Opportunity",
        index="btree_not_null",
        ondelete="set null",
        check_company=True,
    )
    phone = fields.Char(string="Number to Dial", help="The number to dial, in E.164.")
    phone_url = fields.Char(
        string="Dial", compute="_compute_phone_url", help="Click-to-dial link."
    )
    # The number as people read it; typed in any format by who may change it
    phone_display = fields.Char(
        string="Phone",
        compute="_compute_phone_display",
        inverse="_inverse_phone_display",
        help="The number to dial, in the international format.",
    )
    sales_region_id = fields.Many2one(
        "crm.sales.region",
        string="Region",
        index="btree_not_null",
        check_company=True,
    )
    agent_id = fields.Many2one(
        "res.users",
        index=True,
        domain="[('share', '=', False)]",
        check_company=True,
    )
    state = fields.Selection(
        [
            ("pending", "To Call"),
            ("in_progress", "In Call"),
            ("callback", "Call Back"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("skipped", "Skipped"),
        ],
        default="pending",
        required=True,
        index=True,
    )
    priority = fields.Selection(AVAILABLE_PRIORITIES, default="0")
    attempt_count = fields.Integer(string="Attempts", default=0)
    date_next_attempt = fields.Datetime(
        string="Next Attempt", help="Not to be called before then."
    )
    date_last_attempt = fields.Datetime(string="Last Attempt", readonly=True)
    date_reserved = fields.Datetime(string="Reserved On", readonly=True)
    # Its company is checked by _check_outcome_company: logging an outcome, the
    # agent's most frequent write, then does not check every relation of the entry
    # again (Odoo's check_company does: two queries on every call).
    outcome_id = fields.Many2one(
        "crm.call.outcome",
        string="Last Outcome",
        ondelete="restrict",
        readonly=True,
    )
    note = fields.Text(help="The note of the last call.")
    phonecall_ids = fields.One2many(
        "crm.phonecall", "call_list_entry_id", string="Calls"
    )
    phonecall_count = fields.Integer(
        compute="_compute_phonecall_count", string="Call Count"
    )
    order_id = fields.Many2one(
        "sale.order", index="btree_not_null", ondelete="set null", check_company=True
    )
    # The agent's screen
    order_state = fields.Selection(related="order_id.state", string="Order Status")
    partner_phonecall_ids = fields.Many2many(
        "crm.phonecall",
        compute="_compute_partner_history",
        string="Last Calls",
        help="The last calls with the customer.",
    )
    partner_opportunity_ids = fields.Many2many(
        "crm.lead",
        compute="_compute_partner_history",
        string="Open Opportunities",
        help="The customer's opportunities not won yet.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    has_overdue_invoices = fields.Boolean(
        compute="_compute_overdue_invoices",
        help="The customer has posted invoices past their due date not fully paid.",
    )
    overdue_amount = fields.Monetary(
        compute="_compute_overdue_invoices",
        currency_field="currency_id",
    )
    is_editable = fields.Boolean(
        compute="_compute_is_editable",
        help="The current user may change the entry directly (sales managers); "
        "agents change theirs through the actions of the screen.",
    )
    has_open_call = fields.Boolean(
        string="Call Running",
        compute="_compute_has_open_call",
        help="The current user's call of this entry is open: its outcome is to log.",
    )
    # The agent's screen: what to know before speaking. Read under the user's
    # rules, except the tickets and the overdue invoices (counted as superuser:
    # agents read neither, the figures open no document).
    contact_id = fields.Many2one(
        "res.partner",
        compute="_compute_contact",
        help="Whom to ask for: the customer when a person, else its contact at the "
        "number dialed, else its first contact with a phone.",
    )
    contact_name = fields.Char(compute="_compute_contact")
    contact_function = fields.Char(string="Job Position", compute="_compute_contact")
    contact_phone_display = fields.Char(
        string="Contact Phone", compute="_compute_contact"
    )
    opportunity_count = fields.Integer(
        string="Open Opportunity Count",
        compute="_compute_opportunity_summary",
        help="The customer's opportunities not won yet that you may read.",
    )
    opportunity_amount = fields.Monetary(
        string="Expected Revenue",
        compute="_compute_opportunity_summary",
        currency_field="currency_id",
    )
    ticket_count = fields.Integer(
        string="Open Tickets",
        compute="_compute_ticket_summary",
        help="The customer's helpdesk tickets not in a closed stage.",
    )
    ticket_priority = fields.Selection(
        selection="_selection_ticket_priority",
        string="Highest Ticket Priority",
        compute="_compute_ticket_summary",
    )
    last_call_date = fields.Datetime(
        compute="_compute_last_call",
        help="The customer's last call held that you may read.",
    )
    last_call_outcome_id = fields.Many2one(
        "crm.call.outcome", compute="_compute_last_call"
    )
    last_call_note = fields.Text(compute="_compute_last_call")

    _sql_constraints = [
        (
            "partner_uniq",
            "unique(call_list_id, partner_id)",
            "A customer appears once per call list.",
        ),
        (
            "lead_uniq",
            "unique(call_list_id, lead_id)",
            "An opportunity appears once per call list.",
        ),
    ]

    @api.model
    def _selection_ticket_priority(self):
        return (
            self.env["helpdesk.ticket"]
            ._fields["priority"]
            ._description_selection(self.env)
        )

    @api.depends("phone")
    def _compute_phone_url(self):
        for entry in self:
            entry.phone_url = f"tel:{entry.phone}" if entry.phone else False

    @api.depends("phone")
    def _compute_phone_display(self):
        for entry in self:
            entry.phone_display = self._format_phone_display(entry.phone)

    def _inverse_phone_display(self):
        # Checked and stored in E.164 by write(); who may is _protected_fields'.
        for entry in self:
            entry.phone = entry.phone_display

    def _compute_phonecall_count(self):
        counts = dict(
            self.env["crm.phonecall"]._read_group(
                [("call_list_entry_id", "in", self.ids)],
                ["call_list_entry_id"],
                ["__count"],
            )
        )
        for entry in self:
            entry.phonecall_count = counts.get(entry, 0)

    @api.depends("partner_id", "company_id")
    @api.depends_context("uid")
    def _compute_partner_history(self):
        # Shown on the form of the entry being called: a bounded search per entry,
        # under the user's rules.
        Call = self.env["crm.phonecall"]
        Lead = self.env["crm.lead"]
        for entry in self:
            customer = entry.partner_id.commercial_partner_id
            if not customer:
                entry.partner_phonecall_ids = Call
                entry.partner_opportunity_ids = Lead
                continue
            entry.partner_phonecall_ids = Call.search(
                [("partner_id.commercial_partner_id", "=", customer.id)],
                order="date desc, id desc",
                limit=HISTORY_LIMIT,
            )
            entry.partner_opportunity_ids = Lead.search(
                self._opportunity_domain(customer, entry.company_id),
                order="priority desc, id desc",
                limit=HISTORY_LIMIT,
            )

    @api.depends("partner_id", "company_id")
    def _compute_overdue_invoices(self):
        customers = self.partner_id.commercial_partner_id
        overdue = {}
        if customers:
            # The agent may not read invoices: only the overdue totals are read.
            moves_su = self.env["account.move"].sudo()
            groups = moves_su._read_group(
                [
                    ("commercial_partner_id", "in", customers.ids),
                    ("company_id", "in", self.company_id.ids),
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("amount_residual", ">", 0),
                    ("invoice_date_due", "<", fields.Date.context_today(self)),
                ],
                ["commercial_partner_id", "company_id"],
                ["amount_residual_signed:sum"],
            )
            overdue = {
                (customer.id, company.id): amount
                for customer, company, amount in groups
            }
        for entry in self:
            amount = overdue.get(
                (entry.partner_id.commercial_partner_id.id, entry.company_id.id), 0.0
            )
            entry.has_overdue_invoices = amount > 0
            entry.overdue_amount = amount

    @api.depends_context("uid")
    def _compute_is_editable(self):
        editable = has_role(self.env, ENTRY_MANAGER_GROUP)
        for entry in self:
            entry.is_editable = editable

    @api.depends("phonecall_ids.state", "phonecall_ids.user_id")
    @api.depends_context("uid")
    def _compute_has_open_call(self):
        open_entries = set()
        if self.ids:
            open_entries = {
                entry.id
                for [entry] in self.env["crm.phonecall"]._read_group(
                    [
                        ("call_list_entry_id", "in", self.ids),
                        ("state", "=", "open"),
                        ("user_id", "=", self.env.uid),
                    ],
                    ["call_list_entry_id"],
                )
            }
        for entry in self:
            entry.has_open_call = entry.id in open_entries

    @api.depends("partner_id", "phone")
    @api.depends_context("uid")
    def _compute_contact(self):
        """Whom the agent asks for. The contacts of the customers that are companies
        are read at once, under the user's rules."""
        Partner = self.env["res.partner"]
        companies = self.partner_id.filtered("is_company")
        contacts = defaultdict(lambda: Partner)
        if companies:
            for contact in Partner.search_fetch(
                [
                    ("parent_id", "in", companies.ids),
                    ("type", "=", "contact"),
                    ("is_company", "=", False),
                ],
                ["parent_id", "name", "function", "phone", "mobile", "country_id"],
                order="id",
            ):
                contacts[contact.parent_id.id] |= contact
        for entry in self:
            partner = entry.partner_id
            if partner.is_company:
                contact = entry._pick_contact(contacts[partner.id])
            else:
                contact = partner
            entry.contact_id = contact
            entry.contact_name = contact.name
            entry.contact_function = contact.function
            entry.contact_phone_display = self._format_phone_display(
                contact.phone or contact.mobile,
                contact.country_id or partner.country_id,
            )

    def _pick_contact(self, contacts):
        """The contact reached at the entry's number, else the first one with a
        phone, else the first one."""
        self.ensure_one()
        if self.phone:
            for contact in contacts:
                numbers = (contact.phone, contact.mobile)
                country = contact.country_id or self.partner_id.country_id
                if self.phone in {
                    self._format_phone_display(number, country, "E164")
                    for number in numbers
                    if number
                }:
                    return contact
        with_phone = contacts.filtered(lambda c: c.phone or c.mobile)
        return (with_phone or contacts)[:1]

    @api.model
    def _opportunity_domain(self, customers, companies):
        """The open opportunities of ``customers`` (commercial entities) in
        ``companies``: the figure of the agent's screen and what it opens."""
        return [
            ("partner_id.commercial_partner_id", "in", customers.ids),
            ("type", "=", "opportunity"),
            ("stage_id.is_won", "=", False),
            ("company_id", "in", [False, *companies.ids]),
        ]

    @api.depends("partner_id", "company_id")
    @api.depends_context("uid")
    def _compute_opportunity_summary(self):
        customers = self.partner_id.commercial_partner_id
        totals = defaultdict(lambda: [0, 0.0])
        if customers:
            # Under the user's rules: what the screen counts, it opens.
            for partner, company, count, revenue in self.env["crm.lead"]._read_group(
                self._opportunity_domain(customers, self.company_id),
                ["partner_id", "company_id"],
                ["__count", "expected_revenue:sum"],
            ):
                total = totals[partner.commercial_partner_id.id, company.id]
                total[0] += count
                total[1] += revenue
        for entry in self:
            customer_id = entry.partner_id.commercial_partner_id.id
            own = totals.get((customer_id, entry.company_id.id), (0, 0.0))
            shared = totals.get((customer_id, False), (0, 0.0))
            entry.opportunity_count = own[0] + shared[0]
            entry.opportunity_amount = own[1] + shared[1]

    @api.depends("partner_id", "company_id")
    def _compute_ticket_summary(self):
        customers = self.partner_id.commercial_partner_id
        summary = {}
        if customers:
            # Agents may not read tickets: only their count and highest priority
            # are read, as superuser; the screen opens none.
            tickets_su = self.env["helpdesk.ticket"].sudo()
            summary = {
                (customer.id, company.id): (count, priority)
                for customer, company, count, priority in tickets_su._read_group(
                    [
                        ("commercial_partner_id", "in", customers.ids),
                        ("company_id", "in", self.company_id.ids),
                        "|",
                        ("stage_id", "=", False),
                        ("stage_id.closed", "=", False),
                    ],
                    ["commercial_partner_id", "company_id"],
                    ["__count", "priority:max"],
                )
            }
        for entry in self:
            count, priority = summary.get(
                (entry.partner_id.commercial_partner_id.id, entry.company_id.id),
                (0, False),
            )
            entry.ticket_count = count
            entry.ticket_priority = priority

    @api.depends("partner_id")
    @api.depends_context("uid")
    def _compute_last_call(self):
        # Shown on the form of the entry being called: a search per entry, of one
        # call, under the user's rules (an agent reads the calls they made).
        Call = self.env["crm.phonecall"]
        for entry in self:
            customer = entry.partner_id.commercial_partner_id
            call = Call
            if customer:
                call = Call.search_fetch(
                    [
                        ("partner_id.commercial_partner_id", "=", customer.id),
                        ("state", "=", "done"),
                    ],
                    ["date", "call_outcome_id", "description"],
                    order="date desc, id desc",
                    limit=1,
                )
            entry.last_call_date = call.date
            entry.last_call_outcome_id = call.call_outcome_id
            entry.last_call_note = call.description

    @api.constrains("outcome_id", "company_id")
    def _check_outcome_company(self):
        # The names of another company's records are read as superuser, for the
        # message only.
        for entry_su in self.sudo():
            company = entry_su.outcome_id.company_id
            if company and company != entry_su.company_id:
                raise ValidationError(
                    _(
                        "Incompatible companies: the outcome %(outcome)s belongs to "
                        "%(company)s, the call to %(customer)s to %(entry_company)s.",
                        outcome=entry_su.outcome_id.name,
                        company=company.name,
                        customer=entry_su.partner_id.display_name or entry_su.phone,
                        entry_company=entry_su.company_id.name,
                    )
                )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("phone"):
                vals["phone"] = self._sanitize_phone(
                    vals["phone"], vals.get("partner_id")
                )
            if vals.get("call_list_id") and not vals.get("company_id"):
                call_list = self.env["crm.call.list"].browse(vals["call_list_id"])
                vals["company_id"] = call_list.company_id.id
            if vals.get("partner_id") and "sales_region_id" not in vals:
                partner = self.env["res.partner"].browse(vals["partner_id"])
                vals["sales_region_id"] = partner.sales_region_id.id
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("phone"):
            for entry in self:
                partner_id = vals.get("partner_id", entry.partner_id.id)
                super(CrmCallListEntry, entry).write(
                    {**vals, "phone": self._sanitize_phone(vals["phone"], partner_id)}
                )
            return True
        return super().write(vals)

    @api.model
    def _format_phone_display(self, number, country=None, force_format="INTERNATIONAL"):
        """``number`` as people read it (Odoo's international format), or as it is
        when it cannot be read as a number."""
        if not number:
            return False
        return phone_validation.phone_format(
            number,
            country.code if country else None,
            country.phone_code if country else None,
            force_format=force_format,
            raise_exception=False,
        )

    @api.model
    def _sanitize_phone(self, number, partner_id=None):
        partner = self.env["res.partner"].browse(partner_id)
        country = (
            partner.country_id
            or partner.commercial_partner_id.country_id
            or self.env.company.country_id
        )
        try:
            return phone_validation.phone_format(
                number,
                country.code,
                country.phone_code,
                force_format="E164",
                raise_exception=True,
            )
        except UserError as error:
            raise UserError(
                _(
                    "The phone number %(number)s cannot be dialed: %(error)s",
                    number=number,
                    error=error,
                )
            ) from error

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_start_call(self):
        """Open the call record (its start time); logging the outcome closes it and
        stores the duration."""
        self.ensure_one()
        self._check_telesales_access()
        self._lock()
        self._check_callable()
        call = self._open_phonecall()
        if not call:
            # The agent's call: its user is set by the action, never by the caller.
            call_su = self._phonecall_create_su(self._phonecall_values())
            call = call_su.sudo(False)
        if self.state != "in_progress":
            entry_su = self.sudo()
            entry_su.state = "in_progress"
        return call

    # ------------------------------------------------------------
    # BUSINESS: access and locking
    # ------------------------------------------------------------

    def _check_telesales_access(self):
        """Telesales agents and sales managers work call lists, nobody else: the
        right to write entries is theirs only. Which entries an agent may work is
        checked by ``_check_reservation``."""
        self.browse().check_access("write")

    def _lock(self):
        """Lock the entries until the end of the transaction: one action at a time
        on an entry. A concurrent request waits, then (its snapshot being older
        than the change) fails with a serialization error and is retried, seeing
        the entry as the first one left it. The automatic release skips them."""
        if self:
            self.env.execute_query(
                SQL(
                    """SELECT id FROM crm_call_list_entry
                        WHERE id IN %s FOR NO KEY UPDATE""",
                    tuple(self.ids),
                )
            )

    # ------------------------------------------------------------
    # BUSINESS: logging a call
    # ------------------------------------------------------------

    def action_log_outcome(self, outcome, note=None, callback_at=None):
        """Log the call of this entry with its outcome and do what the outcome says.

        One call, one outcome: once logged, the entry is no longer in call, nor due
        (``_check_not_logged``); a second click, or a request sent at the same
        moment (it waits for the lock, then is retried), is refused and writes
        nothing.

        :param outcome: a ``crm.call.outcome`` record, id or code
        :param note: what was said; required by some outcomes
        :param callback_at: when to call back (outcomes that call back), in the future
        :return: the logged ``crm.phonecall``
        """
        self.ensure_one()
        self._check_telesales_access()
        note, callback_at = self._parse_outcome_inputs(note, callback_at)
        # Locked until the outcome is written: the automatic release skips it.
        self._lock()
        self._check_callable()
        outcome = self._resolve_outcome(outcome)
        now = fields.Datetime.now()
        self._check_not_logged(now)
        if outcome.requires_note and not (note or "").strip():
            raise UserError(
                _(
                    "The outcome %(outcome)s needs a note: say what the customer said.",
                    outcome=outcome.name,
                )
            )
        if outcome.action == "callback":
            if not callback_at:
                raise UserError(
                    _(
                        "The outcome %(outcome)s needs the time to call back.",
                        outcome=outcome.name,
                    )
                )
            if callback_at <= now:
                raise UserError(
                    _(
                        "The time to call back, %(time)s, is in the past: choose a "
                        "time to come.",
                        time=fields.Datetime.to_string(callback_at),
                    )
                )
        call_list = self.call_list_id
        attempts = self.attempt_count + 1
        vals = {
            "outcome_id": outcome.id,
            "attempt_count": attempts,
            "date_last_attempt": now,
            "date_reserved": False,
            "note": note or False,
        }
        if not self.agent_id:
            # Written only when it changes: checking it reads the user's companies.
            vals["agent_id"] = self.env.user.id
        if outcome.action == "callback":
            vals.update(state="callback", date_next_attempt=callback_at)
        elif outcome.action == "retry":
            if attempts >= call_list.max_attempts:
                vals.update(state="failed", date_next_attempt=False)
            else:
                vals.update(
                    state="pending",
                    date_next_attempt=now
                    + timedelta(hours=call_list.retry_delay_hours),
                )
        elif outcome.action == "wrong_number":
            vals.update(state="failed", date_next_attempt=False)
        elif outcome.action == "do_not_call":
            vals.update(state="skipped", date_next_attempt=False)
        else:
            vals.update(state="done", date_next_attempt=False)
        if outcome.action == "interested":
            vals["lead_id"] = self._update_opportunity(note).id
        call = self._log_phonecall(outcome, note, vals.get("lead_id"))
        entry_su = self.sudo()
        entry_su.write(vals)
        if outcome.action == "do_not_call" and self.partner_id:
            # Marked as do-not-call: skips its open entries of every list too.
            partner_su = self.partner_id.sudo()
            partner_su.call_do_not_call = True
        return call

    @api.model
    def _parse_outcome_inputs(self, note, callback_at):
        """The note and the time to call back as given over RPC, checked: a text,
        a date and time (or nothing)."""
        if note and not isinstance(note, str):
            raise UserError(_("The note of the call must be a text."))
        if not callback_at:
            return note, False
        try:
            callback_at = fields.Datetime.to_datetime(callback_at)
        except (TypeError, ValueError):
            raise UserError(
                _(
                    "The time to call back, %(time)s, is not a date and time.",
                    time=str(callback_at),
                )
            ) from None
        return note, callback_at

    def _resolve_outcome(self, outcome):
        """The outcome given as a record, an id or a code: one outcome, shared or
        of the entry's company."""
        Outcome = self.env["crm.call.outcome"]
        if not outcome:
            found = Outcome
        elif isinstance(outcome, str):
            # One query for the outcome and what logging it reads
            found = Outcome.search_fetch(
                [
                    ("code", "=", outcome),
                    ("company_id", "in", [False, self.company_id.id]),
                ],
                ["name", "company_id", "action", "requires_note"],
                order="company_id",
                limit=1,
            )
        elif isinstance(outcome, int) and not isinstance(outcome, bool):
            found = Outcome.browse(outcome).exists()
        elif isinstance(outcome, models.BaseModel) and outcome._name == Outcome._name:
            found = outcome
        else:
            raise UserError(
                _(
                    "Choose one outcome for the call: %(value)s is not an outcome.",
                    value=repr(outcome),
                )
            )
        if not found:
            raise UserError(_("Choose the outcome of the call."))
        if len(found) > 1:
            raise UserError(_("Choose one outcome for the call, not several."))
        # Read as superuser: an outcome of a company the user is not in is refused
        # with its name, not with an access error.
        found_su = found.sudo()
        if found_su.company_id and found_su.company_id != self.company_id:
            raise UserError(
                _(
                    "The outcome %(outcome)s belongs to %(company)s: choose an "
                    "outcome of %(entry_company)s.",
                    outcome=found_su.name,
                    company=found_su.company_id.name,
                    entry_company=self.company_id.name,
                )
            )
        return found

    def _check_not_logged(self, now):
        """One call, one outcome. An entry in call gets its outcome; one that is
        not (an entry of the queue logged without pressing Call first) only when
        it is due, as "Next call" would give it. The outcome just logged makes it
        not due: callback time or retry delay to come, or an attempt not older
        than the next one (a retry delay of 0). The entry is then called again
        with Call (or Next call) first."""
        self.ensure_one()
        if self.state == "in_progress":
            return
        next_attempt = self.date_next_attempt
        last_attempt = self.date_last_attempt
        if not next_attempt or (
            next_attempt <= now and not (last_attempt and last_attempt >= next_attempt)
        ):
            return
        raise UserError(
            _(
                "The outcome of the call to %(customer)s is logged already "
                "(%(outcome)s): press Call to call again.",
                customer=self.partner_id.display_name or self.phone,
                outcome=self.outcome_id.name or "-",
            )
        )

    def _check_callable(self):
        for entry in self:
            entry._check_reservation()
            if entry.call_list_id.state not in ("running", "paused"):
                raise UserError(
                    _(
                        "The call list %(name)s is not running: its entries cannot be "
                        "called.",
                        name=entry.call_list_id.name,
                    )
                )
            if entry.state not in ("pending", "in_progress", "callback"):
                raise UserError(
                    _(
                        "The call to %(customer)s is finished (%(state)s).",
                        customer=entry.partner_id.display_name or entry.phone,
                        state=dict(self._fields["state"].selection)[entry.state],
                    )
                )
            # The customer of the entry the user calls (checked above), read as
            # superuser: no record rule to evaluate; the actions' later reads of it
            # come from the cache.
            partner = entry.sudo().partner_id
            if (
                partner.call_do_not_call
                or partner.commercial_partner_id.call_do_not_call
            ):
                raise UserError(
                    _(
                        "%(customer)s does not want to be called.",
                        customer=partner.display_name,
                    )
                )

    def _open_phonecall(self):
        return self.phonecall_ids.filtered(
            lambda c: c.state == "open" and c.user_id == self.env.user
        )[:1]

    def _phonecall_values(self):
        return {
            "name": _(
                "%(list)s: %(customer)s",
                list=self.call_list_id.name,
                customer=self.partner_id.display_name or self.phone,
            ),
            "call_list_entry_id": self.id,
            "partner_id": self.partner_id.id,
            "opportunity_id": self.lead_id.id,
            "user_id": self.env.user.id,
            "company_id": self.company_id.id,
            "partner_phone": self.phone,
            "direction": "out",
            "date": fields.Datetime.now(),
            "state": "open",
        }

    def _log_phonecall(self, outcome, note, lead_id):
        """Close the call opened by action_start_call (its duration is the time since
        it started) or log one without a duration. Its user, outcome and state are
        the action's to set (the caller is checked): written as superuser."""
        call = self._open_phonecall()
        vals = {
            "call_outcome_id": outcome.id,
            "description": note or False,
            "opportunity_id": lead_id or self.lead_id.id,
        }
        if call:
            call_su = call.sudo()
            call_su.write(vals)
            call_su.write({"state": "done"})
            return call
        call_su = self._phonecall_create_su(
            {**self._phonecall_values(), **vals, "state": "done", "duration": 0.0}
        )
        return call_su.sudo(False)

    def _phonecall_create_su(self, vals):
        """Create the call of an action, as superuser (the caller is checked). The
        call is the log itself: created without the chatter's work (no "created"
        message, no follower, the agent being its user), which is most of the
        cost of the agent's every call. Returned as superuser in the caller's
        context, so that its later changes are tracked as usual."""
        Call_su = self.env["crm.phonecall"].sudo()
        return (
            Call_su.with_context(tracking_disable=True)
            .create(vals)
            .with_env(Call_su.env)
        )

    def _update_opportunity(self, note):
        """The opportunity of an interested customer: the entry's, else an open one
        of the customer, else a new one for the agent."""
        Lead = self.env["crm.lead"]
        lead_su = self.lead_id.sudo()
        partner = self.partner_id
        if not lead_su and partner:
            # The customer's opportunity, whoever owns it: no duplicate for the agent.
            lead_su = Lead.sudo().search(
                [
                    ("partner_id", "child_of", partner.commercial_partner_id.id),
                    ("type", "=", "opportunity"),
                    ("stage_id.is_won", "=", False),
                    ("company_id", "in", [False, self.company_id.id]),
                ],
                order="priority desc, id desc",
                limit=1,
            )
        if lead_su:
            vals = {}
            if lead_su.type != "opportunity":
                vals["type"] = "opportunity"
            if not lead_su.user_id:
                vals["user_id"] = self.env.user.id
            if vals:
                lead_su.write(vals)
            lead = lead_su.sudo(False)
        else:
            lead = Lead.create(
                {
                    "name": _(
                        "%(customer)s (call list %(list)s)",
                        customer=partner.display_name or self.phone,
                        list=self.call_list_id.name,
                    ),
                    "type": "opportunity",
                    "partner_id": partner.id,
                    "phone": self.phone,
                    "user_id": self.env.user.id,
                    "company_id": self.company_id.id,
                    "description": note or False,
                }
            )
        return lead

    # ------------------------------------------------------------
    # ACTIONS: the agent's screen
    # ------------------------------------------------------------

    def action_call(self):
        """Button "Call", the one way to place the call: open the call record (its
        start time), then dial it with the company's dialer provider. The agent
        stays on the entry, reloaded with the call running, to log its outcome."""
        self.ensure_one()
        self.action_start_call()
        return self._dial_client_action(
            self._dial_action(), next_action={"type": "ir.actions.act_window_close"}
        )

    def action_open_opportunities(self):
        """The open opportunities of the customer counted on the screen, read
        under the user's rules."""
        self.ensure_one()
        self.check_access("read")
        customer = self.partner_id.commercial_partner_id
        return {
            "type": "ir.actions.act_window",
            "name": _("Open Opportunities"),
            "res_model": "crm.lead",
            "view_mode": "list,kanban,form",
            "views": [(False, "list"), (False, "kanban"), (False, "form")],
            "domain": self._opportunity_domain(customer, self.company_id),
            "context": {
                "default_type": "opportunity",
                "default_partner_id": customer.id,
            },
        }

    def action_open_outcome_wizard(self):
        self.ensure_one()
        self._check_telesales_access()
        self._check_callable()
        self._check_not_logged(fields.Datetime.now())
        return {
            "type": "ir.actions.act_window",
            "name": _("Log Outcome"),
            "res_model": "crm.call.outcome.wizard",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_entry_id": self.id},
        }

    def action_take_order(self):
        """Button "Take Order": the quotation of the customer, taken during the call
        by the agent, linked to the entry and its call. Warns, without blocking,
        when the customer has overdue invoices."""
        self.ensure_one()
        self._check_telesales_access()
        self._lock()
        self._check_callable()
        if not self.partner_id:
            raise UserError(_("An order needs a customer: this entry has none."))
        order = self.order_id
        if not order or order.state == "cancel":
            order = self._create_order()
        action = order.get_formview_action()
        if not self.has_overdue_invoices:
            return action
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning",
                "sticky": True,
                "title": _("Overdue invoices"),
                "message": _(
                    "%(customer)s has overdue invoices (%(amount)s): ask about the "
                    "payment before taking the order.",
                    customer=self.partner_id.display_name,
                    amount=self._format_overdue_amount(),
                ),
                "next": action,
            },
        }

    def action_confirm_order(self):
        """Button "Confirm Order": confirm the quotation taken during the call and log
        the call as "order taken"."""
        self.ensure_one()
        self._check_telesales_access()
        self._lock()
        self._check_callable()
        self._check_not_logged(fields.Datetime.now())
        order = self.order_id
        if not order:
            raise UserError(
                _(
                    "Take the order first: %(customer)s has no quotation in this call.",
                    customer=self.partner_id.display_name,
                )
            )
        if order.state not in ("draft", "sent"):
            raise UserError(
                _(
                    "The order %(order)s cannot be confirmed: it is not a quotation.",
                    order=order.name,
                )
            )
        if not order.order_line.filtered(lambda line: not line.display_type):
            raise UserError(
                _(
                    "The quotation %(order)s has no products: add what the customer "
                    "orders.",
                    order=order.name,
                )
            )
        outcome = self._order_taken_outcome()
        order.action_confirm()
        self.action_log_outcome(
            outcome,
            note=self.note
            or _("Order %(order)s confirmed on the phone.", order=order.name),
        )
        return self._action_after_outcome()

    # ------------------------------------------------------------
    # BUSINESS: dialing
    # ------------------------------------------------------------

    def _dial_action(self):
        """The action dialing this entry, given by the company's dialer provider.

        Extension point: a VoIP module adds its provider to
        ``res.company.crm_call_dialer_provider`` (``selection_add``) and a method
        ``_dial_action_<provider>()`` on this model returning the action that dials
        (an ``ir.actions.act_url`` or its own client action).
        """
        self.ensure_one()
        provider = self.company_id.crm_call_dialer_provider or "tel"
        method = getattr(self, f"_dial_action_{provider}", None)
        if not callable(method):
            raise UserError(
                _(
                    "The dialer %(provider)s is not available: install its module or "
                    "choose another dialer in the settings.",
                    provider=provider,
                )
            )
        return method()

    def _dial_action_tel(self):
        """The built-in provider: a ``tel:`` link, dialed by the computer's
        softphone or the phone paired with it."""
        self.ensure_one()
        if not self.phone_url:
            raise UserError(
                _(
                    "%(customer)s has no number to dial.",
                    customer=self.partner_id.display_name,
                )
            )
        return {"type": "ir.actions.act_url", "url": self.phone_url, "target": "self"}

    @api.model
    def _dial_client_action(self, dial_action, next_action=None):
        """What the web client runs to dial: an URL is opened as is (the web client
        would take a ``tel:`` URL for a path of the server), then ``next_action``
        runs; a provider's own action gets ``next_action`` in its params.

        Only a telephony URL (``tel:``, ``sip:``, ``callto:``) is opened: the web
        client would open any other (a web page, ``javascript:``) as well."""
        if dial_action.get("type") == "ir.actions.act_url":
            url = dial_action.get("url")
            if not isinstance(url, str) or not DIAL_URL_RE.fullmatch(url):
                raise UserError(
                    _(
                        "The dialer gave %(url)s to open: only tel:, sip: and "
                        "callto: numbers are dialed.",
                        url=str(url),
                    )
                )
            return {
                "type": "ir.actions.client",
                "tag": "crm_extended_dial",
                "params": {"url": dial_action["url"], "next": next_action},
            }
        if next_action:
            dial_action = {
                **dial_action,
                "params": {**dial_action.get("params", {}), "next": next_action},
            }
        return dial_action

    # ------------------------------------------------------------
    # BUSINESS: after a call, order taking
    # ------------------------------------------------------------

    def _form_action(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    def _action_after_outcome(self):
        """What follows a logged outcome. In auto-dial mode, the agent's next entry is
        reserved, its call opened and dialed, and its form opened; otherwise
        nothing (the form shows the logged call)."""
        if not self.env.user.call_auto_dial:
            return False
        entry = self.reserve_next(self.env.user)
        if not entry:
            return self._no_call_due_action(
                next={"type": "ir.actions.act_window_close"}
            )
        entry.action_start_call()
        return entry._dial_client_action(
            entry._dial_action(), next_action=entry._form_action()
        )

    def _order_taken_outcome(self):
        outcome = self.env["crm.call.outcome"].search(
            [
                ("action", "=", "order_taken"),
                ("company_id", "in", [False, self.company_id.id]),
            ],
            order="company_id, sequence, id",
            limit=1,
        )
        if not outcome:
            raise UserError(
                _(
                    "No call outcome records an order taken: ask a sales manager to "
                    "add one."
                )
            )
        return outcome

    def _create_order(self):
        self.ensure_one()
        call = self._open_phonecall() or self.action_start_call()
        partner = self.partner_id.with_company(self.company_id)
        order = self.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "pricelist_id": partner.property_product_pricelist.id,
                "user_id": self.env.user.id,
                "company_id": self.company_id.id,
                "opportunity_id": self.lead_id.id,
                "origin": self.call_list_id.name,
            }
        )
        # The order taken in the call: linked by the action (the caller is checked).
        entry_su = self.sudo()
        entry_su.order_id = order
        call_su = call.sudo()
        call_su.order_id = order
        return order

    def _format_overdue_amount(self):
        self.ensure_one()
        return tools.format_amount(self.env, self.overdue_amount, self.currency_id)
