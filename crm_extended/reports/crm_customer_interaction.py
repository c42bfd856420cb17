from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.sql import create_index

INTERACTION_KINDS = [
    ("call", "Call"),
    ("visit", "Visit"),
    ("meeting", "Meeting"),
    ("email", "Email"),
    ("note", "Note"),
    ("quotation", "Quotation"),
    ("order", "Order"),
    ("invoice", "Invoice"),
    ("payment", "Payment"),
    ("ticket", "Ticket"),
]

# One vocabulary for the states of every source, mapped in each source's SELECT
INTERACTION_STATES = [
    ("draft", "Draft"),
    ("open", "Open"),
    ("planned", "Planned"),
    ("sent", "Sent"),
    ("confirmed", "Confirmed"),
    ("posted", "Posted"),
    ("in_process", "In Process"),
    ("paid", "Paid"),
    ("done", "Done"),
    ("missed", "Missed"),
    ("closed", "Closed"),
    ("cancelled", "Cancelled"),
]

# Row ids: the source's id * ID_FACTOR + the source's rank (below ID_FACTOR)
ID_FACTOR = 16

# Who reads the amounts of invoices and payments in the history
ACCOUNT_GROUPS = ("account.group_account_invoice", "account.group_account_readonly")

# Source document columns that the history joins on a customer's contacts and that
# the sources do not index themselves: created by init()
SOURCE_INDEXES = [
    ("account_payment", "partner_id"),
    ("helpdesk_ticket", "partner_id"),
]


class CrmCustomerInteraction(models.Model):
    """One chronological history per customer: its calls, visits and meetings,
    emails and notes, quotations and orders, invoices and payments, tickets.

    A SQL view: one SELECT per source, joined to the contacts of the customer
    (``res_partner.commercial_partner_id``, indexed) so that one customer's history
    reads the indexes of the sources, never their whole tables. The view is built
    for the current user: every source is limited to the documents the user may
    read (the source model's access rights and record rules, as a sub-select of
    ``_search``), a source the user may not read at all is left out, and the amounts
    of invoices and payments are empty for users without accounting rights. So the
    history never shows more than the sources would."""

    _name = "crm.customer.interaction"
    _description = "Customer History"
    _auto = False
    _order = "date desc, id desc"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", readonly=True, help="The commercial entity."
    )
    contact_id = fields.Many2one("res.partner", readonly=True)
    date = fields.Datetime(readonly=True)
    kind = fields.Selection(INTERACTION_KINDS, readonly=True)
    # A private event of someone else reads as busy: depends on who reads it
    name = fields.Char(string="Subject", readonly=True, depends_context=("uid",))
    amount = fields.Monetary(
        readonly=True,
        currency_field="currency_id",
        # Empty for invoices and payments when the user has no accounting rights:
        # the value depends on who reads it.
        depends_context=("uid",),
    )
    currency_id = fields.Many2one("res.currency", readonly=True)
    user_id = fields.Many2one("res.users", string="Responsible", readonly=True)
    state = fields.Selection(INTERACTION_STATES, string="Status", readonly=True)
    res_model = fields.Char(string="Document Model", readonly=True)
    res_id = fields.Many2oneReference(
        string="Document", model_field="res_model", readonly=True
    )
    company_id = fields.Many2one("res.company", readonly=True)

    _depends = {
        "crm.phonecall": [
            "partner_id",
            "date",
            "name",
            "user_id",
            "state",
            "company_id",
            "active",
        ],
        "calendar.event": [
            "sfa_partner_id",
            "sfa_kind",
            "sfa_state",
            "start",
            "name",
            "user_id",
            "active",
        ],
        "mail.message": [
            "model",
            "res_id",
            "message_type",
            "subtype_id",
            "subject",
            "body",
            "date",
            "author_id",
            "create_uid",
        ],
        "sale.order": [
            "partner_id",
            "date_order",
            "name",
            "amount_total",
            "currency_id",
            "user_id",
            "state",
            "company_id",
        ],
        "account.move": [
            "partner_id",
            "move_type",
            "invoice_date",
            "date",
            "name",
            "amount_total_in_currency_signed",
            "currency_id",
            "invoice_user_id",
            "state",
            "payment_state",
            "company_id",
        ],
        "account.payment": [
            "partner_id",
            "partner_type",
            "payment_type",
            "date",
            "name",
            "amount",
            "currency_id",
            "state",
            "company_id",
        ],
        "helpdesk.ticket": [
            "partner_id",
            "create_date",
            "name",
            "number",
            "user_id",
            "stage_id",
            "company_id",
            "active",
        ],
        "crm.lead": ["partner_id"],
        "res.partner": ["commercial_partner_id"],
    }

    def init(self):
        for table, column in SOURCE_INDEXES:
            create_index(
                self.env.cr,
                f"{table}__{column}_crm_history_index",
                table,
                [column],
                where=f"{column} IS NOT NULL",
            )

    # ------------------------------------------------------------
    # THE VIEW
    # ------------------------------------------------------------

    @property
    def _table_query(self):
        selects = [select for select in self._sources() if select is not None]
        if not selects:
            return SQL("%s WHERE FALSE", self._empty_select())
        return SQL(" UNION ALL ").join(selects)

    def _empty_select(self):
        return SQL(
            """
            SELECT NULL::int AS id, NULL::int AS partner_id, NULL::int AS contact_id,
                   NULL::timestamp AS date, NULL::varchar AS kind,
                   NULL::varchar AS name, NULL::numeric AS amount,
                   NULL::int AS currency_id, NULL::int AS user_id,
                   NULL::varchar AS state, NULL::varchar AS res_model,
                   NULL::int AS res_id, NULL::int AS company_id
            """
        )

    def _sources(self):
        """The SELECT of each source, in the order of their rank (part of the row
        ids: never reorder, append), None for a source the user may not read."""
        return [
            self._select_phonecalls(1),
            self._select_events(2),
            self._select_messages(3),
            self._select_orders(4),
            self._select_invoices(5),
            self._select_payments(6),
            self._select_tickets(7),
        ]

    def _readable(self, model, alias, domain=()):
        """``<alias>.id IN (the ids of ``model`` the user may read)``, TRUE as
        superuser, None when the user may not read ``model`` at all."""
        records = self.env[model].with_context(active_test=False)
        if self.env.su:
            return SQL("TRUE")
        if not records.has_access("read"):
            return None
        return SQL(
            "%s IN %s",
            SQL.identifier(alias, "id"),
            records._search(list(domain)).subselect(),
        )

    def _shows_account_amounts(self):
        return self.env.su or any(
            self.env.user.has_group(group) for group in ACCOUNT_GROUPS
        )

    def _row(self, rank, alias, **columns):
        """The columns of a source's SELECT, in the view's order and types."""
        return SQL(
            """
            SELECT %(alias)s.id * %(factor)s + %(rank)s AS id,
                   contact.commercial_partner_id AS partner_id,
                   contact.id AS contact_id,
                   %(date)s::timestamp AS date,
                   %(kind)s::varchar AS kind,
                   %(name)s::varchar AS name,
                   %(amount)s::numeric AS amount,
                   %(currency_id)s::int AS currency_id,
                   %(user_id)s::int AS user_id,
                   %(state)s::varchar AS state,
                   %(res_model)s::varchar AS res_model,
                   %(alias)s.id AS res_id,
                   %(company_id)s::int AS company_id
            """,
            alias=SQL.identifier(alias),
            factor=ID_FACTOR,
            rank=rank,
            **{
                key: columns.get(key, SQL("NULL"))
                for key in (
                    "date",
                    "kind",
                    "name",
                    "amount",
                    "currency_id",
                    "user_id",
                    "state",
                    "company_id",
                    "res_model",
                )
            },
        )

    def _select_phonecalls(self, rank):
        readable = self._readable("crm.phonecall", "c")
        if readable is None:
            return None
        return SQL(
            """%s
              FROM crm_phonecall c
              JOIN res_partner contact ON contact.id = c.partner_id
             WHERE c.active AND %s
            """,
            self._row(
                rank,
                "c",
                date=SQL("c.date"),
                kind=SQL("'call'"),
                name=SQL("c.name"),
                user_id=SQL("c.user_id"),
                state=SQL(
                    """CASE c.state WHEN 'done' THEN 'done'
                                    WHEN 'cancel' THEN 'cancelled'
                                    ELSE 'open' END"""
                ),
                company_id=SQL("c.company_id"),
                res_model=SQL("%s", "crm.phonecall"),
            ),
            readable,
        )

    def _select_events(self, rank):
        readable = self._readable("calendar.event", "e")
        if readable is None:
            return None
        return SQL(
            """%s
              FROM calendar_event e
              JOIN res_partner contact ON contact.id = e.sfa_partner_id
             WHERE e.active AND %s
            """,
            self._row(
                rank,
                "e",
                date=SQL("e.start"),
                kind=SQL(
                    "CASE WHEN e.sfa_kind = 'visit' THEN 'visit' ELSE 'meeting' END"
                ),
                # A private event of someone else shows as busy, as in the calendar
                name=SQL(
                    """CASE WHEN e.privacy = 'private' AND %s
                            AND e.user_id IS DISTINCT FROM %s
                            THEN %s ELSE e.name END""",
                    not self.env.su,
                    self.env.uid,
                    self.env._("Busy"),
                ),
                user_id=SQL("e.user_id"),
                state=SQL("e.sfa_state"),
                # Events have no company: their organizer's
                company_id=SQL(
                    "(SELECT u.company_id FROM res_users u WHERE u.id = e.user_id)"
                ),
                res_model=SQL("%s", "calendar.event"),
            ),
            readable,
        )

    def _select_messages(self, rank):
        """Emails and notes of the chatter of the customer, its contacts and their
        opportunities: readable where their document is."""
        partners = self._readable("res.partner", "contact")
        leads = self._readable("crm.lead", "lead")
        if partners is None and leads is None:
            return None
        columns = {
            "date": SQL("m.date"),
            "kind": SQL(
                """CASE WHEN m.message_type = 'comment' AND subtype.internal
                        THEN 'note' ELSE 'email' END"""
            ),
            "name": SQL(
                """COALESCE(NULLIF(m.subject, ''), left(regexp_replace(
                       m.body, '<[^>]*>|&nbsp;|\\s+', ' ', 'g'), 120))"""
            ),
            "user_id": SQL("m.create_uid"),
            "res_model": SQL("%s", "mail.message"),
        }
        kinds = SQL(
            """m.message_type IN ('email', 'email_outgoing', 'comment')
               AND (m.body IS NOT NULL AND m.body != '' OR m.subject IS NOT NULL)"""
        )
        selects = []
        if partners is not None:
            selects.append(
                SQL(
                    """%s
                      FROM mail_message m
                      JOIN res_partner contact
                        ON m.model = 'res.partner' AND contact.id = m.res_id
                      LEFT JOIN mail_message_subtype subtype
                        ON subtype.id = m.subtype_id
                     WHERE %s AND %s
                    """,
                    self._row(
                        rank, "m", company_id=SQL("contact.company_id"), **columns
                    ),
                    kinds,
                    partners,
                )
            )
        if leads is not None:
            selects.append(
                SQL(
                    """%s
                      FROM mail_message m
                      JOIN crm_lead lead
                        ON m.model = 'crm.lead' AND lead.id = m.res_id
                      JOIN res_partner contact ON contact.id = lead.partner_id
                      LEFT JOIN mail_message_subtype subtype
                        ON subtype.id = m.subtype_id
                     WHERE %s AND %s
                    """,
                    self._row(rank, "m", company_id=SQL("lead.company_id"), **columns),
                    kinds,
                    leads,
                )
            )
        return SQL(" UNION ALL ").join(selects)

    def _select_orders(self, rank):
        readable = self._readable("sale.order", "o")
        if readable is None:
            return None
        return SQL(
            """%s
              FROM sale_order o
              JOIN res_partner contact ON contact.id = o.partner_id
             WHERE %s
            """,
            self._row(
                rank,
                "o",
                date=SQL("o.date_order"),
                kind=SQL(
                    "CASE WHEN o.state = 'sale' THEN 'order' ELSE 'quotation' END"
                ),
                name=SQL("o.name"),
                amount=SQL("o.amount_total"),
                currency_id=SQL("o.currency_id"),
                user_id=SQL("o.user_id"),
                state=SQL(
                    """CASE o.state WHEN 'sale' THEN 'confirmed'
                                    WHEN 'cancel' THEN 'cancelled'
                                    ELSE o.state END"""
                ),
                company_id=SQL("o.company_id"),
                res_model=SQL("%s", "sale.order"),
            ),
            readable,
        )

    def _select_invoices(self, rank):
        """Customer invoices and credit notes (negative)."""
        readable = self._readable("account.move", "inv")
        if readable is None:
            return None
        amount = SQL("NULL")
        if self._shows_account_amounts():
            amount = SQL("inv.amount_total_in_currency_signed")
        return SQL(
            """%s
              FROM account_move inv
              JOIN res_partner contact ON contact.id = inv.partner_id
             WHERE inv.move_type IN ('out_invoice', 'out_refund') AND %s
            """,
            self._row(
                rank,
                "inv",
                date=SQL("COALESCE(inv.invoice_date, inv.date)"),
                kind=SQL("'invoice'"),
                name=SQL("inv.name"),
                amount=amount,
                currency_id=SQL("inv.currency_id"),
                user_id=SQL("inv.invoice_user_id"),
                state=SQL(
                    """CASE WHEN inv.state = 'cancel' THEN 'cancelled'
                            WHEN inv.state = 'posted'
                             AND inv.payment_state IN ('paid', 'in_payment', 'reversed')
                            THEN 'paid'
                            ELSE inv.state END"""
                ),
                company_id=SQL("inv.company_id"),
                res_model=SQL("%s", "account.move"),
            ),
            readable,
        )

    def _select_payments(self, rank):
        """Payments received from the customer."""
        readable = self._readable("account.payment", "pay")
        if readable is None:
            return None
        amount = SQL("NULL")
        if self._shows_account_amounts():
            amount = SQL("pay.amount")
        return SQL(
            """%s
              FROM account_payment pay
              JOIN res_partner contact ON contact.id = pay.partner_id
             WHERE pay.partner_type = 'customer' AND pay.payment_type = 'inbound'
               AND %s
            """,
            self._row(
                rank,
                "pay",
                date=SQL("pay.date"),
                kind=SQL("'payment'"),
                name=SQL("pay.name"),
                amount=amount,
                currency_id=SQL("pay.currency_id"),
                user_id=SQL("pay.create_uid"),
                state=SQL(
                    """CASE WHEN pay.state IN ('canceled', 'rejected')
                            THEN 'cancelled' ELSE pay.state END"""
                ),
                company_id=SQL("pay.company_id"),
                res_model=SQL("%s", "account.payment"),
            ),
            readable,
        )

    def _select_tickets(self, rank):
        readable = self._readable("helpdesk.ticket", "t")
        if readable is None:
            return None
        return SQL(
            """%s
              FROM helpdesk_ticket t
              JOIN res_partner contact ON contact.id = t.partner_id
              LEFT JOIN helpdesk_ticket_stage stage ON stage.id = t.stage_id
             WHERE t.active AND %s
            """,
            self._row(
                rank,
                "t",
                date=SQL("t.create_date"),
                kind=SQL("'ticket'"),
                name=SQL("concat_ws(' ', t.number, t.name)"),
                user_id=SQL("t.user_id"),
                state=SQL("CASE WHEN stage.closed THEN 'closed' ELSE 'open' END"),
                company_id=SQL("t.company_id"),
                res_model=SQL("%s", "helpdesk.ticket"),
            ),
            readable,
        )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_source(self):
        """Open the source document with the user's own rights: an email or a note
        opens the document it was posted on."""
        self.ensure_one()
        model, res_id = self.res_model, self.res_id
        if model == "mail.message":
            message = self.env["mail.message"].browse(res_id)
            model, res_id = message.model, message.res_id
        record = self.env[model].browse(res_id).exists()
        if not record:
            raise UserError(_("The document of this history entry no longer exists."))
        record.check_access("read")
        return {
            "type": "ir.actions.act_window",
            "res_model": model,
            "res_id": record.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    @api.model
    def _action_for_partners(self, partners):
        """The history of the commercial entities of ``partners``."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.crm_customer_interaction_action"
        )
        entities = partners.commercial_partner_id
        action["domain"] = [("partner_id", "in", entities.ids)]
        action["context"] = {"create": False}
        if len(entities) == 1:
            action["display_name"] = _(
                "History of %(customer)s", customer=entities.name
            )
        return action
